/** The runbooks part of the storage port (core/ports.ts). Rows are plain records; db/sqlite/runbooks.ts implements it. */
import type { RunStatus, StepMove, StepStatus, TransitionName } from '../run-state.ts';
import type { EffectsOf } from './effects.ts';

export type { RunStatus, StepStatus } from '../run-state.ts';

/** A runbook run: requested, planned, approved, executed step by step over SSH, maybe rolled back. */
export interface RunRecord {
  readonly id: number;
  readonly runbookId: string;
  readonly title: string;
  readonly requester: string;
  readonly channel: string;
  readonly params: Record<string, string>;
  /** The plan as approved (core/runbooks.ts RunPlan): every step's host and exact command. */
  readonly plan: Record<string, unknown>;
  readonly status: RunStatus;
  /** steps | rollback */
  readonly phase: string;
  /** Index of the step running, failed or next (in the current phase). */
  readonly stepIndex: number;
  /** "phase:index" of a `confirm: true` step an approver has confirmed (core/run-state.ts stepKey). */
  readonly confirmedStep: string | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly startedAt: Date | null;
  readonly endedAt: Date | null;
  /** The run's message in the outbox (posted with key `runMessageKey(id)`); null until it was queued. */
  readonly messageId: number | null;
}

/** One attempt of one step (a retry is a new attempt), with its full output. */
export interface StepRecord {
  readonly id: number;
  readonly runId: number;
  readonly phase: string;
  readonly stepIndex: number;
  readonly stepId: string;
  readonly host: string;
  readonly command: string;
  readonly status: StepStatus;
  readonly exitCode: number | null;
  readonly startedAt: Date;
  readonly endedAt: Date | null;
  readonly output: string;
  readonly message: string | null;
  /** The attempt's thread message (key `stepMessageKey(runId, id)`), when the run had a message to reply to. */
  readonly messageId: number | null;
}

/** One run at a time per host: a lock names the run that holds the host. */
export interface LockRecord {
  readonly host: string;
  readonly runId: number;
  readonly lockedBy: string;
  readonly lockedAt: Date;
}

export interface ApprovalRecord {
  readonly runId: number;
  readonly approver: string;
  readonly at: Date;
}

/** A run's message key in the outbox: its thread replies and step messages name it as their parent. */
export const runMessageKey = (runId: number): string => `run:${runId}`;

/** The thread message of one step attempt. */
export const stepMessageKey = (runId: number, attemptId: number): string => `run:${runId}:step:${attemptId}`;

/** What a run's message shows: the run, its approvals and every step attempt, as the transaction left them. */
export interface RunSnapshot {
  readonly run: RunRecord;
  readonly approvals: readonly ApprovalRecord[];
  readonly steps: readonly StepRecord[];
}

/** What a transition wrote, for its effects: the run after it, the status it left, the hosts it unlocked. */
export interface TransitionWritten extends RunSnapshot {
  readonly previous: RunStatus;
  readonly released: readonly string[];
}

/** The fields a transition may change besides the status (`endedAt` is set by the store when the run finishes). */
export type RunPatch = Partial<Pick<RunRecord, 'phase' | 'stepIndex' | 'confirmedStep' | 'startedAt'>>;

/** The step a guard requires the run to be at: a click on a step's button, the executor's own step. */
export interface AtStep {
  readonly phase?: string;
  readonly stepIndex?: number;
}

export interface TransitionInput {
  readonly id: number;
  /** A transition of core/run-state.ts: the run moves only from one of its `from` statuses. */
  readonly name: TransitionName;
  readonly at?: AtStep;
  readonly patch?: RunPatch;
  /** The time of the change (a run that finishes ends now). */
  readonly now: Date;
  /**
   * Attempts of the run's steps that have not ended: `refuse` leaves the run alone while one exists (a Stop
   * still reaching the host); `interrupt` marks them ended with that message (a restart: outcome unknown).
   */
  readonly stepsInFlight?: 'refuse' | { readonly interrupt: string };
  readonly effects: EffectsOf<TransitionWritten>;
}

export type TransitionResult =
  | { readonly ok: true; readonly run: RunRecord }
  /** Nothing was written: the run had moved on (`changed`) or an attempt of one of its steps was still ending. */
  | { readonly ok: false; readonly why: 'changed' | 'step_in_flight'; readonly run: RunRecord | undefined };

/** What requesting a run writes; status, step and times of its execution start empty. */
export type NewRun = Pick<RunRecord, 'runbookId' | 'title' | 'requester' | 'channel' | 'params' | 'plan' | 'createdAt' | 'expiresAt'>;

export interface RequestInput {
  readonly run: NewRun;
  /** Every host the plan touches: all are locked for the run, or none. */
  readonly hosts: readonly string[];
  /** The locks were taken: the request's decisions and its message (posted with key `runMessageKey`). */
  readonly effects: EffectsOf<RunSnapshot>;
  /** A host was locked by another run: the run is cancelled at once, and these say why. */
  readonly refused: EffectsOf<{ readonly run: RunRecord; readonly lock: LockRecord }>;
}

export type RequestResult =
  | { readonly ok: true; readonly run: RunRecord }
  | { readonly ok: false; readonly run: RunRecord; readonly lock: LockRecord; readonly holder: RunRecord | undefined };

export interface ApproveInput {
  readonly id: number;
  readonly approver: string;
  readonly at: Date;
  /** Whether the approvals, this one included, meet the policy: the run is then approved in the same transaction. */
  readonly suffice: (approvers: readonly string[]) => boolean;
  readonly effects: EffectsOf<RunSnapshot & { readonly approved: boolean }>;
}

export type ApproveResult =
  | { readonly outcome: 'counted' | 'approved'; readonly run: RunRecord }
  /** Nothing was written: no longer awaiting approval, past its deadline, or this person had approved already. */
  | { readonly outcome: 'changed' | 'expired' | 'duplicate'; readonly run: RunRecord | undefined };

export interface StartStepInput {
  readonly runId: number;
  readonly phase: string;
  readonly stepIndex: number;
  readonly stepId: string;
  readonly host: string;
  readonly command: string;
  readonly startedAt: Date;
  /** The attempt's decision and messages (its thread message posted with key `stepMessageKey`). */
  readonly effects: EffectsOf<RunSnapshot & { readonly attempt: StepRecord }>;
}

export interface StepEnd {
  readonly status: StepStatus;
  readonly exitCode: number | null;
  readonly endedAt: Date;
  readonly output: string;
  readonly message: string;
}

export interface FinishStepInput {
  readonly attemptId: number;
  readonly end: StepEnd;
  /** What the run does next, at the attempt's step: move on past it, or halt by this transition. */
  readonly next: { readonly move: Extract<StepMove, 'advance'> } | { readonly transition: TransitionName };
  readonly now: Date;
  readonly effects: EffectsOf<StepFinished>;
}

export interface StepFinished extends RunSnapshot {
  readonly attempt: StepRecord;
  /** Whether the run moved as asked (false: it had changed meanwhile, e.g. a Stop); it is `run` either way. */
  readonly moved: boolean;
  readonly released: readonly string[];
}

export interface RunQuery {
  readonly limit?: number;
  readonly statuses?: readonly RunStatus[];
}

/** A run's message as the outbox last saw it. */
export interface PostedMessage {
  /** Slack's ts once posted. */
  readonly ts: string | null;
  /** Slack refused it for good (not in the channel, archived): nobody sees it. */
  readonly failed: boolean;
  readonly error: string | null;
}

/**
 * Runs, their steps, approvals and host locks. Every method that writes is one transaction with its effects;
 * the guarded ones (transition, approve, startStep, finishStep) write nothing when the run had moved on.
 */
export interface RunbookStore {
  getRun(id: number): Promise<RunRecord | undefined>;
  /** Newest first. */
  listRuns(query?: RunQuery): Promise<RunRecord[]>;
  listSteps(runId: number): Promise<StepRecord[]>;
  listApprovals(runId: number): Promise<ApprovalRecord[]>;
  getLock(host: string): Promise<LockRecord | undefined>;
  /** The run's own message, once queued. */
  runMessage(runId: number): Promise<PostedMessage | undefined>;
  /** Creates a run awaiting approval with its host locks, or (a host locked by another run) a cancelled one. */
  request(input: RequestInput): Promise<RequestResult>;
  /** Applies a transition of core/run-state.ts as one compare-and-set, releasing the locks when the run finishes. */
  transition(input: TransitionInput): Promise<TransitionResult>;
  /** Counts an approval while the run awaits one and has not expired; the one that suffices approves the run. */
  approve(input: ApproveInput): Promise<ApproveResult>;
  /** Records the start of an attempt of the run's current step, only while the run may take it (`STEP_MOVES.startStep`). */
  startStep(input: StartStepInput): Promise<StepRecord | undefined>;
  /** Records how an attempt ended and moves the run on, or halts it, in one transaction. */
  finishStep(input: FinishStepInput): Promise<StepFinished>;
  /** Writes effects that go with no change of a run (a message shown again, streamed output), with the runs' snapshots. */
  show(runIds: readonly number[], effects: EffectsOf<readonly RunSnapshot[]>): Promise<void>;
  /** An admin's release of a host's lock, whichever run holds it. Undefined when the host was not locked. */
  releaseLock(host: string, effects: EffectsOf<LockRecord>): Promise<LockRecord | undefined>;
}
