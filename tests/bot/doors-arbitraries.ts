// Generators for the door tests (doors-property.test.ts over HTTP, doors-socket-property.test.ts over Socket
// Mode): what a hostile or broken sender could put in a slash command or an interaction payload, each with
// what the door must do with it, so the properties can hold the bot to it.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { QUESTIONS } from '../../core/advisor.ts';
import { SUBCOMMANDS } from '../../commands/registry.ts';
import { FAKE_SLACK_DEFAULTS, type FakeSlack } from '../helpers/slack/index.ts';

export const LONG = process.env.SCALEBOT_LONG === '1';

/** Slack control sequences a reply must never echo back as they were typed (they would ping or link). */
export const DANGEROUS = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<@U0EVIL01>',
  '<#C0EVIL01|evil>',
  '<!subteam^S0EVIL01>',
  '<http://evil.example|click me>',
  '<https://evil.example>',
  '<mailto:x@evil.example|mail>',
];
/** What must not survive in a reply: the openers of the sequences above. */
export const DANGEROUS_OPENERS = [
  '<!channel',
  '<!here',
  '<!everyone',
  '<@U0EVIL01',
  '<#C0EVIL01',
  '<!subteam^S0EVIL01',
  '<http://evil',
  '<https://evil',
  '<mailto:',
];
/** A credential in input: replies are scrubbed, so it never comes back whole. */
export const PLANTED_TOKEN = 'xoxb-4242424242-planted-bot-token';

export const USER = 'U0DOORS01';
export const CHANNEL = 'C0DOORS01';

const junkWord = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 3, arbitrary: fc.constantFrom(...DANGEROUS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '"',
      "'",
      '\u201c',
      '\u201d',
      '\u2018',
      '"unclosed',
      "it's",
      '\u0000',
      '\u0007',
      '\u202e',
      '\ufeff',
      '&amp;',
      '&lt;',
      '&gt;',
      '*bold*',
      '`code`',
      '```',
      PLANTED_TOKEN,
      'key=value',
      'x=<!channel>',
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom(...SUBCOMMANDS.map((sub) => sub.name), 'HELP', 'Status') },
);

/**
 * What follows `/scale`: a known subcommand or junk first, then junk (unicode, control characters, quotes,
 * mentions, links, a token), sometimes very long; sent as Slack sends it (&, <, > escaped) or raw.
 */
export const slashText = fc
  .record({
    words: fc.array(junkWord, { maxLength: 8 }),
    separator: fc.constantFrom(' ', '  ', '\t', '\n', ' \u00a0 '),
    padding: fc.option(fc.string({ minLength: 500, maxLength: 3900 }), { freq: 10 }),
    slackEscaped: fc.boolean(),
  })
  .map(({ words, separator, padding, slackEscaped }) => {
    const typed = [...words, ...(padding ? [padding] : [])].join(separator);
    return slackEscaped ? typed.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : typed;
  });

const idNumber = fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 999_999_999_999 }));
const anyString = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(...DANGEROUS), fc.constant(PLANTED_TOKEN));
const itemId = fc.oneof(fc.constantFrom('backup', 'load-test', 'monitoring'), fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/));

/** The bot's own action ids, read from the code (blocks/*, bot/listeners/*), with generated values. */
export const knownAction: fc.Arbitrary<{ action_id: string; value?: string }> = fc.oneof(
  fc.record({ action_id: fc.constantFrom('alert_ack', 'alert_status'), value: fc.oneof(idNumber.map(String), anyString) }),
  fc.integer({ min: 1, max: 86_400 * 7 }).chain((seconds) =>
    fc.record({
      action_id: fc.constant(`alert_snooze_${seconds}`),
      value: fc.oneof(
        idNumber.map((id) => `${id}:${seconds}`),
        anyString,
      ),
    }),
  ),
  fc.record({
    action_id: fc.constantFrom('run_approve', 'run_reject', 'run_cancel', 'run_start', 'run_stop', 'run_rollback', 'run_abandon'),
    value: fc.oneof(idNumber.map(String), anyString),
  }),
  fc.record({
    action_id: fc.constantFrom('run_confirm', 'run_retry'),
    value: fc.oneof(
      fc.tuple(idNumber, fc.constantFrom('steps', 'rollback'), fc.integer({ min: 0, max: 9999 })).map(([id, phase, index]) => `${id}:${phase}:${index}`),
      anyString,
    ),
  }),
  fc.record({ action_id: fc.constantFrom('advise_yes', 'advise_no'), value: fc.oneof(fc.constantFrom(...QUESTIONS), anyString) }),
  fc
    .constantFrom(...QUESTIONS)
    .chain((question) => fc.record({ action_id: fc.constant(`advise_change_${question}`), value: fc.oneof(fc.constant(question), anyString) })),
  fc.record({ action_id: fc.constant('advise_refresh'), value: fc.oneof(fc.constant('refresh'), anyString) }),
  // Never a start target the config names: that click would rightly start a checklist or plan a run.
  fc.record({
    action_id: fc.constant('advise_start'),
    value: fc.oneof(
      anyString,
      itemId.map((id) => `checklist:x${id}`),
      itemId.map((id) => `runbook:x${id}`),
    ),
  }),
  itemId.chain((item) =>
    fc.record({
      action_id: fc.constantFrom(`checklist_toggle_${item}`, `checklist_snapshot_${item}`, `checklist_runbook_${item}`),
      value: fc.oneof(
        fc.tuple(idNumber, fc.constantFrom(item), fc.constantFrom('tick', 'untick', 'snapshot', 'runbook')).map(([run, id, what]) => `${run}:${id}:${what}`),
        anyString,
      ),
    }),
  ),
  fc.record({
    action_id: fc.constantFrom('checklist_close', 'checklist_abandon'),
    value: fc.oneof(
      idNumber.map(String),
      idNumber.map((id) => `${id}:complete`),
      anyString,
    ),
  }),
  fc
    .record({ action_id: fc.constantFrom('alert_ack', 'run_approve', 'advise_yes', 'checklist_close'), value: fc.constant(undefined) })
    .map(({ action_id }) => ({ action_id })),
);

/** Action ids no listener serves: the door refuses them instead of letting Bolt wait 3 s and answer 404. */
export const unknownAction = fc.record({
  action_id: fc
    .oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('approve', 'run', 'alert', 'checklist', 'Run_approve', ' run_approve', 'advise'))
    .filter((id) => !/^(alert|run|advise|checklist)_/.test(id)),
  value: fc.string({ maxLength: 20 }),
});

/** What the door must do with a payload: pass it to a listener, refuse it and say so, or refuse it quietly. */
export type Expect = 'accepted' | 'notice' | 'silent';

export interface GeneratedPayload {
  readonly payload: unknown;
  readonly expect: Expect;
  readonly shape: string;
  /** The response_url in the payload (a fresh one of the fake), when it has one. */
  readonly responseUrl?: string;
}

/** A block_actions payload as Slack sends it for a click on a message of the bot's. */
export function blockActions(responseUrl: string, action: { action_id: string; value?: string }): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: USER, username: 'doors', name: 'doors', team_id: FAKE_SLACK_DEFAULTS.teamId },
    api_app_id: FAKE_SLACK_DEFAULTS.appId,
    token: FAKE_SLACK_DEFAULTS.verificationToken,
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: CHANNEL, is_ephemeral: false },
    trigger_id: '1.2.abc',
    team: { id: FAKE_SLACK_DEFAULTS.teamId, domain: FAKE_SLACK_DEFAULTS.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: CHANNEL, name: 'doors' },
    message: { type: 'message', ts: '1700000000.000100', text: 'a message of the bot', blocks: [] },
    state: { values: {} },
    response_url: responseUrl,
    actions: [{ ...action, block_id: 'b1', type: 'button', action_ts: '1700000001.000200' }],
  };
}

export function slashPayload(responseUrl: string, text: string): Record<string, string> {
  return {
    token: FAKE_SLACK_DEFAULTS.verificationToken,
    team_id: FAKE_SLACK_DEFAULTS.teamId,
    team_domain: FAKE_SLACK_DEFAULTS.teamDomain,
    channel_id: CHANNEL,
    channel_name: 'doors',
    user_id: USER,
    user_name: 'doors',
    command: '/scale',
    text,
    api_app_id: FAKE_SLACK_DEFAULTS.appId,
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: '1.2.abc',
  };
}

const wrongValue = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.string({ maxLength: 10 }),
  fc.constantFrom('U0LOWER<!channel>', 'u0lower', '', 'C0NOTAUSER'),
);

/** Fields Slack always sends in a block_actions payload that a listener or Bolt reads, by path. */
const REQUIRED_ACTION_FIELDS = [['user'], ['user', 'id'], ['team'], ['response_url'], ['actions'], ['actions', 0], ['actions', 0, 'action_id']] as const;
/** Fields Slack sends that, when present, must have Slack's type. */
const TYPED_ACTION_FIELDS = [
  ['channel'],
  ['channel', 'id'],
  ['container'],
  ['container', 'channel_id'],
  ['container', 'message_ts'],
  ['message'],
  ['message', 'ts'],
  ['actions', 0, 'value'],
  ['actions', 0, 'block_id'],
  ['type'],
] as const;

function setPath(target: Record<string, unknown>, path: readonly (string | number)[], value: unknown, remove: boolean): void {
  let at: any = target;
  for (const key of path.slice(0, -1)) {
    if (typeof at?.[key] !== 'object' || at[key] === null) return;
    at = at[key];
  }
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(at) && typeof last === 'number') at.splice(last, 1);
    else delete at[last];
  } else at[last] = value;
}

/** Does the (mutated) payload still name a user and a response_url in Slack's shape, so it can be told? */
function tellable(payload: Record<string, any>, responseUrl: string): boolean {
  const user = payload.user?.id ?? payload.user_id;
  return payload.response_url === responseUrl && typeof user === 'string' && /^[UW][A-Z0-9]{1,31}$/.test(user);
}

/**
 * Every interaction payload shape worth sending, each with what the door must do: well-formed clicks on the
 * bot's own buttons with generated values (accepted), unknown action ids (refused, told), payloads missing a
 * field Slack always sends or with a wrong type (refused; told when the user and response_url survive),
 * other interaction types, Events API bodies and JSON that is not an object (refused quietly).
 */
export function interactionPayload(fake: FakeSlack): fc.Arbitrary<GeneratedPayload> {
  const url = () => fake.newResponseUrl({ channel: CHANNEL, user: USER });
  const known = knownAction.map((action) => {
    const responseUrl = url();
    return {
      payload: blockActions(responseUrl, action),
      expect: 'accepted' as const,
      shape: `known ${action.action_id.replace(/_[^_]*$/, '_…')}`,
      responseUrl,
    };
  });
  const unknown = unknownAction.map((action) => {
    const responseUrl = url();
    return { payload: blockActions(responseUrl, action), expect: 'notice' as const, shape: 'unknown action id', responseUrl };
  });
  const missing = fc.tuple(knownAction, fc.constantFrom(...REQUIRED_ACTION_FIELDS)).map(([action, path]) => {
    const responseUrl = url();
    const payload = blockActions(responseUrl, action);
    setPath(payload, path, undefined, true);
    return { payload, expect: tellable(payload, responseUrl) ? ('notice' as const) : ('silent' as const), shape: `missing ${path.join('.')}`, responseUrl };
  });
  const wrongType = fc.tuple(knownAction, fc.constantFrom(...REQUIRED_ACTION_FIELDS, ...TYPED_ACTION_FIELDS), wrongValue).map(([action, path, value]) => {
    const responseUrl = url();
    const payload = blockActions(responseUrl, action);
    setPath(payload, path, value, false);
    // A few "wrong" values are right after all (a string action_id, a `type` that is still block_actions…).
    const stillValid = wellFormedClick(payload);
    return {
      payload,
      expect: stillValid ? ('accepted' as const) : tellable(payload, responseUrl) ? ('notice' as const) : ('silent' as const),
      shape: `wrong type at ${path.join('.')}`,
      responseUrl,
    };
  });
  const otherTypes = fc
    .constantFrom(
      'view_submission',
      'view_closed',
      'shortcut',
      'message_action',
      'block_suggestion',
      'interactive_message',
      'dialog_submission',
      'workflow_step_edit',
    )
    .map((type) => {
      const responseUrl = url();
      const payload = { ...blockActions(responseUrl, { action_id: 'alert_ack', value: '1' }), type };
      return { payload, expect: 'notice' as const, shape: `type ${type}`, responseUrl };
    });
  const notObject = fc
    .oneof(fc.constant(null), fc.integer(), fc.double(), fc.string({ maxLength: 20 }), fc.boolean(), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }))
    .map((payload) => ({
      payload,
      expect: 'silent' as const,
      shape: `not an object (${payload === null ? 'null' : Array.isArray(payload) ? 'array' : typeof payload})`,
    }));
  const anyObject = fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }).map((payload) => ({
    payload,
    expect: 'silent' as const,
    shape: 'arbitrary object',
  }));
  const events = fc
    .oneof(
      fc.constant(null),
      fc.constant({}),
      fc.constant({ type: 'app_mention', text: '<!channel>', channel: null, item: null }),
      fc.jsonValue({ maxDepth: 2 }),
    )
    .map((event) => ({
      payload: { type: 'event_callback', team_id: FAKE_SLACK_DEFAULTS.teamId, event },
      expect: 'silent' as const,
      shape: 'Events API body',
    }));
  return fc.oneof(
    { weight: 5, arbitrary: known },
    { weight: 2, arbitrary: unknown },
    { weight: 3, arbitrary: missing },
    { weight: 3, arbitrary: wrongType },
    { weight: 1, arbitrary: otherTypes },
    { weight: 2, arbitrary: notObject },
    { weight: 1, arbitrary: anyObject },
    { weight: 1, arbitrary: events },
  );
}

/** The model of a click the door lets through (mirrors the rule in bot/door-guard.ts, written again here). */
function wellFormedClick(payload: Record<string, any>): boolean {
  const isObj = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
  const action = payload.actions?.[0];
  return (
    payload.type === 'block_actions' &&
    isObj(payload.user) &&
    typeof payload.user.id === 'string' &&
    /^[UW][A-Z0-9]{1,31}$/.test(payload.user.id) &&
    (payload.team === null
      ? typeof payload.user.team_id === 'string' && payload.user.team_id.length > 0
      : isObj(payload.team) && typeof payload.team.id === 'string' && payload.team.id.length > 0) &&
    typeof payload.response_url === 'string' &&
    isObj(payload.channel) &&
    typeof payload.channel.id === 'string' &&
    /^[CGD][A-Z0-9]{1,31}$/.test(payload.channel.id) &&
    isObj(payload.container) &&
    ['type', 'channel_id', 'message_ts'].every((key) => !(key in payload.container) || typeof payload.container[key] === 'string') &&
    isObj(payload.message) &&
    (!('ts' in payload.message) || typeof payload.message.ts === 'string') &&
    Array.isArray(payload.actions) &&
    payload.actions.length === 1 &&
    isObj(action) &&
    typeof action.action_id === 'string' &&
    /^(alert|run|advise|checklist)_/.test(action.action_id) &&
    (!('value' in action) || typeof action.value === 'string') &&
    typeof action.block_id === 'string'
  );
}

/** Generated slash-command payloads: junk text (accepted: the dispatcher answers it), or a broken field. */
export function slashCommandPayload(fake: FakeSlack): fc.Arbitrary<GeneratedPayload & { text?: string }> {
  const url = () => fake.newResponseUrl({ channel: CHANNEL, user: USER });
  const good = slashText.map((text) => {
    const responseUrl = url();
    return { payload: slashPayload(responseUrl, text), expect: 'accepted' as const, shape: 'slash text', responseUrl, text };
  });
  const FIELDS = ['command', 'text', 'user_id', 'channel_id', 'team_id', 'response_url'] as const;
  const broken = fc
    .tuple(
      fc.constantFrom(...FIELDS),
      fc.oneof(fc.constant(undefined), fc.constantFrom('', '/other', 'not an id', 'u0lower', 'C0', '/SCALE', 'javascript:alert(1)')),
    )
    .map(([field, value]) => {
      const responseUrl = url();
      const payload: Record<string, unknown> = slashPayload(responseUrl, 'help');
      if (value === undefined) delete payload[field];
      else payload[field] = value;
      const valid =
        (field === 'text' && value !== undefined) || (field === 'channel_id' && value === 'C0') || (field === 'team_id' && value !== undefined && value !== '');
      return {
        payload,
        expect: valid ? ('accepted' as const) : tellable(payload as Record<string, any>, responseUrl) ? ('notice' as const) : ('silent' as const),
        shape: `slash ${value === undefined ? 'missing' : 'bad'} ${field}`,
        responseUrl,
      };
    });
  return fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: broken });
}

/**
 * Every table of the database but the decision log, as JSON, to compare before and after a run. The lease's
 * expiry is left out: the leader renews it every few seconds whatever the doors are sent (who holds it and
 * its token are compared).
 */
export function snapshotState(databaseFile: string): Record<string, unknown[]> {
  const db = new Database(databaseFile, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>;
    const state: Record<string, unknown[]> = {};
    for (const { name } of tables) {
      if (name === 'decision_log') continue;
      const rows = db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>;
      if (name === 'leader_lease') state[name] = rows.map(({ expires_at: _renewed, ...row }) => row);
      else state[name] = name === 'sqlite_sequence' ? rows.filter((row) => row.name !== 'decision_log') : rows;
    }
    return state;
  } finally {
    db.close();
  }
}

/** Everything a reply says, text and blocks, as one string to search. */
export function replyText(body: unknown): string {
  return JSON.stringify(body ?? '');
}

/** What a reply must never contain: an input's control sequence as typed, or a planted credential. */
export function echoProblems(body: unknown): string[] {
  const raw =
    typeof body === 'object' && body !== null ? [String((body as any).text ?? ''), JSON.stringify((body as any).blocks ?? [])].join('\n') : String(body);
  const problems = DANGEROUS_OPENERS.filter((opener) => raw.includes(opener)).map((opener) => `echoes ${opener}`);
  if (raw.includes(PLANTED_TOKEN)) problems.push('echoes the planted token');
  return problems;
}
