import { UserError } from './user-error.ts';
import { formatDuration } from './duration.ts';
import { ParamError, renderCommand, validateParam, type ParamType, type PlaceholderType } from './shell-quote.ts';

export interface HostDef {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly privateKeyFile: string;
  readonly hostKey: string;
}

export interface ParamDef {
  readonly name: string;
  readonly type: ParamType;
  readonly description?: string;
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly default?: string;
}

export interface StepDef {
  readonly id: string;
  readonly title: string;
  /** An inventory name, or "{{param}}" naming a host parameter. */
  readonly host: string;
  readonly run: string;
  readonly timeoutSeconds: number;
  readonly confirm: boolean;
  /** hidden: the step's output stays out of Slack (the thread says only how it ended). */
  readonly output: 'shown' | 'hidden';
  /** Programs the command runs with `sudo -n`: checked before it starts, so a missing sudoers rule is named, not guessed at. */
  readonly sudo?: readonly string[];
}

export interface ApprovalPolicy {
  /** Slack user ids (U…), user group ids (S…) and group handles (@ops). Empty and not `anyone`: nobody may approve. */
  readonly approvers: readonly string[];
  /** The config said `approvers: anyone` in so many words: anyone but the requester (unless allowSelf) may approve. */
  readonly anyone: boolean;
  readonly required: number;
  /** The four-eyes rule: false means the requester's own approval does not count. */
  readonly allowSelf: boolean;
  readonly expiresSeconds: number;
}

export interface RunbookDef {
  readonly id: string;
  readonly title: string;
  readonly description?: string;
  readonly params: readonly ParamDef[];
  readonly steps: readonly StepDef[];
  readonly rollback: readonly StepDef[];
  readonly requiresChecklist?: string;
  readonly approval: ApprovalPolicy;
  /** Who may request a run: Slack user ids, user group ids and handles; empty: anyone. */
  readonly requesters: readonly string[];
  /**
   * Why it cannot be run: set when it can run on a configured host and names nobody as approver (nor
   * `anyone`). The text says what to add to the config.
   */
  readonly disabled?: string;
}

export interface PlannedStep {
  readonly id: string;
  readonly title: string;
  readonly host: string;
  /** The exact command that will run, parameters already quoted. */
  readonly command: string;
  readonly timeoutSeconds: number;
  readonly confirm: boolean;
  readonly output: 'shown' | 'hidden';
}

export interface RunPlan {
  readonly runbookId: string;
  readonly params: Readonly<Record<string, string>>;
  readonly steps: readonly PlannedStep[];
  readonly rollback: readonly PlannedStep[];
  /** Every host the run touches: all are locked while it lasts. */
  readonly hosts: readonly string[];
  /**
   * Random, chosen when the run is requested and stored with the plan: it names the run's slots on its hosts
   * (hostSlotKey). Run ids start at 1 in every database, so two bots (a staging one, a test) that drive the
   * same host must not share "run 1"'s slots. Plans stored before it existed have none.
   */
  readonly slot?: string;
}

/**
 * The name of a step attempt's slot on its host (integrations/ssh.ts `lockKey`): the same for every attempt
 * of that step of that run, on every replica and after every restart, and no other run's.
 */
export function hostSlotKey(runId: number, plan: Pick<RunPlan, 'slot'>, phase: string, index: number): string {
  return plan.slot ? `run-${runId}-${plan.slot}-${phase}-${index}` : `run-${runId}-${phase}-${index}`;
}

/** The user asked for something a runbook cannot do: the message says what to type. */
export class PlanError extends UserError {}

/**
 * Reads `key=value` words; a word without "=" or a key given twice is refused. The result has no prototype, so
 * `__proto__=x`, `constructor=x` or `toString=x` are keys like any other (and are refused as unknown parameters).
 */
export function parseAssignments(words: readonly string[]): Record<string, string> {
  const values: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const word of words) {
    const index = word.indexOf('=');
    if (index <= 0) throw new PlanError(`"${word}" is not key=value`);
    const key = word.slice(0, index);
    if (Object.hasOwn(values, key)) throw new PlanError(`${key} is given twice`);
    values[key] = word.slice(index + 1);
  }
  return values;
}

function hostFor(step: StepDef, params: Readonly<Record<string, string>>, hosts: ReadonlyMap<string, HostDef>): string {
  const placeholder = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/.exec(step.host);
  const name = placeholder ? (Object.hasOwn(params, placeholder[1]!) ? params[placeholder[1]!] : undefined) : step.host;
  if (!name || !hosts.has(name)) {
    throw new PlanError(
      `step ${step.id} runs on "${name ?? step.host}", which is not in the hosts inventory (${[...hosts.keys()].join(', ') || 'none configured'})`,
    );
  }
  return name;
}

/**
 * Validates every parameter against its type, then fills each step's command with quoted values. Nothing
 * from Slack reaches a command any other way. Throws PlanError (or ParamError) saying what is accepted.
 */
export function planRun(runbook: RunbookDef, given: Readonly<Record<string, string>>, hosts: ReadonlyMap<string, HostDef>): RunPlan {
  const known = new Set(runbook.params.map((param) => param.name));
  const unknown = Object.keys(given).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new PlanError(`${runbook.id} has no parameter ${unknown.join(', ')}; it takes ${describeParams(runbook) || 'no parameters'}`);
  }
  // Own keys only: a parameter named `constructor` or `toString` must not find Object.prototype's member.
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const problems: string[] = [];
  for (const param of runbook.params) {
    const raw = Object.hasOwn(given, param.name) ? given[param.name] : param.default;
    if (raw === undefined) {
      problems.push(`${param.name} is missing (${param.type}${param.description ? `: ${param.description}` : ''})`);
      continue;
    }
    try {
      params[param.name] = validateParam(param.type, raw, {
        name: param.name,
        ...(param.values ? { values: param.values } : {}),
        ...(param.min !== undefined ? { min: param.min } : {}),
        ...(param.max !== undefined ? { max: param.max } : {}),
        ...(param.type === 'host' ? { inventory: [...hosts.keys()] } : {}),
      });
    } catch (error) {
      if (error instanceof ParamError) problems.push(error.message);
      else throw error;
    }
  }
  if (problems.length > 0) throw new PlanError(problems.join('; '));
  const types = paramTypes(runbook.params);
  const plan = (step: StepDef): PlannedStep => ({
    id: step.id,
    title: step.title,
    host: hostFor(step, params, hosts),
    command: sudoPreflight(step.sudo ?? []) + renderCommand(step.run, params, types),
    timeoutSeconds: step.timeoutSeconds,
    confirm: step.confirm,
    output: step.output,
  });
  const steps = runbook.steps.map(plan);
  const rollback = runbook.rollback.map(plan);
  return { runbookId: runbook.id, params, steps, rollback, hosts: [...new Set([...steps, ...rollback].map((step) => step.host))].sort() };
}

/** What a step's `sudo:` may name: a program's plain name, looked up on the host's PATH. */
export const SUDO_PROGRAM = /^[a-z0-9][a-z0-9._+-]*$/;

/**
 * Shell text that checks, before the step's command, that the SSH user may run each program with `sudo -n`
 * (no password: nobody could type one), and otherwise stops with the sudoers line to add. `sudo -n -l PROGRAM`
 * asks sudo's policy without running anything. Program names are checked against SUDO_PROGRAM by the config.
 */
export function sudoPreflight(programs: readonly string[]): string {
  if (programs.length === 0) return '';
  for (const program of programs) if (!SUDO_PROGRAM.test(program)) throw new TypeError(`sudo: "${program}" is not a program name`);
  return (
    `for scalebot_program in ${programs.join(' ')}; do ` +
    'scalebot_path=$(command -v "$scalebot_program") || { echo "scalebot: $scalebot_program is not installed on $(hostname)" >&2; exit 127; }; ' +
    'sudo -n -l "$scalebot_path" >/dev/null 2>&1 || { echo "scalebot: $(id -un) may not run $scalebot_program with sudo -n on $(hostname). ' +
    'As root, install sudo if it is missing, run visudo -f /etc/sudoers.d/scalebot and add: $(id -un) ALL=(root) NOPASSWD: $scalebot_path" >&2; ' +
    'exit 126; }; done; '
  );
}

/** Each parameter's type, as renderCommand judges where a value may go. */
export function paramTypes(params: readonly Pick<ParamDef, 'name' | 'type' | 'values'>[]): Record<string, PlaceholderType> {
  const types: Record<string, PlaceholderType> = Object.create(null) as Record<string, PlaceholderType>;
  for (const param of params) types[param.name] = { type: param.type, ...(param.values ? { values: param.values } : {}) };
  return types;
}

export function describeParams(runbook: RunbookDef): string {
  return runbook.params
    .map(
      (param) =>
        `${param.name}=<${param.type === 'enum' && param.values ? param.values.join('|') : param.type}>` +
        `${param.default !== undefined ? ` (default ${param.default})` : ''}`,
    )
    .join(' ');
}

export { judgeApproval, type ApprovalDecision } from './approval.ts';

export function describePolicy(policy: ApprovalPolicy): string {
  if (policy.approvers.length === 0 && !policy.anyone) return 'no approvers named, so nobody may approve it';
  const who = policy.anyone ? 'anyone (explicitly)' : describeIds(policy.approvers);
  const whoElse = policy.allowSelf ? '' : ', not the requester';
  return `${policy.required} approval${policy.required === 1 ? '' : 's'} from ${who}${whoElse}, within ${formatDuration(policy.expiresSeconds)}`;
}

/** Slack ids as mentions: users <@U…>, groups <!subteam^S…>, handles as code. */
export function describeIds(ids: readonly string[]): string {
  return ids.map((id) => (id.startsWith('S') ? `<!subteam^${id}>` : id.startsWith('@') ? `\`${id}\`` : `<@${id}>`)).join(', ');
}
