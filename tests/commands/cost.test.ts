import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slash, startTestBot, type TestBot } from '../helpers/bot.ts';
import { unusedLoopbackUrl } from '../../devkit/prometheus/index.ts';

describe('/scale cost through the bot', () => {
  const bots: TestBot[] = [];
  afterAll(async () => {
    for (const bot of bots) await bot.stop();
  });
  let guide: TestBot;
  beforeAll(async () => {
    guide = await startTestBot({ prometheusUrl: await unusedLoopbackUrl() });
    bots.push(guide);
  });

  it("shows what runs now and the guide's year one priced with the tables", async () => {
    const { response } = await slash(guide, 'cost');
    expect(response.body).toMatchObject({
      response_type: 'ephemeral',
      text: "Monthly cost now: $225 (CPX41 (one server)); year one $3,453 (the guide's table: $4,380)",
    });
    const blocks = JSON.stringify(response.body?.blocks);
    expect(blocks).toContain('*Now:* CPX41 (one server): $35/month + $190 APIs = *$225/month*');
    expect(blocks).toContain('10-12   10,000  stage 4: Read replicas     $396      $3,453');
  });

  // The guide's "Year 1 Growth Scenario": $240, $290, $380, $550 a month, $4,380 for the year; "Compare to AWS:
  // ~$18,000 for same capacity. Savings: $13,620 (76%)".
  it("shows the guide's own year one beside ours, why they differ, and its AWS comparison", async () => {
    const { response } = await slash(guide, 'cost');
    const blocks = JSON.stringify(response.body?.blocks);
    expect(blocks).toContain("*The guide's own table* (its hand-picked architectures and prices)");
    for (const row of [
      '1-3        500  Single 16GB VPS           $240        $720',
      '4-6      2,000  Single 32GB VPS           $290      $1,590',
      '7-9      5,000  32GB VPS + DB             $380      $2,730',
      '10-12   10,000  2× App + DB + Replica     $550      $4,380',
      'Year one: $4,380',
    ]) {
      expect(blocks).toContain(row);
    }
    expect(blocks).toContain("The guide's table: *$4,380*; priced from the `pricing` table: *$3,453*.");
    expect(blocks).toContain('• 4-6: its Single 32GB VPS at $290, ours $240: $290 is its Vertical Scaling Costs price of the 64 GB CPX61');
    expect(blocks).toContain("*Compared with AWS, in the guide's words:* “~$18,000 for same capacity”, saving $13,620 (76 %) on its $4,380.");
    expect(blocks).toContain('against our $3,453 the same estimate would save $14,547 (81 %)');
  });

  it('a scenario of your own has no guide figures and no AWS comparison; --global is taken, other words are not', async () => {
    const bot = await startTestBot({ prometheusUrl: await unusedLoopbackUrl(), config: 'projection: [{ months: 12, users: 12000 }]\n' });
    bots.push(bot);
    const { response } = await slash(bot, 'cost');
    expect(response.body?.text).toBe('Monthly cost now: $225 (CPX41 (one server)); year one $7,152');
    const blocks = JSON.stringify(response.body?.blocks);
    expect(blocks).toContain('1-12    12,000  4× App (32GB) + 2× DB (64GB) + LB     $596      $7,152');
    expect(blocks).not.toContain('AWS');
    const global = await slash(bot, 'cost --global');
    expect(global.response.body?.text).toBe('Monthly cost now: $225 (CPX41 (one server)); year one $14,400');
    expect(JSON.stringify(global.response.body?.blocks)).toContain('stage 5: Multi-region');
    const wrong = await slash(bot, 'cost --global 2027');
    expect(String(wrong.response.body?.text)).toContain('`/scale cost` takes no arguments but `--global` or `--not-global`, not “2027”');
  });

  it('a stage as the current setup lists its servers', async () => {
    const bot = await startTestBot({ prometheusUrl: await unusedLoopbackUrl(), config: 'current: { stage: 3 }\n' });
    bots.push(bot);
    const { response } = await slash(bot, 'cost');
    const blocks = JSON.stringify(response.body?.blocks);
    expect(blocks).toContain('*Now:* stage 3: Load balancer: $126/month + $190 APIs = *$316/month*');
    expect(blocks).toContain('• 2 × app: CPX41 (16 GB), $35 each');
  });

  it('takes no arguments', async () => {
    const { response } = await slash(guide, 'cost 2027');
    expect(String(response.body?.text)).toContain('`/scale cost` takes no arguments');
  });
});
