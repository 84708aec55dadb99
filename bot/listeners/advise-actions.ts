import { describeParams } from '../../core/runbooks.ts';
import { randomBytes } from 'node:crypto';
import type { App, BlockButtonAction, RespondFn } from '@slack/bolt';
import { giveAdvice } from '../../commands/advise.ts';
import { dispatchScaleCommand } from '../../commands/dispatch.ts';
import { findSubcommand } from '../../commands/registry.ts';
import type { CommandDeps } from '../../commands/types.ts';
import { isQuestionId, type Answer, type QuestionId } from '../../core/advisor.ts';
import { recordAdviceAnswer } from '../../db/advice.ts';
import { recordDecision } from '../../db/decision-log.ts';
import { ADVISE_ACTIONS, describeStartTarget } from '../../blocks/advice.ts';
import { toResponsePayload } from './commands.ts';

export type AdviseAction =
  | { readonly kind: 'answer'; readonly question: QuestionId; readonly answer: Answer }
  | { readonly kind: 'change'; readonly question: QuestionId }
  | { readonly kind: 'refresh' }
  | { readonly kind: 'start'; readonly target: string };

/** Reads a button's action id and value; anything not exactly what the advice message shows is refused. */
export function parseAdviseAction(actionId: string, value: string | undefined, startTargets: readonly string[]): AdviseAction | null {
  if (value === undefined) return null;
  if (actionId === ADVISE_ACTIONS.yes || actionId === ADVISE_ACTIONS.no) {
    return isQuestionId(value) ? { kind: 'answer', question: value, answer: actionId === ADVISE_ACTIONS.yes ? 'yes' : 'no' } : null;
  }
  if (actionId.startsWith(ADVISE_ACTIONS.changePrefix)) {
    const question = actionId.slice(ADVISE_ACTIONS.changePrefix.length);
    return isQuestionId(question) && value === question ? { kind: 'change', question } : null;
  }
  if (actionId === ADVISE_ACTIONS.refresh) return value === 'refresh' ? { kind: 'refresh' } : null;
  // Only a target the config names: a forged value must not reach the dispatcher.
  if (actionId === ADVISE_ACTIONS.start) return startTargets.includes(value) ? { kind: 'start', target: value } : null;
  return null;
}

/**
 * The advice message's buttons. Answers (Yes/No), "Change answer" and "Walk the tree again" re-walk the tree
 * on fresh metrics and replace the message; "Start" runs the matching `/scale checklist …` or `/scale run …`
 * as if the clicker had typed it, or, when this bot has no such command yet, says what to type.
 */
export function registerAdviseActions(app: App, deps: CommandDeps): void {
  app.action<BlockButtonAction>(/^advise_/, async ({ ack, body, action, respond }) => {
    await ack();
    const user = body.user.id;
    const channel = body.channel?.id ?? null;
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    const parsed = parseAdviseAction(action.action_id, action.value, Object.values(deps.config.advisor.start).filter((target): target is string => Boolean(target)));
    if (!parsed) {
      deps.logger.warn({ actionId: action.action_id, user }, 'refused a malformed advise action');
      await tell(':warning: That button is not one I know; nothing was changed.');
      return;
    }
    try {
      if (parsed.kind === 'start') {
        await startTarget(parsed.target, { user, channel, respond, deps });
        return;
      }
      if (parsed.kind === 'answer') {
        recordAdviceAnswer(deps.db, { at: deps.clock(), actor: user, channel, question: parsed.question, answer: parsed.answer });
      }
      const run = await giveAdvice(deps, {
        actor: user,
        channel,
        trigger: parsed.kind,
        ...(parsed.kind === 'change' ? { ask: parsed.question } : {}),
        ...(parsed.kind === 'answer' ? { answered: parsed.question } : {}),
      });
      await respond({ replace_original: true, text: run.message.text, blocks: [...(run.message.blocks ?? [])] });
    } catch (error) {
      const ref = randomBytes(4).toString('hex');
      deps.logger.error({ err: error, ref, actionId: action.action_id }, 'advise action failed');
      await tell(`:x: Something went wrong (ref \`${ref}\`). It is logged under that ref; try again in a moment.`).catch(() => {});
    }
  });
}

export interface StartContext {
  readonly user: string;
  readonly channel: string | null;
  readonly respond: RespondFn;
  readonly deps: CommandDeps;
}

/** The Start button: runs the matching subcommand as the clicker, or says what to type when there is none. */
export async function startTarget(target: string, { user, channel, respond, deps }: StartContext): Promise<void> {
  const { command } = describeStartTarget(target);
  const text = command.replace(/^\/scale /, '');
  const subcommand = findSubcommand(text.split(' ')[0]!);
  recordDecision(deps.db, {
    at: deps.clock(),
    kind: 'advice_start',
    actor: user,
    channel,
    subject: target,
    outcome: subcommand ? 'started' : 'not_available',
  });
  const runbook = target.startsWith('runbook:') ? deps.config.runbooks.find((candidate) => `runbook:${candidate.id}` === target) : undefined;
  if (subcommand && runbook && runbook.params.some((param) => param.default === undefined)) {
    // A runbook needs its parameters (which servers, which addresses): say exactly what to type.
    await respond({
      response_type: 'ephemeral',
      replace_original: false,
      text: `Type \`/scale run ${runbook.id} ${describeParams(runbook)}\` to plan it; it runs once someone else approves it.`,
    });
    return;
  }
  if (!subcommand || !channel) {
    const feature = target.startsWith('runbook:') ? 'Runbooks are' : 'Checklists are';
    await respond({
      response_type: 'ephemeral',
      replace_original: false,
      text: `${feature} not part of this scalebot yet. When they are, type \`${command}\` to start it.`,
    });
    return;
  }
  await dispatchScaleCommand(
    {
      text,
      user,
      channel,
      respond: async (reply) => {
        await respond({ ...toResponsePayload(reply), replace_original: false });
      },
    },
    deps,
  );
}
