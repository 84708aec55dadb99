/**
 * A runbook run's states and every legal move between them. Each click and each executor step names its
 * transition; storage applies it as one compare-and-set (`UPDATE … WHERE status IN (from)`), so two clicks
 * that race can never both win, and a click that lost answers "this run changed meanwhile".
 */
import type { StepOutcome } from './ports.ts';

export const RUN_STATUSES = [
  'awaiting_approval',
  'approved',
  'waiting_checklist',
  'running',
  'awaiting_confirmation',
  'failed',
  'stopped',
  'interrupted',
  'rollback_failed',
  'succeeded',
  'rolled_back',
  'rejected',
  'cancelled',
  'expired',
  'abandoned',
] as const;

export type RunStatus = (typeof RUN_STATUSES)[number];

/** Final: no button, no transition leaves them, and their host locks are released. */
export const FINISHED_STATUSES = ['succeeded', 'rolled_back', 'rejected', 'cancelled', 'expired', 'abandoned'] as const satisfies readonly RunStatus[];

/** Ended by a failure or a person: nothing runs, and a person chooses Retry, Roll back or Abandon. */
export const HALTED_STATUSES = ['failed', 'stopped', 'interrupted', 'rollback_failed'] as const satisfies readonly RunStatus[];

export interface Transition {
  readonly from: readonly RunStatus[];
  readonly to: RunStatus;
  /** Releases the run's host locks in the same transaction. */
  readonly releasesLocks: boolean;
}

const t = (from: readonly RunStatus[], to: RunStatus): Transition => ({
  from,
  to,
  releasesLocks: (FINISHED_STATUSES as readonly RunStatus[]).includes(to),
});

export const TRANSITIONS = {
  /** The last approval the policy needs. */
  approve: t(['awaiting_approval'], 'approved'),
  /** Approved, but the runbook's checklist is not complete yet. */
  holdForChecklist: t(['approved'], 'waiting_checklist'),
  /** Approved (and the checklist complete): the executor may take the first step. */
  begin: t(['approved', 'waiting_checklist'], 'running'),
  reject: t(['awaiting_approval'], 'rejected'),
  cancel: t(['awaiting_approval', 'waiting_checklist'], 'cancelled'),
  expire: t(['awaiting_approval'], 'expired'),
  /** The executor reached a step marked confirm that nobody has confirmed for this attempt. */
  awaitConfirmation: t(['running'], 'awaiting_confirmation'),
  confirm: t(['awaiting_confirmation'], 'running'),
  /** A person's Stop, honoured before the first step, between steps, during one, and at a confirmation. */
  stop: t(['approved', 'running', 'awaiting_confirmation'], 'stopped'),
  fail: t(['running'], 'failed'),
  failRollback: t(['running'], 'rollback_failed'),
  retry: t(HALTED_STATUSES, 'running'),
  rollback: t(['failed', 'stopped', 'interrupted'], 'running'),
  abandon: t(HALTED_STATUSES, 'abandoned'),
  succeed: t(['running'], 'succeeded'),
  finishRollback: t(['running'], 'rolled_back'),
  /** At start: a run the last process was executing (or about to) when it died. */
  interrupt: t(['approved', 'running'], 'interrupted'),
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

/** Before the first step: the run's message still shows what it waits for (approval, the checklist). */
export const BEFORE_START_STATUSES = ['awaiting_approval', 'approved', 'waiting_checklist'] as const satisfies readonly RunStatus[];

/** The phases of a run: its steps, then (when a person chooses it) its rollback steps. */
export type RunPhase = 'steps' | 'rollback';

/** Where a run is: what the guards of a transition or a step move compare. */
export interface RunPosition {
  readonly status: RunStatus;
  readonly phase: string;
  readonly stepIndex: number;
}

/**
 * The executor's moves within `running` that change the run's step, not its status; guarded like transitions
 * (the status and the step), in the same compare-and-set.
 */
export const STEP_MOVES = {
  /** An attempt of the run's current step starts only while the run is running at that step. */
  startStep: ['running'],
  /** A step that succeeded moves the counter on, also when a Stop came too late to stop its command. */
  advance: ['running', 'stopped'],
} as const satisfies Record<string, readonly RunStatus[]>;

export type StepMove = keyof typeof STEP_MOVES;

/** Whether the executor may take the run's current step: only a running run has one to take. */
export function mayExecute(status: RunStatus): boolean {
  return (STEP_MOVES.startStep as readonly RunStatus[]).includes(status);
}

/** The transition that ends a run whose phase has no steps left. */
export function completionOf(phase: string): 'succeed' | 'finishRollback' {
  return phase === 'rollback' ? 'finishRollback' : 'succeed';
}

/** The transition that halts a run whose step failed. */
export function failureOf(phase: string): 'fail' | 'failRollback' {
  return phase === 'rollback' ? 'failRollback' : 'fail';
}

/** A request not approved by its deadline: the expiry applies. */
export function isExpiryDue(run: { readonly status: RunStatus; readonly expiresAt: Date }, now: Date): boolean {
  return canApply('expire', run.status) && run.expiresAt <= now;
}

/** The buttons of a run's message; each asks for one transition (blocks/runbook.ts renders and parses them). */
export const RUN_CLICKS = ['approve', 'reject', 'cancel', 'start', 'confirm', 'stop', 'retry', 'rollback', 'abandon'] as const;

export type RunClick = (typeof RUN_CLICKS)[number];

/** The clicks that name a step (phase and index): they act only while the run is still at that step. */
export type StepClick = Extract<RunClick, 'confirm' | 'retry'>;

export interface ClickRule {
  readonly transition: TransitionName;
  /** Narrower than the transition's `from`: where the button is offered. */
  readonly from?: readonly RunStatus[];
  /** Only in this phase (a rollback is not rolled back). */
  readonly phase?: RunPhase;
  /** The click names a step: it applies only while the run is at that step. */
  readonly atStep?: boolean;
}

export const CLICK_RULES = {
  approve: { transition: 'approve' },
  reject: { transition: 'reject' },
  cancel: { transition: 'cancel' },
  // The approver's click begins an approved run; Start is for one held for its checklist.
  start: { transition: 'begin', from: ['waiting_checklist'] },
  confirm: { transition: 'confirm', atStep: true },
  stop: { transition: 'stop' },
  retry: { transition: 'retry', atStep: true },
  rollback: { transition: 'rollback', phase: 'steps' },
  abandon: { transition: 'abandon' },
} as const satisfies Record<RunClick, ClickRule>;

/**
 * Whether a click may apply its transition to the run as read: the status, and for a step's button the step.
 * Only a first answer: the transition itself is the compare-and-set that settles a race.
 */
export function clickApplies(click: RunClick, run: RunPosition, step?: { readonly phase: string; readonly index: number }): boolean {
  const rule: ClickRule = CLICK_RULES[click];
  if (!canApply(rule.transition, run.status)) return false;
  if (rule.from && !rule.from.includes(run.status)) return false;
  if (rule.phase && run.phase !== rule.phase) return false;
  if (rule.atStep && (!step || step.phase !== run.phase || step.index !== run.stepIndex)) return false;
  return true;
}

/** The status of one attempt of one step: running, how the command ended, or interrupted by a restart. */
export type StepStatus = 'running' | 'interrupted' | StepOutcome;

export function isFinished(status: string): boolean {
  return (FINISHED_STATUSES as readonly string[]).includes(status);
}

/** Whether `name` may be applied to a run in `status`. */
export function canApply(name: TransitionName, status: RunStatus): boolean {
  return (TRANSITIONS[name].from as readonly RunStatus[]).includes(status);
}

/** The transitions that may leave a status: what its message's buttons and the executor may do next. */
export function transitionsFrom(status: RunStatus): TransitionName[] {
  return (Object.keys(TRANSITIONS) as TransitionName[]).filter((name) => canApply(name, status));
}

/** The attempt key of a step: a confirmation or a retry names exactly one step of one phase. */
export function stepKey(phase: string, index: number): string {
  return `${phase}:${index}`;
}
