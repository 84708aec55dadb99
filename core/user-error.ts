/**
 * Something a person asked for that cannot be done as asked: a typo, a click on a button that no longer
 * applies, a parameter out of range. The message says what to type or do instead, and is shown only to that
 * person (commands/dispatch.ts for commands, bot/listeners/on-action.ts for buttons). Anything else thrown is
 * a fault of ours: logged with a reference, never shown.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
