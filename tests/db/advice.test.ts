import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DIALECTS, stopPostgres, storageFixture } from '../helpers/storages.ts';

afterAll(stopPostgres);

describe.each(DIALECTS)('advice answers in the decision log on %s', (dialect) => {
  const fixture = storageFixture(dialect);
  afterEach(() => fixture.closeAll());

  it('reads back the latest answer to each question, whoever gave it, in whichever channel', async () => {
    const { advice, decisions } = await fixture.open();
    const at = new Date('2026-03-14T02:00:00Z');
    expect(await advice.latestAnswers()).toEqual({});
    await advice.recordAnswer({ at, actor: 'U1', channel: 'C1', question: 'optimized', answer: 'no' });
    await advice.recordAnswer({ at, actor: 'U2', channel: 'C2', question: 'optimized', answer: 'yes' });
    await advice.recordAnswer({ at: new Date(at.getTime() - 1000), actor: 'U3', channel: 'C1', question: 'global_traffic', answer: 'no' });
    expect(await advice.latestAnswers()).toEqual({
      optimized: { answer: 'yes', by: 'U2', at, source: 'person' },
      global_traffic: { answer: 'no', by: 'U3', at: new Date(at.getTime() - 1000), source: 'person' },
    });
    const [row] = await decisions.list({ kinds: ['advice_answer'], subject: 'optimized', limit: 1 });
    expect(row).toMatchObject({
      kind: 'advice_answer',
      actor: 'U2',
      channel: 'C2',
      subject: 'optimized',
      outcome: 'yes',
      detail: { question: 'optimized', answer: 'yes' },
    });
  });

  it('keeps every advice with its detail, under the id it resolved to', async () => {
    const { advice, decisions } = await fixture.open();
    const id = await advice.recordAdvice({
      at: new Date(),
      actor: 'U1',
      channel: 'C1',
      outcome: 'vertical',
      detail: { path: [{ question: 'degraded', answer: 'yes' }], price: { delta: 15 } },
    });
    expect(await decisions.list({ kinds: ['advice'] })).toEqual([
      expect.objectContaining({
        id,
        subject: 'vertical',
        outcome: 'vertical',
        detail: { path: [{ question: 'degraded', answer: 'yes' }], price: { delta: 15 } },
      }),
    ]);
  });
});
