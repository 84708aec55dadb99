import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** Slack's rule: a request whose timestamp is more than five minutes from now, either way, is refused. */
export const SLACK_TIMESTAMP_TOLERANCE_SECONDS = 300;

export interface HttpServerOptions {
  readonly logger: Logger;
  readonly registry: Registry;
  /** True when the bot can serve: config loaded, database open. */
  readonly isReady: () => { ready: boolean; problems: string[] };
  /**
   * This replica's role among replicas. Both roles are ready (a follower answers commands and clicks), so a
   * load balancer keeps sending to both; the body says which one leads.
   */
  readonly role?: () => 'leader' | 'follower';
  /** Bolt's HTTP receiver (HTTP mode only); Socket Mode serves only health and metrics here. */
  readonly slackListener?: RequestListener;
  /** Extra routes, "METHOD /path" → handler (the Alertmanager webhook, …). */
  readonly routes?: Readonly<Record<string, (request: IncomingMessage, response: ServerResponse) => void | Promise<void>>>;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/**
 * One HTTP server for everything the bot serves: Slack's requests (after our own timestamp check: Bolt
 * refuses old timestamps but accepts ones from the future), health, readiness and metrics.
 */
export function createHttpServer(options: HttpServerOptions): Server {
  return createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const route = `${request.method ?? 'GET'} ${path}`;
    const handle = async () => {
      const role = options.role ? { role: options.role() } : {};
      if (route === 'GET /health') return sendJson(response, 200, { status: 'alive', ...role });
      if (route === 'GET /health/ready') {
        const { ready, problems } = options.isReady();
        return sendJson(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...role, problems });
      }
      if (route === 'GET /metrics') {
        response.writeHead(200, { 'content-type': options.registry.contentType });
        return response.end(await options.registry.metrics());
      }
      const custom = options.routes?.[route];
      if (custom) return custom(request, response);
      if (path === '/slack/events' && options.slackListener) {
        if (request.method !== 'POST') return sendJson(response, 405, { error: 'POST only' });
        const timestamp = Number(request.headers['x-slack-request-timestamp']);
        // Slack's timestamp is wall time, and Bolt checks it against wall time too: the injected clock is for
        // what the bot decides (expiry, "held for"), not for the age of a request.
        const skew = Math.abs(Date.now() / 1000 - timestamp);
        if (!Number.isFinite(timestamp) || skew > SLACK_TIMESTAMP_TOLERANCE_SECONDS) {
          options.logger.warn({ skew: Number.isFinite(skew) ? Math.round(skew) : null }, 'refused a Slack request: timestamp out of range');
          request.resume();
          response.writeHead(401);
          return response.end();
        }
        // The listener answers every request itself (bot/door-guard.ts); should it still throw, Slack gets a
        // 4xx, never the 500 it would retry.
        try {
          return await options.slackListener(request, response);
        } catch (error) {
          options.logger.error({ err: error, route }, 'the Slack listener failed');
          request.resume();
          if (!response.headersSent) return sendJson(response, 400, { error: 'request not understood' });
          return response.end();
        }
      }
      return sendJson(response, 404, { error: `nothing at ${route}` });
    };
    handle().catch((error: unknown) => {
      options.logger.error({ err: error, route }, 'HTTP handler failed');
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.end();
    });
  });
}
