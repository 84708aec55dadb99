// The replies every feature gives in the same words: named once, so that a change of wording is one change.

/** A button id or value the bot did not put there (an old message, a forged request). */
export const UNKNOWN_BUTTON = ':warning: That button is not one I know; nothing was changed.';

/** A fault of ours: the ref finds the log line and the decision row. */
export function somethingWentWrong(ref: string): string {
  return `:x: Something went wrong (ref \`${ref}\`). It is logged under that ref; try again in a moment.`;
}
