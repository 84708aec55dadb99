// The page a person uses: a channel view served on 127.0.0.1, with plain HTML, CSS and JavaScript from web/
// (no build step), the workspace as JSON, live updates as Server-Sent Events, the files messages share (the
// bot's charts, proxied from the emulator), and two things a Slack client does: submit a line from the message
// box, and click an element of a message.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FILE_ID, type ActionInput, type Outcome, type PlaygroundEmulator } from './person-side.ts';
import { findUser, PLAYGROUND_USERS } from './workspace.ts';

const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), 'web');
const STATIC_FILES: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/blocks.js': 'blocks.js',
  '/mrkdwn.js': 'mrkdwn.js',
  '/style.css': 'style.css',
};
const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};
const MAX_BODY_BYTES = 64 * 1024;
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export interface PageServerOptions {
  readonly emulator: PlaygroundEmulator;
  /** What the page says about the bot's surroundings: Prometheus, the demo, runbooks. */
  readonly status: () => unknown;
  /** The slash-command shortcuts under the message box ("status", "checklist <name>", …). */
  readonly commandHints: readonly string[];
  readonly demoControl?: (what: 'replay' | 'calm-down') => void;
  /** Default 0: a free port. */
  readonly port?: number;
}

export interface PageServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  /** Tells every open page to fetch the state again. */
  broadcast(): void;
  close(): Promise<void>;
}

export async function startPageServer(options: PageServerOptions): Promise<PageServer> {
  const clients = new Set<ServerResponse>();
  let version = 0;
  let port = 0;
  const broadcast = () => {
    version += 1;
    for (const client of clients) client.write(`event: change\ndata: ${JSON.stringify({ version })}\n\n`);
  };
  const unsubscribe = options.emulator.onChange(broadcast);

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { ok: false, message: String(error) });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // Only this machine, by its loopback name: a page from elsewhere that resolves a name to 127.0.0.1
    // (DNS rebinding) is refused.
    const host = request.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      response.writeHead(421, { 'content-type': 'text/plain' }).end('the playground answers only http://127.0.0.1');
      return;
    }
    const url = new URL(request.url ?? '/', `http://${host}`);
    if (request.method === 'GET') {
      const file = STATIC_FILES[url.pathname];
      if (file) {
        const extension = file.slice(file.lastIndexOf('.') + 1);
        response.writeHead(200, { 'content-type': CONTENT_TYPES[extension] ?? 'text/plain', 'cache-control': 'no-store' });
        response.end(readFileSync(join(WEB_DIR, file)));
        return;
      }
      if (url.pathname === '/api/state') {
        const as = url.searchParams.get('as') || PLAYGROUND_USERS[0]!.id;
        if (!findUser(as)) return sendJson(response, 400, { ok: false, message: `no such user ${as}` });
        return sendJson(response, 200, { version, me: as, workspace: options.emulator.view(as), status: options.status(), commandHints: options.commandHints });
      }
      if (url.pathname.startsWith('/api/files/')) {
        const id = url.pathname.slice('/api/files/'.length);
        const file = FILE_ID.test(id) ? await options.emulator.fileContent(id) : null;
        if (!file) {
          response.writeHead(404, { 'content-type': 'text/plain' }).end(`no file ${id} is shared in this workspace`);
          return;
        }
        // Images show inline; anything else downloads, and nothing is sniffed into something runnable.
        const inline = IMAGE_TYPES.has(file.mimetype);
        response.writeHead(200, {
          'content-type': inline ? file.mimetype : 'application/octet-stream',
          'content-length': file.bytes.length,
          'x-content-type-options': 'nosniff',
          'cache-control': 'private, max-age=3600',
          ...(inline ? {} : { 'content-disposition': 'attachment' }),
        });
        response.end(file.bytes);
        return;
      }
      if (url.pathname === '/api/events') {
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        response.write(`event: change\ndata: ${JSON.stringify({ version })}\n\n`);
        clients.add(response);
        request.on('close', () => clients.delete(response));
        return;
      }
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (request.method === 'POST') {
      // JSON only, and from our own page: another site's form or fetch cannot send this without a preflight,
      // which is never answered.
      const origin = request.headers.origin;
      if (!(request.headers['content-type'] ?? '').startsWith('application/json') || (origin && origin !== `http://${host}`)) {
        return sendJson(response, 403, { ok: false, message: 'only the playground page may post here' });
      }
      const body = await readJson(request);
      if (!body) return sendJson(response, 400, { ok: false, message: 'the body is not a JSON object' });
      let outcome: Outcome;
      switch (url.pathname) {
        case '/api/submit':
          outcome = await options.emulator.submit({ user: String(body.user ?? ''), channel: String(body.channel ?? ''), text: String(body.text ?? '') });
          break;
        case '/api/action':
          outcome = await options.emulator.act(toActionInput(body));
          break;
        case '/api/demo':
          if (!options.demoControl) return sendJson(response, 409, { ok: false, message: 'the demo is not running (npm run playground -- --demo)' });
          if (body.do !== 'replay' && body.do !== 'calm-down') return sendJson(response, 400, { ok: false, message: 'do: replay or calm-down' });
          options.demoControl(body.do);
          broadcast();
          outcome = { ok: true };
          break;
        default:
          return sendJson(response, 404, { ok: false, message: 'not found' });
      }
      return sendJson(response, outcome.ok ? 200 : 422, outcome);
    }
    response.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, POST' }).end('method not allowed');
  }

  // Comments keep idle connections from being closed by anything in between.
  const heartbeat = setInterval(() => {
    for (const client of clients) client.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/`,
    broadcast,
    async close() {
      clearInterval(heartbeat);
      unsubscribe();
      for (const client of clients) client.end();
      clients.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function toActionInput(body: Record<string, unknown>): ActionInput {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const selectedValues = Array.isArray(body.selectedValues) ? body.selectedValues.filter((v): v is string => typeof v === 'string') : undefined;
  const state = body.state && typeof body.state === 'object' && !Array.isArray(body.state) ? (body.state as ActionInput['state']) : undefined;
  return {
    user: String(body.user ?? ''),
    channel: String(body.channel ?? ''),
    ts: String(body.ts ?? ''),
    ephemeral: body.ephemeral === true,
    actionId: String(body.actionId ?? ''),
    ...(text(body.blockId) !== undefined ? { blockId: text(body.blockId) } : {}),
    ...(text(body.selectedValue) !== undefined ? { selectedValue: text(body.selectedValue) } : {}),
    ...(selectedValues ? { selectedValues } : {}),
    ...(text(body.selectedDate) !== undefined ? { selectedDate: text(body.selectedDate) } : {}),
    ...(state ? { state } : {}),
  };
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
