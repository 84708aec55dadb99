// Slash commands as Slack sends them over HTTP: every field, form-encoded, signed with the app's secret and
// a current timestamp (signed just before each round: Slack's five minutes are never near).
import { buildSlashCommandPayload, signSlackRequest } from '../devkit/slack-emulator/index.ts';
import { BENCH_SIGNING_SECRET } from './apps.ts';
import type { SignedRequest } from './load.ts';

export const BENCH_CHANNEL = 'C0BENCH001';

/** The team typing at once: request i comes from one of 50 users. */
export function benchUser(i: number): string {
  return `U0BENCH${String(i % 50).padStart(3, '0')}`;
}

export function signedSlashCommand(text: string, user: string, responseUrl: string): SignedRequest {
  const body = new URLSearchParams(buildSlashCommandPayload({ text, user_id: user, channel_id: BENCH_CHANNEL, response_url: responseUrl })).toString();
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...Object.fromEntries(Object.entries(signSlackRequest(BENCH_SIGNING_SECRET, body)).map(([key, value]) => [key.toLowerCase(), value])),
    },
  };
}
