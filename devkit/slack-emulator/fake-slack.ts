// A local stand-in for Slack's servers: the Web API under /api/, response_urls under /response/, and Socket
// Mode WebSockets under /socket/, all on one node:http server on 127.0.0.1. It answers the way Slack does
// (tokens, argument checks, Block Kit limits, 429s with Retry-After) so that a bug Slack would refuse
// fails a test here first, and it records everything for assertions.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAKE_SLACK_DEFAULTS } from './defaults.ts';
import { FileStore, fileKind, type UploadedFile } from './file-store.ts';
import { createTsClock, MessageStore, type EphemeralMessage, type MessageMetadata, type StoredMessage } from './message-store.ts';
import { ResponseUrls, type ResponseUrlContext, type ResponseUrlOptions } from './response-urls.ts';
import { FakeSocketMode } from './socket-mode.ts';
import { SlackLoad, type LoadCounts, type SlackLoadOptions } from './load.ts';
import {
  callWebApiMethod,
  FILES_PATH,
  isKnownMethod,
  JSON_ARGUMENTS,
  UPLOAD_PATH,
  tokenKindFor,
  withSlackIds,
  type FakeUser,
  type FakeWorkspaceIdentity,
  type TokenKind,
  type WebApiContext,
  type WebApiResult,
} from './web-api.ts';

export interface FakeSlackOptions {
  identity?: Partial<FakeWorkspaceIdentity>;
  /**
   * Accepted tokens. By default any `xoxb-…` token is a valid bot token and any `xapp-…` an app-level
   * token; listing tokens makes every other one `invalid_auth`.
   */
  tokens?: { bot?: string | readonly string[]; app?: string | readonly string[] };
  /** When set, only these users exist for users.info / chat.postEphemeral. */
  users?: Record<string, FakeUser>;
  /** When set, only these channels exist (id → name); others are `channel_not_found`. */
  channels?: Record<string, string>;
  /** usergroups.users.list: group id → member user ids. */
  userGroups?: Record<string, readonly string[]>;
  /** usergroups.list: group id → handle, for approvers named like "@ops-leads". */
  userGroupHandles?: Record<string, string>;
  responseUrls?: ResponseUrlOptions;
  /** How long an envelope waits for its ack; Slack allows 3 s. */
  socketAckTimeoutMs?: number;
  /** The clock behind message timestamps and response_url expiry. Default: the real one. */
  now?: () => Date;
  /**
   * Slack under load: rate limits per method tier with Retry-After, occasional 5xx, timeouts and reset
   * connections, `not_in_channel` outside `members` (see load.ts). Off unless given. A failure queued with
   * failNext still comes first.
   */
  load?: SlackLoadOptions;
}

/**
 * What to do to the next call(s) of a method (or `response_url`, or `upload_url`: the POST of a file's bytes).
 * Fields combine:
 * - `status` answers with that HTTP status: 429 adds `Retry-After: retryAfter` (default 1) and
 *   `{ok:false,error:'ratelimited'}`, as Slack does; others an error body.
 * - `error` answers HTTP 200 `{ ok: false, error }` (for `response_url`: HTTP 404 with that text; for
 *   `upload_url`: HTTP 500 with that text).
 * - `dropConnection` destroys the socket without an answer.
 * - `delayMs` answers late. Alone, the call is carried out only after the delay, and not at all if the
 *   client has given up by then (the request "never reached Slack"). With `thenSucceed`, the call is carried
 *   out at once and only the answer is late: the client times out although Slack has posted.
 * - `thenSucceed` with `dropConnection`: carried out, but the answer is lost.
 */
export interface InjectedFailure {
  status?: number;
  retryAfter?: number;
  error?: string;
  delayMs?: number;
  thenSucceed?: boolean;
  dropConnection?: boolean;
}

export interface RecordedCall {
  method: string;
  /** Decoded arguments, JSON-encoded ones (blocks, metadata, view, …) parsed; the token is in `token`. */
  args: Record<string, unknown>;
  token: string | undefined;
  at: Date;
  /** What the fake answered (status 0: connection dropped); absent while a delayed answer is pending. */
  response?: { status: number; body: unknown };
  /**
   * True once the method ran and succeeded, whatever the client was told: a post whose answer was lost (a
   * reset connection, a 5xx after the fact) is applied although the client saw a failure.
   */
  applied?: boolean;
}

export interface RecordedResponse {
  id: string;
  url: string;
  /** The JSON the app posted (undefined when it was not JSON). */
  body: Record<string, unknown> | undefined;
  at: Date;
  /** What the fake answered: 200 `ok`, 400 `invalid_blocks`, 404 `used_url`, … */
  status: number;
  answer: string;
}

/** One POST to an upload URL, whatever became of it. */
export interface RecordedUpload {
  fileId: string;
  /** The bytes the fake read (the multipart field `file`, or the raw body). */
  size: number;
  at: Date;
  /** What the fake answered (0: connection dropped); absent while a delayed answer is pending. */
  status?: number;
  /** True once the bytes were kept, whatever the client was told. */
  applied?: boolean;
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

export interface HumanMessageInput {
  user: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  metadata?: MessageMetadata;
}

type Listener<T> = (value: T) => void;

const RESPONSE_PATH = '/response/';
const API_PATH = '/api/';

export class FakeSlack {
  readonly identity: FakeWorkspaceIdentity;
  readonly socket: FakeSocketMode;
  private readonly callList: RecordedCall[] = [];
  private readonly responseList: RecordedResponse[] = [];
  private readonly uploadList: RecordedUpload[] = [];
  private readonly store: MessageStore;
  private readonly fileStore = new FileStore();
  private readonly responseUrls: ResponseUrls;
  private readonly failures = new Map<string, Array<{ failure: InjectedFailure; remaining: number }>>();
  private readonly listeners = { call: new Set<Listener<RecordedCall>>(), response: new Set<Listener<RecordedResponse>>() };
  private readonly closing = new AbortController();
  private readonly now: () => Date;
  private readonly context: WebApiContext;
  private readonly load: SlackLoad | undefined;
  private idCounter = 0;
  private address?: AddressInfo;
  private publicBaseUrl: string | undefined;

  constructor(
    private readonly server: Server,
    private readonly options: FakeSlackOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.load = options.load ? new SlackLoad(options.load) : undefined;
    this.identity = { ...FAKE_SLACK_DEFAULTS, ...options.identity };
    this.store = new MessageStore(createTsClock(this.now));
    const nextId = (prefix: string): string => {
      this.idCounter += 1;
      return `${prefix}${this.idCounter.toString(36).toUpperCase().padStart(5, '0')}`;
    };
    this.responseUrls = new ResponseUrls(this.store, this.identity, this.now, nextId, options.responseUrls);
    this.socket = new FakeSocketMode({
      appId: this.identity.appId,
      now: this.now,
      ackTimeoutMs: options.socketAckTimeoutMs ?? 3000,
    });
    this.context = {
      identity: this.identity,
      store: this.store,
      ...(options.users && { users: options.users }),
      ...(options.channels && { channels: options.channels }),
      userGroups: options.userGroups ?? {},
      ...(options.userGroupHandles && { userGroupHandles: options.userGroupHandles }),
      openSocketUrl: () => this.socket.issueUrl(`ws://127.0.0.1:${this.port}`),
      nextId,
      files: this.fileStore,
      baseUrl: () => this.publicBaseUrl ?? this.baseUrl,
    };
    server.on('request', (req, res) => {
      this.onRequest(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`fake Slack error: ${String(error)}`);
        }
      });
    });
    server.on('upgrade', (req, socket, head) => this.socket.handleUpgrade(req, socket, head));
  }

  /** @internal called once listening. */
  bound(address: AddressInfo): void {
    this.address = address;
  }

  get port(): number {
    if (!this.address) throw new Error('fake Slack is not listening');
    return this.address.port;
  }

  /** `http://127.0.0.1:PORT` */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** For SLACK_API_URL / Bolt `clientOptions.slackApiUrl` / WebClient `slackApiUrl`. */
  get apiUrl(): string {
    return `${this.baseUrl}${API_PATH}`;
  }

  /**
   * Where clients reach the fake when something stands in front of it (a crash-point proxy): the upload URLs
   * and `url_private` it hands out from now on point there, so the bytes' POST passes that proxy too.
   * undefined: its own `baseUrl`.
   */
  setPublicBaseUrl(url: string | undefined): void {
    this.publicBaseUrl = url?.replace(/\/+$/, '');
  }

  /** What load mode has done so far (all zero when it is off). */
  get loadCounts(): LoadCounts {
    return { ...(this.load?.counts ?? { rateLimited: 0, errors: 0, timeouts: 0, drops: 0, notInChannel: 0 }) };
  }

  /** Every Web API call, in arrival order. */
  get calls(): RecordedCall[] {
    return this.callList;
  }

  callsTo(method: string): RecordedCall[] {
    return this.callList.filter((call) => call.method === method);
  }

  /** Every POST of a file's bytes to an upload URL, accepted or not. */
  get uploads(): RecordedUpload[] {
    return this.uploadList;
  }

  /** A file files.getUploadURLExternal reserved, with the bytes uploaded for it (a copy). */
  file(id: string): UploadedFile | undefined {
    const found = this.fileStore.get(id);
    return found && { ...found, ...(found.bytes && { bytes: Buffer.from(found.bytes) }) };
  }

  /** Every reserved file, oldest first (copies). */
  files(): UploadedFile[] {
    return this.fileStore.all().map((file) => this.file(file.id)!);
  }

  /**
   * Forgets an upload that is not completed yet, as Slack discards one left too long: completing it then answers
   * `file_not_found` and its upload URL 404. A completed file stays.
   */
  expireUpload(id: string): void {
    const file = this.fileStore.get(id);
    if (file && !file.completed) file.expired = true;
  }

  /** Every post to a response_url, accepted or not. */
  get responses(): RecordedResponse[] {
    return this.responseList;
  }

  /** The channel's (or every channel's) messages as they stand now, oldest first, thread replies included. */
  messages(channel?: string): StoredMessage[] {
    return structuredClone(this.store.all(channel));
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    const found = this.store.get(channel, ts);
    return found && structuredClone(found);
  }

  /** Ephemeral messages (chat.postEphemeral and ephemeral response_url replies), which history never shows. */
  ephemerals(channel?: string): EphemeralMessage[] {
    return structuredClone(this.store.ephemerals(channel));
  }

  /** One ephemeral message by its ts (as `chat.postEphemeral` answered it, or the reply's). */
  ephemeral(ts: string): EphemeralMessage | undefined {
    const found = this.store.getEphemeral(ts);
    return found && structuredClone(found);
  }

  /** Puts a person's message in a channel (or thread), for history, replies and update-permission tests. */
  addMessage(channel: string, input: HumanMessageInput): StoredMessage {
    const stored = this.store.add({
      channel,
      user: input.user,
      team: this.identity.teamId,
      text: input.text,
      ...(input.blocks && { blocks: withSlackIds(input.blocks, this.context.nextId) }),
      ...(input.thread_ts !== undefined && { thread_ts: input.thread_ts }),
      ...(input.metadata && { metadata: input.metadata }),
    });
    return structuredClone(stored);
  }

  /**
   * A fresh response_url. Give the interaction's context so replies land where Slack would put them:
   * `replace_original`/`delete_original` act on `messageTs`, `in_channel` posts to `channel`, the rest is an
   * ephemeral for `user`.
   */
  newResponseUrl(context: ResponseUrlContext = {}): string {
    return `${this.baseUrl}${RESPONSE_PATH}${this.responseUrls.issue(context)}`;
  }

  /** The next `times` calls of `method` (a Web API method, or `response_url`) fail as described. */
  failNext(method: string, failure: InjectedFailure, times = 1): void {
    if (times < 1) throw new Error('failNext: times must be at least 1');
    const queue = this.failures.get(method) ?? [];
    queue.push({ failure, remaining: times });
    this.failures.set(method, queue);
  }

  /**
   * Subscribe to the fake's feed (for the playground): `call` fires as a Web API call arrives (its `response`
   * is filled in once answered), `response` once a response_url post has been answered. Returns unsubscribe.
   */
  on(event: 'call', listener: Listener<RecordedCall>): () => void;
  on(event: 'response', listener: Listener<RecordedResponse>): () => void;
  on(event: 'call' | 'response', listener: Listener<RecordedCall> | Listener<RecordedResponse>): () => void {
    const set = this.listeners[event] as Set<typeof listener>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * Polls `predicate` until it returns something truthy and resolves with it. A predicate that throws (an
   * `expect` inside) counts as not yet. On timeout, rejects with everything the fake saw.
   */
  async waitFor<T>(
    predicate: (fake: FakeSlack) => T | undefined | null | false | 0 | '',
    // Generous: a condition that holds returns at once, and a full suite on 2 cores can take seconds to get there.
    { timeoutMs = 15_000, intervalMs = 10 }: WaitForOptions = {},
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = predicate(this);
        if (value) return value;
        lastError = undefined;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) {
        const reason = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
        throw new Error(`fake Slack: waitFor timed out after ${timeoutMs} ms${reason}\n${this.summary()}`);
      }
      await sleep(intervalMs);
    }
  }

  /** A readable account of what the fake has seen, for failure messages. */
  summary(): string {
    const lines = ['Web API calls:'];
    if (this.callList.length === 0) lines.push('  (none)');
    for (const call of this.callList) lines.push(`  ${describeCall(call)}`);
    lines.push('response_url posts:');
    if (this.responseList.length === 0) lines.push('  (none)');
    for (const r of this.responseList) lines.push(`  ${r.status} ${r.answer} ${truncate(JSON.stringify(r.body), 160)}`);
    if (this.uploadList.length > 0) {
      lines.push('upload POSTs:');
      for (const upload of this.uploadList) {
        const answer = upload.status === undefined ? 'pending' : upload.status === 0 ? 'connection dropped' : `HTTP ${upload.status}`;
        lines.push(`  ${upload.fileId} ${upload.size} bytes → ${answer}`);
      }
    }
    if (this.socket.envelopes.length > 0) {
      lines.push('Socket Mode envelopes:');
      for (const e of this.socket.envelopes) {
        lines.push(`  ${e.envelope.type} ${e.envelope.envelope_id} ${e.ack ? 'acked' : 'NOT acked'}`);
      }
    }
    return lines.join('\n');
  }

  /** Forgets calls, responses, uploads, files, messages, envelopes and pending failures; connections stay open. */
  reset(): void {
    this.callList.length = 0;
    this.responseList.length = 0;
    this.uploadList.length = 0;
    this.store.clear();
    this.fileStore.clear();
    this.failures.clear();
    this.socket.reset();
  }

  /** Closes sockets and the server. Stop the app first, or its Socket Mode client will try to reconnect. */
  async close(): Promise<void> {
    this.closing.abort();
    this.socket.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private takeFailure(method: string): InjectedFailure | undefined {
    const queue = this.failures.get(method);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) queue.shift();
    return head.failure;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    const body = await readBody(req);
    const raw = body.toString('utf8');

    if (url.pathname.startsWith(UPLOAD_PATH) && req.method === 'POST') {
      await this.onUpload(decodeURIComponent(url.pathname.slice(UPLOAD_PATH.length)), req, body, res, () => clientGone);
      return;
    }

    if (url.pathname.startsWith(FILES_PATH) && (req.method === 'GET' || req.method === 'HEAD')) {
      const file = this.fileStore.get(decodeURIComponent(url.pathname.slice(FILES_PATH.length)));
      if (!file?.completed || !file.bytes) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('file_not_found');
        return;
      }
      const download = url.searchParams.has('download') ? { 'content-disposition': `attachment; filename="${file.filename.replace(/"/g, '')}"` } : {};
      res
        .writeHead(200, { 'content-type': fileKind(file.filename, file.bytes).mimetype, 'content-length': String(file.bytes.length), ...download })
        .end(req.method === 'HEAD' ? undefined : file.bytes);
      return;
    }

    if (url.pathname.startsWith(API_PATH)) {
      const method = decodeURIComponent(url.pathname.slice(API_PATH.length));
      const decoded = decodeApiRequest(req, raw, url.searchParams);
      const call: RecordedCall = { method, args: decoded.args, token: decoded.token, at: this.now() };
      this.callList.push(call);
      for (const listener of this.listeners.call) listener(call);
      const failure = this.takeFailure(method) ?? (decoded.error ? undefined : this.load?.pushback(method, decoded.args));
      await this.answer(failure, res, () => clientGone, {
        handle: () => {
          const result = decoded.error ? { ok: false, error: decoded.error } : this.handleApi(method, decoded);
          if (result.ok) call.applied = true;
          return { status: 200, body: result };
        },
        failureBody: (failure) => ({ ok: false, error: failure.error ?? (failure.status === 429 ? 'ratelimited' : 'fatal_error') }),
        errorStatus: 200,
        record: (status, body) => {
          call.response = { status, body };
        },
      });
      return;
    }

    if (url.pathname.startsWith(RESPONSE_PATH) && req.method === 'POST') {
      const id = url.pathname.slice(RESPONSE_PATH.length);
      let parsedBody: Record<string, unknown> | undefined;
      try {
        const value: unknown = JSON.parse(raw);
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) parsedBody = value as Record<string, unknown>;
      } catch {
        parsedBody = undefined;
      }
      const record: RecordedResponse = { id, url: `${this.baseUrl}${url.pathname}`, body: parsedBody, at: this.now(), status: 0, answer: '' };
      this.responseList.push(record);
      await this.answer(this.takeFailure('response_url'), res, () => clientGone, {
        handle: () => {
          const answer = this.responseUrls.handle(id, raw);
          return { status: answer.status, body: answer.body };
        },
        failureBody: (failure) => failure.error ?? (failure.status === 429 ? 'rate_limited' : 'internal_error'),
        errorStatus: 404,
        record: (status, body) => {
          record.status = status;
          record.answer = typeof body === 'string' ? body : JSON.stringify(body);
        },
      });
      for (const listener of this.listeners.response) listener(record);
      return;
    }

    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }

  /**
   * The POST of a file's bytes to the URL files.getUploadURLExternal answered. Slack takes the raw bytes or a
   * multipart form (the field `file`) and answers HTTP 200 "OK - <bytes>"; an id it never issued (or forgot) is
   * 404. The length is checked at completion, as Slack processes the upload after answering.
   */
  private async onUpload(fileId: string, req: IncomingMessage, body: Buffer, res: ServerResponse, clientGone: () => boolean): Promise<void> {
    const record: RecordedUpload = { fileId, size: 0, at: this.now() };
    this.uploadList.push(record);
    let bytes: Buffer | undefined;
    let unreadable = false;
    const contentType = req.headers['content-type'] ?? '';
    if (contentType.toLowerCase().startsWith('multipart/form-data')) {
      try {
        const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
        const field = form.get('file');
        if (field !== null && typeof field !== 'string') bytes = Buffer.from(await field.arrayBuffer());
        else if (typeof field === 'string') bytes = Buffer.from(field, 'utf8');
        else unreadable = true;
      } catch {
        unreadable = true;
      }
    } else {
      bytes = body;
    }
    record.size = bytes?.length ?? 0;
    const failure = this.takeFailure('upload_url') ?? this.load?.pushback('upload_url', {});
    await this.answer(failure, res, clientGone, {
      handle: () => {
        const file = this.fileStore.get(fileId);
        if (!file || file.expired || file.completed) return { status: 404, body: 'file_not_found' };
        if (unreadable || !bytes) return { status: 400, body: 'no_file_data: send the bytes as the body or as the multipart field "file"' };
        file.bytes = bytes;
        record.applied = true;
        return { status: 200, body: `OK - ${bytes.length}` };
      },
      failureBody: (failure) => failure.error ?? (failure.status === 429 ? 'ratelimited' : 'internal_error'),
      errorStatus: 500,
      record: (status) => {
        record.status = status;
      },
    });
  }

  /** Answers one request, applying `failure` (queued by failNext, or load mode's) if there is one. */
  private async answer(
    failure: InjectedFailure | undefined,
    res: ServerResponse,
    clientGone: () => boolean,
    how: {
      handle: () => { status: number; body: unknown };
      failureBody: (failure: InjectedFailure) => unknown;
      /** The HTTP status of an `error` failure: 200 for the Web API (ok:false), 404 for a response_url, 500 for an upload. */
      errorStatus: number;
      record: (status: number, body: unknown) => void;
    },
  ): Promise<void> {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      how.record(status, body);
      if (res.destroyed || clientGone()) return;
      const isText = typeof body === 'string';
      res
        .writeHead(status, {
          'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
          ...headers,
        })
        .end(isText ? body : JSON.stringify(body));
    };

    if (!failure) {
      const { status, body } = how.handle();
      send(status, body);
      return;
    }

    const early = failure.thenSucceed ? how.handle() : undefined;
    if (failure.delayMs !== undefined && failure.delayMs > 0) {
      try {
        await sleep(failure.delayMs, undefined, { signal: this.closing.signal });
      } catch {
        res.destroy();
        return;
      }
      if (clientGone() && !early) {
        how.record(0, undefined);
        return;
      }
    }
    if (failure.dropConnection) {
      how.record(0, undefined);
      res.socket?.destroy();
      return;
    }
    if (failure.status !== undefined) {
      const headers: Record<string, string> = failure.status === 429 ? { 'retry-after': String(failure.retryAfter ?? 1) } : {};
      send(failure.status, how.failureBody(failure), headers);
      return;
    }
    if (failure.error !== undefined) {
      send(how.errorStatus, how.failureBody(failure));
      return;
    }
    const { status, body } = early ?? how.handle();
    send(status, body);
  }

  private handleApi(method: string, decoded: DecodedRequest): WebApiResult {
    if (!isKnownMethod(method)) return { ok: false, error: 'unknown_method' };
    const authError = this.checkToken(tokenKindFor(method), decoded.token);
    if (authError) return { ok: false, error: authError };
    if (this.load?.notInChannel(method, decoded.args.channel ?? decoded.args.channel_id)) return { ok: false, error: 'not_in_channel' };
    return callWebApiMethod(this.context, method, decoded.args);
  }

  /** Slack's answers: `not_authed` without a token, `not_allowed_token_type` for the wrong kind, else `invalid_auth`. */
  private checkToken(kind: TokenKind, token: string | undefined): string | undefined {
    if (!token) return 'not_authed';
    const prefix = kind === 'app' ? 'xapp-' : 'xoxb-';
    const otherPrefix = kind === 'app' ? 'xoxb-' : 'xapp-';
    if (!token.startsWith(prefix)) return token.startsWith(otherPrefix) ? 'not_allowed_token_type' : 'invalid_auth';
    const configured = this.options.tokens?.[kind];
    if (configured === undefined) return undefined;
    const accepted = typeof configured === 'string' ? [configured] : configured;
    return accepted.includes(token) ? undefined : 'invalid_auth';
  }
}

interface DecodedRequest {
  args: Record<string, unknown>;
  token: string | undefined;
  /** A body Slack could not read at all. */
  error?: string;
}

/**
 * Reads a Web API request the way Slack does. @slack/web-api 8 sends `application/x-www-form-urlencoded`
 * with every non-primitive argument JSON-stringified (blocks, metadata, view…) and numbers/booleans as
 * strings, and the token as `Authorization: Bearer`. Slack also takes JSON bodies and a `token` field.
 */
function decodeApiRequest(req: IncomingMessage, raw: string, query: URLSearchParams): DecodedRequest {
  const args: Record<string, unknown> = Object.fromEntries(query);
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  let error: string | undefined;
  if (contentType.startsWith('application/json')) {
    try {
      const body: unknown = raw === '' ? {} : JSON.parse(raw);
      if (typeof body === 'object' && body !== null && !Array.isArray(body)) Object.assign(args, body);
      else error = 'invalid_json';
    } catch {
      error = 'invalid_json';
    }
  } else if (contentType.startsWith('multipart/form-data')) {
    error = 'invalid_form_data';
  } else if (raw !== '') {
    for (const [key, value] of new URLSearchParams(raw)) args[key] = value;
    for (const key of JSON_ARGUMENTS) {
      const value = args[key];
      if (typeof value !== 'string') continue;
      try {
        args[key] = JSON.parse(value);
      } catch {
        // Left as the string: the method answers invalid_blocks_format / invalid_metadata_format.
      }
    }
  }
  const header = req.headers.authorization;
  const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
  const token = bearer || (typeof args.token === 'string' ? args.token : undefined);
  delete args.token;
  return { args, token, ...(error && { error }) };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function truncate(text: string | undefined, max: number): string {
  if (text === undefined) return '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function describeCall(call: RecordedCall): string {
  const { args } = call;
  const parts = ['channel', 'ts', 'thread_ts', 'user'].filter((key) => args[key] !== undefined).map((key) => `${key}=${String(args[key])}`);
  if (typeof args.text === 'string') parts.push(`text=${JSON.stringify(truncate(args.text, 80))}`);
  if (Array.isArray(args.blocks)) parts.push(`blocks=${args.blocks.length}`);
  const response = call.response;
  let outcome = 'pending';
  if (response) {
    const body = response.body as WebApiResult | undefined;
    outcome =
      response.status === 0 ? 'connection dropped' : response.status !== 200 ? `HTTP ${response.status}` : body?.ok ? 'ok' : `error ${body?.error ?? '?'}`;
  }
  return `${call.at.toISOString().slice(11, 23)} ${call.method}(${parts.join(', ')}) → ${outcome}`;
}

/** Starts a fake Slack on 127.0.0.1 at a free port. */
export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const server = createServer();
  const fake = new FakeSlack(server, options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  fake.bound(server.address() as AddressInfo);
  return fake;
}
