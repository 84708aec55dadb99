// The replies every feature gives in the same words: named once, so that a change of wording is one change.

/** A button id or value the bot did not put there (an old message, a forged request). */
export const UNKNOWN_BUTTON = ':warning: That button is not one I know; nothing was changed.';

/** A fault of ours: the ref finds the log line and the decision row. */
export function somethingWentWrong(ref: string): string {
  return `:x: Something went wrong (ref \`${ref}\`). It is logged under that ref; try again in a moment.`;
}

/** What a person asked for and cannot have as asked (a UserError's message): shown to them alone. */
export function warning(text: string): string {
  return `:warning: ${text}`;
}

/** A subcommand that reads no words after its name; `more` says what to type instead, or why. */
export function takesNoArguments(subcommand: string, more = ''): string {
  return `\`/scale ${subcommand}\` takes no arguments${more}.`;
}

/** Who may act, as Slack shows it: a user group as its mention, a handle in code, a user id as a mention. */
export function describeAllowed(allowed: readonly string[]): string {
  return allowed.map((id) => (id.startsWith('S') ? `<!subteam^${id}>` : id.startsWith('@') ? `\`${id}\`` : `<@${id}>`)).join(', ');
}
