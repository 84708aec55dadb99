import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../db/client.ts';
import { latestAdviceAnswers, recordAdvice, recordAdviceAnswer } from '../../db/advice.ts';
import { listDecisions } from '../../db/decision-log.ts';

const handles: DatabaseHandle[] = [];
afterEach(() => {
  for (const handle of handles.splice(0)) handle.close();
});
function open(): DatabaseHandle {
  const handle = openDatabase(':memory:');
  handles.push(handle);
  return handle;
}

describe('advice answers in the decision log', () => {
  it('reads back the latest answer to each question, whoever gave it, in whichever channel', () => {
    const { db } = open();
    const at = new Date('2026-03-14T02:00:00Z');
    expect(latestAdviceAnswers(db)).toEqual({});
    recordAdviceAnswer(db, { at, actor: 'U1', channel: 'C1', question: 'optimized', answer: 'no' });
    recordAdviceAnswer(db, { at, actor: 'U2', channel: 'C2', question: 'optimized', answer: 'yes' });
    recordAdviceAnswer(db, { at: new Date(at.getTime() - 1000), actor: 'U3', channel: 'C1', question: 'global_traffic', answer: 'no' });
    expect(latestAdviceAnswers(db)).toEqual({
      optimized: { answer: 'yes', by: 'U2', at, source: 'person' },
      global_traffic: { answer: 'no', by: 'U3', at: new Date(at.getTime() - 1000), source: 'person' },
    });
    const [row] = listDecisions(db, { kinds: ['advice_answer'], subject: 'optimized', limit: 1 });
    expect(row).toMatchObject({
      kind: 'advice_answer',
      actor: 'U2',
      channel: 'C2',
      subject: 'optimized',
      outcome: 'yes',
      detail: { question: 'optimized', answer: 'yes' },
    });
  });

  it('keeps every advice with its detail', () => {
    const { db } = open();
    const id = recordAdvice(db, {
      at: new Date(),
      actor: 'U1',
      channel: 'C1',
      outcome: 'vertical',
      detail: { path: [{ question: 'degraded', answer: 'yes' }], price: { delta: 15 } },
    });
    expect(listDecisions(db, { kinds: ['advice'] })).toEqual([
      expect.objectContaining({
        id,
        subject: 'vertical',
        outcome: 'vertical',
        detail: { path: [{ question: 'degraded', answer: 'yes' }], price: { delta: 15 } },
      }),
    ]);
  });
});
