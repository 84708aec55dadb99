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
    expect(response.body).toMatchObject({ response_type: 'ephemeral', text: 'Monthly cost now: $225 (CPX41 (one server)); year one $3,453' });
    const blocks = JSON.stringify(response.body?.blocks);
    expect(blocks).toContain('*Now:* CPX41 (one server): $35/month + $190 APIs = *$225/month*');
    expect(blocks).toContain('10-12   10,000  stage 4: Read replicas     $396      $3,453');
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
