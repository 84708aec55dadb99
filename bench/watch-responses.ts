// When each answer reached the fake Slack's response_url, by URL: the far end of "status answer time".
import type { FakeSlack, RecordedResponse } from '../devkit/slack-emulator/index.ts';

export interface Arrival {
  readonly at: number;
  readonly response: RecordedResponse;
}

export class ResponseWatch {
  private readonly arrived = new Map<string, Arrival>();
  private readonly waiters = new Map<string, (arrival: Arrival) => void>();
  private readonly unsubscribe: () => void;

  constructor(fake: FakeSlack) {
    this.unsubscribe = fake.on('response', (response) => {
      const arrival = { at: performance.now(), response };
      const waiter = this.waiters.get(response.url);
      if (waiter) {
        this.waiters.delete(response.url);
        waiter(arrival);
      } else {
        this.arrived.set(response.url, arrival);
      }
    });
  }

  /** Resolves with the answer's arrival (performance.now() in this process), or rejects after timeoutMs. */
  wait(url: string, timeoutMs: number): Promise<Arrival> {
    const early = this.arrived.get(url);
    if (early) {
      this.arrived.delete(url);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(url);
        reject(new Error(`no answer at ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(url, (arrival) => {
        clearTimeout(timer);
        resolve(arrival);
      });
    });
  }

  /** Waits for every URL; returns the arrivals found by the deadline and how many never came. */
  async waitAll(urls: readonly string[], timeoutMs: number): Promise<{ arrivals: Arrival[]; missing: number }> {
    const deadline = performance.now() + timeoutMs;
    const arrivals: Arrival[] = [];
    let missing = 0;
    for (const url of urls) {
      try {
        arrivals.push(await this.wait(url, Math.max(1, deadline - performance.now())));
      } catch {
        missing += 1;
      }
    }
    return { arrivals, missing };
  }

  /** Forgets answers nobody waited for (the bare app's never come; the bot's are all awaited). */
  clear(): void {
    this.arrived.clear();
  }

  close(): void {
    this.unsubscribe();
    this.arrived.clear();
  }
}

/** How many triggers or series an answer shows as "no data": the sign of a query that timed out under load. */
export function countNoData(response: RecordedResponse): number {
  const text = JSON.stringify(response.body ?? '');
  return (text.match(/no data/g) ?? []).length;
}
