// The advice message's buttons and their parser (both in blocks/advice.ts): every button the builder renders
// parses back to the click it offers, and anything else is refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADVISE_ACTIONS, buildAdviceBlocks, parseAdviseAction, type AdviseAction } from '../../blocks/advice.ts';
import type { Block } from '../../blocks/types.ts';
import { QUESTIONS, RECOMMENDATIONS, type QuestionId, type Step, type Walk } from '../../core/advisor.ts';

const AT = new Date('2026-03-14T02:00:00Z');

interface RenderedButton {
  readonly actionId: string;
  readonly value: string | undefined;
}

/** Every button of a message: in actions blocks and as section accessories. */
function buttonsOf(blocks: readonly Block[]): RenderedButton[] {
  const buttons: RenderedButton[] = [];
  for (const block of blocks) {
    const elements = block.type === 'actions' ? block.elements : block.type === 'section' && block.accessory ? [block.accessory] : [];
    for (const element of elements) {
      if (element.type === 'button') buttons.push({ actionId: element.action_id!, value: element.value });
    }
  }
  return buttons;
}

/** What the config allows as a start target (core/config/advisor.ts). */
const startTargetArb = fc.tuple(fc.constantFrom('checklist', 'runbook'), fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,30}$/)).map(([kind, id]) => `${kind}:${id}`);

const stepArb: fc.Arbitrary<Step> = fc.record({
  question: fc.constantFrom(...QUESTIONS),
  answer: fc.constantFrom('yes' as const, 'no' as const, 'pending' as const),
  source: fc.constantFrom('metrics' as const, 'person' as const, 'checklist' as const),
  evidence: fc.constant([]),
  by: fc.constant('U0ALICE001'),
  at: fc.constant(AT),
});

/** A walk as the builder may see it: a path, then a recommendation or a question waiting. */
const walkArb: fc.Arbitrary<Walk> = fc
  .tuple(fc.array(stepArb, { minLength: 0, maxLength: 5 }), fc.option(fc.constantFrom(...RECOMMENDATIONS), { nil: undefined }), fc.constantFrom(...QUESTIONS))
  .map(([steps, recommendation, pendingQuestion]) =>
    recommendation
      ? { recommendation, path: steps.map((step) => (step.answer === 'pending' ? { ...step, answer: 'yes' as const } : step)) }
      : {
          path: [
            ...steps.filter((step) => step.answer !== 'pending'),
            { question: pendingQuestion, answer: 'pending' as const, source: 'person' as const, evidence: [] },
          ],
          pendingQuestion,
        },
  );

/** What each rendered button must parse to: the click it offers on that message. */
function expectedClick(button: RenderedButton): AdviseAction {
  const value = button.value!;
  if (button.actionId === ADVISE_ACTIONS.yes) return { kind: 'answer', question: value as QuestionId, answer: 'yes' };
  if (button.actionId === ADVISE_ACTIONS.no) return { kind: 'answer', question: value as QuestionId, answer: 'no' };
  if (button.actionId === ADVISE_ACTIONS.refresh) return { kind: 'refresh' };
  if (button.actionId === ADVISE_ACTIONS.start) return { kind: 'start', target: value };
  return { kind: 'change', question: button.actionId.slice(ADVISE_ACTIONS.changePrefix.length) as QuestionId };
}

/** Every (action id, value) pair any advice message can carry, given the configured start targets. */
function isRenderable(actionId: string, value: string | undefined, startTargets: readonly string[]): boolean {
  if (value === undefined) return false;
  const questions: readonly string[] = QUESTIONS;
  if (actionId === ADVISE_ACTIONS.yes || actionId === ADVISE_ACTIONS.no) return questions.includes(value);
  if (actionId === ADVISE_ACTIONS.refresh) return value === 'refresh';
  if (actionId === ADVISE_ACTIONS.start) return startTargets.includes(value);
  return questions.includes(value) && actionId === `${ADVISE_ACTIONS.changePrefix}${value}`;
}

describe('the advice buttons', () => {
  it('every button a message renders parses back to the click it offers', () => {
    fc.assert(
      fc.property(walkArb, fc.option(startTargetArb, { nil: undefined }), (walk, startTarget) => {
        const message = buildAdviceBlocks({
          walk,
          evaluatedAt: AT,
          price: null,
          apiMonthly: 0,
          currentLabel: 'CPX41',
          cpuMemoryThreshold: 0.8,
          optimizationChecklist: 'optimize',
          ...(startTarget ? { startTarget } : {}),
          adviceId: 7,
        });
        const buttons = buttonsOf(message.blocks ?? []);
        expect(buttons.length).toBeGreaterThan(0);
        for (const button of buttons) {
          expect(button.actionId.startsWith('advise_')).toBe(true);
          expect(parseAdviseAction(button.actionId, button.value, startTarget ? [startTarget] : [])).toEqual(expectedClick(button));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any id and value no advice message carries', () => {
    const known = [
      ADVISE_ACTIONS.yes,
      ADVISE_ACTIONS.no,
      ADVISE_ACTIONS.refresh,
      ADVISE_ACTIONS.start,
      ...QUESTIONS.map((question) => `${ADVISE_ACTIONS.changePrefix}${question}`),
    ];
    const actionIdArb = fc.oneof(
      fc.constantFrom(...known),
      fc.string().map((rest) => `advise_${rest}`),
      fc.string(),
    );
    const valueArb = fc.option(fc.oneof(fc.constantFrom(...QUESTIONS, 'refresh', 'checklist:before', 'runbook:rm-rf', ''), fc.string()), { nil: undefined });
    fc.assert(
      fc.property(actionIdArb, valueArb, fc.array(startTargetArb, { maxLength: 3 }), (actionId, value, startTargets) => {
        fc.pre(!isRenderable(actionId, value, startTargets));
        expect(parseAdviseAction(actionId, value, startTargets)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['advise_yes', 'optimized ', 'a question with a space'],
    ['advise_yes', '__proto__', 'no question at all'],
    ['advise_change_optimized', 'cpu_memory', 'a change of another question'],
    ['advise_change_', '', 'a change of nothing'],
    ['advise_start', 'checklist:during', 'a start target the config does not name'],
    ['advise_refresh', undefined, 'no value'],
  ])('refuses %s with %j (%s)', (actionId, value, _why) => {
    expect(parseAdviseAction(actionId, value, ['checklist:before'])).toBeNull();
  });
});
