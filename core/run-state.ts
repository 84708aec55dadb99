/**
 * A runbook run's states and every legal move between them. Each click and each executor step names its
 * transition; storage applies it as one compare-and-set (`UPDATE … WHERE status IN (from)`), so two clicks
 * that race can never both win, and a click that lost answers "this run changed meanwhile".
 */

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
