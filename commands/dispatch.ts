import { randomBytes } from 'node:crypto';
import { somethingWentWrong, warning } from '../blocks/replies.ts';
import type { Reply } from '../blocks/types.ts';
import { splitArguments } from '../core/arguments.ts';
import { UserError } from '../core/user-error.ts';
import { buildHelp } from './help.ts';
import { findSubcommand, SUBCOMMANDS } from './registry.ts';
import { UsageError, type CommandDeps, type Subcommand } from './types.ts';

export interface ScaleInvocation {
  readonly text: string;
  readonly user: string;
  readonly channel: string;
  respond(reply: Reply): Promise<void>;
}

export interface DispatchResult {
  readonly subcommand: string;
  readonly outcome: string;
  readonly ref?: string;
}

/**
 * Routes `/scale <sub> …` through the registry. The one place that turns errors into replies: a user's
 * mistake (any UserError) becomes an ephemeral message saying what to type; anything else is logged with a
 * reference id that the reply shows. Every invocation, whatever its outcome, is a row in the decision log.
 * `subcommands` is the registry; its unit test passes its own list beside it.
 */
export async function dispatchScaleCommand(
  invocation: ScaleInvocation,
  deps: CommandDeps,
  subcommands: readonly Subcommand[] = SUBCOMMANDS,
): Promise<DispatchResult> {
  const startedAt = deps.clock();
  let subcommandName = 'help';
  let args: string[] = [];
  let outcome = 'ok';
  let detail: Record<string, unknown> = {};
  let ref: string | undefined;
  try {
    let words: string[];
    try {
      words = splitArguments(unescapeSlack(invocation.text));
    } catch (error) {
      subcommandName = 'invalid';
      throw new UsageError(`I could not read that: ${(error as Error).message}.`);
    }
    const [first, ...rest] = words;
    args = rest;
    if (first === undefined) {
      await invocation.respond({ ...buildHelp(subcommands), ephemeral: true });
    } else {
      const subcommand = findSubcommand(first, subcommands);
      if (!subcommand) {
        subcommandName = 'unknown';
        throw new UsageError(`\`/scale ${first}\` is not a command I know.`);
      }
      subcommandName = subcommand.name;
      const result = await subcommand.run({ args, user: invocation.user, channel: invocation.channel, deps, respond: invocation.respond });
      if (result?.outcome) outcome = result.outcome;
      if (result?.detail) detail = result.detail;
    }
  } catch (error) {
    if (error instanceof UserError) {
      outcome = 'usage_error';
      detail = { message: error.message };
      await safeRespond(invocation, { ...buildHelp(subcommands, warning(neutralizeControlSequences(error.message))), ephemeral: true }, deps);
    } else {
      outcome = 'error';
      ref = randomBytes(4).toString('hex');
      detail = { ref, error: (error as Error)?.message ?? String(error) };
      deps.logger.error({ err: error, ref, subcommand: subcommandName }, 'command failed');
      await safeRespond(invocation, { text: somethingWentWrong(ref), ephemeral: true }, deps);
    }
  }
  await deps.storage.decisions.append({
    at: startedAt,
    kind: 'command',
    actor: invocation.user,
    channel: invocation.channel,
    subject: subcommandName,
    outcome,
    detail: { text: invocation.text, args, duration_ms: deps.clock().getTime() - startedAt.getTime(), ...detail },
  });
  return { subcommand: subcommandName, outcome, ...(ref ? { ref } : {}) };
}

/** Slack sends a slash command's text with &, < and > HTML-escaped. */
export function unescapeSlack(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * A usage error quotes what was typed; typed `<!channel>`, `<@U…>`, `<#C…>` or `<https://…|…>` would ping or
 * link when the bot says it back. Their `<` is escaped (Slack shows `&lt;` as `<`); the placeholders of the
 * usage texts (`<host>`, `<users>`) are left as they are.
 */
export function neutralizeControlSequences(text: string): string {
  return text.replace(/<(?=[!@#]|[a-z][a-z0-9+.-]*:)/gi, '&lt;');
}

async function safeRespond(invocation: ScaleInvocation, reply: Reply, deps: CommandDeps): Promise<void> {
  try {
    await invocation.respond(reply);
  } catch (error) {
    deps.logger.error({ err: error }, 'could not answer the user');
  }
}
