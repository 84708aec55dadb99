import { describe, expect, it } from 'vitest';
import { splitArguments } from '../../core/arguments.ts';

describe('splitArguments', () => {
  it('splits on spaces and keeps quoted words together', () => {
    expect(splitArguments('checklist before "move to CPX51"')).toEqual(['checklist', 'before', 'move to CPX51']);
    expect(splitArguments("  run  x  'a b'  ")).toEqual(['run', 'x', 'a b']);
  });

  it("reads Slack's smart quotes as quotes", () => {
    expect(splitArguments('checklist before \u201cmove to CPX51\u201d')).toEqual(['checklist', 'before', 'move to CPX51']);
  });

  it('keeps an empty quoted word and refuses an open quote', () => {
    expect(splitArguments('a ""')).toEqual(['a', '']);
    expect(() => splitArguments('a "b')).toThrow(/not closed/);
  });
});
