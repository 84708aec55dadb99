import type { KnownBlock } from '@slack/types';

export type Block = KnownBlock;

/** A message as the commands produce it; the Slack wiring decides how it is sent. */
export interface Message {
  /** Plain-text fallback for notifications and screen readers. */
  readonly text: string;
  readonly blocks?: readonly Block[];
}

/** A message as an answer to the person who typed or clicked. */
export interface Reply extends Message {
  /** Only that person sees it (the default). */
  readonly ephemeral?: boolean;
}

/** Slack's limits (https://api.slack.com/reference/block-kit/blocks): checked by tests against every builder. */
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  contextElements: 10,
  headerText: 150,
  actionsElements: 25,
  buttonText: 75,
} as const;

/** Cuts text to a limit, saying that it did, on a line boundary where one is near. */
export function truncateText(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const marker = '\n… (cut to fit Slack)';
  const room = limit - marker.length;
  const lineEnd = text.lastIndexOf('\n', room);
  return `${text.slice(0, lineEnd > room * 0.8 ? lineEnd : room)}${marker}`;
}

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
