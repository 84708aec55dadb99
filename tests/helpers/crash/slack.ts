import type { FakeSlack, StoredMessage } from '../slack/index.ts';
// Which form fields @slack/web-api JSON-encodes (the emulator's own list, so both decode alike), and where it takes a file's bytes.
import { JSON_ARGUMENTS, UPLOAD_PATH } from '../../../devkit/slack-emulator/web-api.ts';
import { startPointProxy, type PointProxy, type PointProxyRequest } from './point-proxy.ts';

/** The event_type the outbox stamps on every post (services/outbox.ts OUTBOX_EVENT_TYPE). */
const OUTBOX_EVENT_TYPE = 'scalebot_message';

/** A Web API call as the proxy sees it: the method from the path, the form (or JSON) arguments decoded. */
export interface SlackCall {
  readonly method: string;
  readonly args: Record<string, unknown>;
}

export function decodeSlackCall(request: Pick<PointProxyRequest, 'path' | 'body' | 'headers'>): SlackCall {
  const method = decodeURIComponent(request.path.replace(/^.*\/api\//, ''));
  const args: Record<string, unknown> = {};
  const contentType = String(request.headers['content-type'] ?? '').toLowerCase();
  if (contentType.startsWith('application/json')) {
    try {
      Object.assign(args, JSON.parse(request.body || '{}'));
    } catch {
      // left empty: the fake answers invalid_json
    }
  } else {
    for (const [key, value] of new URLSearchParams(request.body)) args[key] = value;
    for (const key of JSON_ARGUMENTS) {
      if (typeof args[key] !== 'string') continue;
      try {
        args[key] = JSON.parse(args[key] as string);
      } catch {
        // left as the string
      }
    }
  }
  delete args.token;
  return { method, args };
}

/** The outbox key a message was posted with (`breach:3`, `breach:3:resolved`), from its metadata. */
export function outboxKeyOf(message: Pick<StoredMessage, 'metadata'> | undefined): string | undefined {
  const metadata = message?.metadata as { event_type?: string; event_payload?: Record<string, unknown> } | undefined;
  if (metadata?.event_type !== OUTBOX_EVENT_TYPE) return undefined;
  const key = metadata.event_payload?.key;
  return typeof key === 'string' ? key : undefined;
}

export function outboxIdOf(message: Pick<StoredMessage, 'metadata'> | undefined): number | undefined {
  const metadata = message?.metadata as { event_type?: string; event_payload?: Record<string, unknown> } | undefined;
  if (metadata?.event_type !== OUTBOX_EVENT_TYPE) return undefined;
  const id = metadata.event_payload?.outbox_id;
  return typeof id === 'number' ? id : undefined;
}

/** The label of the POST of a file's bytes to the upload URL files.getUploadURLExternal answered (not a Web API method). */
export const UPLOAD_BYTES = 'upload_bytes';

/** The file id of a completion's first file (`files: [{ id, title }]`). */
const completedFileId = (args: Record<string, unknown>): string | undefined => {
  const first = Array.isArray(args.files) ? (args.files[0] as { id?: unknown } | undefined) : undefined;
  return typeof first?.id === 'string' ? first.id : undefined;
};

/**
 * What a Slack call is about, for its crash-point label: a post by the outbox key it carries, an edit by
 * the key of the message it edits (looked up in the fake), and `qualify` may add a phase ("resolved").
 * The three calls of an upload (`files.getUploadURLExternal`, `upload_bytes` for the POST of the bytes,
 * `files.completeUploadExternal`) carry no outbox key; they are named by the file's name (looked up in the fake
 * by the file id), the same in every run and across restarts, when each one reserves a new file id.
 * Digits runs of 6 or more (times in reminder keys) become `*`, so "the first reminder" is the same point in
 * every run.
 */
export function slackPointLabeller(fake: FakeSlack, qualify: (call: SlackCall, key: string | undefined) => string | undefined = () => undefined) {
  return (request: PointProxyRequest): string => {
    if (request.path.startsWith(UPLOAD_PATH)) {
      const fileName = fake.file(decodeURIComponent(request.path.slice(UPLOAD_PATH.length)))?.filename;
      return [UPLOAD_BYTES, fileName?.replace(/\d{6,}/g, '*')].filter(Boolean).join(' ');
    }
    const call = decodeSlackCall(request);
    const { method, args } = call;
    let key: string | undefined;
    let fileName: string | undefined;
    if (method === 'chat.postMessage') key = outboxKeyOf({ metadata: args.metadata as StoredMessage['metadata'] });
    else if (method === 'chat.update' && typeof args.channel === 'string' && typeof args.ts === 'string')
      key = outboxKeyOf(fake.message(args.channel, args.ts));
    else if (method === 'conversations.replies' && typeof args.channel === 'string' && typeof args.ts === 'string')
      key = outboxKeyOf(fake.message(args.channel, args.ts));
    else if (method === 'files.getUploadURLExternal' && typeof args.filename === 'string') fileName = args.filename;
    else if (method === 'files.completeUploadExternal') fileName = fake.file(completedFileId(args) ?? '')?.filename;
    const phase = qualify(call, key);
    return [method, (key ?? fileName)?.replace(/\d{6,}/g, '*'), phase].filter(Boolean).join(' ');
  };
}

export interface SlackProxy extends PointProxy {
  /** For the bot's SLACK_API_URL. */
  readonly apiUrl: string;
}

/**
 * A crash-point proxy in front of the fake Slack's Web API, labelling calls with slackPointLabeller. The fake's
 * upload URLs point at the proxy while it runs, so the POST of a file's bytes is a point too (`upload_bytes`).
 */
export async function startSlackProxy(fake: FakeSlack, qualify?: (call: SlackCall, key: string | undefined) => string | undefined): Promise<SlackProxy> {
  const proxy = await startPointProxy({ source: 'slack', target: fake.baseUrl, label: slackPointLabeller(fake, qualify) });
  fake.setPublicBaseUrl(proxy.url);
  const stop = proxy.stop;
  return Object.assign(proxy, {
    apiUrl: `${proxy.url}/api/`,
    stop: async () => {
      fake.setPublicBaseUrl(undefined);
      await stop();
    },
  });
}

/** What an outbox row says a message is, for comparing with what Slack shows. */
export interface ExpectedSlackMessage {
  readonly id: number;
  readonly dedupeKey: string;
  readonly channel: string;
  readonly status: string;
  readonly ts: string | null;
  readonly needsUpdate: boolean;
  /** A thread reply's parent row. */
  readonly parentId: number | null;
  /** A file row's upload: the id files.getUploadURLExternal gave (the outbox stores it before completing). */
  readonly fileId?: string | null;
  readonly payload: { text: string; blocks?: unknown[]; file?: { filename: string; title: string; altText?: string; base64: string } };
}

const withoutSlackIds = (blocks: unknown[] | undefined) =>
  JSON.stringify(blocks ?? [], (key, value: unknown) => (key === 'block_id' || key === 'action_id' ? undefined : value));

const okAnswer = (call: { response?: { body: unknown } }) => (call.response?.body as { ok?: boolean } | undefined)?.ok === true;

/**
 * Exactly once, as Slack shows it: every problem found between the outbox (what the bot meant to post) and
 * the fake (what was posted). Empty when each row is one message, posted once, showing the row's payload, in
 * the right thread, and the bot posted nothing else. Ids stamped by the fake (block_id, action_id) are
 * ignored; the bot's own ones are compared too when it sets them.
 *
 * A file row is a share (files.completeUploadExternal), which carries no metadata of ours: it is matched by
 * its file id (`row.fileId` among the share's `files[].id`), and a share of another file id whose bytes are a
 * row's (an upload started over and completed twice) counts as that row's too. So a file shared twice, a
 * share no row accounts for and a file row marked sent with no share are all reported, and the share must
 * hold the row's bytes, title, alt text and comment.
 */
export function exactlyOnceProblems(fake: FakeSlack, rows: readonly ExpectedSlackMessage[], channels: readonly string[]): string[] {
  const problems: string[] = [];
  const botMessages = channels.flatMap((channel) => fake.messages(channel)).filter((message) => message.user === fake.identity.botUserId);
  const fileRows = rows.filter((row) => row.payload.file);
  const bytesOf = (id: string) => fake.file(id)?.bytes;
  /** Which file row a file id belongs to: the one that stored it, else the one whose bytes it holds. */
  const fileRowOf = (fileId: string): ExpectedSlackMessage | undefined => {
    const stored = fileRows.find((row) => row.fileId === fileId);
    if (stored) return stored;
    const bytes = bytesOf(fileId);
    return bytes && fileRows.find((row) => Buffer.from(row.payload.file!.base64, 'base64').equals(bytes));
  };
  const byOutboxId = new Map<number, StoredMessage[]>();
  const add = (id: number, message: StoredMessage) => byOutboxId.set(id, [...(byOutboxId.get(id) ?? []), message]);
  for (const message of botMessages) {
    if (message.files?.length) {
      const owners = new Set(message.files.map((file) => fileRowOf(file.id)));
      for (const owner of owners) if (owner) add(owner.id, message);
      if (owners.has(undefined))
        problems.push(`a file share no outbox row accounts for: ${message.ts} ${message.files.map((file) => `${file.id} ${file.name}`).join(', ')}`);
      continue;
    }
    const id = outboxIdOf(message);
    if (id === undefined) {
      problems.push(`a bot message without outbox metadata: ${message.ts} ${JSON.stringify(message.text).slice(0, 120)}`);
      continue;
    }
    add(id, message);
  }
  const acceptedPosts = new Map<number, number>();
  for (const call of fake.callsTo('chat.postMessage')) {
    const id = outboxIdOf({ metadata: call.args.metadata as StoredMessage['metadata'] });
    if (id !== undefined && okAnswer(call)) acceptedPosts.set(id, (acceptedPosts.get(id) ?? 0) + 1);
  }
  for (const call of fake.callsTo('files.completeUploadExternal')) {
    const id = Array.isArray(call.args.files) ? (call.args.files[0] as { id?: unknown } | undefined)?.id : undefined;
    const owner = typeof id === 'string' ? fileRowOf(id) : undefined;
    if (owner && okAnswer(call)) acceptedPosts.set(owner.id, (acceptedPosts.get(owner.id) ?? 0) + 1);
  }
  const rowIds = new Set(rows.map((row) => row.id));
  for (const [id, messages] of byOutboxId) {
    if (!rowIds.has(id)) problems.push(`a message for outbox row ${id}, which does not exist: ${messages.map((m) => m.ts).join(', ')}`);
  }
  for (const row of rows) {
    const messages = byOutboxId.get(row.id) ?? [];
    const posts = acceptedPosts.get(row.id) ?? 0;
    const verb = row.payload.file ? 'shared' : 'posted';
    if (posts > 1) problems.push(`${row.dedupeKey} (row ${row.id}) was ${verb} ${posts} times`);
    if (messages.length > 1) problems.push(`${row.dedupeKey} (row ${row.id}) shows ${messages.length} times in Slack: ${messages.map((m) => m.ts).join(', ')}`);
    if (row.status !== 'sent' || !row.ts) {
      problems.push(`${row.dedupeKey} (row ${row.id}) is ${row.status}, never delivered`);
      continue;
    }
    if (row.needsUpdate) problems.push(`${row.dedupeKey} (row ${row.id}) still waits for an edit`);
    const shown = fake.message(row.channel, row.ts);
    if (!shown) {
      problems.push(`${row.dedupeKey} (row ${row.id}) is marked sent as ${row.ts}, which Slack does not have`);
      continue;
    }
    const parent = row.parentId === null ? undefined : rows.find((candidate) => candidate.id === row.parentId);
    if (row.parentId !== null && (!parent?.ts || shown.thread_ts !== parent.ts))
      problems.push(`${row.dedupeKey} (row ${row.id}) is not in its parent's thread (${shown.thread_ts} ≠ ${parent?.ts})`);
    if (row.parentId === null && shown.thread_ts !== undefined && shown.thread_ts !== shown.ts)
      problems.push(`${row.dedupeKey} (row ${row.id}) landed in a thread`);
    if (row.payload.file) {
      problems.push(...fileShareProblems(fake, row, shown));
      continue;
    }
    if (outboxIdOf(shown) !== row.id) problems.push(`${row.dedupeKey} (row ${row.id}) points at ${row.ts}, which is outbox row ${outboxIdOf(shown)}'s message`);
    if (shown.text !== row.payload.text)
      problems.push(`${row.dedupeKey} (row ${row.id}) shows ${JSON.stringify(shown.text)} but should say ${JSON.stringify(row.payload.text)}`);
    else if (withoutSlackIds(shown.blocks) !== withoutSlackIds(row.payload.blocks))
      problems.push(`${row.dedupeKey} (row ${row.id}) shows other blocks than its payload`);
  }
  return problems;
}

/** A sent file row against the message its ts points at: a share of its own file id, with its bytes, title, alt text and comment. */
function fileShareProblems(fake: FakeSlack, row: ExpectedSlackMessage, shown: StoredMessage): string[] {
  const file = row.payload.file!;
  const name = `${row.dedupeKey} (row ${row.id})`;
  const shared = shown.files?.find((candidate) => candidate.id === row.fileId);
  if (!row.fileId || !shared)
    return [`${name} is marked sent as ${row.ts}, which shares ${shown.files?.map((f) => f.id).join(', ') || 'no file'}, not its file ${row.fileId}`];
  const problems: string[] = [];
  const uploaded = fake.file(row.fileId);
  if (!uploaded?.bytes?.equals(Buffer.from(file.base64, 'base64')))
    problems.push(
      `${name}: Slack holds ${uploaded?.bytes?.length ?? 'no'} bytes for ${row.fileId}, not the row's ${Buffer.from(file.base64, 'base64').length}`,
    );
  if (shared.title !== file.title) problems.push(`${name}: the share is titled ${JSON.stringify(shared.title)}, not ${JSON.stringify(file.title)}`);
  if (file.altText !== undefined && shared.alt_txt !== file.altText)
    problems.push(`${name}: the share's alt text is ${JSON.stringify(shared.alt_txt)}, not ${JSON.stringify(file.altText)}`);
  if (shown.text !== row.payload.text)
    problems.push(`${name}: the share's comment is ${JSON.stringify(shown.text)} but should say ${JSON.stringify(row.payload.text)}`);
  return problems;
}
