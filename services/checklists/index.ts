// Checklist runs (runs.ts) and where they meet runbooks (runbook-bridge.ts): what callers use.
export {
  createChecklistRuns,
  type ChecklistClick,
  type ChecklistClickOutcome,
  type ChecklistRuns,
  type ChecklistRunsDeps,
  type RunWithMessage,
  type StartOutcome,
} from './runs.ts';
export {
  answerChecklistGate,
  CHECKLIST_GATE_MAX_AGE_SECONDS,
  createChecklistRunbookPort,
  type ChecklistGateAnswer,
  type ChecklistRunbookPort,
  type RunbookSuccess,
} from './runbook-bridge.ts';
export { viewOf } from './run-changes.ts';
