import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowProxy {
  /** `http://127.0.0.1:PORT`: give it to the bot in place of the Prometheus URL. */
  url: string;
  /** Requests received so far. */
  readonly requests: number;
  /** The path and query string of each request received, in order. */
  readonly paths: readonly string[];
  stop(): Promise<void>;
}

/**
 * A loopback HTTP proxy that holds every request for `delayMs` before passing it to `targetUrl` (a Prometheus
 * fixture's url) and streaming the answer back: for "Prometheus answers slower than our timeout" tests.
 * A client that gives up during the delay is not forwarded.
 */
export async function startSlowProxy(targetUrl: string, delayMs: number): Promise<SlowProxy> {
  const target = new URL(targetUrl);
  const timers = new Set<NodeJS.Timeout>();
  let requests = 0;
  const paths: string[] = [];

  const server = createServer((incoming, outgoing) => {
    requests++;
    paths.push(incoming.url ?? '');
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (outgoing.destroyed || outgoing.writableEnded) return;
        const upstream = httpRequest(
          {
            host: target.hostname,
            port: target.port,
            method: incoming.method,
            path: incoming.url,
            headers: { ...incoming.headers, host: target.host },
          },
          (answer) => {
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(outgoing);
          },
        );
        upstream.on('error', (error) => {
          if (!outgoing.headersSent) outgoing.writeHead(502);
          outgoing.end(String(error));
        });
        upstream.end(Buffer.concat(chunks));
      }, delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    paths,
    stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
