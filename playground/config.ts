// The config file the playground hands the bot (--config FILE, as anyone would): the watcher posts to the
// playground's #ops, the @ops group may acknowledge and snooze, and with --demo the guide's triggers keep their
// queries and thresholds but look at seconds instead of minutes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DEFAULTS_DIR } from '../bot/config.ts';
import { ALERTS_CHANNEL, CAPACITY_CHANNEL, OPS_GROUP } from './workspace.ts';

type Yaml = Record<string, unknown>;

/**
 * The demo's compressed time: each default trigger that looks back over minutes gets a `for` of seconds, so the
 * guide's "CPU > 70 % for 15 minutes" is judged as "for 30 seconds". Thresholds, units and advice stay the guide's.
 *
 * Rates are `irate` over 10 minutes, the last two samples in the window: those are 1 s apart in the live part
 * (the exporter is scraped every second, so a change shows at once) and 4 minutes apart in the backfilled week
 * (demo/history.ts), so the same query draws the week in charts, forecasts and the digest. A `rate` over 15 s would
 * see no history at all, and one over 5 minutes would take minutes to show the live story.
 */
const IRATE_WINDOW = '10m';
const irate = (series: string) => `irate(${series}[${IRATE_WINDOW}])`;
export const DEMO_TRIGGER_OVERRIDES: readonly Yaml[] = [
  { id: 'cpu', query: `1 - avg by (instance) (${irate('node_cpu_seconds_total{mode="idle"}')})`, for: '30s' },
  { id: 'memory', for: '20s' },
  {
    id: 'api_p99',
    query: `1 - sum(${irate('http_request_duration_seconds_bucket{le=~"1|1\\\\.0"}')}) / sum(${irate('http_request_duration_seconds_count')})`,
    for: '20s',
  },
  { id: 'disk_iowait', query: `avg by (instance) (${irate('node_cpu_seconds_total{mode="iowait"}')})` },
  {
    id: 'error_rate',
    query: `(sum(${irate('http_requests_total{status=~"5.."}')}) or vector(0)) / sum(${irate('http_requests_total')})`,
    for: '20s',
  },
  {
    id: 'cache_hit_rate',
    query:
      `sum by (instance) (${irate('redis_keyspace_hits_total')}) / ` +
      `(sum by (instance) (${irate('redis_keyspace_hits_total')}) + sum by (instance) (${irate('redis_keyspace_misses_total')}))`,
  },
  {
    // "Same hour yesterday" would compare the live story with the backfilled week, whose samples are too far apart
    // for a short window: compare with two minutes ago instead, in the live part only.
    id: 'response_time_trend',
    name: 'Average response time vs. 2 minutes ago (demo)',
    query:
      '(sum(rate(http_request_duration_seconds_sum[30s])) / sum(rate(http_request_duration_seconds_count[30s]))) / ' +
      '(sum(rate(http_request_duration_seconds_sum[30s] offset 2m)) / sum(rate(http_request_duration_seconds_count[30s] offset 2m)))',
    for: '20s',
  },
];

export interface PlaygroundConfigOptions {
  readonly demo: boolean;
  /** The text of the person's own config file (--config), which the playground's settings go on top of. */
  readonly userConfig?: string;
  /** The runbook target's host and the playground's tour runbook (runbook-target.ts `runbookConfig`). */
  readonly runbooks?: { readonly hosts: Record<string, unknown>; readonly runbooks: ReadonlyArray<Record<string, unknown>> };
  /** When the bot starts (default: now): the demo's digest is scheduled just after it. */
  readonly now?: Date;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/**
 * The demo's digest schedule ("Sat 14:05", UTC): the minute that has just begun at `now`. The bot, finding that
 * period's digest not yet posted, posts it as soon as it starts, once, and on time (a digest counts as late only
 * an hour after its scheduled moment, see core/digest.ts): the backfilled week, summed up in #capacity. The next
 * one would be due a week later.
 */
export function demoDigestSchedule(now: Date): string {
  const at = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${WEEKDAYS[at.getUTCDay()]} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}`;
}

/** The YAML text of the bot's config for this playground run. */
export function buildPlaygroundConfig({ demo, userConfig, runbooks, now = new Date() }: PlaygroundConfigOptions): string {
  const base = userConfig ? ((parse(userConfig) as Yaml | null) ?? {}) : {};
  const config: Yaml = { ...base };
  config.slack = { ...asObject(base.slack), alerts_channel: ALERTS_CHANNEL.id };
  const watch: Yaml = { ...asObject(base.watch) };
  if (watch.responders === undefined) watch.responders = [OPS_GROUP.id];
  // The digest goes to #capacity (a channel id from elsewhere does not exist here). Without --demo only if the
  // person's config asks for one: with no history, a digest says nothing, and a fresh database would post last
  // Monday's at once, late. The demo's is due the minute it starts, so its week shows at once.
  const digest = asObject(base.digest);
  if (demo) config.digest = { ...digest, channel: CAPACITY_CHANNEL.id, schedule: demoDigestSchedule(now), timezone: 'UTC' };
  else if (digest.channel) config.digest = { ...digest, channel: CAPACITY_CHANNEL.id };
  if (demo) {
    Object.assign(watch, { interval: '5s', resolve_after: '30s' });
    config.prometheus = { ...asObject(base.prometheus), timeout: '3s', lookback: '2m' };
    config.triggers = mergeById(Array.isArray(base.triggers) ? (base.triggers as Yaml[]) : [], DEMO_TRIGGER_OVERRIDES);
    // "Is CPU or memory above 80 %?" held for 20 s: by the time CPU has held 70 % for 30 s (the breach), it has
    // held 80 % long enough too, so /scale advise answers "vertical" as soon as the breach is posted.
    config.advisor = { ...asObject(base.advisor), cpu_memory_for: '20s' };
  } else if (watch.interval === undefined) {
    // Often enough that a newcomer sees the watcher's "monitoring is blind" (or a breach) within a minute.
    watch.interval = '20s';
  }
  config.watch = watch;
  if (runbooks) {
    config.hosts = { ...asObject(base.hosts), ...runbooks.hosts };
    const merged = mergeById(Array.isArray(base.runbooks) ? (base.runbooks as Yaml[]) : [], runbooks.runbooks);
    config.runbooks = mergeById(merged, approvedByOps(merged));
  }
  const header = [
    '# Written by `npm run playground` for this run; the bot reads it like any config file (--config).',
    demo ? "# --demo: the guide's triggers with windows of seconds, fed by the demo exporter." : '',
  ].filter(Boolean);
  return `${header.join('\n')}\n${stringify(config, { lineWidth: 0 })}`;
}

/**
 * Permissions are explicit: with a host configured, a runbook naming no approvers would come up disabled. The
 * playground names the @ops group (Ana and Ben) for the guide's runbooks and the person's own that name nobody;
 * Cas, outside @ops, sees his approval refused, and the requester's own never counts.
 */
function approvedByOps(runbooks: readonly Yaml[]): Yaml[] {
  const builtIn = (parse(readFileSync(join(DEFAULTS_DIR, 'runbooks.yaml'), 'utf8')) as { runbooks?: Yaml[] }).runbooks ?? [];
  const ids = [...new Set([...builtIn, ...runbooks].map((entry) => entry.id).filter((id): id is string => typeof id === 'string'))];
  return ids.flatMap((id) => {
    const approval = asObject(runbooks.find((entry) => entry.id === id)?.approval);
    if (approval.approvers !== undefined) return [];
    return [{ id, approval: { ...approval, approvers: [OPS_GROUP.id] } }];
  });
}

function asObject(value: unknown): Yaml {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Yaml) : {};
}

function mergeById(base: readonly Yaml[], overrides: readonly Yaml[]): Yaml[] {
  const merged = base.map((entry) => ({ ...entry }));
  for (const override of overrides) {
    const existing = merged.find((entry) => entry.id === override.id);
    if (existing) Object.assign(existing, override);
    else merged.push({ ...override });
  }
  return merged;
}
