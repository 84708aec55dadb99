// The Web API methods the fake answers, with Slack's argument checks and error codes
// (https://docs.slack.dev/reference/methods/<method>). Transport, tokens, recording and failure injection
// live in fake-slack.ts; these functions only see decoded arguments.
import { checkBlockKitLimits, type BlockKitSurface } from './block-kit-limits.ts';
import { sharedFile, type FileStore } from './file-store.ts';
import { compareTs, type MessageMetadata, type MessageStore, type StoredMessage } from './message-store.ts';

export interface FakeWorkspaceIdentity {
  teamId: string;
  teamName: string;
  teamDomain: string;
  appId: string;
  botId: string;
  botUserId: string;
  botName: string;
}

/** What `users.info` knows about a user; everything but the id has a default. */
export interface FakeUser {
  name?: string;
  real_name?: string;
  is_admin?: boolean;
  is_bot?: boolean;
  deleted?: boolean;
  tz?: string;
  email?: string;
}

export interface WebApiContext {
  identity: FakeWorkspaceIdentity;
  store: MessageStore;
  /** When set, only these users exist (id → details); otherwise any id is a plausible user. */
  users?: Readonly<Record<string, FakeUser>>;
  /** When set, only these channels exist (id → name, names usable as `#name`); otherwise any channel does. */
  channels?: Readonly<Record<string, string>>;
  userGroups: Readonly<Record<string, readonly string[]>>;
  /** usergroups.list: group id → handle (without "@"). */
  userGroupHandles?: Readonly<Record<string, string>>;
  /** Issues a one-time Socket Mode URL (apps.connections.open). */
  openSocketUrl(): string;
  /** A fresh id with Slack's one-letter prefix ("V" for views). */
  nextId(prefix: string): string;
  /** Uploads under way and done (files.getUploadURLExternal, the upload POST, files.completeUploadExternal). */
  files: FileStore;
  /** The fake's own `http://127.0.0.1:PORT`, where upload URLs and files live. */
  baseUrl(): string;
}

export type WebApiResult = { ok: boolean; error?: string } & Record<string, unknown>;
export type TokenKind = 'bot' | 'app';
type Args = Record<string, unknown>;
type Handler = (ctx: WebApiContext, args: Args) => WebApiResult;

/** Slack: message text over 40,000 characters is refused with `msg_too_long` (chat.postMessage errors). */
export const MAX_MESSAGE_TEXT = 40_000;

/** Arguments @slack/web-api sends JSON-encoded inside a form body (it stringifies every non-primitive). */
export const JSON_ARGUMENTS = ['blocks', 'attachments', 'metadata', 'view', 'unfurls', 'user_auth_blocks', 'files'] as const;

/** files.getUploadURLExternal: "Description for the image is longer than the limit of 1000 character" (alt_txt_too_large). */
export const MAX_ALT_TEXT = 1000;

/** Where the fake takes the bytes of an upload: `<base>/upload/<file id>`. */
export const UPLOAD_PATH = '/upload/';
/** Where the fake serves a completed file's bytes (`url_private`). */
export const FILES_PATH = '/files/';

/** `apps.connections.open` wants an app-level token (xapp-); everything else here a bot token (xoxb-). */
export function tokenKindFor(method: string): TokenKind {
  return method === 'apps.connections.open' ? 'app' : 'bot';
}

export function isKnownMethod(method: string): boolean {
  return Object.hasOwn(HANDLERS, method);
}

export function callWebApiMethod(ctx: WebApiContext, method: string, args: Args): WebApiResult {
  const handler = HANDLERS[method];
  if (!handler) return fail('unknown_method');
  return handler(ctx, args);
}

export function fail(error: string, extra: Record<string, unknown> = {}): WebApiResult {
  return { ok: false, error, ...extra };
}

function invalidBlocks(violations: string[], error = 'invalid_blocks'): WebApiResult {
  // The shape Slack answers with: `errors` plus `[ERROR]` lines, which @slack/web-api logs.
  return fail(error, { errors: violations, response_metadata: { messages: violations.map((v) => `[ERROR] ${v}`) } });
}

function str(args: Args, key: string): string | undefined {
  const value = args[key];
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Form bodies carry booleans as "true"/"1"; JSON bodies as booleans. */
export function flag(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

function resolveChannel(ctx: WebApiContext, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!ctx.channels) return value;
  if (Object.hasOwn(ctx.channels, value)) return value;
  const name = value.replace(/^#/, '');
  return Object.entries(ctx.channels).find(([, n]) => n === name)?.[0];
}

/**
 * Slack fills in a `block_id` for every block and an `action_id` for every interactive element that lacks
 * one ("If not specified, one will be generated"), so history and click payloads always carry both. Works
 * on a copy: the recorded call keeps what the app really sent.
 */
export function withSlackIds(blocks: unknown[], nextId: (prefix: string) => string): unknown[] {
  const copy = structuredClone(blocks);
  for (const block of copy) {
    if (typeof block !== 'object' || block === null) continue;
    const b = block as Record<string, unknown>;
    if (b.block_id === undefined) b.block_id = nextId('b');
    if (b.type !== 'actions' && b.type !== 'section' && b.type !== 'input') continue;
    const elements = [...(Array.isArray(b.elements) ? b.elements : []), b.accessory, b.element];
    for (const element of elements) {
      if (typeof element !== 'object' || element === null) continue;
      const e = element as Record<string, unknown>;
      if (e.type !== 'image' && e.action_id === undefined) e.action_id = nextId('a');
    }
  }
  return copy;
}

/** The message as the API shows it: no `channel` key (that is the fake's own bookkeeping). */
export function apiView(message: StoredMessage, includeMetadata: boolean): Record<string, unknown> {
  const { channel: _channel, metadata, ...rest } = message;
  return includeMetadata && metadata ? { ...rest, metadata } : rest;
}

interface Content {
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
}

/**
 * The text/blocks/attachments checks chat.postMessage, chat.postEphemeral and chat.update share.
 * `requireSome`: Slack's `no_text` when none of the three is given.
 */
export function readContent(args: Args, requireSome: boolean): Content | WebApiResult {
  const content: Content = {};
  if (args.text !== undefined) content.text = typeof args.text === 'string' ? args.text : String(args.text);
  if (args.blocks !== undefined) {
    if (!Array.isArray(args.blocks)) return fail('invalid_blocks_format');
    content.blocks = args.blocks;
  }
  if (args.attachments !== undefined) {
    if (!Array.isArray(args.attachments)) return fail('invalid_attachments');
    content.attachments = args.attachments;
  }
  if (content.text !== undefined && content.text.length > MAX_MESSAGE_TEXT) return fail('msg_too_long');
  if (content.blocks) {
    const violations = checkBlockKitLimits(content.blocks);
    if (violations.length > 0) return invalidBlocks(violations);
  }
  const empty = !content.text && !content.blocks?.length && !content.attachments?.length;
  if (requireSome && empty) return fail('no_text');
  return content;
}

export function isResult(value: Content | WebApiResult | MessageMetadata | undefined): value is WebApiResult {
  return value !== undefined && typeof (value as WebApiResult).ok === 'boolean';
}

function readMetadata(args: Args): MessageMetadata | WebApiResult | undefined {
  const metadata = args.metadata;
  if (metadata === undefined) return undefined;
  const valid =
    typeof metadata === 'object' &&
    metadata !== null &&
    typeof (metadata as Record<string, unknown>).event_type === 'string' &&
    typeof (metadata as Record<string, unknown>).event_payload === 'object' &&
    (metadata as Record<string, unknown>).event_payload !== null;
  return valid ? (metadata as MessageMetadata) : fail('invalid_metadata_format');
}

/** The position after `cursor`, as conversations.history and .replies page. */
function page<T>(items: T[], args: Args): { items: T[]; hasMore: boolean; nextCursor: string } {
  const limit = Math.min(Math.max(Number(str(args, 'limit') ?? 100) || 100, 1), 999);
  const cursor = str(args, 'cursor');
  const start = cursor
    ? Number(
        Buffer.from(cursor, 'base64')
          .toString('utf8')
          .replace(/^offset:/, ''),
      ) || 0
    : 0;
  const slice = items.slice(start, start + limit);
  const hasMore = start + limit < items.length;
  const nextCursor = hasMore ? Buffer.from(`offset:${start + limit}`).toString('base64') : '';
  return { items: slice, hasMore, nextCursor };
}

function withinRange(ts: string, args: Args): boolean {
  const oldest = str(args, 'oldest');
  const latest = str(args, 'latest');
  const inclusive = flag(args.inclusive);
  if (oldest !== undefined) {
    const c = compareTs(ts, oldest);
    if (c < 0 || (c === 0 && !inclusive)) return false;
  }
  if (latest !== undefined) {
    const c = compareTs(ts, latest);
    if (c > 0 || (c === 0 && !inclusive)) return false;
  }
  return true;
}

const HANDLERS: Record<string, Handler> = {
  'auth.test': ({ identity }) => ({
    ok: true,
    url: `https://${identity.teamDomain}.slack.com/`,
    team: identity.teamName,
    user: identity.botName,
    team_id: identity.teamId,
    user_id: identity.botUserId,
    bot_id: identity.botId,
    is_enterprise_install: false,
  }),

  'chat.postMessage': (ctx, args) => {
    const channel = resolveChannel(ctx, str(args, 'channel'));
    if (channel === undefined) return fail('channel_not_found');
    const content = readContent(args, true);
    if (isResult(content)) return content;
    const metadata = readMetadata(args);
    if (isResult(metadata)) return metadata;
    const { identity } = ctx;
    const stored = ctx.store.add({
      channel,
      user: identity.botUserId,
      bot_id: identity.botId,
      app_id: identity.appId,
      team: identity.teamId,
      text: content.text ?? '',
      ...(content.blocks && { blocks: withSlackIds(content.blocks, ctx.nextId) }),
      ...(content.attachments && { attachments: structuredClone(content.attachments) }),
      ...(str(args, 'thread_ts') !== undefined && { thread_ts: str(args, 'thread_ts') }),
      ...(metadata && { metadata: structuredClone(metadata) }),
    });
    return { ok: true, channel, ts: stored.ts, message: apiView(stored, true) };
  },

  'chat.update': (ctx, args) => {
    const channel = resolveChannel(ctx, str(args, 'channel'));
    if (channel === undefined) return fail('channel_not_found');
    const ts = str(args, 'ts');
    const message = ts === undefined ? undefined : ctx.store.get(channel, ts);
    if (!message) return fail('message_not_found');
    if (message.user !== ctx.identity.botUserId) return fail('cant_update_message');
    const content = readContent(args, true);
    if (isResult(content)) return content;
    const metadata = readMetadata(args);
    if (isResult(metadata)) return metadata;
    // chat.update: a field left out keeps its previous value; an empty `blocks` array removes the blocks.
    if (content.text !== undefined) message.text = content.text;
    if (content.blocks !== undefined) {
      if (content.blocks.length > 0) message.blocks = withSlackIds(content.blocks, ctx.nextId);
      else delete message.blocks;
    }
    if (content.attachments !== undefined) message.attachments = structuredClone(content.attachments);
    if (metadata) message.metadata = structuredClone(metadata);
    return { ok: true, channel, ts: message.ts, text: message.text, message: apiView(message, true) };
  },

  'chat.delete': (ctx, args) => {
    const channel = resolveChannel(ctx, str(args, 'channel'));
    if (channel === undefined) return fail('channel_not_found');
    const ts = str(args, 'ts');
    const message = ts === undefined ? undefined : ctx.store.get(channel, ts);
    if (!message) return fail('message_not_found');
    if (message.user !== ctx.identity.botUserId) return fail('cant_delete_message');
    ctx.store.remove(channel, message.ts);
    return { ok: true, channel, ts: message.ts };
  },

  'chat.postEphemeral': (ctx, args) => {
    const channel = resolveChannel(ctx, str(args, 'channel'));
    if (channel === undefined) return fail('channel_not_found');
    const user = str(args, 'user');
    if (user === undefined) return fail('user_not_in_channel');
    if (ctx.users && !Object.hasOwn(ctx.users, user)) return fail('user_not_found');
    const content = readContent(args, true);
    if (isResult(content)) return content;
    const stored = ctx.store.addEphemeral({
      channel,
      user,
      text: content.text ?? '',
      ...(content.blocks && { blocks: withSlackIds(content.blocks, ctx.nextId) }),
      ...(str(args, 'thread_ts') !== undefined && { thread_ts: str(args, 'thread_ts') }),
      via: 'chat.postEphemeral',
    });
    return { ok: true, message_ts: stored.ts };
  },

  'chat.getPermalink': (ctx, args) => {
    const channel = resolveChannel(ctx, str(args, 'channel'));
    if (channel === undefined) return fail('channel_not_found');
    const ts = str(args, 'message_ts');
    const message = ts === undefined ? undefined : ctx.store.get(channel, ts);
    if (!message) return fail('message_not_found');
    let permalink = `https://${ctx.identity.teamDomain}.slack.com/archives/${channel}/p${message.ts.replace('.', '')}`;
    if (message.thread_ts !== undefined && message.thread_ts !== message.ts) {
      permalink += `?thread_ts=${message.thread_ts}&cid=${channel}`;
    }
    return { ok: true, channel, permalink };
  },

  'conversations.history': (ctx, args) => {
    const channel = resolveChannel(ctx, str(args, 'channel'));
    if (channel === undefined) return fail('channel_not_found');
    const includeMetadata = flag(args.include_all_metadata);
    const topLevel = ctx.store
      .all(channel)
      .filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts)
      .filter((m) => withinRange(m.ts, args))
      .reverse();
    const { items, hasMore, nextCursor } = page(topLevel, args);
    return {
      ok: true,
      messages: items.map((m) => apiView(m, includeMetadata)),
      has_more: hasMore,
      pin_count: 0,
      response_metadata: { next_cursor: nextCursor },
    };
  },

  'conversations.replies': (ctx, args) => {
    const channel = resolveChannel(ctx, str(args, 'channel'));
    if (channel === undefined) return fail('channel_not_found');
    const ts = str(args, 'ts');
    const asked = ts === undefined ? undefined : ctx.store.get(channel, ts);
    if (!asked) return fail('thread_not_found');
    const rootTs = asked.thread_ts ?? asked.ts;
    const includeMetadata = flag(args.include_all_metadata);
    const thread = ctx.store
      .all(channel)
      .filter((m) => m.ts === rootTs || m.thread_ts === rootTs)
      .filter((m) => m.ts === rootTs || withinRange(m.ts, args));
    const { items, hasMore, nextCursor } = page(thread, args);
    return {
      ok: true,
      messages: items.map((m) => apiView(m, includeMetadata)),
      has_more: hasMore,
      response_metadata: { next_cursor: nextCursor },
    };
  },

  'users.info': (ctx, args) => {
    const id = str(args, 'user');
    if (id === undefined) return fail('user_not_found');
    const known = ctx.users?.[id];
    if (ctx.users && !known) return fail('user_not_found');
    const isBot = id === ctx.identity.botUserId;
    const name = known?.name ?? (isBot ? ctx.identity.botName : id.toLowerCase());
    const realName = known?.real_name ?? name;
    return {
      ok: true,
      user: {
        id,
        team_id: ctx.identity.teamId,
        name,
        real_name: realName,
        deleted: known?.deleted ?? false,
        is_admin: known?.is_admin ?? false,
        is_bot: known?.is_bot ?? isBot,
        tz: known?.tz ?? 'UTC',
        profile: {
          real_name: realName,
          display_name: name,
          ...(known?.email !== undefined && { email: known.email }),
        },
      },
    };
  },

  'usergroups.users.list': (ctx, args) => {
    const group = str(args, 'usergroup');
    if (group === undefined || !Object.hasOwn(ctx.userGroups, group)) return fail('no_such_subteam');
    return { ok: true, users: [...(ctx.userGroups[group] ?? [])] };
  },

  'usergroups.list': (ctx, args) => {
    const withUsers = args.include_users === true || args.include_users === 'true';
    const usergroups = Object.entries(ctx.userGroups).map(([id, users]) => ({
      id,
      team_id: ctx.identity.teamId,
      handle: ctx.userGroupHandles?.[id] ?? id.toLowerCase(),
      name: ctx.userGroupHandles?.[id] ?? id,
      ...(withUsers ? { users: [...users], user_count: users.length } : { user_count: users.length }),
    }));
    return { ok: true, usergroups };
  },

  'apps.connections.open': (ctx) => ({ ok: true, url: ctx.openSocketUrl() }),

  // https://docs.slack.dev/reference/methods/files.getUploadURLExternal: filename and length are required
  // (invalid_arguments without them); "missing_argument … typically only occurs when the length provided is 0".
  // The documented name of the alt text is `alt_txt`; @slack/web-api's filesUploadV2 sends `alt_text`: both are read.
  'files.getUploadURLExternal': (ctx, args) => {
    const filename = str(args, 'filename');
    const lengthText = str(args, 'length');
    if (filename === undefined || lengthText === undefined) return fail('invalid_arguments');
    if (!/^\d+$/.test(lengthText.trim())) return fail('invalid_arguments');
    const length = Number(lengthText);
    if (length === 0) return fail('missing_argument');
    const altTxt = str(args, 'alt_txt') ?? str(args, 'alt_text');
    if (altTxt !== undefined && altTxt.length > MAX_ALT_TEXT) return fail('alt_txt_too_large');
    const id = ctx.nextId('F');
    ctx.files.reserve({ id, filename, length, ...(altTxt !== undefined && { altTxt }) });
    return { ok: true, upload_url: `${ctx.baseUrl()}${UPLOAD_PATH}${id}`, file_id: id };
  },

  // https://docs.slack.dev/reference/methods/files.completeUploadExternal: `file_not_found` "Could not find the
  // file from the upload ticket"; "This method can only be called once". Not documented, chosen here: a file
  // whose bytes never arrived, or arrived in another length than getUploadURLExternal was told, is
  // `file_not_found` (the ticket holds no file); a second completion is `file_update_failed`.
  'files.completeUploadExternal': (ctx, args) => {
    const listed = args.files;
    if (!Array.isArray(listed) || listed.length === 0) return fail('invalid_arguments');
    const wanted: Array<{ id: string; title?: string }> = [];
    for (const entry of listed) {
      if (typeof entry !== 'object' || entry === null || typeof (entry as { id?: unknown }).id !== 'string') return fail('invalid_arguments');
      const { id, title } = entry as { id: string; title?: unknown };
      wanted.push({ id, ...(typeof title === 'string' && title !== '' && { title }) });
    }
    const named = [str(args, 'channel_id'), ...(str(args, 'channels') ?? '').split(',')].map((c) => c?.trim()).filter((c): c is string => !!c);
    const channels: string[] = [];
    for (const name of new Set(named)) {
      const channel = resolveChannel(ctx, name);
      if (channel === undefined) return fail(str(args, 'channel_id') === name ? 'channel_not_found' : 'invalid_channel');
      channels.push(channel);
    }
    if (channels.length > 100) return fail('channels_limit_exceeded');
    const threadTs = str(args, 'thread_ts');
    if (threadTs !== undefined && channels.length !== 1) return fail('invalid_arguments');
    const comment = str(args, 'initial_comment');
    if (comment !== undefined && comment.length > MAX_MESSAGE_TEXT) return fail('msg_too_long');
    let blocks: unknown[] | undefined;
    if (comment === undefined && args.blocks !== undefined) {
      if (!Array.isArray(args.blocks)) return fail('invalid_blocks');
      const violations = checkBlockKitLimits(args.blocks);
      if (violations.length > 0) return invalidBlocks(violations);
      blocks = args.blocks;
    }
    const files = [];
    for (const { id } of wanted) {
      const file = ctx.files.get(id);
      if (!file || file.expired || file.bytes === undefined || file.bytes.length !== file.length) return fail('file_not_found');
      if (file.completed) return fail('file_update_failed');
      files.push(file);
    }
    for (const [index, file] of files.entries()) {
      file.completed = true;
      file.title = wanted[index]!.title ?? file.filename;
    }
    const shared = files.map((file) => sharedFile(file, ctx.baseUrl()));
    const { identity } = ctx;
    for (const channel of channels) {
      ctx.store.add({
        channel,
        user: identity.botUserId,
        bot_id: identity.botId,
        app_id: identity.appId,
        team: identity.teamId,
        text: comment ?? '',
        ...(blocks && { blocks: withSlackIds(blocks, ctx.nextId) }),
        files: structuredClone(shared),
        upload: true,
        ...(threadTs !== undefined && { thread_ts: threadTs }),
      });
    }
    return { ok: true, files: shared.map(({ id, title }) => ({ id, title })) };
  },

  'views.open': (ctx, args) => {
    if (str(args, 'trigger_id') === undefined) return fail('invalid_arguments');
    const view = args.view;
    if (typeof view !== 'object' || view === null) return fail('invalid_arguments');
    const v = view as Record<string, unknown>;
    const surface: BlockKitSurface = v.type === 'home' ? 'home' : 'modal';
    const violations = checkBlockKitLimits(v.blocks ?? [], { surface });
    // https://docs.slack.dev/surfaces/modals: title, submit and close are plain_text of at most 24 characters.
    for (const key of ['title', 'submit', 'close'] as const) {
      const text = (v[key] as { text?: unknown } | undefined)?.text;
      if (typeof text === 'string' && text.length > 24) {
        violations.push(`${key} is ${text.length} characters; at most 24 allowed [json-pointer:/view/${key}/text]`);
      }
    }
    if (violations.length > 0) return invalidBlocks(violations, 'invalid_arguments');
    const { identity } = ctx;
    return {
      ok: true,
      view: { id: ctx.nextId('V'), team_id: identity.teamId, ...v, app_id: identity.appId, bot_id: identity.botId },
    };
  },
};
