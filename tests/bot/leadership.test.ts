import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Storage } from '../../core/ports.ts';
import { openStorage } from '../../db/storage.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { startPostgresCluster, type PostgresCluster } from '../helpers/postgres/index.ts';

// Issue 15: "`GET /health/ready` answers 200 on both roles with the role in its body; `/metrics` has
// `scalebot_leader` (0/1) and `scalebot_leader_changes_total`; the log says when and why leadership moved."
// The real bot starts on PostgreSQL while another replica holds the lease (a second storage on the same database
// holds it), so it follows; when that replica gives the lease up, the bot leads. (On SQLite there is no other
// replica: the serve lock refuses a second one, and a lease left by a dead one is ended at start.)

const OTHER = 'other-replica';
let cluster: PostgresCluster;
let other: Storage;
let otherToken: number;
let harness: TestBot;
const lines: { msg: string; level: number }[] = [];

beforeAll(async () => {
  cluster = await startPostgresCluster();
  await cluster.psql('CREATE DATABASE scalebot_leadership');
  const url = `postgres://postgres@127.0.0.1:${cluster.port}/scalebot_leadership`;
  other = await openStorage({ kind: 'postgres', url });
  otherToken = (await other.leases.acquire(OTHER, 120_000)).token;
  harness = await startTestBot({
    env: { SCALEBOT_DB: url, SCALEBOT_LEASE_SECONDS: '3', LOG_LEVEL: 'info' },
    logDestination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    }),
  });
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await other?.close();
  await cluster?.destroy();
});

const health = async (path: string) => (await fetch(`${harness.url}${path}`)).json();
const metrics = async () => (await fetch(`${harness.url}/metrics`)).text();

describe('a replica that follows, then leads', () => {
  it('is ready as a follower while another replica holds the lease, and says so', async () => {
    expect(await health('/health/ready')).toEqual({ status: 'ready', role: 'follower', problems: [] });
    expect(await health('/health')).toEqual({ status: 'alive', role: 'follower' });
    const text = await metrics();
    expect(text).toMatch(/^scalebot_leader 0$/m);
    expect(text).not.toMatch(/^scalebot_leader_changes_total\{/m);
    expect(harness.bot.leadership.isLeader()).toBe(false);
    expect(lines.find((line) => line.msg === 'scalebot is ready')).toMatchObject({ role: 'follower' });
  });

  it('leads once the other replica releases the lease: the health body, the metrics and the log follow', async () => {
    await other.leases.release(OTHER, otherToken);
    await vi.waitFor(async () => expect(await health('/health/ready')).toEqual({ status: 'ready', role: 'leader', problems: [] }), {
      timeout: 15_000,
      interval: 50,
    });
    const text = await metrics();
    expect(text).toMatch(/^scalebot_leader 1$/m);
    expect(text).toMatch(/^scalebot_leader_changes_total\{role="leader"\} 1$/m);
    expect(lines.map((line) => line.msg)).toContain(`became the leader (token ${otherToken + 1}): the lease was released (holder ${OTHER})`);
    expect((await other.leases.current()).holder).toBe(harness.bot.leadership.holder);
  });

  it('a clean stop releases the lease at once', async () => {
    await harness.stop();
    expect(await other.leases.current()).toMatchObject({ holder: null, token: otherToken + 1 });
    expect(lines.map((line) => line.msg)).toContain(`no longer the leader (token ${otherToken + 1}): this replica stopped and released the lease`);
  });
});
