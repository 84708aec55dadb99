// Payloads shaped like the ones Slack sends an app, usable both as signed HTTP bodies (signing.ts) and as
// Socket Mode envelope payloads (socket-mode.ts). Shapes: https://docs.slack.dev/interactivity/implementing-slash-commands
// and https://docs.slack.dev/reference/interaction-payloads/block_actions-payload
import { randomBytes } from 'node:crypto';
import { FAKE_SLACK_DEFAULTS } from './defaults.ts';

export interface SlashCommandInput {
  text: string;
  user_id: string;
  user_name?: string;
  channel_id: string;
  channel_name?: string;
  team_id?: string;
  team_domain?: string;
  api_app_id?: string;
  response_url: string;
  trigger_id?: string;
  /** Default `/scale`. */
  command?: string;
}

/** Every field Slack sends with a slash command, all strings, in Slack's order. */
export interface SlashCommandPayload {
  token: string;
  team_id: string;
  team_domain: string;
  channel_id: string;
  channel_name: string;
  user_id: string;
  user_name: string;
  command: string;
  text: string;
  api_app_id: string;
  is_enterprise_install: 'false';
  response_url: string;
  trigger_id: string;
  [key: string]: string;
}

/** A trigger id in Slack's shape ("<digits>.<digits>.<32 hex>"); Slack accepts one for 3 seconds. */
export function newTriggerId(now: Date = new Date()): string {
  return `${now.getTime()}.${1000 + randomBytes(2).readUInt16BE(0)}.${randomBytes(16).toString('hex')}`;
}

/** A Slack-shaped `action_ts` ("seconds.micros") for the moment of a click. */
export function actionTs(now: Date = new Date()): string {
  const micros = now.getTime() * 1000;
  return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
}

export function buildSlashCommandPayload(input: SlashCommandInput): SlashCommandPayload {
  return {
    token: FAKE_SLACK_DEFAULTS.verificationToken,
    team_id: input.team_id ?? FAKE_SLACK_DEFAULTS.teamId,
    team_domain: input.team_domain ?? FAKE_SLACK_DEFAULTS.teamDomain,
    channel_id: input.channel_id,
    channel_name: input.channel_name ?? input.channel_id.toLowerCase(),
    user_id: input.user_id,
    user_name: input.user_name ?? input.user_id.toLowerCase(),
    command: input.command ?? '/scale',
    text: input.text,
    api_app_id: input.api_app_id ?? FAKE_SLACK_DEFAULTS.appId,
    is_enterprise_install: 'false',
    response_url: input.response_url,
    trigger_id: input.trigger_id ?? newTriggerId(),
  };
}

export interface PayloadUser {
  id: string;
  username?: string;
  name?: string;
  team_id?: string;
}

export interface BlockActionInput {
  action_id: string;
  /** Taken from the message's block holding the element when left out. */
  block_id?: string;
  /** Taken from the element when left out. */
  value?: string;
  /** Default: the element's type, else `button`. */
  type?: string;
  /** Default: the element's text. */
  text?: { type: 'plain_text'; text: string; emoji?: boolean };
  [key: string]: unknown;
}

export interface BlockActionsInput {
  user: string | PayloadUser;
  channel: string | { id: string; name?: string };
  /** The clicked message as Slack stored it (a `FakeSlack.message()` result fits); copied into the payload whole. */
  message: { ts: string; blocks?: unknown[]; text?: string };
  action: BlockActionInput;
  response_url: string;
  team?: { id: string; domain: string };
  api_app_id?: string;
  trigger_id?: string;
  is_ephemeral?: boolean;
  state?: { values: Record<string, unknown> };
  /**
   * Default true: the action must match an element in `message.blocks`, because Slack can only send a click
   * on something the message shows. Pass false for an action the blocks cannot express.
   */
  strict?: boolean;
}

export interface BlockActionsPayload {
  type: 'block_actions';
  user: Required<PayloadUser>;
  api_app_id: string;
  token: string;
  container: { type: 'message'; message_ts: string; channel_id: string; is_ephemeral: boolean };
  trigger_id: string;
  team: { id: string; domain: string };
  enterprise: null;
  is_enterprise_install: false;
  channel: { id: string; name: string };
  message: Record<string, unknown>;
  state: { values: Record<string, unknown> };
  response_url: string;
  actions: Array<{
    action_id: string;
    block_id: string;
    text?: { type: 'plain_text'; text: string; emoji?: boolean };
    value?: string;
    type: string;
    action_ts: string;
    [key: string]: unknown;
  }>;
}

interface FoundElement {
  blockId: string | undefined;
  element: Record<string, unknown>;
}

/** Finds the interactive element with `actionId` in a message's blocks (actions, section accessory, input). */
export function findBlockElement(blocks: unknown[] | undefined, actionId: string, blockId?: string): FoundElement | undefined {
  for (const block of blocks ?? []) {
    if (typeof block !== 'object' || block === null) continue;
    const b = block as Record<string, unknown>;
    const id = typeof b.block_id === 'string' ? b.block_id : undefined;
    if (blockId !== undefined && id !== blockId) continue;
    const candidates = [...(Array.isArray(b.elements) ? b.elements : []), b.accessory, b.element];
    for (const candidate of candidates) {
      if (typeof candidate === 'object' && candidate !== null) {
        const element = candidate as Record<string, unknown>;
        if (element.action_id === actionId) return { blockId: id, element };
      }
    }
  }
  return undefined;
}

export function buildBlockActionsPayload(input: BlockActionsInput): BlockActionsPayload {
  const userIn: PayloadUser = typeof input.user === 'string' ? { id: input.user } : input.user;
  const channelIn = typeof input.channel === 'string' ? { id: input.channel } : input.channel;
  const team = input.team ?? { id: FAKE_SLACK_DEFAULTS.teamId, domain: FAKE_SLACK_DEFAULTS.teamDomain };
  const found = findBlockElement(input.message.blocks, input.action.action_id, input.action.block_id);
  if (!found && input.strict !== false) {
    throw new Error(
      `buildBlockActionsPayload: the message ${input.message.ts} has no element with action_id ` +
        `"${input.action.action_id}"${input.action.block_id ? ` in block "${input.action.block_id}"` : ''}; ` +
        'Slack cannot send a click on something the message does not show (pass strict: false to force it)',
    );
  }
  const element = found?.element ?? {};
  const { action_id, block_id, value, type, text, ...extra } = input.action;
  const elementText = element.text as BlockActionsPayload['actions'][number]['text'];
  const actionText = text ?? elementText;
  const actionValue = value ?? (typeof element.value === 'string' ? element.value : undefined);
  // The payload's message is the stored message minus the fake's own `channel` bookkeeping key.
  const { channel: _channel, ...message } = input.message as typeof input.message & { channel?: unknown };

  return {
    type: 'block_actions',
    user: {
      id: userIn.id,
      username: userIn.username ?? userIn.id.toLowerCase(),
      name: userIn.name ?? userIn.username ?? userIn.id.toLowerCase(),
      team_id: userIn.team_id ?? team.id,
    },
    api_app_id: input.api_app_id ?? FAKE_SLACK_DEFAULTS.appId,
    token: FAKE_SLACK_DEFAULTS.verificationToken,
    container: {
      type: 'message',
      message_ts: input.message.ts,
      channel_id: channelIn.id,
      is_ephemeral: input.is_ephemeral ?? false,
    },
    trigger_id: input.trigger_id ?? newTriggerId(),
    team,
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channelIn.id, name: channelIn.name ?? channelIn.id.toLowerCase() },
    message: { type: 'message', ...message },
    state: input.state ?? { values: {} },
    response_url: input.response_url,
    actions: [
      {
        action_id,
        block_id: block_id ?? found?.blockId ?? '',
        ...(actionText && { text: actionText }),
        ...(actionValue !== undefined && { value: actionValue }),
        type: type ?? (typeof element.type === 'string' ? element.type : 'button'),
        action_ts: actionTs(),
        ...extra,
      },
    ],
  };
}
