/**
 * Splits what follows `/scale` into words the way a shell user expects: spaces separate, "double" or
 * 'single' quotes keep spaces, and Slack's smart quotes count as quotes. Nothing here is ever run by a shell.
 */
export function splitArguments(text: string): string[] {
  const normalized = text.replace(/[\u201c\u201d]/g, '"').replace(/[\u2018\u2019]/g, "'");
  const words: string[] = [];
  let current = '';
  let quote: string | null = null;
  let inWord = false;
  for (const character of normalized) {
    if (quote) {
      if (character === quote) quote = null;
      else current += character;
    } else if (character === '"' || character === "'") {
      quote = character;
      inWord = true;
    } else if (/\s/.test(character)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += character;
      inWord = true;
    }
  }
  if (quote) throw new Error(`a ${quote} quote is not closed`);
  if (inWord) words.push(current);
  return words;
}
