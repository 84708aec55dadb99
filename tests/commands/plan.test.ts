import { describe, expect, it } from 'vitest';
import { parsePlanArguments, parseUserCount } from '../../commands/plan.ts';
import { UsageError } from '../../commands/types.ts';

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
