import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgresCluster, type PostgresCluster } from '../helpers/postgres/index.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/replicas.ts';

// The replica harness's database cut (tests/helpers/replicas.ts): what a replica behind a cut proxy sees is
// a network split, open connections broken and new ones refused, until the proxy is restored.

let cluster: PostgresCluster;
let proxy: TcpProxy;

const client = async () => {
  const connection = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`, connectionTimeoutMillis: 2000 });
  connection.on('error', () => undefined);
  await connection.connect();
  return connection;
};

beforeAll(async () => {
  cluster = await startPostgresCluster();
  proxy = await startTcpProxy(cluster.port);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await cluster?.destroy();
});

describe('the database proxy of a replica', () => {
  it('passes queries, breaks open connections and refuses new ones when cut, and passes again once restored', async () => {
    const open = await client();
    expect((await open.query('SELECT 41 + 1 AS answer')).rows).toEqual([{ answer: 42 }]);

    proxy.cutNow();
    await expect(open.query('SELECT 1')).rejects.toThrow();
    await expect(client()).rejects.toThrow();

    proxy.restore();
    const again = await client();
    expect((await again.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await again.end();
    await open.end().catch(() => undefined);
  });
});
