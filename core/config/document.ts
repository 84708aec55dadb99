import { LineCounter, parseDocument, type Document } from 'yaml';
import { formatPath, type Locate } from './shared.ts';

/** One config file as the loader hands it over: its text, or why it could not be read. */
export type ConfigSource = { readonly file: string; readonly text: string } | { readonly file: string; readonly unreadable: string };

/** A file that is valid YAML: its data, and a way to point at any path in it. */
export interface ConfigDocument {
  readonly file: string;
  /** The document as plain data. */
  readonly raw: unknown;
  readonly locate: Locate;
}

export function parseConfigSource(source: ConfigSource, problems: string[]): ConfigDocument | undefined {
  if ('unreadable' in source) {
    problems.push(`${source.file}: ${source.unreadable}`);
    return undefined;
  }
  const { file } = source;
  const lineCounter = new LineCounter();
  const document = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    for (const error of document.errors) {
      const position = lineCounter.linePos(error.pos[0]);
      problems.push(`${file}:${position.line}:${position.col}: not valid YAML: ${error.message.split('\n')[0]}`);
    }
    return undefined;
  }
  // An alias to no anchor, or too many aliases (a "billion laughs" file), only shows when the data is built.
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    problems.push(`${file}:1:1: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
  return { file, raw, locate: (path, message) => locate(file, document, lineCounter, path, message) };
}

/** "file:line:col: path: message", pointing at the closest node that exists in the file. */
function locate(file: string, document: Document.Parsed, lineCounter: LineCounter, path: ReadonlyArray<PropertyKey>, message: string): string {
  for (let length = path.length; length >= 0; length -= 1) {
    const node = document.getIn(path.slice(0, length) as unknown[], true) as { range?: [number, number] } | undefined;
    if (node?.range) {
      const { line, col } = lineCounter.linePos(node.range[0]);
      return `${file}:${line}:${col}: ${formatPath(path) || '(top level)'}: ${message}`;
    }
  }
  return `${file}: ${formatPath(path) || '(top level)'}: ${message}`;
}
