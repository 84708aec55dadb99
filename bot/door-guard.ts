// The doors: every request Slack can send the bot (signed HTTP posts, Socket Mode envelopes) is checked for the
// shape Slack always gives it before Bolt or a listener reads a field. Bolt itself reads fields unguarded:
// `payload=null` threw outside any handler (an unhandled rejection: the process died), a block_actions body
// without `user` answered 500 (Slack retries), and anything no listener matched hung for Bolt's 3 s and got
// a 404. Here whatever does not fit is acknowledged (2xx, so Slack does not retry), logged without its body,
// and, when a response_url and a user are known, answered with an ephemeral "nothing was changed".
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import { isValidSlackRequest, type App } from '@slack/bolt';
import type { Logger } from 'pino';
import { somethingWentWrong } from '../blocks/replies.ts';
import { redactDeep } from '../core/redact.ts';

/** What the bot says to a request it cannot use. */
export const NOT_UNDERSTOOD = ':warning: That request was not one I understand; nothing was changed.';

/** Bolt's own limit for a request body (HTTPReceiver's default), kept so both refuse the same sizes. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** A `/scale` text longer than this is refused at the door (Slack's own box stops far earlier). */
export const MAX_COMMAND_TEXT = 4000;

const USER_ID = /^[UW][A-Z0-9]{1,31}$/;
const CHANNEL_ID = /^[CGD][A-Z0-9]{1,31}$/;
const SHORT_STRING = 255;

export type DoorVerdict =
  | { readonly accepted: true }
  | {
      readonly accepted: false;
      /** For the log: which rule the body broke; never the body itself. */
      readonly reason: string;
      /** Where to say "nothing was changed", when the body names both. */
      readonly notify?: { readonly responseUrl: string; readonly user: string };
    };

export interface DoorOptions {
  /** The `/scale`-style command the bot serves. */
  readonly command: string;
  /** Action id prefixes some listener serves (`alert_`, `run_`, …): a click on anything else is refused here. */
  readonly actionPrefixes: readonly string[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isShortString(value: unknown, max = SHORT_STRING): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 2048) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** Who to tell, when the body names a response_url and a user in Slack's shape (whatever else is wrong). */
function notifyTarget(body: Json): { responseUrl: string; user: string } | undefined {
  const user = isObject(body.user) ? body.user.id : body.user_id;
  if (!isHttpUrl(body.response_url) || typeof user !== 'string' || !USER_ID.test(user)) return undefined;
  return { responseUrl: body.response_url, user };
}

const SLASH_STRING_FIELDS = [
  'token',
  'team_id',
  'team_domain',
  'channel_id',
  'channel_name',
  'user_id',
  'user_name',
  'command',
  'text',
  'api_app_id',
  'response_url',
  'trigger_id',
  'enterprise_id',
  'enterprise_name',
  'is_enterprise_install',
];

function checkSlashCommand(body: Json, options: DoorOptions): string | null {
  for (const field of SLASH_STRING_FIELDS) {
    if (field in body && typeof body[field] !== 'string') return `slash command: ${field} is not a string`;
  }
  if (body.command !== options.command) return 'slash command: not a command this bot serves';
  if (typeof body.text !== 'string') return 'slash command: no text';
  if (body.text.length > MAX_COMMAND_TEXT) return 'slash command: text too long';
  if (typeof body.user_id !== 'string' || !USER_ID.test(body.user_id)) return 'slash command: user_id is not a user id';
  if (typeof body.channel_id !== 'string' || !CHANNEL_ID.test(body.channel_id)) return 'slash command: channel_id is not a channel id';
  if (!isShortString(body.team_id)) return 'slash command: no team_id';
  if (!isHttpUrl(body.response_url)) return 'slash command: no response_url';
  return null;
}

function checkBlockActions(body: Json, options: DoorOptions): string | null {
  if (!isObject(body.user) || typeof body.user.id !== 'string' || !USER_ID.test(body.user.id)) return 'block_actions: user.id is not a user id';
  // Org-wide installs send `team: null` and the team in user.team_id; Bolt reads one or the other.
  if (body.team === null ? !isShortString(body.user.team_id) : !isObject(body.team) || !isShortString(body.team.id)) return 'block_actions: no team';
  if (!isHttpUrl(body.response_url)) return 'block_actions: no response_url';
  if ('channel' in body && (!isObject(body.channel) || typeof body.channel.id !== 'string' || !CHANNEL_ID.test(body.channel.id)))
    return 'block_actions: channel is not a channel';
  if ('container' in body) {
    if (!isObject(body.container)) return 'block_actions: container is not an object';
    for (const field of ['type', 'channel_id', 'message_ts']) {
      if (field in body.container && typeof body.container[field] !== 'string') return `block_actions: container.${field} is not a string`;
    }
  }
  if ('message' in body && (!isObject(body.message) || ('ts' in body.message && typeof body.message.ts !== 'string')))
    return 'block_actions: message is not a message';
  if (!Array.isArray(body.actions) || body.actions.length === 0 || body.actions.length > 25) return 'block_actions: actions is not a list of actions';
  for (const action of body.actions) {
    if (!isObject(action) || !isShortString(action.action_id)) return 'block_actions: an action has no action_id';
    for (const field of ['block_id', 'type', 'action_ts']) {
      if (field in action && typeof action[field] !== 'string') return `block_actions: action ${field} is not a string`;
    }
    if ('value' in action && (typeof action.value !== 'string' || action.value.length > 2000)) return 'block_actions: action value is not a string';
    if (!options.actionPrefixes.some((prefix) => (action.action_id as string).startsWith(prefix))) return 'block_actions: no listener serves this action id';
  }
  return null;
}

/**
 * The door's rule: a `/scale` slash command or a click on one of the bot's own buttons, each with every field
 * Slack always sends and the listeners read, in the type Slack sends it. Nothing else reaches a listener.
 */
export function inspectSlackBody(body: unknown, options: DoorOptions): DoorVerdict {
  if (!isObject(body))
    return { accepted: false, reason: `the payload is ${body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`}, not an object` };
  const refuse = (reason: string): DoorVerdict => {
    const notify = notifyTarget(body);
    return { accepted: false, reason, ...(notify ? { notify } : {}) };
  };
  // Events API callbacks: the bot subscribes to none, so there is nothing to run (and no one to tell).
  if ('event' in body || body.type === 'event_callback' || body.type === 'app_rate_limited')
    return { accepted: false, reason: 'an Events API body (the bot subscribes to no events)' };
  if ('command' in body) {
    const problem = checkSlashCommand(body, options);
    return problem ? refuse(problem) : { accepted: true };
  }
  if (body.type === 'block_actions') {
    const problem = checkBlockActions(body, options);
    return problem ? refuse(problem) : { accepted: true };
  }
  return refuse(typeof body.type === 'string' ? 'an interaction type the bot does not serve' : 'no type');
}

/** Posts the ephemeral "nothing was changed" (or `text`) to a response_url; never throws. */
export async function tellThroughResponseUrl(responseUrl: string, text: string, logger: Logger): Promise<void> {
  try {
    const response = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(redactDeep({ response_type: 'ephemeral', replace_original: false, text })),
      signal: AbortSignal.timeout(5000),
    });
    await response.body?.cancel();
    if (!response.ok) logger.warn({ status: response.status }, 'the response_url refused the answer to a refused request');
  } catch (error) {
    logger.warn({ err: error }, 'could not answer a refused request through its response_url');
  }
}

export interface GuardOptions extends DoorOptions {
  readonly logger: Logger;
}

/** Bodies already answered by the global error handler, so the door does not answer them a second time. */
const answered = new WeakSet<object>();

export function markAnswered(body: unknown): void {
  if (typeof body === 'object' && body !== null) answered.add(body);
}

/**
 * The door for both transports: Bolt's receivers (HTTP and Socket Mode alike) hand every request to
 * `app.processEvent`; this one checks the body first, and turns whatever still goes wrong inside Bolt (no
 * listener matched, a listener never acked, Bolt threw) into an ack and a message instead of a hang or a 500.
 */
export function guardProcessEvent(app: App, { logger, ...door }: GuardOptions): void {
  const processEvent = app.processEvent.bind(app);
  app.processEvent = async (event) => {
    let acked = false;
    const ack: typeof event.ack = async (response) => {
      acked = true;
      return event.ack(response);
    };
    const ackOnce = async () => {
      if (acked) return;
      try {
        await ack();
      } catch (error) {
        logger.warn({ err: error }, 'could not acknowledge a Slack request');
      }
    };
    const verdict = inspectSlackBody(event.body, door);
    if (!verdict.accepted) {
      logger.warn({ reason: verdict.reason }, 'refused a Slack request at the door');
      await ackOnce();
      if (verdict.notify) await tellThroughResponseUrl(verdict.notify.responseUrl, NOT_UNDERSTOOD, logger);
      return;
    }
    try {
      await processEvent({ ...event, ack });
      if (!acked) {
        // Every listener acks first; none did, so none matched (or one failed before acking).
        logger.warn('no listener acknowledged a Slack request');
        await ackOnce();
        if (!answered.has(event.body)) {
          const target = notifyTarget(event.body as Json);
          if (target) await tellThroughResponseUrl(target.responseUrl, NOT_UNDERSTOOD, logger);
        }
      }
    } catch (error) {
      const ref = randomBytes(4).toString('hex');
      logger.error({ err: error, ref }, 'Bolt failed on a Slack request');
      await ackOnce();
      if (!answered.has(event.body)) {
        const target = notifyTarget(event.body as Json);
        if (target) await tellThroughResponseUrl(target.responseUrl, somethingWentWrong(ref), logger);
      }
    }
  };
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    request.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        request.resume();
        resolve('too large');
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    request.on('error', (error) => {
      if (!done) reject(error);
    });
  });
}

function answer(response: ServerResponse, status: number): void {
  if (response.headersSent) return;
  response.writeHead(status);
  response.end();
}

/**
 * The HTTP door, in front of Bolt's request listener: Bolt reads `body.ssl_check` of whatever JSON the
 * request holds before any handler of its own, so a signed `payload=null` threw where nothing caught it.
 * This reads and verifies the body first (401 unsigned, 400 unreadable, 413 too large) and acknowledges a
 * signed body that is not a JSON object with 200; the rest goes to Bolt with the body already read.
 */
export function guardHttpListener(listener: RequestListener, { signingSecret, logger }: { signingSecret: string; logger: Logger }): RequestListener {
  return (request, response) => {
    void (async () => {
      const raw = await readBody(request, MAX_BODY_BYTES);
      if (raw === 'too large') {
        logger.warn({ limit: MAX_BODY_BYTES }, 'refused a Slack request: body too large');
        return answer(response, 413);
      }
      const text = raw.toString('utf8');
      // Parsed exactly as Bolt parses it (HTTPModuleFunctions.parseHTTPRequestBody), so both see the same body.
      const form = request.headers['content-type'] === 'application/x-www-form-urlencoded';
      const fields = form ? parseQueryString(text) : undefined;
      const passOn = () => {
        (request as IncomingMessage & { rawBody?: Buffer }).rawBody = raw;
        return listener(request, response);
      };
      // Slack's SSL check is unsigned by design; Bolt answers it and drops anything smuggled with it.
      if (fields?.ssl_check === '1') return passOn();
      const signature = request.headers['x-slack-signature'];
      const timestamp = Number(request.headers['x-slack-request-timestamp']);
      const signed =
        typeof signature === 'string' &&
        isValidSlackRequest({ signingSecret, body: text, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp } });
      if (!signed) {
        logger.warn('refused a Slack request: bad signature');
        return answer(response, 401);
      }
      let body: unknown;
      try {
        body = fields ? (typeof fields.payload === 'string' ? JSON.parse(fields.payload) : fields) : JSON.parse(text);
      } catch {
        logger.warn('refused a Slack request: the body is not JSON');
        return answer(response, 400);
      }
      if (!isObject(body)) {
        logger.warn(
          { reason: `the payload is ${body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`}` },
          'refused a Slack request at the door',
        );
        return answer(response, 200);
      }
      return passOn();
    })().catch((error: unknown) => {
      logger.error({ err: error }, 'the Slack door failed on a request');
      answer(response, 400);
    });
  };
}

interface WsMessageEmitter {
  listeners(event: 'ws_message'): Array<(data: unknown, isBinary: boolean) => unknown>;
  off(event: 'ws_message', listener: (...args: never[]) => unknown): unknown;
  on(event: 'ws_message', listener: (data: unknown, isBinary: boolean) => unknown): unknown;
  send(envelopeId: string, body?: Record<string, unknown>): Promise<void>;
}

/**
 * The Socket Mode door's first step: @slack/socket-mode 2.x reads `payload.event.type` of an `events_api`
 * envelope before emitting it, in an async handler whose rejection nothing catches, so an envelope without
 * an event would end the process. Its handler is wrapped so such a failure is logged and the envelope acked.
 * Reaches into the client's `ws_message` event (not public API): re-check on an upgrade of @slack/socket-mode.
 */
export function guardSocketModeClient(client: unknown, logger: Logger): void {
  const emitter = client as Partial<WsMessageEmitter>;
  if (typeof emitter.listeners !== 'function' || typeof emitter.on !== 'function' || typeof emitter.off !== 'function') return;
  for (const handler of emitter.listeners('ws_message')) {
    emitter.off('ws_message', handler as (...args: never[]) => unknown);
    emitter.on('ws_message', (data, isBinary) => {
      void Promise.resolve()
        .then(() => handler(data, isBinary))
        .catch(async (error: unknown) => {
          logger.warn({ err: error }, 'refused a Socket Mode envelope the client could not read');
          const envelopeId = envelopeIdOf(data);
          if (envelopeId && typeof emitter.send === 'function') await emitter.send(envelopeId).catch(() => {});
        });
    });
  }
}

function envelopeIdOf(data: unknown): string | undefined {
  try {
    const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : '';
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) && isShortString(parsed.envelope_id) ? parsed.envelope_id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The one place every reply through a response_url (Bolt's `respond()`, the door's own notices go through
 * `tellThroughResponseUrl`) is scrubbed: Bolt posts them with the `fetch` of its client options. Web API calls
 * (under `apiUrl`) pass untouched: their bodies carry the token, which is meant for Slack.
 */
export function createRedactingFetch(apiUrl: string, base: typeof fetch = globalThis.fetch): typeof fetch {
  const api = new URL(apiUrl);
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const isApi = url.origin === api.origin && url.pathname.startsWith(api.pathname);
    if (isApi || typeof init?.body !== 'string') return base(input, init);
    let body = init.body;
    try {
      body = JSON.stringify(redactDeep(JSON.parse(init.body) as unknown));
    } catch {
      // Not JSON: Bolt's respond() only posts JSON, so this is not a reply; leave it.
    }
    return base(input, { ...init, body });
  };
}

let safetyNetLogger: Logger | null = null;

/**
 * The last net: a promise rejection nothing handled is logged (scrubbed, by the logger) and the bot keeps
 * serving, instead of Node's default of ending the process. Installed once per process; the latest bot's
 * logger writes. Uncaught exceptions keep Node's default (the state after one is unknown) but are logged first.
 */
export function installProcessSafetyNets(logger: Logger): void {
  const first = safetyNetLogger === null;
  safetyNetLogger = logger;
  if (!first) return;
  process.on('unhandledRejection', (reason) => {
    safetyNetLogger?.error({ err: reason }, 'a promise rejection nothing handled; the bot keeps running');
  });
  process.on('uncaughtExceptionMonitor', (error) => {
    safetyNetLogger?.fatal({ err: error }, 'an uncaught exception; the process ends');
    safetyNetLogger?.flush();
  });
}
