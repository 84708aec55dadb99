// The "Review current metrics" item: a /scale status snapshot from a real Prometheus, posted in the run's
// thread, and the item ticked with the snapshot's verdict.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTicks } from '../../../db/checklists.ts';
import { listDecisions } from '../../../db/decision-log.ts';
import { slash, startTestBot, type TestBot } from '../../helpers/bot.ts';
import { CHANNEL, click, itemBlock, repliesTo, runMessage, startRun, waitForProgress } from '../../helpers/checklist-driver.ts';
import { loadConfig } from '../../../bot/config.ts';
import { scenario, startPrometheus, type PrometheusFixture } from '../../../devkit/prometheus/index.ts';
import { checkBlockKitLimits } from '../../helpers/slack/index.ts';

let prometheus: PrometheusFixture;
let tb: TestBot;

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000);
  // An hour of CPU at 90 %: the cpu trigger (> 70 % for 15 min) is breached, so the verdict is "Scale now".
  prometheus = await startPrometheus({
    openMetrics: scenario({ now, start: now - 3600 })
      .cpu('web-1:9100', 0.9)
      .memory('web-1:9100', 0.4)
      .toOpenMetrics(),
  });
  tb = await startTestBot({ prometheusUrl: prometheus.url });
});

afterAll(async () => {
  await tb?.stop();
  await prometheus?.stop();
});

describe('the status_snapshot action', () => {
  it('attaches a /scale status snapshot to the thread and ticks the item as the clicker, with the verdict', async () => {
    const message = await startRun(tb, 'before "move to CPX51"', 1);
    const url = await click(tb, message, 'checklist_snapshot_review_metrics', 'U0ANA');
    const updated = await waitForProgress(tb.fake, 1, '1 of 8');

    const [snapshot] = await tb.fake.waitFor((f) => {
      const replies = repliesTo(f, message);
      return replies.length > 0 ? replies : undefined;
    });
    expect(snapshot!.text).toMatch(/^:bar_chart: Status snapshot for “Review current metrics \(CPU, memory, latency\)”, attached by <@U0ANA>: Scale now: /);
    expect(checkBlockKitLimits(snapshot!.blocks)).toEqual([]);
    const blocks = snapshot!.blocks as Array<Record<string, any>>;
    expect(blocks[1]).toMatchObject({ type: 'header', text: { text: 'Scale now' } });
    expect(JSON.stringify(blocks)).toContain('*CPU usage*');
    expect(JSON.stringify(blocks)).toMatch(/CPU usage.*90 % · breached/);

    const item = itemBlock(updated, 'review_metrics');
    expect(item.text.text).toMatch(/^:white_check_mark: Review current metrics \(CPU, memory, latency\)\n_<@U0ANA> · <!date[^>]+> · status: Scale now_$/);
    expect(item.accessory).toMatchObject({ action_id: 'checklist_toggle_review_metrics', value: '1:review_metrics:untick' });
    expect(listTicks(tb.bot.database.db, 1)).toMatchObject([
      { itemId: 'review_metrics', action: 'tick', actor: 'U0ANA', source: 'status_snapshot', detail: { verdict: 'scale_now', verdict_title: 'Scale now' } },
    ]);
    const [decision] = listDecisions(tb.bot.database.db, { kinds: ['checklist_tick'] });
    expect(decision).toMatchObject({
      actor: 'U0ANA',
      subject: 'before',
      detail: { item_id: 'review_metrics', source: 'status_snapshot', verdict: 'scale_now' },
    });
    expect(tb.fake.responses.filter((response) => response.url === url)).toEqual([]);

    // A second click from the copy that still showed the snapshot button posts nothing and ticks nothing.
    const again = await click(tb, message, 'checklist_snapshot_review_metrics', 'U0BOB');
    const answer = await tb.fake.waitFor((f) => f.responses.find((response) => response.url === again));
    expect(answer.body?.text).toMatch(/^Already ticked by <@U0ANA>/);
    expect(repliesTo(tb.fake, message)).toHaveLength(1);
    expect(listTicks(tb.bot.database.db, 1)).toHaveLength(1);
  });

  it('tells the advisor "optimized first: yes" once the optimize checklist is completed', async () => {
    const before = await slash(tb, 'advise', { channel: CHANNEL });
    expect(before.message?.text).toBe('Advice: one question first: Have you optimized first?');

    const message = await startRun(tb, 'optimize', 2);
    const items = loadConfig().checklists.find((checklist) => checklist.id === 'optimize')!.items;
    await Promise.all(items.map((item, index) => click(tb, message, `checklist_toggle_${item.id}`, index % 2 ? 'U0ANA' : 'U0BOB')));
    const done = await waitForProgress(tb.fake, 2, `${items.length} of ${items.length}`);
    await click(tb, done, 'checklist_close', 'U0ANA');
    await tb.fake.waitFor((f) => runMessage(f, 2)?.text === 'Performance optimization before scaling: completed' && repliesTo(f, message).length === 1);
    expect(listDecisions(tb.bot.database.db, { kinds: ['checklist_completed'] })).toHaveLength(1);

    const after = await slash(tb, 'advise', { channel: CHANNEL });
    expect(after.message?.text).toBe('Advice: Vertical scaling: upgrade the VPS (CPX51)');
    expect(JSON.stringify(after.message?.blocks)).toContain('The `optimize` checklist was completed');
  });
});
