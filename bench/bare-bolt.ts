// The floor for an ack: a Bolt app that acks `/scale` and does nothing else, served exactly the way the bot
// serves Slack in HTTP mode (bot/server.ts's createHttpServer in front of an HTTPReceiver's request listener,
// our timestamp check included). Run by bench/run.ts as its own process; prints its URL on stderr when ready.
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { Registry } from 'prom-client';
import { createLogger } from '../bot/logger.ts';
import { createHttpServer } from '../bot/server.ts';

const env = process.env;
const logger = createLogger({ level: env.LOG_LEVEL ?? 'warn', secrets: [] });
const receiver = new HTTPReceiver({ signingSecret: env.SLACK_SIGNING_SECRET!, endpoints: ['/slack/events'], logLevel: LogLevel.WARN });
const app = new App({
  token: env.SLACK_BOT_TOKEN!,
  receiver,
  clientOptions: { slackApiUrl: env.SLACK_API_URL!, retryConfig: { retries: 0 } },
  logLevel: LogLevel.WARN,
  deferInitialization: true,
});
app.command('/scale', async ({ ack }) => {
  await ack();
});
await app.init();
const server = createHttpServer({
  logger,
  registry: new Registry(),
  isReady: () => ({ ready: true, problems: [] }),
  slackListener: receiver.requestListener,
});
await new Promise<void>((resolve) => server.listen(Number(env.PORT ?? 0), '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
process.stderr.write(`bare bolt is running; health and metrics at http://127.0.0.1:${port}\n`);
process.once('SIGTERM', () => server.close(() => process.exit(0)));
