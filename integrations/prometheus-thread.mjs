// The entry of the Prometheus worker thread. A worker does not inherit the main thread's tsx hooks (nor
// vitest's), and Node refuses a .ts entry, so the hooks are registered here before the TypeScript loads.
import { register } from 'tsx/esm/api';

register();
await import('./prometheus-thread.ts');
