import type { App, RespondFn } from '@slack/bolt';
import { describeStartTarget, parseAdviseAction, type AdviseAction } from '../../blocks/advice.ts';
import { giveAdvice } from '../../commands/advise.ts';
import { dispatchScaleCommand } from '../../commands/dispatch.ts';
import type { CommandDeps } from '../../commands/types.ts';
import { describeParams } from '../../core/runbooks.ts';
import { toResponsePayload } from './commands.ts';
import { onAction, type Click, type OnActionDeps } from './on-action.ts';

export interface AdviseActionDeps extends OnActionDeps {
  /** The clicks walk the tree and start commands as the clicker: what a typed command has. */
  readonly commands: CommandDeps;
}

/**
 * The advice message's buttons. Answers (Yes/No), "Change answer" and "Walk the tree again" re-walk the tree
 * on fresh metrics and replace the message; "Start" runs the matching `/scale checklist …` or `/scale run …`
 * as if the clicker had typed it.
 */
export function registerAdviseActions(app: App, { commands, ...actions }: AdviseActionDeps): void {
  const startTargets = Object.values(commands.config.advisor.start).filter((target): target is string => Boolean(target));
  onAction(
    app,
    'advise_',
    (actionId, value) => parseAdviseAction(actionId, value, startTargets),
    (click) => handleAdviseClick(click, commands),
    actions,
  );
}

async function handleAdviseClick({ action, user, channel, respond }: Click<AdviseAction>, deps: CommandDeps): Promise<void> {
  const where = channel ?? null;
  if (action.kind === 'start') {
    await startTarget(action.target, { user, channel: where, respond, deps });
    return;
  }
  if (action.kind === 'answer') {
    await deps.storage.advice.recordAnswer({ at: deps.clock(), actor: user, channel: where, question: action.question, answer: action.answer });
  }
  const run = await giveAdvice(deps, {
    actor: user,
    channel: where,
    trigger: action.kind,
    ...(action.kind === 'change' ? { ask: action.question } : {}),
    ...(action.kind === 'answer' ? { answered: action.question } : {}),
  });
  await respond({ replace_original: true, text: run.message.text, blocks: [...(run.message.blocks ?? [])] });
}

export interface StartContext {
  readonly user: string;
  readonly channel: string | null;
  readonly respond: RespondFn;
  readonly deps: CommandDeps;
}

/** The Start button: runs the matching subcommand as the clicker, or says what to type when it needs more. */
export async function startTarget(target: string, { user, channel, respond, deps }: StartContext): Promise<void> {
  const { command } = describeStartTarget(target);
  await deps.storage.decisions.append({
    at: deps.clock(),
    kind: 'advice_start',
    actor: user,
    channel,
    subject: target,
    outcome: channel ? 'started' : 'not_available',
  });
  const runbook = target.startsWith('runbook:') ? deps.config.runbooks.find((candidate) => `runbook:${candidate.id}` === target) : undefined;
  if (runbook?.params.some((param) => param.default === undefined)) {
    // A runbook needs its parameters (which servers, which addresses): say exactly what to type.
    await respond({
      response_type: 'ephemeral',
      replace_original: false,
      text: `Type \`/scale run ${runbook.id} ${describeParams(runbook)}\` to plan it; it runs once someone else approves it.`,
    });
    return;
  }
  if (!channel) {
    // A command posts in the channel it was typed in; a click from outside one has none to post in.
    await respond({ response_type: 'ephemeral', replace_original: false, text: `Type \`${command}\` in a channel to start it.` });
    return;
  }
  await dispatchScaleCommand(
    {
      text: command.replace(/^\/scale /, ''),
      user,
      channel,
      respond: async (reply) => {
        await respond({ ...toResponsePayload(reply), replace_original: false });
      },
    },
    deps,
  );
}
