import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsEndpoint {
  /** `127.0.0.1:PORT`: a scrape target. */
  readonly target: string;
  /** How many times /metrics has been served. */
  readonly scrapes: number;
  stop(): Promise<void>;
}

/**
 * Serves a prom-client registry at http://127.0.0.1:<free port>/metrics, for Prometheus to scrape: the
 * playground demo's exporter (playground/demo/exporter.ts) and the tests' live one (start-exporter.ts).
 * `beforeScrape` runs before each answer (the demo moves its story on).
 */
export async function serveMetrics(registry: Registry, beforeScrape: () => void = () => {}): Promise<MetricsEndpoint> {
  let scrapes = 0;
  const server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    scrapes += 1;
    beforeScrape();
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    get scrapes() {
      return scrapes;
    },
    stop() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
