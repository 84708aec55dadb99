// Types for blocks.js (plain JavaScript served to the browser as is), so tests can import it.
import type { MrkdwnContext } from './mrkdwn.js';
export interface RenderContext extends MrkdwnContext {
  elements: Array<{ element: Record<string, unknown>; blockId: string | undefined }>;
}
export function renderElement(element: unknown, blockId: string | undefined, ctx: RenderContext): string;
export function renderBlock(block: unknown, ctx: RenderContext): string;
export interface PageFile {
  id: string;
  name?: string;
  title?: string;
  mimetype?: string;
  altText?: string;
}
export function renderFiles(files: PageFile[] | undefined): string;
export function renderMessageBody(message: { text?: string; blocks?: unknown[]; attachments?: unknown[]; files?: PageFile[] }, ctx: RenderContext): string;
