// A throwaway Prometheus for the demo: Debian's binary, its own config and data in a temp dir, on a free
// 127.0.0.1 port, scraping the demo exporter every second; started like the tests' and the bench's
// (devkit/prometheus), so it is killed when the playground stops, and by a watchdog shell if the playground
// itself is killed outright.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { startPrometheus } from '../../devkit/prometheus/index.ts';

export interface DemoPrometheus {
  readonly url: string;
  stop(): Promise<void>;
}

/** The Prometheus binary: PROMETHEUS_BIN, else `prometheus` on the PATH; null when there is none. */
export function findPrometheus(env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  const candidates = env.PROMETHEUS_BIN
    ? [env.PROMETHEUS_BIN]
    : [
        ...(env.PATH ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, 'prometheus')),
        '/usr/bin/prometheus',
      ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there
    }
  }
  return null;
}

export const PROMETHEUS_INSTALL_HINT = 'sudo apt-get install prometheus';

export async function startDemoPrometheus({ binary, scrapeTarget }: { binary: string; scrapeTarget: string }): Promise<DemoPrometheus> {
  // honor_labels keeps the exporter's own `instance` labels (app-1:9100, db-1:9187, …).
  const server = await startPrometheus({
    binary,
    scrapeTargets: [scrapeTarget],
    scrapeJob: 'demo',
    scrapeIntervalSeconds: 1,
    retention: '1d',
    tempDirPrefix: 'scalebot-playground-prom-',
  });
  return { url: server.url, stop: server.stop };
}
