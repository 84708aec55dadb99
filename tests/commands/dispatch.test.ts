// dispatchScaleCommand on its own: routing through the registry, the replies it gives for a person's mistake and
// for a fault of ours, and the decision-log row every invocation leaves, over a real in-memory storage.
import { afterEach, describe, expect, it } from 'vitest';
import type { Reply } from '../../blocks/types.ts';
import { dispatchScaleCommand, type DispatchResult } from '../../commands/dispatch.ts';
import { SUBCOMMANDS } from '../../commands/registry.ts';
import type { Subcommand } from '../../commands/types.ts';
import type { DecisionRecord } from '../../core/storage/decisions.ts';
import { UserError } from '../../core/user-error.ts';
import { createTestCommandDeps, type TestCommandDeps } from '../helpers/command-deps.ts';

const USER = 'U0ALICE001';
const CHANNEL = 'C0OPS00001';

const opened: TestCommandDeps[] = [];
afterEach(async () => {
  for (const built of opened.splice(0)) await built.close();
});

/** A person's mistake that is not a UsageError: any UserError is answered with what to type. */
class NoSuchServer extends UserError {}

/** Subcommands beside the registry's, for the two ways a subcommand can fail. */
const refuses: Subcommand = {
  name: 'refuses',
  usage: 'refuses',
  summary: 'Asks for a server that does not exist',
  async run() {
    throw new NoSuchServer('There is no server `web-9`; `/scale status` lists them.');
  },
};
const breaks: Subcommand = {
  name: 'breaks',
  usage: 'breaks',
  summary: 'A fault of ours',
  async run() {
    throw new Error('the disk is on fire');
  },
};

interface Dispatched {
  readonly result: DispatchResult;
  readonly replies: Reply[];
  readonly rows: DecisionRecord[];
}

async function dispatch(text: string, subcommands: readonly Subcommand[] = SUBCOMMANDS): Promise<Dispatched> {
  const built = await createTestCommandDeps();
  opened.push(built);
  const replies: Reply[] = [];
  const result = await dispatchScaleCommand(
    { text, user: USER, channel: CHANNEL, respond: async (reply) => void replies.push(reply) },
    built.deps,
    subcommands,
  );
  return { result, replies, rows: await built.storage.decisions.list() };
}

describe('dispatchScaleCommand', () => {
  it('routes a subcommand by its first word, whatever its case, and hands it the words after it', async () => {
    const { result, replies, rows } = await dispatch('PLAN  "3,000"');
    expect(result).toEqual({ subcommand: 'plan', outcome: 'ok' });
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ ephemeral: true, text: expect.stringContaining('3,000') });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'command',
      actor: USER,
      channel: CHANNEL,
      subject: 'plan',
      outcome: 'ok',
      detail: { text: 'PLAN  "3,000"', args: ['3,000'], users: 3000 },
    });
  });

  it('answers no words at all with the help, generated from the registry', async () => {
    const { result, replies, rows } = await dispatch('  ');
    expect(result).toEqual({ subcommand: 'help', outcome: 'ok' });
    expect(replies).toHaveLength(1);
    expect(replies[0]!.ephemeral).toBe(true);
    for (const sub of SUBCOMMANDS) expect(replies[0]!.text).toContain(`\`/scale ${sub.usage}\``);
    expect(rows.map((row) => [row.subject, row.outcome])).toEqual([['help', 'ok']]);
  });

  it('answers an unknown subcommand with what it is and the help, to the person alone', async () => {
    const { result, replies, rows } = await dispatch('scale-up now');
    expect(result).toEqual({ subcommand: 'unknown', outcome: 'usage_error' });
    expect(replies).toHaveLength(1);
    expect(replies[0]!.ephemeral).toBe(true);
    expect(replies[0]!.text).toMatch(/^:warning: `\/scale scale-up` is not a command I know\.\n\*What `\/scale` can do\*/);
    expect(rows[0]).toMatchObject({
      subject: 'unknown',
      outcome: 'usage_error',
      detail: { args: ['now'], message: '`/scale scale-up` is not a command I know.' },
    });
  });

  it('answers text it cannot split into words with what is wrong, and the help', async () => {
    const { result, replies, rows } = await dispatch('checklist before "move to CPX51');
    expect(result).toEqual({ subcommand: 'invalid', outcome: 'usage_error' });
    expect(replies[0]!.ephemeral).toBe(true);
    expect(replies[0]!.text).toMatch(/^:warning: I could not read that: a " quote is not closed\./);
    expect(replies[0]!.text).toContain('*What `/scale` can do*');
    expect(rows[0]).toMatchObject({ subject: 'invalid', outcome: 'usage_error', detail: { text: 'checklist before "move to CPX51', args: [] } });
  });

  it('turns any UserError a subcommand throws into its message and the help, shown to the person alone', async () => {
    const { result, replies, rows } = await dispatch('refuses', [refuses, ...SUBCOMMANDS]);
    expect(result).toEqual({ subcommand: 'refuses', outcome: 'usage_error' });
    expect(replies).toHaveLength(1);
    expect(replies[0]!.ephemeral).toBe(true);
    expect(replies[0]!.text).toMatch(/^:warning: There is no server `web-9`; `\/scale status` lists them\.\n\*What `\/scale` can do\*/);
    expect(replies[0]!.text).toContain('`/scale refuses`: Asks for a server that does not exist');
    expect(rows[0]).toMatchObject({
      subject: 'refuses',
      outcome: 'usage_error',
      detail: { message: 'There is no server `web-9`; `/scale status` lists them.' },
    });
  });

  it('answers any other error with a ref that finds its decision row, and never shows the error', async () => {
    const { result, replies, rows } = await dispatch('breaks', [breaks, ...SUBCOMMANDS]);
    expect(result).toMatchObject({ subcommand: 'breaks', outcome: 'error', ref: expect.stringMatching(/^[0-9a-f]{8}$/) });
    expect(replies).toEqual([
      { text: `:x: Something went wrong (ref \`${result.ref}\`). It is logged under that ref; try again in a moment.`, ephemeral: true },
    ]);
    expect(rows[0]).toMatchObject({ subject: 'breaks', outcome: 'error', detail: { ref: result.ref, error: 'the disk is on fire' } });
  });

  it('leaves one decision row per invocation, whatever its outcome', async () => {
    const built = await createTestCommandDeps();
    opened.push(built);
    const texts = ['help', 'nope', 'cost', 'plan', 'breaks', '"'];
    for (const text of texts) {
      await dispatchScaleCommand({ text, user: USER, channel: CHANNEL, respond: async () => {} }, built.deps, [breaks, ...SUBCOMMANDS]);
    }
    const rows = await built.storage.decisions.list();
    expect(rows.map((row) => [row.kind, row.detail.text, row.subject, row.outcome]).reverse()).toEqual([
      ['command', 'help', 'help', 'ok'],
      ['command', 'nope', 'unknown', 'usage_error'],
      ['command', 'cost', 'cost', 'ok'],
      ['command', 'plan', 'plan', 'usage_error'],
      ['command', 'breaks', 'breaks', 'error'],
      ['command', '"', 'invalid', 'usage_error'],
    ]);
  });

  it('still records the invocation when the answer cannot be delivered', async () => {
    const built = await createTestCommandDeps();
    opened.push(built);
    const result = await dispatchScaleCommand(
      {
        text: 'nope',
        user: USER,
        channel: CHANNEL,
        respond: async () => {
          throw new Error('response_url expired');
        },
      },
      built.deps,
    );
    expect(result).toEqual({ subcommand: 'unknown', outcome: 'usage_error' });
    expect((await built.storage.decisions.list()).map((row) => row.subject)).toEqual(['unknown']);
  });
});
