import { freeLoopbackPort } from '../../../playground/loopback.ts';

export { freeLoopbackPort };

/** A URL on 127.0.0.1 where nothing listens: connections are refused (for "Prometheus is down" tests). */
export async function unusedLoopbackUrl(): Promise<string> {
  return `http://127.0.0.1:${await freeLoopbackPort()}`;
}
