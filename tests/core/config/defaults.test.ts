// The defaults live in config/*.yaml and nowhere else: the merged document is parsed with every setting
// required, so a default taken out of the YAML is an error, never quietly filled in by the code.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMap, parseDocument } from 'yaml';
import { DEFAULTS_DIR } from '../../../bot/config.ts';
import { ConfigError, parseConfig, type ConfigSource } from '../../../core/config/index.ts';

const defaults: ConfigSource[] = readdirSync(DEFAULTS_DIR)
  .filter((name) => name.endsWith('.yaml'))
  .sort()
  .map((name) => ({ file: join(DEFAULTS_DIR, name), text: readFileSync(join(DEFAULTS_DIR, name), 'utf8') }));

/** Maps whose keys are data, not settings: any key may be missing (no host, no Start button) or be the one given. */
const DATA_MAPS = new Set(['hosts', 'advisor.start', 'current']);

/** Every setting the defaults give: each top-level key and, inside a settings map, each of its keys. */
function settingPaths(): { readonly source: number; readonly path: readonly string[] }[] {
  const paths: { source: number; path: string[] }[] = [];
  defaults.forEach((source, index) => {
    const walk = (node: unknown, path: string[]) => {
      paths.push({ source: index, path });
      if (!isMap(node) || DATA_MAPS.has(path.join('.'))) return;
      for (const pair of node.items) walk(pair.value, [...path, String((pair.key as { value: unknown }).value)]);
    };
    const root = parseDocument('text' in source ? source.text : '').contents;
    if (!isMap(root)) throw new Error(`${source.file} is not a map`);
    for (const pair of root.items) walk(pair.value, [String((pair.key as { value: unknown }).value)]);
  });
  return paths;
}

function without(index: number, path: readonly string[]): ConfigSource[] {
  return defaults.map((source, at) => {
    if (at !== index || !('text' in source)) return source;
    const document = parseDocument(source.text);
    document.deleteIn(path);
    return { file: source.file, text: String(document) };
  });
}

describe('the defaults', () => {
  it('parse alone, and a user file that says nothing changes nothing', () => {
    const alone = parseConfig({ defaults });
    const withEmptyFile = parseConfig({ defaults, user: { file: '/etc/scalebot.yaml', text: '{}\n' } });
    expect({ ...withEmptyFile, sources: alone.sources }).toEqual(alone);
    expect(withEmptyFile.sources).toEqual([...alone.sources, '/etc/scalebot.yaml']);
  });

  it('are all required: take any setting out of config/*.yaml and the config no longer parses, naming it', () => {
    const paths = settingPaths();
    expect(paths.map(({ path }) => path.join('.'))).toEqual(
      expect.arrayContaining([
        'prometheus.url',
        'prometheus.timeout',
        'grafana.dashboard_url',
        'slack.alerts_channel',
        'watch.repeat.soon',
        'watch.snooze_options',
        'hosts',
        'admins',
      ]),
    );
    expect(paths.map(({ path }) => path.join('.'))).toEqual(
      expect.arrayContaining(['triggers', 'runbooks', 'checklists', 'pricing', 'current', 'advisor.remember.optimized', 'advisor.start']),
    );
    const unnamed: string[] = [];
    for (const { source, path } of paths) {
      const name = path.join('.');
      let problems: readonly string[] | undefined;
      try {
        parseConfig({ defaults: without(source, path) });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems = error.problems;
      }
      expect(problems, `${name} taken out of the defaults`).toBeDefined();
      if (!problems!.some((problem) => problem.includes(name))) unnamed.push(`${name}: ${problems![0]}`);
    }
    // These are missed first by what refers to them, before the merged document is parsed.
    expect(unnamed).toEqual([
      expect.stringMatching(/^checklists: runbooks\.vertical-migration\.requires_checklist: no checklist "before" is configured \(none\)/),
    ]);
  });

  it('report a default file that cannot be read, and the user file by its own message', () => {
    expect(() => parseConfig({ defaults: [...defaults, { file: '/defaults/extra.yaml', unreadable: 'cannot be read (EACCES)' }] })).toThrow(
      expect.objectContaining({ problems: ['/defaults/extra.yaml: cannot be read (EACCES)'] }),
    );
    expect(() => parseConfig({ defaults, user: { file: '/etc/scalebot.yaml', text: 'watch:\n  interval: soon\n' } })).toThrow(
      expect.objectContaining({ problems: ['/etc/scalebot.yaml:2:13: watch.interval: "soon" is not a duration: write it like 90s, 15m, 4h, 1d or 1h30m'] }),
    );
  });
});
