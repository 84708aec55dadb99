import { freeLoopbackPort } from '../../playground/loopback.ts';
import { refusingLoopbackUrl } from '../../tests/helpers/refusing-port.ts';

export { freeLoopbackPort };

/**
 * A URL on 127.0.0.1 where nothing listens: connections are refused (for "Prometheus is down" tests). The port is
 * held by this process (tests/helpers/refusing-port.ts), so no other worker can start listening there.
 */
export function unusedLoopbackUrl(): Promise<string> {
  return refusingLoopbackUrl();
}
