// Requests into the bot the way Slack makes them over HTTP: signed with the app's signing secret
// (https://docs.slack.dev/authentication/verifying-requests-from-slack): the signature is
// `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>`, sent with the timestamp in two headers.
import { createHmac } from 'node:crypto';
import { buildSlashCommandPayload, type SlashCommandInput } from './payloads.ts';

export interface SlackSignatureHeaders {
  'X-Slack-Request-Timestamp': string;
  'X-Slack-Signature': string;
}

export function signSlackRequest(signingSecret: string, rawBody: string, timestampSeconds: number = Math.floor(Date.now() / 1000)): SlackSignatureHeaders {
  const signature = createHmac('sha256', signingSecret).update(`v0:${timestampSeconds}:${rawBody}`).digest('hex');
  return { 'X-Slack-Request-Timestamp': String(timestampSeconds), 'X-Slack-Signature': `v0=${signature}` };
}

export interface SendOptions {
  /** Seconds; default now. An old one tests the replay check. */
  timestamp?: number;
  /** Sent instead of the real signature, to test refusal. */
  signature?: string;
  /** Default `/slack/events` (Bolt's default endpoint). */
  path?: string;
  /** Events API retries carry `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`. */
  retry?: { num: number; reason: string };
  /**
   * Slack waits 3 seconds for the HTTP answer, then shows the user an error; past this the promise rejects.
   * Default 3000.
   */
  timeoutMs?: number;
}

export interface BotResponse {
  status: number;
  /** The raw answer body (Bolt acks with an empty body, or JSON when ack() got a message). */
  body: string;
  /** The body parsed, when it was JSON. */
  json: unknown;
  headers: Headers;
}

async function postSigned(botBaseUrl: string, signingSecret: string, rawBody: string, contentType: string, options: SendOptions): Promise<BotResponse> {
  const signed = signSlackRequest(signingSecret, rawBody, options.timestamp);
  const timeoutMs = options.timeoutMs ?? 3000;
  const url = new URL(options.path ?? '/slack/events', botBaseUrl);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': contentType,
        'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        ...signed,
        ...(options.signature !== undefined && { 'X-Slack-Signature': options.signature }),
        ...(options.retry && {
          'X-Slack-Retry-Num': String(options.retry.num),
          'X-Slack-Retry-Reason': options.retry.reason,
        }),
      },
      body: rawBody,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'TimeoutError') {
      throw new Error(`the bot did not answer ${url.href} within ${timeoutMs} ms (Slack would show "operation_timeout")`);
    }
    throw error;
  }
  const body = await response.text();
  let json: unknown;
  try {
    json = body === '' ? undefined : JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: response.status, body, json, headers: response.headers };
}

/** POSTs a slash command as Slack does: every field, form-encoded, signed. */
export function sendSlashCommand(botBaseUrl: string, signingSecret: string, command: SlashCommandInput, options: SendOptions = {}): Promise<BotResponse> {
  const body = new URLSearchParams(buildSlashCommandPayload(command)).toString();
  return postSigned(botBaseUrl, signingSecret, body, 'application/x-www-form-urlencoded', options);
}

/** POSTs an interaction payload (block_actions, view_submission, …) as Slack does: `payload=<json>`, signed. */
export function sendInteraction(botBaseUrl: string, signingSecret: string, payload: unknown, options: SendOptions = {}): Promise<BotResponse> {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return postSigned(botBaseUrl, signingSecret, body, 'application/x-www-form-urlencoded', options);
}

/** POSTs an Events API body (`event_callback`, `url_verification`) as Slack does: JSON, signed. */
export function sendEvent(botBaseUrl: string, signingSecret: string, body: unknown, options: SendOptions = {}): Promise<BotResponse> {
  return postSigned(botBaseUrl, signingSecret, JSON.stringify(body), 'application/json', options);
}
