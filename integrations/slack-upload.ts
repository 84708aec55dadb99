import type { WebClient } from '@slack/web-api';
import type { SlackSender } from '../core/ports.ts';

/** The upload URL answered something other than 200: nothing was uploaded (the outbox starts the upload over). */
export class UploadRefusedError extends Error {
  constructor(readonly status: number) {
    super(`the upload URL answered HTTP ${status}`);
    this.name = 'UploadRefusedError';
  }
}

/**
 * The outbox's Slack: the Web API client, plus the one call of the upload flow that is not a Web API method,
 * the POST of a file's bytes to the `upload_url` files.getUploadURLExternal answered (Slack's own client does
 * it with axios too, outside the Web API's retry and rate-limit handling).
 */
export function slackSender(client: WebClient, { timeoutMs }: { readonly timeoutMs: number }): SlackSender {
  return Object.assign(Object.create(client) as WebClient, {
    async uploadBytes(uploadUrl: string, bytes: Uint8Array, filename: string): Promise<void> {
      const body = new FormData();
      body.append('filename', filename);
      body.append('file', new Blob([bytes], { type: 'image/png' }), filename);
      const response = await fetch(uploadUrl, { method: 'POST', body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status !== 200) throw new UploadRefusedError(response.status);
    },
  });
}
