import { createConnection, createServer, type Socket } from 'node:net';

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
