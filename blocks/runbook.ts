import { formatDuration } from '../core/duration.ts';
import { describeIds, describePolicy, describeParams, type PlannedStep, type RunbookDef, type RunPlan } from '../core/runbooks.ts';
import { RUN_CLICKS, type RunClick, type RunPhase, type RunStatus, type StepClick } from '../core/run-state.ts';
import type { RunRecord, StepRecord } from '../core/storage/runbooks.ts';
import { slackTime } from './breach.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText, type Block, type Message } from './types.ts';

const STATUS_TEXT: Record<RunStatus, string> = {
  awaiting_approval: ':hourglass_flowing_sand: Waiting for approval',
  approved: ':white_check_mark: Approved; starting',
  waiting_checklist: ':clipboard: Approved; waiting for the checklist',
  running: ':arrow_forward: Running',
  awaiting_confirmation: ':raised_hand: Waiting for an approver to confirm the next step',
  failed: ':x: Failed',
  stopped: ':octagonal_sign: Stopped',
  interrupted: ':warning: Interrupted',
  rollback_failed: ':x: Rollback failed',
  succeeded: ':white_check_mark: Succeeded',
  rolled_back: ':leftwards_arrow_with_hook: Rolled back',
  rejected: ':no_entry: Rejected',
  cancelled: ':heavy_multiplication_x: Cancelled',
  expired: ':hourglass: Expired: not approved in time',
  abandoned: ':wastebasket: Abandoned',
};

const STEP_ICONS: Record<string, string> = {
  running: ':arrow_forward:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  timed_out: ':alarm_clock:',
  connection_lost: ':electric_plug:',
  host_key_mismatch: ':closed_lock_with_key:',
  connect_failed: ':electric_plug:',
  stopped: ':octagonal_sign:',
  interrupted: ':warning:',
  already_running: ':lock:',
  fenced: ':busts_in_silhouette:',
};

export interface RunView {
  readonly run: RunRecord;
  readonly plan: RunPlan;
  readonly runbook: RunbookDef | undefined;
  readonly approvals: ReadonlyArray<{ approver: string; at: Date }>;
  readonly steps: readonly StepRecord[];
  readonly checklist: { readonly id: string; readonly complete: boolean; readonly text: string } | null;
  readonly now: Date;
  /** Why the run stopped where it did, when it did ("host key mismatch …"). */
  readonly note?: string;
}

/** A click on a run's button, as its id and value say: the run, and for a step's button the step. */
export type RunAction =
  | { readonly kind: Exclude<RunClick, StepClick>; readonly runId: number }
  | { readonly kind: StepClick; readonly runId: number; readonly phase: RunPhase; readonly index: number };

const STEP_CLICKS: readonly RunClick[] = ['confirm', 'retry'] satisfies readonly StepClick[];

/** The action id of a run's button: `run_<click>`. */
export const runActionId = (kind: RunClick): string => `run_${kind}`;

/** The value of a run's button: the run id, and for a step's button "id:phase:index". */
export function runActionValue(action: RunAction): string {
  return 'phase' in action ? `${action.runId}:${action.phase}:${action.index}` : String(action.runId);
}

const ACTION_ID = new RegExp(`^run_(${RUN_CLICKS.join('|')})$`);

/** Reads a run button's id and value; anything not exactly what `buildRunMessage` put there is refused. */
export function parseRunAction(actionId: string, value: string | undefined): RunAction | null {
  const kind = ACTION_ID.exec(actionId)?.[1] as RunClick | undefined;
  if (!kind || !value) return null;
  if (STEP_CLICKS.includes(kind)) {
    const match = /^(\d{1,12}):(steps|rollback):(\d{1,4})$/.exec(value);
    if (!match) return null;
    return { kind: kind as StepClick, runId: Number(match[1]), phase: match[2] as RunPhase, index: Number(match[3]) };
  }
  if (!/^\d{1,12}$/.test(value)) return null;
  return { kind: kind as Exclude<RunClick, StepClick>, runId: Number(value) };
}

function button(action: RunAction, text: string, style?: 'primary' | 'danger') {
  return {
    type: 'button' as const,
    action_id: runActionId(action.kind),
    text: { type: 'plain_text' as const, text },
    value: runActionValue(action),
    ...(style ? { style } : {}),
  };
}

function stepLine(step: PlannedStep, index: number, rows: readonly StepRecord[], phase: string): string {
  const attempts = rows.filter((row) => row.phase === phase && row.stepIndex === index);
  const last = attempts.at(-1);
  const icon = last ? (STEP_ICONS[last.status] ?? ':grey_question:') : ':white_circle:';
  const result =
    last && last.status !== 'running'
      ? ` · ${last.status.replace('_', ' ')}${last.exitCode !== null ? ` (exit ${last.exitCode})` : ''}` +
        `${last.endedAt ? ` in ${formatDuration((last.endedAt.getTime() - last.startedAt.getTime()) / 1000)}` : ''}` +
        `${attempts.length > 1 ? `, attempt ${attempts.length}` : ''}`
      : '';
  const confirm = step.confirm ? ' · needs an approver to confirm' : '';
  return (
    `${icon} *${index + 1}. ${escapeMrkdwn(step.title)}* on \`${escapeMrkdwn(step.host)}\` · ` +
    `timeout ${formatDuration(step.timeoutSeconds)}${confirm}${result}\n` +
    `\`\`\`${escapeMrkdwn(step.command)}\`\`\``
  );
}

/** The run's one message: the plan, what it waits for, each step's state, and the buttons its state allows. */
export function buildRunMessage(view: RunView): Message {
  const { run, plan, approvals, steps, checklist } = view;
  const status: RunStatus = run.status;
  const title = `Runbook #${run.id}: ${run.title}`;
  const paramText = Object.entries(plan.params)
    .map(([name, value]) => `${name}=\`${escapeMrkdwn(value)}\``)
    .join(' ');
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: truncateText(title, SLACK_LIMITS.headerText) } },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: truncateText(`Requested by <@${run.requester}> at ${slackTime(run.createdAt)}${paramText ? ` · ${paramText}` : ''}`, SLACK_LIMITS.sectionText),
        },
      ],
    },
  ];
  const atStep = status === 'running' || status === 'awaiting_confirmation' || status === 'failed' || status === 'stopped' || status === 'interrupted';
  const stepNote = atStep ? ` at step ${run.stepIndex + 1}${run.phase === 'rollback' ? ' of the rollback' : ''}` : '';
  const statusLines = [`*${STATUS_TEXT[status]}*${stepNote}`];
  if (view.note) statusLines.push(escapeMrkdwn(view.note));
  if (view.runbook) {
    const needed = view.runbook.approval.required;
    const approvedBy = approvals.map((approval) => `<@${approval.approver}> at ${slackTime(approval.at)}`).join(', ');
    statusLines.push(`Approvals: ${approvals.length} of ${needed}${approvedBy ? ` (${approvedBy})` : ''} · policy: ${describePolicy(view.runbook.approval)}`);
    if (status === 'awaiting_approval') statusLines.push(`Expires ${slackTime(run.expiresAt)} unless approved.`);
  }
  if (checklist)
    statusLines.push(`${checklist.complete ? ':white_check_mark:' : ':clipboard:'} Checklist \`${checklist.id}\`: ${escapeMrkdwn(checklist.text)}`);
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncateText(statusLines.join('\n'), SLACK_LIMITS.sectionText) } });
  blocks.push({ type: 'divider' });
  plan.steps.forEach((step, index) => {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncateText(stepLine(step, index, steps, 'steps'), SLACK_LIMITS.sectionText) } });
  });
  if (plan.rollback.length > 0) {
    const lines = plan.rollback.map((step, index) => stepLine(step, index, steps, 'rollback'));
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncateText(`*Rollback*\n${lines.join('\n')}`, SLACK_LIMITS.sectionText) } });
  } else {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'No rollback steps: this runbook cannot be undone by the bot.' }] });
  }
  const runId = run.id;
  const at = { runId, phase: run.phase as RunPhase, index: run.stepIndex };
  const actions = (() => {
    switch (status) {
      case 'awaiting_approval':
        return [
          button({ kind: 'approve', runId }, 'Approve', 'primary'),
          button({ kind: 'reject', runId }, 'Reject', 'danger'),
          button({ kind: 'cancel', runId }, 'Cancel'),
        ];
      case 'waiting_checklist':
        return [button({ kind: 'start', runId }, 'Start', 'primary'), button({ kind: 'cancel', runId }, 'Cancel')];
      case 'awaiting_confirmation':
        return [button({ kind: 'confirm', ...at }, `Confirm step ${run.stepIndex + 1}`, 'primary'), button({ kind: 'stop', runId }, 'Stop', 'danger')];
      case 'running':
        return [button({ kind: 'stop', runId }, 'Stop', 'danger')];
      case 'failed':
      case 'stopped':
      case 'interrupted':
        return [
          button({ kind: 'retry', ...at }, 'Retry step', 'primary'),
          ...(run.phase === 'steps' && plan.rollback.length > 0 ? [button({ kind: 'rollback', runId }, 'Roll back', 'danger')] : []),
          button({ kind: 'abandon', runId }, 'Abandon'),
        ];
      case 'rollback_failed':
        return [button({ kind: 'retry', ...at }, 'Retry rollback step', 'primary'), button({ kind: 'abandon', runId }, 'Abandon')];
      default:
        return [];
    }
  })();
  if (actions.length > 0) blocks.push({ type: 'actions', block_id: `run_actions_${run.id}`, elements: actions });
  return { text: `${title}: ${STATUS_TEXT[status].replace(/^:[a-z_]+: /, '')}`, blocks: fitBlocks(blocks) };
}

function fitBlocks(blocks: Block[]): Block[] {
  if (blocks.length <= SLACK_LIMITS.blocksPerMessage) return blocks;
  // Keep the header, status and buttons; fold the middle steps into one section.
  const head = blocks.slice(0, 4);
  const tail = blocks.slice(-1);
  const middle = blocks.slice(4, -1);
  const keep = middle.slice(0, SLACK_LIMITS.blocksPerMessage - head.length - tail.length - 1);
  return [
    ...head,
    ...keep,
    { type: 'context', elements: [{ type: 'mrkdwn', text: `… ${middle.length - keep.length} more steps: \`/scale history\` lists them.` }] },
    ...tail,
  ];
}

/**
 * A step's thread message: the command, then the last lines of its output, then how it ended. The end line
 * is never cut: the output gets what room is left after escaping (`<` and `&` grow fourfold once escaped).
 */
export function buildStepMessage(
  step: PlannedStep,
  index: number,
  phase: string,
  output: string,
  row: StepRecord | null,
  { hidden = false }: { hidden?: boolean } = {},
): Message {
  const state = truncateText(
    row && row.status !== 'running'
      ? `${STEP_ICONS[row.status] ?? ''} *${row.status.replace(/_/g, ' ')}*${row.exitCode !== null ? `, exit ${row.exitCode}` : ''}` +
          `${row.endedAt ? `, ${formatDuration((row.endedAt.getTime() - row.startedAt.getTime()) / 1000)}` : ''}` +
          `${row.message && row.status !== 'succeeded' ? `: ${escapeMrkdwn(row.message)}` : ''}`
      : ':arrow_forward: running…',
    600,
  );
  const head = truncateText(
    `*${phase === 'rollback' ? 'Rollback step' : 'Step'} ${index + 1}: ${escapeMrkdwn(step.title)}* on \`${escapeMrkdwn(step.host)}\`\n` +
      `\`\`\`$ ${escapeMrkdwn(step.command)}\`\`\``,
    1200,
  );
  let body = '';
  if (hidden) body = '\n_Output hidden: this step keeps its output out of Slack (`output: hidden`); it is stored with the run._';
  else if (output.trim()) {
    const room = SLACK_LIMITS.sectionText - head.length - state.length - 20;
    body = `\n\`\`\`${escapedTail(output, Math.min(room, 2400))}\`\`\``;
  }
  const text = `${head}${body}\n${state}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** The last lines of `output` that fit in `room` characters once escaped, whole lines first, never half an entity. */
function escapedTail(output: string, room: number): string {
  const lines = output.split('\n').slice(-30);
  let kept: string[] = [];
  let length = 0;
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const escaped = escapeMrkdwn(lines[i]!);
    if (length + escaped.length + 1 > room) {
      if (kept.length === 0) {
        // One line longer than the room: keep its end, cut before escaping so no entity is split.
        let raw = lines[i]!;
        while (raw.length > 0 && escapeMrkdwn(raw).length > room - 2) raw = raw.slice(Math.max(1, Math.floor(raw.length / 8)));
        kept = [`…${escapeMrkdwn(raw)}`];
      }
      break;
    }
    kept.unshift(escaped);
    length += escaped.length + 1;
  }
  return kept.join('\n');
}

export function buildRunbookList(runbooks: readonly RunbookDef[], hosts: readonly string[]): Message {
  const lines = runbooks.map((runbook) => {
    const params = describeParams(runbook);
    const checklist = runbook.requiresChecklist ? ` · needs checklist \`${runbook.requiresChecklist}\` complete` : '';
    const requesters = runbook.requesters.length > 0 ? ` · requested by ${describeIds(runbook.requesters)}` : '';
    const disabled = runbook.disabled ? `\n   :no_entry: *Disabled:* ${runbook.disabled}` : '';
    const rollback = runbook.rollback.length ? `${runbook.rollback.length} rollback` : 'no rollback';
    return (
      `• *${escapeMrkdwn(runbook.title)}*: \`/scale run ${runbook.id}${params ? ` ${escapeMrkdwn(params)}` : ''}\`\n` +
      `   ${runbook.steps.length} steps, ${rollback} · ${describePolicy(runbook.approval)}${requesters}${checklist}${disabled}`
    );
  });
  const hostList = hosts.length ? hosts.map((host) => `\`${host}\``).join(', ') : 'none configured yet (see `hosts` in the README)';
  const header = `*Runbooks* (${runbooks.length}) · hosts: ${hostList}`;
  const chunks: string[] = [];
  let current = header;
  for (const line of lines) {
    if (current.length + line.length + 1 > SLACK_LIMITS.sectionText - 100) {
      chunks.push(current);
      current = line;
    } else current += `\n${line}`;
  }
  chunks.push(current);
  return { text: `${runbooks.length} runbooks`, blocks: chunks.slice(0, 45).map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } })) };
}
