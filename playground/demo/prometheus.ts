// A throwaway Prometheus for the demo: Debian's binary, its own config and data in a temp dir, on a free
// 127.0.0.1 port, scraping the demo exporter every second. It is killed when the playground stops, and by a
// watchdog shell if the playground itself is killed outright.
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { launchPrometheus } from '../prometheus-server.ts';

export interface DemoPrometheus {
  readonly url: string;
  stop(): Promise<void>;
}

/** The Prometheus binary: PROMETHEUS_BIN, else `prometheus` on the PATH; null when there is none. */
export function findPrometheus(env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  const candidates = env.PROMETHEUS_BIN
    ? [env.PROMETHEUS_BIN]
    : [...(env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'prometheus')), '/usr/bin/prometheus'];
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
  const root = mkdtempSync(join(tmpdir(), 'scalebot-playground-prom-'));
  const configFile = join(root, 'prometheus.yml');
  // JSON is YAML. honor_labels keeps the exporter's own `instance` labels (app-1:9100, db-1:9187, …).
  writeFileSync(
    configFile,
    JSON.stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: 'demo', honor_labels: true, static_configs: [{ targets: [scrapeTarget] }] }],
    }),
  );
  try {
    const server = await launchPrometheus({ binary, configFile, dataDir: join(root, 'data'), root, retention: '1d' });
    const onExit = () => server.kill();
    process.once('exit', onExit);
    return {
      url: server.url,
      async stop() {
        process.off('exit', onExit);
        await server.stop();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}
