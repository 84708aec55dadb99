import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ALERTMANAGER_LIMITS, type AlertmanagerAlert, AlertmanagerPayloadError, parseAlertmanagerPayload } from '../integrations/alertmanager.ts';
import type { Watcher } from '../services/watcher.ts';

/** A body past this many bytes is not even read to its end: the connection is cut. */
const DRAIN_LIMIT_BYTES = 16 * ALERTMANAGER_LIMITS.bodyBytes;

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** Whether the HTTP listener's HOST reaches this machine only: localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** Why the webhook takes nothing, when ALERTMANAGER_TOKEN is unset on a listener others can reach; else null. */
export function openDoorProblem(host: string, token: string | null): string | null {
  if (token || isLoopbackHost(host)) return null;
  return (
    `ALERTMANAGER_TOKEN is not set and the bot listens beyond loopback (HOST=${host}): POST /alertmanager refuses every request. ` +
    'Set ALERTMANAGER_TOKEN and give Alertmanager the same value (webhook_config http_config.authorization.credentials).'
  );
}

/**
 * The body, or null when it is larger than the limit. A larger body is read to its end and dropped, so that
 * the sender gets the 413 rather than a reset connection; one far larger is cut off.
 */
function readBody(request: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > DRAIN_LIMIT_BYTES) {
        request.destroy();
        resolve(null);
      } else if (size <= ALERTMANAGER_LIMITS.bodyBytes) {
        chunks.push(chunk);
      } else {
        chunks.length = 0;
      }
    });
    request.on('end', () => resolve(size > ALERTMANAGER_LIMITS.bodyBytes ? null : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

// Both sides hashed first: equal lengths for timingSafeEqual, and no early exit that tells a wrong
// token's length by how fast it is refused.
function tokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer[ \t]+(.+)$/i.exec(header?.trim() ?? '')?.[1] ?? '';
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}

export interface AlertmanagerRouteOptions {
  readonly watcher: Watcher;
  readonly logger: Logger;
  readonly clock: () => Date;
  readonly token: string | null;
  readonly enabled: boolean;
  /** Where the HTTP listener is bound (settings.host): beyond loopback, a token is required. */
  readonly host: string;
}

/** POST /alertmanager: an Alertmanager webhook receiver feeding the watcher's pipeline. */
export function createAlertmanagerRoute(options: AlertmanagerRouteOptions) {
  const doorProblem = openDoorProblem(options.host, options.token);
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (doorProblem) {
      request.resume();
      return send(response, 403, { error: doorProblem });
    }
    if (options.token && !tokenMatches(request.headers.authorization, options.token)) {
      request.resume();
      return send(response, 401, { error: 'missing or wrong bearer token (ALERTMANAGER_TOKEN)' });
    }
    if (!options.enabled) {
      request.resume();
      return send(response, 503, { error: 'no alerts channel: set slack.alerts_channel in the config' });
    }
    const declared = Number(request.headers['content-length']);
    const body = Number.isFinite(declared) && declared > DRAIN_LIMIT_BYTES ? null : await readBody(request);
    if (body === null) {
      if (!request.destroyed) request.destroy();
      return send(response, 413, { error: `the body is larger than ${ALERTMANAGER_LIMITS.bodyBytes / 1024 / 1024} MiB; nothing was opened` });
    }
    let alerts: AlertmanagerAlert[];
    try {
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new AlertmanagerPayloadError('the body is not JSON');
      }
      alerts = parseAlertmanagerPayload(json);
    } catch (error) {
      if (!(error instanceof AlertmanagerPayloadError)) throw error;
      options.logger.warn({ status: error.status, reason: error.message }, 'refused an Alertmanager webhook body');
      await options.watcher.recordAlertmanagerRefusal(error.message, error.status, options.clock());
      return send(response, error.status, { error: error.message });
    }
    const counts = await options.watcher.applyAlertmanagerAlerts(alerts, options.clock());
    options.logger.info({ ...counts }, 'Alertmanager webhook handled');
    send(response, 200, { ok: true, ...counts });
  };
}
