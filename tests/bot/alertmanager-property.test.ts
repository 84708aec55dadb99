import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDecisions } from '../../db/decision-log.ts';
import { ALERTMANAGER_LIMITS } from '../../integrations/alertmanager.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { watcherTestConfig } from '../helpers/watch-config.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const CHANNEL = 'C0ALERTS';
const TOKEN = 'am-property-token-5678';
let harness: TestBot;
let now = Date.now();

beforeAll(async () => {
  harness = await startTestBot({
    config: watcherTestConfig('  enabled: false\n  repeat: { immediate: 1s, soon: 1s }'),
    env: { ALERTMANAGER_TOKEN: TOKEN },
    clock: () => new Date(now),
  });
});
afterAll(async () => harness?.stop());

async function post(body: string) {
  const response = await fetch(`${harness.url}/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body,
  });
  const text = await response.text();
  return { status: response.status, json: JSON.parse(text) as { ok?: boolean; error?: string; opened?: number } };
}

const count = (table: string) => (harness.bot.database.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const snapshot = () => ({
  breaches: count('breaches'),
  outbox: count('slack_outbox'),
  blind: count('blind_periods'),
  messages: harness.fake.messages(CHANNEL).length,
  decisions: count('decision_log'),
});

// Slack markup a webhook body could smuggle in: mentions, broadcasts, links with a disguise, entities.
const HOSTILE = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<!subteam^S0OPS|@ops>',
  '<@U0ADMIN01>',
  '<#C0GENERAL|general>',
  '<http://evil.example|https://bank.example/login>',
  '<https://evil.example>',
  '<mailto:a@evil.example|support>',
  '<!date^1700000000^{date}|today>',
  '&lt;!channel&gt;',
  '&amp;',
  '>',
  '<',
  '*bold* _it_ ~s~ `code` ```block```',
  '\u0000\u202e\ufeff',
];
const hostileText = fc
  .array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 })), { minLength: 1, maxLength: 5 })
  .map((parts) => parts.join(''));
const labelName = hostileText.filter(
  (name) => name.length >= 1 && name.length <= ALERTMANAGER_LIMITS.nameChars && name !== 'alertname' && name !== '__proto__',
);
const alertname = hostileText.filter((name) => name.trim() !== '' && name.length <= ALERTMANAGER_LIMITS.labelValueChars);
const rfc3339 = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
  .map((date) => date.toISOString());

let serial = 0;
const alertArb = (status: 'firing' | 'resolved') =>
  fc
    .record({
      name: alertname,
      labels: fc.dictionary(
        labelName,
        hostileText.filter((value) => value.length <= ALERTMANAGER_LIMITS.labelValueChars),
        { maxKeys: 5 },
      ),
      summary: fc.option(hostileText, { nil: undefined }),
      description: fc.option(hostileText, { nil: undefined }),
      value: fc.option(hostileText, { nil: undefined }),
      severity: fc.option(fc.constantFrom('critical', 'warning', 'info', 'page', 'constructor', '__proto__', '<!channel>'), { nil: undefined }),
      startsAt: rfc3339,
      withFingerprint: fc.boolean(),
    })
    .map((alert) => ({
      status,
      labels: { ...alert.labels, alertname: alert.name, ...(alert.severity ? { severity: alert.severity } : {}) },
      annotations: {
        ...(alert.summary ? { summary: alert.summary } : {}),
        ...(alert.description ? { description: alert.description } : {}),
        ...(alert.value ? { value: alert.value } : {}),
      },
      startsAt: alert.startsAt,
      endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example:9090/graph',
      ...(alert.withFingerprint ? { fingerprint: `fp-${(serial += 1)}` } : {}),
    }));

type Alert = ReturnType<typeof alertArb> extends fc.Arbitrary<infer T> ? T : never;
const webhook = (alerts: readonly Alert[]) => ({
  version: '4',
  groupKey: '{}:{alertname="x"}',
  status: alerts.some((alert) => alert.status === 'firing') ? 'firing' : 'resolved',
  receiver: 'scalebot',
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://alertmanager.example:9093',
  alerts,
});

/** Each message in the channel as it stands, by ts: what a run posted or edited is what changed. */
function channelState(): Map<string, string> {
  return new Map(harness.fake.messages(CHANNEL).map((message) => [message.ts, JSON.stringify([message.text, message.blocks ?? []])]));
}

/** Every string the bot put in Slack (texts and blocks) since `before`, or ever. */
function postedStrings(before: Map<string, string> = new Map()): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') out.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  for (const [ts, state] of channelState()) if (before.get(ts) !== state) walk(JSON.parse(state));
  return out;
}

/** The bot's own markup is `<!date^…|…>` (times shown in each reader's zone); anything else with `<` came from input. */
function smuggledMarkup(before?: Map<string, string>): string[] {
  return postedStrings(before)
    .map((text) => text.replace(/<!date\^\d+\^[^|<>]*\|[^<>]*>/g, ''))
    .filter((text) => text.includes('<'));
}

const figures = { valid: 0, malformed: 0, overCap: 0 };

describe('POST /alertmanager with generated bodies', () => {
  it(
    'takes valid bodies with hostile labels and annotations, and nothing it posts carries markup from them',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(alertArb('firing'), { minLength: 1, maxLength: 3 }), fc.boolean(), async (alerts, thenResolve) => {
          now += 60_000;
          const before = channelState();
          const answer = await post(JSON.stringify(webhook(alerts)));
          expect(answer.status, JSON.stringify(answer.json)).toBe(200);
          expect(answer.json.ok).toBe(true);
          if (thenResolve) {
            now += 60_000;
            const resolved = alerts.map((alert) => ({ ...alert, status: 'resolved' as const, endsAt: new Date(now).toISOString() }));
            expect((await post(JSON.stringify(webhook(resolved)))).status).toBe(200);
          }
          figures.valid += 1 + (thenResolve ? 1 : 0);
          expect(smuggledMarkup(before)).toEqual([]);
        }),
        { numRuns: LONG ? 400 : 40 },
      );
      // The reminders of the breaches still open speak of them too.
      now += 10 * 60_000;
      await harness.bot.watcher.runCycle();
      expect(harness.fake.messages(CHANNEL).some((message) => message.text.includes('Still breached'))).toBe(true);
      expect(harness.fake.messages(CHANNEL).some((message) => message.text.includes('Resolved after'))).toBe(true);
      expect(smuggledMarkup()).toEqual([]);
    },
    LONG ? 1_800_000 : 300_000,
  );

  it(
    'refuses malformed bodies with 400 and the reason, storing nothing but the refusal in the decision log',
    async () => {
      const hostileAlert = alertArb('firing');
      const notRfc3339 = fc.oneof(
        fc.constantFrom('yesterday', '1700000000', '2024-13-01T00:00:00Z', '2024-02-30T10:00:00Z', '2024-01-01 10:00:00Z', '2024-01-01T10:00:00', ''),
        fc.string().filter((text) => Number.isNaN(Date.parse(text))),
      );
      // Each mutation breaks one alert (its index named in the reason) or the body as a whole.
      const alertMutations: ReadonlyArray<fc.Arbitrary<(alert: Alert) => unknown>> = [
        fc.constant((alert: Alert) => ({ ...alert, labels: Object.fromEntries(Object.entries(alert.labels).filter(([name]) => name !== 'alertname')) })),
        fc.constantFrom('', '   ').map((name) => (alert: Alert) => ({ ...alert, labels: { ...alert.labels, alertname: name } })),
        notRfc3339.map((time) => (alert: Alert) => ({ ...alert, startsAt: time })),
        notRfc3339.map((time) => (alert: Alert) => ({ ...alert, endsAt: time })),
        fc.constant((alert: Alert) => ({ ...alert, endsAt: undefined })),
        fc.constantFrom('pending', 'FIRING', '', null, 1).map((status) => (alert: Alert) => ({ ...alert, status })),
        fc
          .oneof(fc.integer(), fc.constant(null), fc.constant({}), fc.constant([]))
          .map((value) => (alert: Alert) => ({ ...alert, labels: { ...alert.labels, instance: value } })),
        fc.integer({ min: ALERTMANAGER_LIMITS.labelsPerAlert + 1, max: 3000 }).map((many) => (alert: Alert) => ({
          ...alert,
          labels: { ...Object.fromEntries(Array.from({ length: many }, (_, index) => [`l${index}`, 'v'])), alertname: 'Many' },
        })),
        fc.constant((alert: Alert) => ({ ...alert, labels: { ...alert.labels, huge: 'x'.repeat(ALERTMANAGER_LIMITS.labelValueChars + 1) } })),
        fc.constant((alert: Alert) => ({ ...alert, annotations: { summary: 'y'.repeat(ALERTMANAGER_LIMITS.annotationValueChars + 1) } })),
        fc.constant((alert: Alert) => ({ ...alert, labels: 'alertname=x' })),
        fc.constant(() => 'not an alert'),
      ];
      const bodyMutations: ReadonlyArray<fc.Arbitrary<(body: Record<string, unknown>) => unknown>> = [
        fc.constantFrom('3', 4, undefined, '').map((version) => (body: Record<string, unknown>) => ({ ...body, version })),
        fc.constantFrom('pending', undefined, 7).map((status) => (body: Record<string, unknown>) => ({ ...body, status })),
        fc.constant((body: Record<string, unknown>) => ({ ...body, status: 'resolved' })),
        fc.constantFrom([], {}, 'alerts', null, undefined).map((alerts) => (body: Record<string, unknown>) => ({ ...body, alerts })),
        fc.jsonValue({ maxDepth: 4 }).map((value) => () => value),
      ];
      const malformed = fc.oneof(
        fc.tuple(fc.array(hostileAlert, { minLength: 1, maxLength: 4 }), fc.nat(), fc.oneof(...alertMutations)).map(([alerts, pick, mutate]) => {
          const index = pick % alerts.length;
          const broken = alerts.map((alert, position) => (position === index ? mutate(alert) : alert));
          return { text: JSON.stringify({ ...webhook(alerts), alerts: broken }), names: `alerts[${index}]` };
        }),
        fc
          .tuple(fc.array(hostileAlert, { minLength: 1, maxLength: 2 }), fc.oneof(...bodyMutations))
          .map(([alerts, mutate]) => ({ text: JSON.stringify(mutate(webhook(alerts)) ?? null), names: null })),
        fc
          .oneof(fc.string(), fc.constantFrom('{', '{"version": "4"', '\u0000', ''))
          .filter((text) => {
            try {
              JSON.parse(text);
              return false;
            } catch {
              return true;
            }
          })
          .map((text) => ({ text, names: 'not JSON' })),
        // Nested far deeper than any parser's stack: refused, not a crash.
        fc
          .integer({ min: 1000, max: 200_000 })
          .map((depth) => ({ text: `{"version":"4","status":"firing","alerts":${'['.repeat(depth)}${']'.repeat(depth)}}`, names: null })),
      );
      await fc.assert(
        fc.asyncProperty(malformed, async ({ text, names }) => {
          const before = snapshot();
          const answer = await post(text);
          expect(answer.status, `${JSON.stringify(answer.json)} for ${text.slice(0, 300)}`).toBe(400);
          expect(answer.json.error).toMatch(/not an Alertmanager webhook payload|not JSON/);
          if (names) expect(answer.json.error).toContain(names);
          const after = snapshot();
          expect({ ...after, decisions: before.decisions }).toEqual(before);
          expect(after.decisions).toBe(before.decisions + 1);
          expect(listDecisions(harness.bot.database.db, { limit: 1 })[0]).toMatchObject({ kind: 'alertmanager_refused', outcome: 'refused' });
          figures.malformed += 1;
        }),
        { numRuns: LONG ? 1000 : 150 },
      );
    },
    LONG ? 1_800_000 : 300_000,
  );

  it(
    `refuses a body with more than ${ALERTMANAGER_LIMITS.firingAlerts} firing alerts with 413, opening none of them`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: ALERTMANAGER_LIMITS.firingAlerts + 1, max: 400 }),
          fc.integer({ min: 0, max: 50 }),
          alertArb('firing'),
          async (firing, resolved, template) => {
            const alerts = [
              ...Array.from({ length: firing }, (_, index) => ({ ...template, fingerprint: `cap-${(serial += 1)}-${index}` })),
              ...Array.from({ length: resolved }, (_, index) => ({
                ...template,
                status: 'resolved' as const,
                endsAt: new Date().toISOString(),
                fingerprint: `capr-${index}`,
              })),
            ];
            const before = snapshot();
            const answer = await post(JSON.stringify(webhook(alerts)));
            expect(answer.status).toBe(413);
            expect(answer.json.error).toContain(`${firing} firing alerts`);
            expect(answer.json.error).toContain('max_alerts');
            const after = snapshot();
            expect({ ...after, decisions: before.decisions }).toEqual(before);
            figures.overCap += 1;
          },
        ),
        { numRuns: LONG ? 60 : 8 },
      );
    },
    LONG ? 1_800_000 : 300_000,
  );

  it('still answers after all of it', async () => {
    expect((await fetch(`${harness.url}/health`)).status).toBe(200);
    if (process.env.SCALEBOT_FIGURES === '1') process.stdout.write(`alertmanager bodies: ${JSON.stringify(figures)}\n`);
  });
});
