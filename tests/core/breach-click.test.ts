import { describe, expect, it } from 'vitest';
import { judgeBreachClick } from '../../core/watch.ts';

const open = { id: 1, status: 'open' as const, ackedBy: null };

describe('judgeBreachClick', () => {
  it('lets a click change an open breach', () => {
    expect(judgeBreachClick(open, { kind: 'acknowledge' }, [3600])).toBeNull();
    expect(judgeBreachClick({ ...open, ackedBy: 'U1' }, { kind: 'snooze', seconds: 3600 }, [3600])).toBeNull();
  });

  it('refuses a snooze length not offered before anything else, then a missing or resolved breach, then a second acknowledgement', () => {
    expect(judgeBreachClick(undefined, { kind: 'snooze', seconds: 60 }, [3600])).toEqual({ reason: 'snooze_not_offered' });
    expect(judgeBreachClick(undefined, { kind: 'acknowledge' }, [3600])).toEqual({ reason: 'no_breach' });
    expect(judgeBreachClick({ ...open, status: 'resolved', ackedBy: 'U1' }, { kind: 'acknowledge' }, [])).toEqual({ reason: 'resolved' });
    expect(judgeBreachClick({ ...open, status: 'resolved' }, { kind: 'snooze', seconds: 3600 }, [3600])).toEqual({ reason: 'resolved' });
    expect(judgeBreachClick({ ...open, ackedBy: 'U1' }, { kind: 'acknowledge' }, [])).toEqual({ reason: 'already_acknowledged', by: 'U1' });
  });
});
