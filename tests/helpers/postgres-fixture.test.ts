import { afterAll, describe, expect, it } from 'vitest';
import { asOwner, createEmptyCluster, startPostgresCluster, type PostgresCluster } from './postgres/index.ts';

// The fixture the replica-setup and failover runbook tests build on, exercised by hand: two clusters, a base
// backup, streaming, a promotion. The timings printed at the end tell what the runbook e2e test will cost.
const clusters: PostgresCluster[] = [];
const timings: Record<string, number> = {};

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const began = performance.now();
  try {
    return await work();
  } finally {
    timings[label] = Math.round(performance.now() - began);
  }
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.destroy()));
  console.info(`postgres fixture timings (ms): ${JSON.stringify(timings)}`);
});

describe('PostgreSQL fixture: streaming replication and promotion', () => {
  let primary: PostgresCluster;
  let replica: PostgresCluster;

  it('starts a primary with replication settings, listening on 127.0.0.1 only', async () => {
    primary = await timed('primary initdb+start', () => startPostgresCluster());
    clusters.push(primary);
    timings.initdb = primary.timings.initdbMs;
    timings['first start'] = primary.timings.startMs;
    expect(await primary.psql('SHOW wal_level')).toBe('replica');
    expect(Number(await primary.psql('SHOW max_wal_senders'))).toBeGreaterThan(0);
    expect(await primary.psql('SHOW listen_addresses')).toBe('127.0.0.1');
    expect(await primary.psql("SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database) AND address = '127.0.0.1'")).not.toBe('0');
  });

  it('takes a base backup with -R into an empty replica dir and starts the standby', async () => {
    await primary.psql('CREATE ROLE replicator WITH REPLICATION LOGIN');
    replica = await createEmptyCluster();
    clusters.push(replica);
    await timed('pg_basebackup -R (checkpoint=fast)', () =>
      asOwner(
        `${replica.binDir}/pg_basebackup`,
        ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'replicator', '-D', replica.dataDir, '-R', '-X', 'stream', '--checkpoint=fast'],
        replica.socketDir,
      ),
    );
    await timed('replica start', () => replica.start());
    await timed('until streaming', () =>
      waitFor(
        'pg_stat_replication to list the replica',
        async () => (await primary.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) === '1',
      ),
    );
    expect(await primary.psql('SELECT usename FROM pg_stat_replication')).toBe('replicator');
    expect(await replica.psql('SELECT pg_is_in_recovery()')).toBe('t');
  });

  it('replays a row written on the primary, and refuses writes on the standby', async () => {
    await primary.psql("CREATE TABLE scalebot_probe (id int primary key, note text); INSERT INTO scalebot_probe VALUES (1, 'from primary')");
    await timed('row visible on replica', () =>
      waitFor('the row on the replica', async () => {
        try {
          return (await replica.psql('SELECT note FROM scalebot_probe WHERE id = 1')) === 'from primary';
        } catch {
          return false; // the table itself has not arrived yet
        }
      }),
    );
    await expect(replica.psql("INSERT INTO scalebot_probe VALUES (2, 'on standby')")).rejects.toThrow(/read-only transaction/);
  });

  it('promotes the standby with pg_promote(), after which it accepts writes', async () => {
    expect(await timed('pg_promote()', () => replica.psql('SELECT pg_promote()'))).toBe('t');
    expect(await replica.psql('SELECT pg_is_in_recovery()')).toBe('f');
    await replica.psql("INSERT INTO scalebot_probe VALUES (2, 'after promotion')");
    expect(await replica.psql('SELECT count(*) FROM scalebot_probe')).toBe('2');
  });

  it("measures the guide's own command: pg_basebackup -P -R without --checkpoint=fast", async () => {
    const target = await createEmptyCluster();
    clusters.push(target);
    await timed('pg_basebackup -P -R (default spread checkpoint)', () =>
      asOwner(
        `${target.binDir}/pg_basebackup`,
        ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'replicator', '-D', target.dataDir, '-P', '-R'],
        target.socketDir,
      ),
    );
    expect(timings['pg_basebackup -P -R (default spread checkpoint)']).toBeLessThan(30_000);
  }, 60_000);
});
