import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlanArguments, parseUserCount } from '../../commands/plan.ts';
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
