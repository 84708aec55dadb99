import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Plugin } from 'esbuild';
import { workerScript } from '../integrations/worker-bundle.ts';
import type { ChartModel, RenderedChart } from '../core/chart.ts';
import type { ChartRenderer } from '../core/ports.ts';
import { chartFonts } from './fonts.ts';
import type { SmallMultiplesOptions } from './render.ts';

export type ChartRequest =
  | { readonly kind: 'chart'; readonly id: number; readonly model: ChartModel }
  | { readonly kind: 'multiples'; readonly id: number; readonly models: readonly ChartModel[]; readonly options: SmallMultiplesOptions };

export type ChartReply = { readonly id: number; readonly chart: RenderedChart; readonly cpuMs: number } | { readonly id: number; readonly error: string };

export interface ChartRendererOptions {
  /** The worker's entry module; tests give one that dies. */
  readonly threadEntry?: URL;
  /** A drawing that takes longer fails, and its worker is ended (a new one takes the next request). */
  readonly timeoutMs?: number;
  /** Told when a worker dies (its error, or its exit code). */
  readonly onWorkerDied?: (reason: Error | number) => void;
  /** Told after each drawing: the process' CPU time while the worker drew (the bench reads it), and the wall time. */
  readonly onRendered?: (stats: { readonly cpuMs: number; readonly wallMs: number }) => void;
}

export interface OffThreadChartRenderer extends ChartRenderer {
  /** How many workers were started: more than one means one died. */
  workersStarted(): number;
}

export const DEFAULT_RENDER_TIMEOUT_MS = 20_000;

interface Job {
  readonly request: ChartRequest;
  readonly what: string;
  resolve(chart: RenderedChart): void;
  reject(error: Error): void;
}

// ECharts and resvg are loaded by the worker from where npm put them, not bundled: resvg is a native module
// (its .node file cannot be bundled) and ECharts is 1 MB that esbuild would parse again at every start. A
// worker started from code (eval) resolves bare names from the working directory, so they are given as the
// absolute paths this module resolves them to.
const require = createRequire(import.meta.url);
const externalPackages: Plugin = {
  name: 'chart-packages-from-node-modules',
  setup(build) {
    build.onResolve({ filter: /^(echarts|@resvg\/resvg-js)$/ }, (args) => ({ path: require.resolve(args.path), external: true }));
  },
};

/**
 * The bot's chart renderer: ECharts and resvg in a worker thread, one drawing at a time (requests wait their
 * turn here), so that the event loop that acks Slack never draws. The worker starts on first use. If it dies
 * or hangs, the drawing it was on fails with an error that says so (the caller posts its text without the
 * chart) and the next request starts a new worker. `close()` ends it and fails what still waits.
 */
export function createChartRenderer({
  threadEntry = new URL('./chart-thread.ts', import.meta.url),
  timeoutMs = DEFAULT_RENDER_TIMEOUT_MS,
  onWorkerDied,
  onRendered,
}: ChartRendererOptions = {}): OffThreadChartRenderer {
  const waiting: Job[] = [];
  let current: { job: Job; startedAt: number; timer: NodeJS.Timeout } | null = null;
  let worker: Promise<Worker> | null = null;
  let started = 0;
  let nextId = 1;
  let closed = false;

  function startWorker(): Promise<Worker> {
    started += 1;
    const starting = workerScript(threadEntry, [externalPackages]).then(({ script, eval: isCode }) => {
      const thread = new Worker(script, { eval: isCode, workerData: { fonts: chartFonts() } });
      thread.on('message', (reply: ChartReply) => finish(reply));
      thread.on('error', (error) => died(starting, error));
      thread.on('exit', (code) => died(starting, code));
      return thread;
    });
    starting.catch((error: unknown) => died(starting, error instanceof Error ? error : new Error(String(error))));
    return starting;
  }

  function finish(reply: ChartReply): void {
    if (!current || current.job.request.id !== reply.id) return;
    const { job, startedAt, timer } = current;
    clearTimeout(timer);
    current = null;
    if ('error' in reply) job.reject(new Error(`Drawing ${job.what} failed: ${reply.error}`));
    else {
      onRendered?.({ cpuMs: reply.cpuMs, wallMs: performance.now() - startedAt });
      job.resolve(reply.chart);
    }
    next();
  }

  // The drawing a dead worker was on fails; what waits goes to the next worker.
  function died(thread: Promise<Worker>, reason: Error | number): void {
    if (worker !== thread) return;
    worker = null;
    if (!closed) onWorkerDied?.(reason);
    if (current) {
      const { job, timer } = current;
      clearTimeout(timer);
      current = null;
      const why = typeof reason === 'number' ? `exit code ${reason}` : reason.message;
      job.reject(new Error(`The chart renderer's worker died (${why}) while drawing ${job.what}: post the message without its chart.`));
    }
    if (!closed) next();
  }

  function next(): void {
    if (current || closed) return;
    const job = waiting.shift();
    if (!job) {
      // An idle worker must not keep the process alive.
      void worker?.then(
        (ready) => ready.unref(),
        () => {},
      );
      return;
    }
    worker ??= startWorker();
    const thread = worker;
    const timer = setTimeout(() => {
      // A drawing that never ends holds the worker: end it; died() fails the drawing and starts over.
      void thread.then(
        (ready) => {
          if (current?.job === job) {
            died(thread, new Error(`no picture after ${timeoutMs} ms`));
            void ready.terminate();
          }
        },
        () => {},
      );
    }, timeoutMs);
    timer.unref();
    current = { job, startedAt: performance.now(), timer };
    void thread.then(
      (ready) => {
        if (current?.job !== job) return;
        ready.ref();
        try {
          ready.postMessage(job.request);
        } catch (error) {
          // Something in the model that cannot be copied to another thread.
          clearTimeout(timer);
          current = null;
          job.reject(new Error(`Drawing ${job.what} failed: ${error instanceof Error ? error.message : String(error)}`));
          next();
        }
      },
      () => {},
    );
  }

  function enqueue(request: ChartRequest, what: string): Promise<RenderedChart> {
    return new Promise<RenderedChart>((resolve, reject) => {
      if (closed) {
        reject(new Error(`The chart renderer is closed: ${what} was not drawn.`));
        return;
      }
      waiting.push({ request, what, resolve, reject });
      next();
    });
  }

  return {
    render(model) {
      return enqueue({ kind: 'chart', id: nextId++, model }, `the chart "${model.title}"`);
    },
    renderSmallMultiples(models, options) {
      return enqueue({ kind: 'multiples', id: nextId++, models, options }, `the small multiples "${options.title}"`);
    },
    async close() {
      closed = true;
      const stopping = worker;
      worker = null;
      const failed = [...(current ? [current.job] : []), ...waiting.splice(0)];
      if (current) clearTimeout(current.timer);
      current = null;
      for (const job of failed) job.reject(new Error(`The chart renderer was closed before ${job.what} was drawn.`));
      if (stopping)
        await stopping.then(
          (ready) => ready.terminate(),
          () => {},
        );
    },
    workersStarted: () => started,
  };
}
