import type { WebClient } from '@slack/web-api';
import type { SlackSender } from '../core/ports.ts';

/**
 * The upload URL answered something other than 200: nothing was uploaded (the outbox starts the upload over).
 * A 429 carries the Web API client's rate-limit shape (`code` "slack_webapi_rate_limited_error", `retryAfter`
 * in seconds), so the outbox waits for it exactly as for a Web API call.
 */
export class UploadRefusedError extends Error {
  readonly code: string;
  readonly retryAfter?: number;
  constructor(
    readonly status: number,
    retryAfter?: number,
  ) {
    super(`the upload URL answered HTTP ${status}`);
    this.name = 'UploadRefusedError';
    this.code = status === 429 ? 'slack_webapi_rate_limited_error' : 'slack_upload_refused';
    if (status === 429) this.retryAfter = retryAfter ?? 1;
  }
}

/** Retry-After in seconds (Slack sends seconds; an HTTP date is read too); undefined when absent or unreadable. */
function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/**
 * The outbox's Slack: the Web API client, plus the one call of the upload flow that is not a Web API method,
 * the POST of a file's bytes to the `upload_url` files.getUploadURLExternal answered (Slack's own client does
 * it outside the Web API's retry and rate-limit handling too).
 */
export function slackSender(client: WebClient, { timeoutMs }: { readonly timeoutMs: number }): SlackSender {
  return Object.assign(Object.create(client) as WebClient, {
    async uploadBytes(uploadUrl: string, bytes: Uint8Array, filename: string): Promise<void> {
      const body = new FormData();
      body.append('filename', filename);
      body.append('file', new Blob([bytes], { type: 'image/png' }), filename);
      const response = await fetch(uploadUrl, { method: 'POST', body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status !== 200) throw new UploadRefusedError(response.status, retryAfterSeconds(response.headers.get('retry-after')));
    },
  });
}
