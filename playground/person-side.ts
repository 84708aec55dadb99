// The playground's side of Slack: the emulator (slack-emulator/) plus what a Slack client does for a person,
// typing a slash command, clicking an element, and what the person sees of a channel. Everything the bot
// receives goes through the same signed requests Slack makes; everything it sends arrives at the emulator's
// Web API and response_urls, which refuse what Slack refuses.
import {
  buildBlockActionsPayload,
  compareTs,
  findBlockElement,
  sendInteraction,
  sendSlashCommand,
  startFakeSlack,
  type EphemeralMessage,
  type FakeSlack,
  type RecordedCall,
  type RecordedResponse,
  type StoredMessage,
} from '../devkit/slack-emulator/index.ts';
import {
  emulatorChannels,
  emulatorUserGroups,
  emulatorUsers,
  findChannel,
  findUser,
  OPS_GROUP,
  PLAYGROUND_CHANNELS,
  PLAYGROUND_TEAM,
  PLAYGROUND_USERS,
} from './workspace.ts';

export const PLAYGROUND_BOT = { appId: 'A0SCALEBOT', botId: 'B0SCALEBOT', botUserId: 'U0SCALEBOT', botName: 'scalebot' } as const;

/** How long Slack waits for the app to answer a slash command or an interaction. */
const SLACK_ACK_TIMEOUT_MS = 3000;
const ACTIVITY_LIMIT = 200;

export interface BotEndpoint {
  /** The bot's base URL; Slack's requests go to `${url}/slack/events`. */
  readonly url: string;
  readonly signingSecret: string;
}

export type ViewKind = 'message' | 'ephemeral' | 'command' | 'notice';

/** One line of the channel as the page shows it. */
export interface ViewMessage {
  readonly key: string;
  readonly kind: ViewKind;
  readonly ts: string;
  readonly channel: string;
  readonly user: string;
  readonly isBot: boolean;
  readonly text: string;
  readonly blocks?: unknown[];
  readonly attachments?: unknown[];
  /** How many times the message was changed in place (chat.update, replace_original). */
  readonly edits: number;
  readonly threadTs?: string;
  readonly replies?: ViewMessage[];
  readonly via?: string;
  readonly level?: 'error' | 'info';
  /** Files shared with the message (a chart the bot uploaded), as the page loads them: through `/api/files/<id>`. */
  readonly files?: ViewFile[];
}

/** A file shared in a message, as the page shows it. */
export interface ViewFile {
  readonly id: string;
  readonly name: string;
  readonly title: string;
  readonly mimetype: string;
  /** What the image shows, in words (Slack's `alt_txt`); the title when the uploader gave none. */
  readonly altText: string;
  /** The page server's proxy for the file's `url_private`, which wants the bot's token. */
  readonly url: string;
}

/** A file as Slack (and the emulator) lists it on a message: the fields the page uses. */
interface SlackFile {
  readonly id?: unknown;
  readonly name?: unknown;
  readonly title?: unknown;
  readonly mimetype?: unknown;
  readonly alt_txt?: unknown;
  readonly alt_text?: unknown;
  readonly url_private?: unknown;
}

/** Slack's file ids: F and capitals or digits. Only these reach the proxy. */
export const FILE_ID = /^F[A-Z0-9]{2,40}$/;

export interface ActivityEntry {
  readonly at: string;
  /** `api` a Web API call from the bot, `response` a response_url post, `command`/`action` what the page sent. */
  readonly kind: 'api' | 'response' | 'command' | 'action';
  readonly summary: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export interface ChannelView {
  readonly id: string;
  readonly name: string;
  readonly topic: string;
  readonly messages: ViewMessage[];
}

export interface WorkspaceView {
  readonly team: string;
  readonly bot: { readonly id: string; readonly name: string };
  readonly users: ReadonlyArray<{ id: string; name: string; realName: string; role: string }>;
  readonly groups: ReadonlyArray<{ id: string; handle: string }>;
  readonly channels: ChannelView[];
  readonly activity: ActivityEntry[];
}

export interface ActionInput {
  readonly user: string;
  readonly channel: string;
  readonly ts: string;
  readonly ephemeral?: boolean;
  readonly actionId: string;
  readonly blockId?: string;
  /** static_select, overflow, radio_buttons: the chosen option's value. */
  readonly selectedValue?: string;
  /** checkboxes, multi_static_select: every chosen option's value. */
  readonly selectedValues?: readonly string[];
  /** datepicker: YYYY-MM-DD. */
  readonly selectedDate?: string;
  /** What the message's other stateful elements hold, as Slack puts it in `state.values`. */
  readonly state?: Record<string, Record<string, unknown>>;
}

/** What happened to a request the page asked for, in words a person reads. */
export interface Outcome {
  readonly ok: boolean;
  readonly message?: string;
}

type Notice = { key: string; ts: string; channel: string; user: string | null; text: string; level: 'error' | 'info'; threadTs?: string };
type CommandEcho = { key: string; ts: string; channel: string; user: string; text: string };
type IssuedUrl = { channel: string; messageTs?: string; ephemeral?: boolean };

export class PlaygroundEmulator {
  private bot: BotEndpoint | null = null;
  private readonly notices: Notice[] = [];
  private readonly commands: CommandEcho[] = [];
  private readonly pageActivity: ActivityEntry[] = [];
  private readonly edits = new Map<string, number>();
  private readonly issuedUrls = new Map<string, IssuedUrl>();
  private readonly changeListeners = new Set<() => void>();
  private readonly pendingCalls = new Set<RecordedCall>();
  private flushTimer: NodeJS.Timeout | null = null;
  private counter = 0;

  private constructor(
    readonly slack: FakeSlack,
    private readonly botToken: string,
  ) {
    slack.on('call', (call) => {
      this.pendingCalls.add(call);
      this.scheduleChange();
    });
    slack.on('response', (response) => this.onResponse(response));
  }

  /** Starts the emulator on 127.0.0.1; `botToken` is the only token it accepts. */
  static async start({ botToken }: { botToken: string }): Promise<PlaygroundEmulator> {
    const slack = await startFakeSlack({
      identity: { ...PLAYGROUND_TEAM, ...PLAYGROUND_BOT },
      tokens: { bot: botToken },
      users: emulatorUsers(),
      channels: emulatorChannels(),
      userGroups: emulatorUserGroups(),
      userGroupHandles: { [OPS_GROUP.id]: OPS_GROUP.handle },
    });
    return new PlaygroundEmulator(slack, botToken);
  }

  /** Where the bot's Web API client points: SLACK_API_URL. */
  get apiUrl(): string {
    return this.slack.apiUrl;
  }

  connectBot(bot: BotEndpoint): void {
    this.bot = bot;
  }

  /** Called after anything the page shows may have changed. Returns unsubscribe. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** A line from the playground itself (not the bot), e.g. what the demo is doing. */
  notify(channel: string, text: string, level: 'error' | 'info' = 'info'): void {
    this.notices.push({ key: this.nextKey('notice'), ts: this.nowTs(), channel, user: null, text, level });
    this.scheduleChange();
  }

  /**
   * What the message box does with a line: `/scale …` goes to the bot as Slack sends a slash command (signed,
   * with a response_url the emulator serves); other `/words` are refused as Slack does; anything else is a
   * message from the person.
   */
  async submit(input: { user: string; channel: string; text: string }): Promise<Outcome> {
    const user = findUser(input.user);
    const channel = findChannel(input.channel);
    if (!user) return { ok: false, message: `no such user ${input.user}` };
    if (!channel) return { ok: false, message: `no such channel ${input.channel}` };
    const text = input.text.trim();
    if (!text) return { ok: false, message: 'type something first' };
    const slash = /^\/(\S+)(?:\s+([\s\S]*))?$/.exec(text);
    if (!slash) {
      this.slack.addMessage(channel.id, { user: user.id, text: escapeUserText(text) });
      this.scheduleChange();
      return { ok: true };
    }
    const [, name = '', rest = ''] = slash;
    if (name !== 'scale') {
      this.noticeFor(
        user.id,
        channel.id,
        `\`/${name}\` is not a valid command. In Slack, all messages that start with "/" are interpreted as commands; the bot here answers \`/scale\`.`,
        'error',
      );
      return { ok: false, message: `/${name} is not a command here` };
    }
    if (!this.bot) return this.fail(user.id, channel.id, 'the bot is not running yet');
    this.commands.push({ key: this.nextKey('cmd'), ts: this.nowTs(), channel: channel.id, user: user.id, text });
    const responseUrl = this.issueResponseUrl({ channel: channel.id, user: user.id }, { channel: channel.id });
    const began = Date.now();
    try {
      const answer = await sendSlashCommand(
        this.bot.url,
        this.bot.signingSecret,
        {
          text: rest.trim(),
          user_id: user.id,
          user_name: user.name,
          channel_id: channel.id,
          channel_name: channel.name,
          team_id: PLAYGROUND_TEAM.teamId,
          team_domain: PLAYGROUND_TEAM.teamDomain,
          api_app_id: PLAYGROUND_BOT.appId,
          response_url: responseUrl,
        },
        { timeoutMs: SLACK_ACK_TIMEOUT_MS },
      );
      this.record('command', `${text} → HTTP ${answer.status} in ${Date.now() - began} ms`, answer.status === 200);
      if (answer.status !== 200)
        return this.fail(user.id, channel.id, `/scale failed with the error "dispatch_failed" (the bot answered HTTP ${answer.status})`);
      // An ack with a body is the answer itself, shown as Slack would show a response_url reply.
      if (answer.body.trim() !== '') await this.postToResponseUrl(responseUrl, answer.json ?? { text: answer.body });
      return { ok: true };
    } catch (error) {
      this.record('command', `${text} → no answer`, false, (error as Error).message);
      return this.fail(user.id, channel.id, `/scale failed with the error "operation_timeout" (the bot did not answer within 3 seconds)`);
    } finally {
      this.scheduleChange();
    }
  }

  /** A click (or a choice in a select, overflow, checkboxes…) on a message: the block_actions payload Slack sends. */
  async act(input: ActionInput): Promise<Outcome> {
    const user = findUser(input.user);
    const channel = findChannel(input.channel);
    if (!user || !channel) return { ok: false, message: 'unknown user or channel' };
    if (!this.bot) return this.fail(user.id, channel.id, 'the bot is not running yet');
    const message = input.ephemeral ? this.ephemeralFor(user.id, input.ts) : this.slack.message(channel.id, input.ts);
    if (!message) return { ok: false, message: 'that message is gone' };
    const found = findBlockElement(message.blocks, input.actionId, input.blockId);
    if (!found) return { ok: false, message: 'the message no longer shows that element (it changed); nothing was sent' };
    const chosen = selectionFields(found.element, input);
    if (!chosen.ok) return { ok: false, message: chosen.error };
    const selection = chosen.fields;
    const responseUrl = this.issueResponseUrl(
      { channel: channel.id, user: user.id, messageTs: message.ts, ...(input.ephemeral ? { ephemeral: true } : {}) },
      { channel: channel.id, messageTs: message.ts, ...(input.ephemeral ? { ephemeral: true } : {}) },
    );
    const built = buildBlockActionsPayload({
      user: { id: user.id, username: user.name, name: user.name, team_id: PLAYGROUND_TEAM.teamId },
      channel: { id: channel.id, name: channel.name },
      message,
      action: { action_id: input.actionId, ...(found.blockId !== undefined ? { block_id: found.blockId } : {}), ...selection },
      response_url: responseUrl,
      team: { id: PLAYGROUND_TEAM.teamId, domain: PLAYGROUND_TEAM.teamDomain },
      api_app_id: PLAYGROUND_BOT.appId,
      is_ephemeral: Boolean(input.ephemeral),
      state: { values: sanitizeState(input.state) },
    });
    // Slack leaves `message` out of a click on an ephemeral message: the app never gets to read one back.
    const payload: Record<string, unknown> = { ...built };
    if (input.ephemeral) delete payload.message;
    const label = describeElement(found.element, selection);
    const began = Date.now();
    try {
      const answer = await sendInteraction(this.bot.url, this.bot.signingSecret, payload, { timeoutMs: SLACK_ACK_TIMEOUT_MS });
      this.record('action', `${user.name} clicked ${label} → HTTP ${answer.status} in ${Date.now() - began} ms`, answer.status === 200);
      if (answer.status !== 200)
        return this.fail(
          user.id,
          channel.id,
          `The app did not accept the click on ${label} (HTTP ${answer.status}); Slack would show a warning on the message.`,
        );
      return { ok: true };
    } catch (error) {
      this.record('action', `${user.name} clicked ${label} → no answer`, false, (error as Error).message);
      return this.fail(user.id, channel.id, `The app did not answer the click on ${label} within 3 seconds; Slack would show a warning on the message.`);
    } finally {
      this.scheduleChange();
    }
  }

  /** The workspace as `userId` sees it: channel messages, threads, their own ephemerals, refusals, the log. */
  view(userId: string): WorkspaceView {
    const channels = PLAYGROUND_CHANNELS.map((channel) => ({ ...channel, messages: this.channelView(channel.id, userId) }));
    return {
      team: PLAYGROUND_TEAM.teamName,
      bot: { id: PLAYGROUND_BOT.botUserId, name: PLAYGROUND_BOT.botName },
      users: PLAYGROUND_USERS.map(({ id, name, realName, role }) => ({ id, name, realName, role })),
      groups: [{ id: OPS_GROUP.id, handle: OPS_GROUP.handle }],
      channels,
      activity: this.activity(),
    };
  }

  /**
   * A file's bytes, for the page: fetched from its `url_private` on the emulator with the bot's token, as a
   * Slack client fetches with the person's. Only files that a message in the workspace shares; null otherwise.
   */
  async fileContent(fileId: string): Promise<{ bytes: Buffer; mimetype: string } | null> {
    if (!FILE_ID.test(fileId)) return null;
    const file = PLAYGROUND_CHANNELS.flatMap((channel) => this.slack.messages(channel.id))
      .flatMap((message) => filesOf(message))
      .find((candidate) => candidate.id === fileId);
    if (!file || typeof file.url_private !== 'string') return null;
    const location = new URL(file.url_private);
    // The token goes to the emulator only, never to whatever a message might name.
    if (location.origin !== new URL(this.slack.apiUrl).origin) return null;
    const response = await fetch(location, { headers: { authorization: `Bearer ${this.botToken}` }, signal: AbortSignal.timeout(5000) });
    if (!response.ok) return null;
    return { bytes: Buffer.from(await response.arrayBuffer()), mimetype: typeof file.mimetype === 'string' ? file.mimetype : 'application/octet-stream' };
  }

  async close(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.changeListeners.clear();
    await this.slack.close();
  }

  // ---- internals ----

  /** Edits in place so far: accepted chat.update calls, and replace_original replies (counted as they come). */
  private editCounts(): Map<string, number> {
    const counts = new Map(this.edits);
    for (const call of this.slack.calls) {
      const body = call.response?.body as { ok?: boolean; channel?: string; ts?: string } | undefined;
      if (call.method !== 'chat.update' || !body?.ok) continue;
      const key = `${body.channel}:${body.ts}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  private channelView(channelId: string, userId: string): ViewMessage[] {
    const edits = this.editCounts();
    const stored = this.slack.messages(channelId);
    const tops: ViewMessage[] = [];
    const threads = new Map<string, ViewMessage[]>();
    const addToThread = (threadTs: string, entry: ViewMessage) => {
      const list = threads.get(threadTs) ?? [];
      list.push(entry);
      threads.set(threadTs, list);
    };
    const known = new Set(stored.map((message) => message.ts));
    for (const message of stored) {
      const entry = this.fromStored(message, edits);
      if (message.thread_ts !== undefined && message.thread_ts !== message.ts) addToThread(message.thread_ts, entry);
      else tops.push(entry);
    }
    for (const ephemeral of this.slack.ephemerals(channelId).filter((message) => message.user === userId)) {
      const entry = this.fromEphemeral(ephemeral, edits);
      if (ephemeral.thread_ts !== undefined && known.has(ephemeral.thread_ts)) addToThread(ephemeral.thread_ts, entry);
      else tops.push(entry);
    }
    for (const command of this.commands.filter((c) => c.channel === channelId && c.user === userId)) {
      tops.push({ key: command.key, kind: 'command', ts: command.ts, channel: channelId, user: userId, isBot: false, text: command.text, edits: 0 });
    }
    for (const notice of [...this.notices, ...this.refusals()].filter((n) => n.channel === channelId && (n.user === null || n.user === userId))) {
      const entry: ViewMessage = {
        key: notice.key,
        kind: 'notice',
        ts: notice.ts,
        channel: channelId,
        user: notice.user ?? '',
        isBot: false,
        text: notice.text,
        edits: 0,
        level: notice.level,
      };
      if (notice.threadTs !== undefined && known.has(notice.threadTs)) addToThread(notice.threadTs, entry);
      else tops.push(entry);
    }
    const byTs = (a: ViewMessage, b: ViewMessage) => compareTs(a.ts, b.ts);
    return tops.sort(byTs).map((top) => {
      const replies = threads.get(top.ts);
      return replies ? { ...top, replies: replies.sort(byTs) } : top;
    });
  }

  private fromStored(message: StoredMessage, edits: ReadonlyMap<string, number>): ViewMessage {
    return {
      key: `${message.channel}:${message.ts}`,
      kind: 'message',
      ts: message.ts,
      channel: message.channel,
      user: message.user,
      isBot: message.bot_id !== undefined,
      text: message.text,
      ...(message.blocks ? { blocks: message.blocks } : {}),
      ...(message.attachments ? { attachments: message.attachments } : {}),
      ...(filesOf(message).length > 0 ? { files: filesOf(message).map(toViewFile) } : {}),
      edits: edits.get(`${message.channel}:${message.ts}`) ?? 0,
      ...(message.thread_ts !== undefined && message.thread_ts !== message.ts ? { threadTs: message.thread_ts } : {}),
    };
  }

  private fromEphemeral(message: EphemeralMessage, edits: ReadonlyMap<string, number>): ViewMessage {
    return {
      key: `eph:${message.ts}`,
      kind: 'ephemeral',
      ts: message.ts,
      channel: message.channel,
      user: PLAYGROUND_BOT.botUserId,
      isBot: true,
      text: message.text,
      ...(message.blocks ? { blocks: message.blocks } : {}),
      edits: edits.get(`eph:${message.ts}`) ?? 0,
      via: message.via,
      ...(message.thread_ts !== undefined ? { threadTs: message.thread_ts } : {}),
    };
  }

  private ephemeralFor(userId: string, ts: string): EphemeralMessage | undefined {
    const message = this.slack.ephemeral(ts);
    return message?.user === userId ? message : undefined;
  }

  /**
   * Every call the emulator refused, shown in the channel it named (or the first channel): the bug Slack
   * would have refused in production, made visible.
   */
  private refusals(): Notice[] {
    const notices: Notice[] = [];
    for (const call of this.slack.calls) {
      const body = call.response?.body as { ok?: boolean; error?: string; errors?: string[] } | undefined;
      if (!call.response || body?.ok !== false) continue;
      const channelArg = typeof call.args.channel === 'string' ? call.args.channel : undefined;
      const channel = channelArg && findChannel(channelArg) ? channelArg : PLAYGROUND_CHANNELS[0]!.id;
      const errors = body.errors?.length ? `: ${body.errors.join('; ')}` : '';
      notices.push({
        key: `refused:${this.slack.calls.indexOf(call)}`,
        ts: dateTs(call.at),
        channel,
        user: null,
        text: `Slack would refuse this too: the bot's \`${call.method}\` call was answered \`${body.error ?? 'error'}\`${errors}`,
        level: 'error',
      });
    }
    for (const response of this.slack.responses.filter((r) => r.status !== 200 && r.status !== 0)) {
      const issued = this.issuedUrls.get(response.id);
      notices.push({
        key: `refused-response:${response.id}:${response.at.getTime()}`,
        ts: dateTs(response.at),
        channel: issued?.channel ?? PLAYGROUND_CHANNELS[0]!.id,
        user: null,
        text: `Slack would refuse this too: the bot's reply to a response_url was answered HTTP ${response.status} \`${response.answer}\``,
        level: 'error',
      });
    }
    return notices;
  }

  private activity(): ActivityEntry[] {
    const entries: Array<ActivityEntry & { time: number }> = [];
    for (const call of this.slack.calls) {
      const body = call.response?.body as { ok?: boolean; error?: string } | undefined;
      const outcome = !call.response ? 'pending' : body?.ok ? 'ok' : (body?.error ?? `HTTP ${call.response.status}`);
      const where = [call.args.channel, call.args.ts, call.args.thread_ts ? `thread ${String(call.args.thread_ts)}` : undefined].filter(Boolean).join(' ');
      entries.push({
        at: call.at.toISOString(),
        time: call.at.getTime(),
        kind: 'api',
        summary: `${call.method}${where ? ` ${where}` : ''} → ${outcome}`,
        ok: outcome === 'ok' || outcome === 'pending',
      });
    }
    for (const response of this.slack.responses) {
      const body = response.body ?? {};
      const how = body.delete_original
        ? 'delete_original'
        : body.replace_original === true || body.replace_original === 'true'
          ? 'replace_original'
          : String(body.response_type ?? 'ephemeral');
      entries.push({
        at: response.at.toISOString(),
        time: response.at.getTime(),
        kind: 'response',
        summary: `response_url (${how}) → ${response.status} ${response.answer}`,
        ok: response.status === 200,
      });
    }
    for (const entry of this.pageActivity) entries.push({ ...entry, time: Date.parse(entry.at) });
    return entries
      .sort((a, b) => a.time - b.time)
      .slice(-ACTIVITY_LIMIT)
      .map(({ time: _time, ...entry }) => entry);
  }

  private onResponse(response: RecordedResponse): void {
    const issued = this.issuedUrls.get(response.id);
    const body = response.body ?? {};
    if (issued?.messageTs && response.status === 200 && (body.replace_original === true || body.replace_original === 'true')) {
      const key = issued.ephemeral ? `eph:${issued.messageTs}` : `${issued.channel}:${issued.messageTs}`;
      this.edits.set(key, (this.edits.get(key) ?? 0) + 1);
    }
    this.scheduleChange();
  }

  private issueResponseUrl(context: Parameters<FakeSlack['newResponseUrl']>[0], issued: IssuedUrl): string {
    const url = this.slack.newResponseUrl(context);
    this.issuedUrls.set(url.slice(url.lastIndexOf('/') + 1), issued);
    return url;
  }

  private async postToResponseUrl(url: string, body: unknown): Promise<void> {
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).catch(() => undefined);
  }

  private noticeFor(user: string, channel: string, text: string, level: 'error' | 'info'): void {
    this.notices.push({ key: this.nextKey('notice'), ts: this.nowTs(), channel, user, text, level });
    this.scheduleChange();
  }

  private fail(user: string, channel: string, text: string): Outcome {
    this.noticeFor(user, channel, text, 'error');
    return { ok: false, message: text };
  }

  private record(kind: ActivityEntry['kind'], summary: string, ok: boolean, detail?: string): void {
    this.pageActivity.push({ at: new Date().toISOString(), kind, summary, ok, ...(detail ? { detail } : {}) });
    if (this.pageActivity.length > ACTIVITY_LIMIT) this.pageActivity.shift();
  }

  /**
   * Tells listeners once things settle: a Web API call is announced as it arrives, before the emulator has
   * answered (and changed its store), so wait until every announced call has its answer.
   */
  private scheduleChange(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      for (const call of this.pendingCalls) if (call.response) this.pendingCalls.delete(call);
      if (this.pendingCalls.size > 0) {
        this.scheduleChange();
        return;
      }
      for (const listener of this.changeListeners) listener();
    }, 25);
  }

  private nextKey(prefix: string): string {
    this.counter += 1;
    return `${prefix}:${this.counter}`;
  }

  private nowTs(): string {
    return dateTs(new Date());
  }
}

function filesOf(message: StoredMessage): SlackFile[] {
  const files = (message as { files?: unknown }).files;
  return Array.isArray(files) ? files.filter((file): file is SlackFile => !!file && typeof file === 'object' && typeof file.id === 'string') : [];
}

function toViewFile(file: SlackFile): ViewFile {
  const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value : undefined);
  const id = String(file.id);
  const name = text(file.name) ?? id;
  const title = text(file.title) ?? name;
  return {
    id,
    name,
    title,
    mimetype: text(file.mimetype) ?? 'application/octet-stream',
    altText: text(file.alt_txt) ?? text(file.alt_text) ?? title,
    url: `/api/files/${encodeURIComponent(id)}`,
  };
}

/** A Slack-shaped ts for ordering the playground's own lines among the messages. */
function dateTs(date: Date): string {
  const micros = date.getTime() * 1000;
  return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
}

/** Slack stores what a person types with &, < and > escaped, so the bot never mistakes it for markup. */
function escapeUserText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

type Option = { text: unknown; value: string; description?: unknown; url?: string };

function optionsOf(element: Record<string, unknown>): Option[] {
  const direct = Array.isArray(element.options) ? (element.options as Option[]) : [];
  const grouped = Array.isArray(element.option_groups) ? (element.option_groups as Array<{ options?: Option[] }>).flatMap((group) => group.options ?? []) : [];
  return [...direct, ...grouped];
}

/** Slack sends the chosen option as the element defines it (text and value), so we look it up rather than trust the page. */
type Selection = { readonly ok: true; readonly fields: Record<string, unknown> } | { readonly ok: false; readonly error: string };

function selectionFields(element: Record<string, unknown>, input: ActionInput): Selection {
  const type = String(element.type ?? 'button');
  const options = optionsOf(element);
  const pick = (value: string | undefined) => options.find((option) => option.value === value);
  switch (type) {
    case 'button':
      return { ok: true, fields: {} };
    case 'static_select':
    case 'overflow':
    case 'radio_buttons': {
      const option = pick(input.selectedValue);
      return option
        ? { ok: true, fields: { selected_option: option } }
        : { ok: false, error: `"${input.selectedValue ?? ''}" is not one of the element's options` };
    }
    case 'checkboxes':
    case 'multi_static_select': {
      const chosen = (input.selectedValues ?? []).map((value) => pick(value));
      if (chosen.some((option) => option === undefined)) return { ok: false, error: "a chosen value is not one of the element's options" };
      return { ok: true, fields: { selected_options: chosen } };
    }
    case 'datepicker':
      return input.selectedDate && /^\d{4}-\d{2}-\d{2}$/.test(input.selectedDate)
        ? { ok: true, fields: { selected_date: input.selectedDate } }
        : { ok: false, error: 'a date is YYYY-MM-DD' };
    default:
      return { ok: false, error: `the playground cannot send a "${type}" element yet` };
  }
}

function describeElement(element: Record<string, unknown>, selection: Record<string, unknown>): string {
  const text = (element.text as { text?: string } | undefined)?.text;
  const option = (selection.selected_option as { text?: { text?: string } } | undefined)?.text?.text;
  const name = text ?? option ?? String(element.action_id ?? element.type);
  return `"${name}" (${String(element.action_id)})`;
}

function sanitizeState(state: ActionInput['state']): Record<string, unknown> {
  if (!state || typeof state !== 'object') return {};
  return JSON.parse(JSON.stringify(state)) as Record<string, unknown>;
}
