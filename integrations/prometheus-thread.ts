import { getPriority, setPriority } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { createEvaluationStore } from '../core/incremental-evaluation.ts';
import { redactSecrets } from '../core/redact.ts';
import { createForecastMemo, judgeTriggers } from '../core/status.ts';
import type { Trigger } from '../core/triggers.ts';
import { createPrometheus, type PrometheusOptions } from './prometheus.ts';
// Types only: the off-thread module (esbuild, Worker) must not end up in this worker's bundle.
import type { JudgeReply, JudgeRequest, MemoryReply, ThreadRequest, WireResult } from './prometheus-off-thread.ts';

// The worker side of integrations/prometheus-off-thread.ts: one Prometheus client, and the judging of
// every trigger the main thread asks about. Only the verdicts go back, never the answers' points.
const prometheus = createPrometheus(workerData as PrometheusOptions);
// Forecasts are fitted once per step of their query, whoever asks (core/status.ts ForecastMemo).
const forecastMemo = createForecastMemo();
// Each trigger's runs, kept between evaluations so that the next asks only for what is new (core/incremental-evaluation.ts).
const evaluations = createEvaluationStore();

// On Linux a nice value belongs to a thread: this lowers this worker's alone, 10 below the bot's. When the
// CPUs are busy (an incident, Prometheus answering a burst of status queries) the main thread's acks go first, and Slack's
// 3 s is kept; an answer waits a little instead. On the VPS the product shares, judging triggers is the
// least urgent work there is.
if (process.platform === 'linux') {
  try {
    setPriority(Math.min(19, getPriority() + 10));
  } catch {
    // Refused (a seccomp profile, say): the worker runs at the process's priority, still off the event loop.
  }
}
const port = parentPort!;

port.on('message', (request: ThreadRequest) => {
  if (request.kind === 'memory') port.postMessage(memory(request.id));
  else void judge(request).then((reply) => port.postMessage(reply));
});

// This isolate's heap, for the bot's /metrics (the default metrics see the main thread's only). Under
// --expose-gc (the bench) it is collected first, so that the figure is what is live, not garbage.
function memory(id: number): MemoryReply {
  (globalThis as { gc?: () => void }).gc?.();
  return { id, heapUsedBytes: getHeapStatistics().used_heap_size };
}

async function judge(request: JudgeRequest): Promise<JudgeReply> {
  const { id, triggers, atMs, lookbackSeconds } = request;
  try {
    const options = request.forecast ? { forecast: request.forecast } : {};
    const report = await judgeTriggers(triggers, prometheus, new Date(atMs), lookbackSeconds, options, forecastMemo, evaluations);
    const index = new Map<Trigger, number>(triggers.map((trigger, position) => [trigger, position]));
    const results: WireResult[] = report.results.map(({ trigger, ...rest }) => ({ ...rest, triggerIndex: index.get(trigger)! }));
    return { id, verdict: report.verdict, results, ...(report.failure ? { failure: report.failure } : {}) };
  } catch (error) {
    // This thread knows no registered secret: the credential shapes (a URL's user:password) are cut here,
    // the exact values by the main thread's sinks.
    return { id, error: redactSecrets(error instanceof Error ? error.message : String(error)) };
  }
}
