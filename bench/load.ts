// The load generator, in its own process so that it never competes with the app under test for an event
// loop. bench/run.ts sends it pre-signed requests over IPC; it fires them (closed loop at a concurrency, or
// open loop at a fixed rate) over keep-alive connections and answers with each request's time to its HTTP
// status, in milliseconds.
import { Agent, request } from 'undici';
import { serve } from './processes.ts';

export interface SignedRequest {
  readonly body: string;
  readonly headers: Record<string, string>;
}

export type LoadMode = { readonly kind: 'closed'; readonly concurrency: number } | { readonly kind: 'open'; readonly perSecond: number };

export interface LoadJob {
  readonly url: string;
  readonly requests: readonly SignedRequest[];
  readonly mode: LoadMode;
  /** Slack gives up after 3 s; a request still unanswered after this counts as failed. */
  readonly timeoutMs: number;
}

export interface LoadResult {
  /** Time to the HTTP status for each request that got a 200, in send order, ms. */
  readonly latenciesMs: number[];
  /** Statuses other than 200, and failures ("timeout", "ECONNRESET", …), with their counts. */
  readonly failures: Record<string, number>;
  readonly wallMs: number;
}

const agents = new Map<string, Agent>();
function agentFor(mode: LoadMode): Agent {
  const connections = mode.kind === 'closed' ? mode.concurrency : 256;
  const key = String(connections);
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({ connections, keepAliveTimeout: 30_000, pipelining: 1 });
    agents.set(key, agent);
  }
  return agent;
}

async function fire(job: LoadJob, agent: Agent, signed: SignedRequest, startedAt: number): Promise<number | string> {
  try {
    const response = await request(job.url, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
      dispatcher: agent,
      headersTimeout: job.timeoutMs,
      bodyTimeout: job.timeoutMs,
    });
    await response.body.dump();
    const elapsed = performance.now() - startedAt;
    if (response.statusCode !== 200) return `HTTP ${response.statusCode}`;
    if (elapsed > job.timeoutMs) return 'over 3 s';
    return elapsed;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code === 'UND_ERR_HEADERS_TIMEOUT' ? 'timeout' : (code ?? String(error));
  }
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const agent = agentFor(job.mode);
  const outcomes: Array<number | string> = new Array(job.requests.length);
  const began = performance.now();
  if (job.mode.kind === 'closed') {
    let next = 0;
    const worker = async () => {
      while (next < job.requests.length) {
        const index = next++;
        outcomes[index] = await fire(job, agent, job.requests[index]!, performance.now());
      }
    };
    await Promise.all(Array.from({ length: Math.min(job.mode.concurrency, job.requests.length) }, worker));
  } else {
    // Open loop: request i leaves at began + i/rate whatever happened to the others, and its latency counts
    // from that scheduled moment, so a stalled server cannot hide its stall by slowing the sender down.
    const intervalMs = 1000 / job.mode.perSecond;
    const pending: Array<Promise<void>> = [];
    for (let index = 0; index < job.requests.length; index++) {
      const due = began + index * intervalMs;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      pending.push(
        fire(job, agent, job.requests[index]!, due).then((outcome) => {
          outcomes[index] = outcome;
        }),
      );
    }
    await Promise.all(pending);
  }
  const latenciesMs: number[] = [];
  const failures: Record<string, number> = {};
  for (const outcome of outcomes) {
    if (typeof outcome === 'number') latenciesMs.push(outcome);
    else failures[outcome] = (failures[outcome] ?? 0) + 1;
  }
  return { latenciesMs, failures, wallMs: performance.now() - began };
}

if (process.send) {
  serve(async (message) => {
    if (message.type === 'run') return runLoad(message.job as LoadJob);
    if (message.type === 'close') {
      await Promise.all([...agents.values()].map((agent) => agent.close()));
      agents.clear();
      return true;
    }
    throw new Error(`load: unknown message ${message.type}`);
  });
}
