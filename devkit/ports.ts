// Ports on 127.0.0.1 for whatever the playground, the tests and the bench start: nothing here listens beyond
// loopback.
import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it for a listener on port 0, which is then
 * closed). Someone else may take it before the caller binds, so callers retry on "address in use"
 * (launchServer in server-process.ts does).
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

let held: Promise<number> | undefined;
const keep: unknown[] = [];

/**
 * A port on 127.0.0.1 where every connection is refused for as long as this process lives. It is the local port
 * of a connection this process keeps open, so nothing can listen there (bind fails: address in use) and nothing
 * does. A port probed free and closed again could be taken by another test worker the moment after.
 */
export function refusingLoopbackPort(): Promise<number> {
  held ??= new Promise<number>((resolve, reject) => {
    const server = createServer((accepted: Socket) => {
      accepted.unref();
      keep.push(accepted);
    });
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (!address || typeof address === 'string') return reject(new Error('no port assigned'));
      const client = createConnection({ host: '127.0.0.1', port: address.port });
      client.once('error', reject);
      client.once('connect', () => {
        client.unref();
        keep.push(server, client);
        resolve(client.localPort!);
      });
    });
  });
  return held;
}

/** `http://127.0.0.1:<refusing port>`: for "Prometheus is down" tests. */
export async function refusingLoopbackUrl(): Promise<string> {
  return `http://127.0.0.1:${await refusingLoopbackPort()}`;
}
