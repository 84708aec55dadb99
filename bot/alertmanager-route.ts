import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { AlertmanagerPayloadError, parseAlertmanagerPayload } from '../integrations/alertmanager.ts';
import type { Watcher } from './watcher.ts';

const MAX_BODY_BYTES = 1024 * 1024;

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new AlertmanagerPayloadError('the body is larger than 1 MiB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, '') ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** POST /alertmanager: an Alertmanager webhook receiver feeding the watcher's pipeline. */
export function createAlertmanagerRoute(options: { watcher: Watcher; logger: Logger; clock: () => Date; token: string | null; enabled: boolean }) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (options.token && !tokenMatches(request.headers.authorization, options.token)) {
      request.resume();
      return send(response, 401, { error: 'missing or wrong bearer token (ALERTMANAGER_TOKEN)' });
    }
    if (!options.enabled) {
      request.resume();
      return send(response, 503, { error: 'no alerts channel: set slack.alerts_channel in the config' });
    }
    let alerts;
    try {
      const body = await readBody(request);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new AlertmanagerPayloadError('the body is not JSON');
      }
      alerts = parseAlertmanagerPayload(json);
    } catch (error) {
      if (error instanceof AlertmanagerPayloadError) return send(response, 400, { error: error.message });
      throw error;
    }
    const counts = await options.watcher.applyAlertmanagerAlerts(alerts, options.clock());
    options.logger.info({ ...counts }, 'Alertmanager webhook handled');
    send(response, 200, { ok: true, ...counts });
  };
}
