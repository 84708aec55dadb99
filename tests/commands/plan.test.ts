import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlanArguments, parsePlanCommand, parseUserCount } from '../../commands/plan.ts';
import { UsageError } from '../../commands/types.ts';
import { listDecisions } from '../../db/decision-log.ts';
import { slash, startTestBot, type TestBot } from '../helpers/bot.ts';
import { unusedLoopbackUrl } from '../../devkit/prometheus/index.ts';

describe('/scale plan arguments', () => {
  it('reads a count of concurrent users in the ways people write it, or daily active users', () => {
    expect(parsePlanArguments(['3000'])).toEqual({ users: 3000 });
    expect(parsePlanArguments(['3,000'])).toEqual({ users: 3000 });
    expect(parsePlanArguments(['3k'])).toEqual({ users: 3000 });
    expect(parsePlanArguments(['2.5K'])).toEqual({ users: 2500 });
    expect(parsePlanArguments(['users=800'])).toEqual({ users: 800 });
    expect(parsePlanArguments(['dau=12000'])).toEqual({ dau: 12000 });
    expect(parsePlanArguments(['DAU=20k'])).toEqual({ dau: 20000 });
    expect(parseUserCount('1,00')).toBeNull();
  });

  it('takes --global or --not-global anywhere among the words, once', () => {
    expect(parsePlanCommand(['12000', '--global'])).toEqual({ load: { users: 12000 }, global: true });
    expect(parsePlanCommand(['--NOT-GLOBAL', 'dau=48k'])).toEqual({ load: { dau: 48000 }, global: false });
    expect(parsePlanCommand(['12000'])).toEqual({ load: { users: 12000 }, global: undefined });
    expect(() => parsePlanCommand(['12000', '--global', '--not-global'])).toThrow(/Say `--global` or `--not-global` once/);
    expect(() => parsePlanCommand(['12000', '--worldwide'])).toThrow(/“--worldwide” is not an option: `--global` and `--not-global` are/);
    expect(() => parsePlanCommand(['--global'])).toThrow(/needs a number of users/);
  });

  const malformed: Array<[string[], RegExp]> = [
    [[], /needs a number of users/],
    [['3000', 'users'], /takes one number, not 2 words/],
    [['lots'], /“lots” is not a number of users/],
    [['-5'], /“-5” is not a number of users/],
    [['0'], /at least 1 user/],
    [['1e6'], /not a number of users/],
    [['dau='], /“dau=” is not a number of users/],
    [['mau=5000'], /knows `users=` and `dau=`, not “mau=”/],
    [['3.5'], /not a number of users/],
    [['999999999999'], /beyond anything the tables describe/],
  ];
  it.each(malformed)('%j is a usage error that says what to type', (args, message) => {
    let error: unknown;
    try {
      parsePlanArguments(args);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/Type `\/scale plan <concurrent users>`, like `\/scale plan 3000`/);
  });
});

describe('/scale plan through the bot', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ prometheusUrl: await unusedLoopbackUrl() });
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('prices the tier and the stage that carry the load, and says which the guide picks', async () => {
    const { response } = await slash(bot, 'plan 8000');
    expect(response.body).toMatchObject({
      response_type: 'ephemeral',
      text: "Plan for 8,000 concurrent users: vertical CPX61 $290/month, horizontal stage 4 $396/month; the guide's rule says horizontal",
    });
    const blocks = JSON.stringify(response.body?.blocks);
    expect(blocks).toContain(":point_right: *Horizontal (the guide's stages):* stage 4. Read replicas, sized for 5,000-10,000 users");
    expect(blocks).toContain('*Vertical (one bigger server):* CPX61: 64 GB RAM, 24 vCPU, 480 GB storage, $100/month, sized for 5,000-8,000 users');
    expect(blocks).toContain('For 8,000 users: *horizontal*, stage 4.');
    expect(listDecisions(bot.bot.database.db, { kinds: ['command'], limit: 1 })[0]).toMatchObject({
      subject: 'plan',
      outcome: 'ok',
      detail: { users: 8000, tier: 'CPX61', stage: 4, recommended: 'horizontal' },
    });
  });

  // The guide's "Horizontal Scaling Costs": "4× App (32GB) + 2× DB (64GB) + LB | $456 | $646 | 15000 users".
  it.each([12000, 15000])('%i users, nobody said the traffic is global: the 4× app row beside the guide’s figures, multi-region left out', async (users) => {
    const { response } = await slash(bot, `plan ${users}`);
    const shown = users.toLocaleString('en-US');
    expect(response.body?.text).toBe(
      `Plan for ${shown} concurrent users: vertical CCX63 $590/month, ` +
        "horizontal 4× App (32GB) + 2× DB (64GB) + LB $596/month; the guide's rule says horizontal",
    );
    const blocks = JSON.stringify(response.body?.blocks);
    expect(blocks).toContain(
      ":point_right: *Horizontal (the guide's Horizontal Scaling Costs table):* 4× App (32GB) + 2× DB (64GB) + LB, sized for 10,000-15,000 users",
    );
    expect(blocks).toContain('• 4 × app: CPX51 (32 GB), $50 each');
    expect(blocks).toContain('• database (primary): CPX61 (64 GB), $100');
    expect(blocks).toContain('$406/month (+$371 against now), *$596/month* with the APIs');
    expect(blocks).toContain(
      "_The guide's figure, its Horizontal Scaling Costs table: $646/month with the APIs ($456 without them), for 15,000 users; " +
        'priced from the `pricing` table: $596. Why: no price list of the guide gives $456',
    );
    expect(blocks).toContain(':globe_with_meridians: *Multi-region (stage 5, $1,200+/month in the guide) is left out:*');
    expect(blocks).toContain('nobody has said the traffic is global');
    expect(blocks).toContain(`type \`/scale plan ${users} --global\``);
    expect(blocks).not.toContain('stage 5. Multi-region');
    expect(listDecisions(bot.bot.database.db, { kinds: ['command'], limit: 1 })[0]).toMatchObject({
      detail: { users, stage: null, horizontal: '4× App (32GB) + 2× DB (64GB) + LB', global: false, global_source: 'unknown', recommended: 'horizontal' },
    });
  });

  it('12,000 users with --global: multi-region, stage 5', async () => {
    const { response } = await slash(bot, 'plan 12000 --global');
    expect(response.body?.text).toBe(
      "Plan for 12,000 concurrent users: vertical CCX63 $590/month, horizontal stage 5 $1,200/month; the guide's rule says horizontal",
    );
    const blocks = JSON.stringify(response.body?.blocks);
    expect(blocks).toContain(":point_right: *Horizontal (the guide's stages):* stage 5. Multi-region, sized for 10,000+ users");
    expect(blocks).toContain('*Global traffic:* you said the traffic is global (`--global`), so multi-region stages are offered.');
    expect(blocks).toContain("_The guide's figure, its stage 5 heading: $1,200+/month with the APIs");
  });

  it('past 15,000 users in one region: says what the guide offers, and that only the CCX63 carries it', async () => {
    const { response } = await slash(bot, 'plan 20000');
    expect(response.body?.text).toBe("Plan for 20,000 concurrent users: vertical CCX63 $590/month, horizontal none; the guide's rule says vertical");
    const blocks = JSON.stringify(response.body?.blocks);
    expect(blocks).toContain(
      "*Horizontal:* nothing in the guide's tables carries 20,000 users in one region. Its largest single-region architecture, " +
        '4× App (32GB) + 2× DB (64GB) + LB, is sized for 15,000 users.',
    );
    expect(blocks).toContain('sharding at 100K+ users');
    expect(blocks).toContain('For 20,000 users the rule says horizontal, but nothing horizontal in the tables carries them in one region');
    expect(blocks).toContain('*Multi-region (stage 5, $1,200+/month in the guide) is left out:*');
  });

  it('takes daily active users, and says the ratio is ours, not the guide’s', async () => {
    const { response } = await slash(bot, 'plan dau=48000');
    expect(String(response.body?.text)).toMatch(/^Plan for 48,000 daily active users \(≈ 12,000 concurrent\):/);
    expect(JSON.stringify(response.body?.blocks)).toContain(
      "≈ 12,000 concurrent at 4 daily active users per concurrent user: *our assumption, not the guide's*",
    );
  });

  it('takes daily active users', async () => {
    const { response } = await slash(bot, 'plan dau=20000');
    const users = /^Plan for 20,000 daily active users \(≈ 5,000 concurrent\):/;
    const choice = / vertical CPX61 \$290\/month, horizontal stage 3 \$316\/month; the guide's rule says vertical$/;
    expect(String(response.body?.text)).toMatch(new RegExp(users.source + choice.source));
  });

  it('answers malformed arguments with what to type, only to the one who typed it', async () => {
    const { response } = await slash(bot, 'plan "a lot"');
    expect(response.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(response.body?.text)).toContain(':warning: “a lot” is not a number of users. Type `/scale plan <concurrent users>`');
    expect(listDecisions(bot.bot.database.db, { kinds: ['command'], limit: 1 })[0]).toMatchObject({ subject: 'plan', outcome: 'usage_error' });
  });

  it('help lists advise, plan and cost', async () => {
    const { response } = await slash(bot, 'help');
    expect(String(response.body?.text)).toMatch(/`\/scale advise`.*\n.*`\/scale plan <users>`.*dau=<n>.*\n.*`\/scale cost`/);
  });
});
