// The Slack test harness. The fake of Slack's servers lives in playground/slack-emulator, because the
// playground (`npm run playground`) runs the same emulator for people; tests import it from here as before.
export * from '../../../playground/slack-emulator/index.ts';
export { stopBoltApp } from './stop-bolt-app.ts';
