// Types for mrkdwn.js (plain JavaScript served to the browser as is), so tests can import it.
export interface MrkdwnContext {
  users?: Record<string, string>;
  channels?: Record<string, string>;
  groups?: Record<string, string>;
  now?: Date;
}
export const EMOJI: Record<string, string>;
export function escapeHtml(text: unknown): string;
export function emojiToHtml(escapedText: string): string;
export function plainToHtml(text: unknown, emoji?: boolean): string;
export function formatSlackDate(date: Date, format: string, now?: Date): string;
export function mrkdwnToHtml(text: unknown, ctx?: MrkdwnContext): string;
export function textObjectToHtml(textObject: unknown, ctx?: MrkdwnContext): string;
