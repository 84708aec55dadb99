// The Slack test harness. The fake of Slack's servers lives in devkit/slack-emulator, because the
// playground (`npm run playground`) runs the same emulator for people; tests import it from here as before.
export * from '../../../devkit/slack-emulator/index.ts';
export { stopBoltApp } from './stop-bolt-app.ts';
