import { Worker } from 'node:worker_threads';
import { redactSecrets } from '../core/redact.ts';
import type { ForecastSettings } from '../core/forecast.ts';
import type { StatusReport } from '../core/status.ts';
import type { JudgeOptions } from '../core/ports.ts';
import type { Trigger, TriggerResult, Verdict } from '../core/triggers.ts';
import { createPrometheus, type PrometheusOptions, type PrometheusPort } from './prometheus.ts';
import { workerScript } from './worker-bundle.ts';

export interface JudgeRequest {
  readonly kind: 'judge';
  readonly id: number;
  readonly triggers: readonly Trigger[];
  readonly atMs: number;
  readonly lookbackSeconds: number | undefined;
  /** Forecast the triggers that have `forecast: true` too, in the worker (a Forecast's Date survives the structured clone). */
  readonly forecast?: ForecastSettings;
}

export type ThreadRequest = JudgeRequest | { readonly kind: 'memory'; readonly id: number };
export interface MemoryReply {
  readonly id: number;
  readonly heapUsedBytes: number;
}

/** A result as it crosses the thread boundary: its trigger by position in the request, not a copy. */
export type WireResult = Omit<TriggerResult, 'trigger'> & { readonly triggerIndex: number };

export type JudgeReply =
  | { readonly id: number; readonly verdict: Verdict; readonly results: readonly WireResult[]; readonly failure?: string }
  | { readonly id: number; readonly error: string };

export interface OffThreadPrometheus extends PrometheusPort {
  /** Ends the worker; what it was judging, and anything asked after, is judged here instead. */
  close(): Promise<void>;
  /** How many workers were started: more than one means one died. */
  workersStarted(): number;
  /** The worker's heap in use, or null when no worker runs (none is started for this) or it does not answer in 2 s. */
  workerHeapUsed(): Promise<number | null>;
}

export interface OffThreadOptions {
  /** The worker's entry module (TypeScript or JavaScript); tests give one that misbehaves. */
  readonly threadEntry?: URL;
  /** Told when a worker dies (its error, or its exit code); its work is judged on this thread meanwhile. */
  readonly onWorkerDied?: (reason: Error | number) => void;
}

/** The judge options a request carries, as judgeTriggers takes them. */
function judgeOptionsOf(request: JudgeRequest): JudgeOptions {
  return request.forecast ? { forecast: request.forecast } : {};
}

interface Pending {
  readonly request: JudgeRequest;
  readonly triggers: readonly Trigger[];
  resolve(report: StatusReport): void;
  reject(error: Error): void;
}

/** How long no worker is started after two died in a row without answering. */
export const WORKER_PAUSE_MS = 60_000;

/**
 * The bot's Prometheus client. Status, the watcher, the advisor's evidence and the checks of checklists and
 * runbooks all come down to judging triggers, and that is done in a worker thread: the range answers of a
 * 100-instance fleet are 2.7 MB of JSON a status, and decompressing, parsing and collecting them on the
 * event loop held up the acks of the requests behind it (README, "Benchmarks"). The main thread gets only
 * the verdicts. Instant queries (small, a few per command) stay on this thread.
 *
 * The worker starts on first use. If it dies, what it was judging is judged here, and the next call starts
 * a new one: a broken worker costs latency, never an answer. After two deaths in a row without an answer,
 * everything is judged here for a minute before a worker is tried again.
 */
export function createOffThreadPrometheus(
  options: PrometheusOptions,
  { threadEntry = new URL('./prometheus-thread.ts', import.meta.url), onWorkerDied }: OffThreadOptions = {},
): OffThreadPrometheus {
  const here = createPrometheus(options);
  let started = 0;
  const pending = new Map<number, Pending>();
  const memoryAsked = new Map<number, (bytes: number | null) => void>();
  let worker: Promise<Worker> | null = null;
  let nextId = 1;
  let closed = false;
  // Workers that died in a row without answering: a worker that cannot start (a broken install, say) is not
  // started again for every evaluation, each a warning in the log; it is tried again after a pause.
  let deathsInARow = 0;
  let pausedUntil = 0;

  function judgeHere(entry: Pending): void {
    const { triggers, request } = entry;
    here.judgeTriggers(triggers, new Date(request.atMs), request.lookbackSeconds, judgeOptionsOf(request)).then(entry.resolve, entry.reject);
  }

  function startWorker(): Promise<Worker> {
    started += 1;
    const starting = workerScript(threadEntry).then(({ script, eval: isCode }) => {
      const thread = new Worker(script, { eval: isCode, workerData: { url: options.url, timeoutMs: options.timeoutMs } });
      thread.on('message', (reply: JudgeReply | MemoryReply) => {
        if ('heapUsedBytes' in reply) {
          memoryAsked.get(reply.id)?.(reply.heapUsedBytes);
          return;
        }
        const entry = pending.get(reply.id);
        if (!entry) return;
        pending.delete(reply.id);
        deathsInARow = 0;
        idleUnlessBusy(thread);
        if ('error' in reply) {
          entry.reject(new Error(redactSecrets(reply.error)));
          return;
        }
        entry.resolve({
          verdict: reply.verdict,
          evaluatedAt: new Date(entry.request.atMs),
          results: reply.results.map(({ triggerIndex, ...rest }): TriggerResult => ({ ...rest, trigger: entry.triggers[triggerIndex]! })),
          ...(reply.failure ? { failure: redactSecrets(reply.failure) } : {}),
          ...(entry.request.forecast ? { forecastSettings: entry.request.forecast } : {}),
        });
      });
      thread.on('error', (error) => takeOver(starting, error));
      thread.on('exit', (code) => takeOver(starting, code));
      return thread;
    });
    starting.catch((error: unknown) => takeOver(starting, error instanceof Error ? error : new Error(String(error))));
    return starting;
  }

  // What a dead (or never started) worker was judging is judged here; the next call starts a new one.
  function takeOver(thread: Promise<Worker>, reason: Error | number): void {
    if (worker !== thread) return;
    worker = null;
    onWorkerDied?.(reason);
    deathsInARow += 1;
    if (deathsInARow >= 2) pausedUntil = Date.now() + WORKER_PAUSE_MS;
    const orphans = [...pending.values()];
    pending.clear();
    for (const entry of orphans) judgeHere(entry);
  }

  // An idle worker must not keep the process alive; one with work must, or its answer could be lost.
  function idleUnlessBusy(target: Worker): void {
    if (pending.size === 0) target.unref();
    else target.ref();
  }

  return {
    url: here.url,
    queryRange: here.queryRange,
    queryInstant: here.queryInstant,
    judgeTriggers(triggers, at, lookbackSeconds, options) {
      return new Promise<StatusReport>((resolve, reject) => {
        const request: JudgeRequest = {
          kind: 'judge',
          id: nextId++,
          triggers,
          atMs: at.getTime(),
          lookbackSeconds,
          ...(options?.forecast ? { forecast: options.forecast } : {}),
        };
        const entry: Pending = { request, triggers, resolve, reject };
        if (closed || (!worker && Date.now() < pausedUntil)) {
          judgeHere(entry);
          return;
        }
        worker ??= startWorker();
        const thread = worker;
        pending.set(request.id, entry);
        void thread.then(
          (ready) => {
            if (!pending.has(request.id)) return;
            idleUnlessBusy(ready);
            try {
              ready.postMessage(request);
            } catch {
              // Something in a trigger that cannot be copied to another thread: judge it here.
              pending.delete(request.id);
              judgeHere(entry);
            }
          },
          () => {},
        );
      });
    },
    async close() {
      closed = true;
      const stopping = worker;
      worker = null;
      const orphans = [...pending.values()];
      pending.clear();
      for (const entry of orphans) judgeHere(entry);
      if (stopping)
        await stopping.then(
          (ready) => ready.terminate(),
          () => {},
        );
    },
    workersStarted: () => started,
    async workerHeapUsed() {
      const ready = await worker?.catch(() => null);
      if (!ready || closed) return null;
      const id = nextId++;
      return new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => settle(null), 2000);
        function settle(bytes: number | null) {
          clearTimeout(timer);
          memoryAsked.delete(id);
          resolve(bytes);
        }
        memoryAsked.set(id, settle);
        ready.postMessage({ kind: 'memory', id } satisfies ThreadRequest);
      });
    },
  };
}
