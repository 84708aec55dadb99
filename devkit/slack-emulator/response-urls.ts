// Slack's `response_url`s: the URL a slash command or an interaction hands its app for replies.
//
// Rules (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses): a JSON POST of
// `{ text, blocks, response_type, replace_original, delete_original, thread_ts }`; "You can use a
// response_url five times within 30 minutes"; the reply is ephemeral unless `response_type: in_channel`; an
// interaction's reply may replace or delete the message it came from.
//
// What Slack answers is not documented beyond that; the fake chooses, like incoming webhooks do, plain-text
// bodies: 200 `ok`; 400 `invalid_payload` / `no_text` / `invalid_blocks` / `msg_too_long`; 404 `used_url`
// for a sixth use, `expired_url` after 30 minutes, `no_service` for a URL it never issued. Only accepted
// posts count as uses.
import { randomUUID } from 'node:crypto';
import type { FakeWorkspaceIdentity } from './web-api.ts';
import { isResult, readContent, withSlackIds } from './web-api.ts';
import type { MessageStore } from './message-store.ts';

/** Where a response_url's replies go: the channel, the clicked message (for replace/delete), the user. */
export interface ResponseUrlContext {
  channel?: string;
  /** The message an interaction came from: `replace_original` / `delete_original` act on it. */
  messageTs?: string;
  /** Who sees ephemeral replies. */
  user?: string;
  /**
   * The clicked message was an ephemeral one (`messageTs` names it): `replace_original` and `delete_original`
   * act on that ephemeral, the only way Slack lets an app change one.
   */
  ephemeral?: boolean;
}

export interface ResponseUrlAnswer {
  status: number;
  /** Plain text, as Slack's hooks answer. */
  body: string;
  /** The parsed JSON body when it was JSON. */
  parsed?: Record<string, unknown>;
}

interface IssuedUrl {
  context: ResponseUrlContext;
  issuedAt: number;
  uses: number;
}

export interface ResponseUrlOptions {
  /** Default 5. */
  maxUses?: number;
  /** Default 30 minutes. */
  ttlMs?: number;
}

export class ResponseUrls {
  private readonly issued = new Map<string, IssuedUrl>();
  private readonly maxUses: number;
  private readonly ttlMs: number;

  constructor(
    private readonly store: MessageStore,
    private readonly identity: FakeWorkspaceIdentity,
    private readonly now: () => Date,
    private readonly nextId: (prefix: string) => string,
    options: ResponseUrlOptions = {},
  ) {
    this.maxUses = options.maxUses ?? 5;
    this.ttlMs = options.ttlMs ?? 30 * 60_000;
  }

  /** A fresh id to append to `<base>/response/`. */
  issue(context: ResponseUrlContext = {}): string {
    const id = randomUUID();
    this.issued.set(id, { context, issuedAt: this.now().getTime(), uses: 0 });
    return id;
  }

  handle(id: string, rawBody: string): ResponseUrlAnswer {
    const url = this.issued.get(id);
    if (!url) return { status: 404, body: 'no_service' };
    if (this.now().getTime() - url.issuedAt > this.ttlMs) return { status: 404, body: 'expired_url' };
    if (url.uses >= this.maxUses) return { status: 404, body: 'used_url' };

    let parsed: unknown;
    try {
      parsed = JSON.parse(rawBody);
    } catch {
      return { status: 400, body: 'invalid_payload' };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { status: 400, body: 'invalid_payload' };
    }
    const body = parsed as Record<string, unknown>;
    const { context } = url;

    if (body.delete_original === true || body.delete_original === 'true') {
      if (context.ephemeral && context.messageTs !== undefined) {
        this.store.removeEphemeral(context.messageTs);
      } else if (context.channel !== undefined && context.messageTs !== undefined) {
        this.store.remove(context.channel, context.messageTs);
      }
      url.uses += 1;
      return { status: 200, body: 'ok', parsed: body };
    }

    const content = readContent(body, true);
    if (isResult(content)) return { status: 400, body: content.error ?? 'invalid_payload', parsed: body };
    const blocks = content.blocks && withSlackIds(content.blocks, this.nextId);
    const threadTs = typeof body.thread_ts === 'string' ? body.thread_ts : undefined;

    const original =
      context.channel === undefined || context.messageTs === undefined
        ? undefined
        : context.ephemeral
          ? this.store.getEphemeral(context.messageTs)
          : this.store.get(context.channel, context.messageTs);
    if ((body.replace_original === true || body.replace_original === 'true') && original) {
      // Replacing is whole-message: what the reply leaves out is gone.
      original.text = content.text ?? '';
      if (blocks) original.blocks = blocks;
      else delete original.blocks;
    } else if (body.response_type === 'in_channel' && context.channel !== undefined) {
      this.store.add({
        channel: context.channel,
        user: this.identity.botUserId,
        bot_id: this.identity.botId,
        app_id: this.identity.appId,
        team: this.identity.teamId,
        text: content.text ?? '',
        ...(blocks && { blocks }),
        ...(threadTs !== undefined && { thread_ts: threadTs }),
      });
    } else if (context.channel !== undefined) {
      this.store.addEphemeral({
        channel: context.channel,
        user: context.user ?? '',
        text: content.text ?? '',
        ...(blocks && { blocks }),
        ...(threadTs !== undefined && { thread_ts: threadTs }),
        via: 'response_url',
      });
    }
    url.uses += 1;
    return { status: 200, body: 'ok', parsed: body };
  }
}
