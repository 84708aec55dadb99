import { Worker } from 'node:worker_threads';
import { judgeTriggers, type StatusReport, type TriggerJudgingPort } from '../core/status.ts';
import type { Trigger, TriggerResult, Verdict } from '../core/triggers.ts';
import { createPrometheus, type PrometheusOptions, type PrometheusPort } from './prometheus.ts';

export interface JudgeRequest {
  readonly id: number;
  readonly triggers: readonly Trigger[];
  readonly atMs: number;
  readonly lookbackSeconds: number | undefined;
}

/** A result as it crosses the thread boundary: its trigger by position in the request, not a copy. */
export type WireResult = Omit<TriggerResult, 'trigger'> & { readonly triggerIndex: number };

export type JudgeReply =
  | { readonly id: number; readonly verdict: Verdict; readonly results: readonly WireResult[]; readonly failure?: string }
  | { readonly id: number; readonly error: string };

export interface OffThreadPrometheus extends PrometheusPort, TriggerJudgingPort {
  /** Ends the worker; what it was judging, and anything asked after, is judged here instead. */
  close(): Promise<void>;
  /** How many workers were started: more than one means one died. */
  workersStarted(): number;
}

export interface OffThreadOptions {
  /** The worker's entry module; tests give one that misbehaves. */
  readonly threadEntry?: URL;
  /** Told when a worker dies (its error, or its exit code); its work is judged on this thread meanwhile. */
  readonly onWorkerDied?: (reason: Error | number) => void;
}

interface Pending {
  readonly request: JudgeRequest;
  readonly triggers: readonly Trigger[];
  resolve(report: StatusReport): void;
  reject(error: Error): void;
}

/**
 * The bot's Prometheus client. Status, the watcher, the advisor's evidence and the checks of checklists and
 * runbooks all come down to judging triggers, and that is done in a worker thread: the range answers of a
 * 100-instance fleet are 2.7 MB of JSON a status, and decompressing, parsing and collecting them on the
 * event loop held up the acks of the requests behind it (README, "Benchmarks"). The main thread gets only
 * the verdicts. Instant queries (small, a few per command) stay on this thread.
 *
 * The worker starts on first use. If it dies, what it was judging is judged here, and the next call starts
 * a new one: a broken worker costs latency, never an answer.
 */
export function createOffThreadPrometheus(
  options: PrometheusOptions,
  { threadEntry = new URL('./prometheus-thread.mjs', import.meta.url), onWorkerDied }: OffThreadOptions = {},
): OffThreadPrometheus {
  const here = createPrometheus(options);
  let started = 0;
  const pending = new Map<number, Pending>();
  let worker: Worker | null = null;
  let nextId = 1;
  let closed = false;

  function judgeHere(entry: Pending): void {
    const { triggers, request } = entry;
    judgeTriggers(triggers, here, new Date(request.atMs), request.lookbackSeconds).then(entry.resolve, entry.reject);
  }

  function startWorker(): Worker {
    started += 1;
    const thread = new Worker(threadEntry, { workerData: { url: options.url, timeoutMs: options.timeoutMs } });
    thread.on('message', (reply: JudgeReply) => {
      const entry = pending.get(reply.id);
      if (!entry) return;
      pending.delete(reply.id);
      idleUnlessBusy(thread);
      if ('error' in reply) {
        entry.reject(new Error(reply.error));
        return;
      }
      entry.resolve({
        verdict: reply.verdict,
        evaluatedAt: new Date(entry.request.atMs),
        results: reply.results.map(({ triggerIndex, ...rest }): TriggerResult => ({ ...rest, trigger: entry.triggers[triggerIndex]! })),
        ...(reply.failure ? { failure: reply.failure } : {}),
      });
    });
    const takeOver = (reason: Error | number) => {
      if (worker !== thread) return;
      worker = null;
      onWorkerDied?.(reason);
      const orphans = [...pending.values()];
      pending.clear();
      for (const entry of orphans) judgeHere(entry);
    };
    thread.on('error', takeOver);
    thread.on('exit', takeOver);
    return thread;
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
    judgeTriggers(triggers, at, lookbackSeconds) {
      return new Promise<StatusReport>((resolve, reject) => {
        const request: JudgeRequest = { id: nextId++, triggers, atMs: at.getTime(), lookbackSeconds };
        const entry: Pending = { request, triggers, resolve, reject };
        if (closed) {
          judgeHere(entry);
          return;
        }
        worker ??= startWorker();
        pending.set(request.id, entry);
        idleUnlessBusy(worker);
        try {
          worker.postMessage(request);
        } catch {
          // Something in a trigger that cannot be copied to another thread: judge it here.
          pending.delete(request.id);
          judgeHere(entry);
        }
      });
    },
    async close() {
      closed = true;
      const stopping = worker;
      worker = null;
      const orphans = [...pending.values()];
      pending.clear();
      for (const entry of orphans) judgeHere(entry);
      if (stopping) await stopping.terminate();
    },
    workersStarted: () => started,
  };
}
