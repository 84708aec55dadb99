// A throwaway Prometheus for the demo: Debian's binary, its own config and data in a temp dir, on a free
// 127.0.0.1 port, scraping the demo exporter every second; started like the tests' and the bench's
// (devkit/prometheus), so it is killed when the playground stops, and by a watchdog shell if the playground
// itself is killed outright.
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { startPrometheus } from '../../devkit/prometheus/index.ts';
import type { DemoHistory } from './history.ts';
import { HISTORY_DAYS } from './scenario.ts';

export interface DemoPrometheus {
  readonly url: string;
  /** Milliseconds promtool took to write the history's blocks (0 without history), and the server to start. */
  readonly timings: { readonly backfillMs: number; readonly startMs: number };
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

export interface DemoPrometheusOptions {
  readonly binary: string;
  readonly scrapeTarget: string;
  /** The week before the demo (history.ts), backfilled before the server starts. */
  readonly history?: DemoHistory;
}

export async function startDemoPrometheus({ binary, scrapeTarget, history }: DemoPrometheusOptions): Promise<DemoPrometheus> {
  const chunksDir = history ? mkdtempSync(join(tmpdir(), 'scalebot-playground-history-')) : null;
  try {
    const backfillFiles = (history?.chunks ?? []).map((text, index) => {
      const file = join(chunksDir!, `history-${String(index).padStart(2, '0')}.om`);
      writeFileSync(file, text);
      return file;
    });
    // honor_labels keeps the exporter's own `instance` labels (app-1:9100, db-1:9187, …).
    const server = await startPrometheus({
      binary,
      scrapeTargets: [scrapeTarget],
      scrapeJob: 'demo',
      scrapeIntervalSeconds: 1,
      backfillFiles,
      // The backfilled week must outlive Prometheus' retention check.
      retention: `${HISTORY_DAYS + 2}d`,
      tempDirPrefix: 'scalebot-playground-prom-',
    });
    return { url: server.url, timings: server.timings, stop: server.stop };
  } finally {
    if (chunksDir) rmSync(chunksDir, { recursive: true, force: true });
  }
}
