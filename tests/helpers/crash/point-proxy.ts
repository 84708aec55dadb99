import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describePoint, samePoint, type CrashPoint, type ProxiedCall } from './points.ts';

export interface PointProxyRequest {
  readonly httpMethod: string;
  readonly path: string;
  readonly search: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface PointProxyOptions {
  /** Names what sits behind the proxy in points and reports: 'slack', 'prometheus'. */
  source: string;
  /** Base URL of the real server, e.g. `http://127.0.0.1:PORT`. Paths are passed on unchanged. */
  target: string;
  /** Names a call; calls with the same label are counted together. Default: `GET /api/v1/query_range`. */
  label?: (request: PointProxyRequest) => string;
}

export interface PointProxy {
  readonly source: string;
  /** `http://127.0.0.1:PORT`: give it to the bot in place of the server's URL. */
  readonly url: string;
  /** Every call, in arrival order, with the fate it met. */
  readonly calls: readonly ProxiedCall[];
  /**
   * At `point`, holds the call and awaits `action` (kill the bot there): `before`, the server never sees the
   * call; `after`, the server has acted on it and answered, and the answer is thrown away. Either way the bot
   * never hears back; calls arriving while `action` runs (the dying process's last ones) are dropped too.
   */
  at(point: CrashPoint, action: () => unknown): void;
  /** Points armed with `at` that have not been reached yet. */
  readonly armed: readonly CrashPoint[];
  /** Points reached, in the order they were. */
  readonly reached: readonly CrashPoint[];
  /** Answers every call with this HTTP status without passing it on (a server that is down); null: pass again. */
  refuse(status: number | null): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade', 'proxy-connection']);

const defaultLabel = (request: PointProxyRequest) => `${request.httpMethod} ${request.path}`;

/**
 * A loopback HTTP proxy that records every call the bot makes to one server as a crash point and can kill
 * the bot at any of them. It knows nothing of the bot or of the server: what a call *is* comes from `label`.
 */
export async function startPointProxy({ source, target, label = defaultLabel }: PointProxyOptions): Promise<PointProxy> {
  const upstream = new URL(target);
  const calls: ProxiedCall[] = [];
  const counts = new Map<string, number>();
  const hooks: Array<{ point: CrashPoint; action: () => unknown }> = [];
  const reached: CrashPoint[] = [];
  const sockets = new Set<Socket>();
  let refusal: number | null = null;
  let dying = 0;

  const drop = (res: ServerResponse) => {
    res.socket?.destroy();
    res.destroy();
  };

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
      const outgoing = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...headers, host: upstream.host, 'content-length': String(body.length), connection: 'close' },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }));
          answer.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://proxy');
    const request: PointProxyRequest = {
      httpMethod: req.method ?? 'GET',
      path: url.pathname,
      search: url.search,
      headers: req.headers,
      body: body.toString('utf8'),
    };
    const name = label(request);
    const base = { source, label: name, at: Date.now(), httpMethod: request.httpMethod, path: request.path, body: request.body };
    if (dying > 0) {
      calls.push({ ...base, occurrence: 0, fate: 'dropped' });
      drop(res);
      return;
    }
    const occurrence = (counts.get(name) ?? 0) + 1;
    counts.set(name, occurrence);
    const call: ProxiedCall = { ...base, occurrence, fate: 'pending' };
    calls.push(call);
    const index = hooks.findIndex((hook) => samePoint(hook.point, { source, label: name, occurrence }));
    const hook = index >= 0 ? hooks.splice(index, 1)[0] : undefined;
    const crash = async () => {
      reached.push(hook!.point);
      dying += 1;
      try {
        await hook!.action();
      } finally {
        dying -= 1;
      }
      drop(res);
    };

    if (hook?.point.when === 'before') {
      call.fate = 'cut before';
      await crash();
      return;
    }
    let answer: { status: number; headers: IncomingHttpHeaders; body: Buffer };
    if (refusal !== null) {
      answer = { status: refusal, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`refused by the crash-point proxy (${source})`) };
      call.fate = 'refused';
    } else {
      try {
        answer = await forward(req, body);
        call.fate = 'answered';
      } catch (error) {
        call.fate = 'upstream failed';
        call.responseBody = String(error);
        drop(res);
        return;
      }
    }
    call.status = answer.status;
    call.responseBody = answer.body.toString('utf8');
    if (hook?.point.when === 'after') {
      call.fate = 'cut after';
      await crash();
      return;
    }
    if (res.destroyed) return;
    const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
    res.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.length) }).end(answer.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) res.writeHead(500, { 'content-type': 'text/plain' }).end(`crash-point proxy error: ${String(error)}`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    source,
    url: `http://127.0.0.1:${port}`,
    calls,
    get armed() {
      return hooks.map((hook) => hook.point);
    },
    reached,
    at(point, action) {
      if (point.source !== source) throw new Error(`${describePoint(point)} is not a point of the ${source} proxy`);
      hooks.push({ point, action });
    },
    refuse(status) {
      refusal = status;
    },
    stop() {
      hooks.length = 0;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
