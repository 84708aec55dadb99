import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/config/index.ts';
import { loadConfig } from '../../bot/config.ts';
import { runCli } from '../../bot/cli.ts';

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'scalebot-config-')), 'scalebot.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(text: string): readonly string[] {
  const file = writeConfig(text);
  try {
    loadConfig({ file });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((problem) => problem.replace(file, 'FILE'));
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('checklists in the config', () => {
  it("defaults to the guide's eight lists, with stable item ids, sections and actions", () => {
    const { checklists } = loadConfig();
    expect(checklists.map((checklist) => [checklist.id, checklist.items.length])).toEqual([
      ['before', 8],
      ['during', 7],
      ['after', 6],
      ['optimize', 22],
      ['tests', 4],
      ['load-balancer', 14],
      ['stateless', 12],
      ['emergency', 9],
    ]);
    const before = checklists.find((checklist) => checklist.id === 'before')!;
    expect(before.items[0]).toEqual({ id: 'review_metrics', text: 'Review current metrics (CPU, memory, latency)', action: { kind: 'status_snapshot' } });
    expect(before.items.find((item) => item.id === 'full_backup')?.action).toEqual({ kind: 'runbook', runbook: 'backup' });
    expect(before.items.find((item) => item.id === 'test_restore')?.action).toEqual({ kind: 'runbook', runbook: 'test-restore' });
    expect(before.responders).toEqual([]);
    const optimize = checklists.find((checklist) => checklist.id === 'optimize')!;
    expect([...new Set(optimize.items.map((item) => item.section))]).toEqual([
      'Database optimization',
      'Application optimization',
      'Frontend optimization',
      'Infrastructure optimization',
    ]);
  });

  it("adds a list, replaces a default's items by id, limits who may tick, and drops a disabled list", () => {
    const file = writeConfig(`
checklists:
  - id: deploy
    title: Release day
    responders: [U0LEAD, S0OPS]
    items:
      - { id: freeze, text: Announce the code freeze }
      - { id: smoke, text: Smoke test, section: Checks, action: status_snapshot }
  - id: before
    items:
      - { id: backup, text: Back up, action: { runbook: pg_backup } }
  - id: after
    responders: [U0SRE]
  - id: tests
    enabled: false
`);
    const { checklists } = loadConfig({ file });
    expect(checklists.map((checklist) => checklist.id)).toEqual(['before', 'during', 'after', 'optimize', 'load-balancer', 'stateless', 'emergency', 'deploy']);
    expect(checklists.find((checklist) => checklist.id === 'deploy')).toEqual({
      id: 'deploy',
      title: 'Release day',
      responders: ['U0LEAD', 'S0OPS'],
      items: [
        { id: 'freeze', text: 'Announce the code freeze' },
        { id: 'smoke', text: 'Smoke test', section: 'Checks', action: { kind: 'status_snapshot' } },
      ],
    });
    const before = checklists.find((checklist) => checklist.id === 'before')!;
    expect(before.title).toBe('Before scaling');
    expect(before.items).toEqual([{ id: 'backup', text: 'Back up', action: { kind: 'runbook', runbook: 'pg_backup' } }]);
    const after = checklists.find((checklist) => checklist.id === 'after')!;
    expect(after.responders).toEqual(['U0SRE']);
    expect(after.items).toHaveLength(6);
  });

  it('names file:line:col and the path for every checklist mistake', () => {
    const problems = problemsOf(`checklists:
  - id: deploy
    items:
      - { id: a, text: A }
  - id: release
    title: Release
  - id: before
    responders: [bob]
    items:
      - { id: a, text: A, action: reboot }
      - { id: a, text: Again }
      - { id: Bad, text: B }
      - { id: c, text: "" }
      - { id: d, text: D, colour: red }
`);
    expect(problems).toEqual([
      'FILE:8:18: checklists[2].responders[0]: a Slack user id (U…), user group id (S…) or group handle (@ops-leads)',
      'FILE:10:35: checklists[2].items[0].action: an action is `status_snapshot` or `{ runbook: <runbook id> }`',
      'FILE:12:15: checklists[2].items[2].id: an item id is lower-case letters, digits, "_" and "-", like full_backup',
      'FILE:13:24: checklists[2].items[3].text: Too small: expected string to have >=1 characters',
      'FILE:14:9: checklists[2].items[4]: Unrecognized key: "colour"',
      'FILE:2:5: checklists[0]: new checklist "deploy" needs title (or use the id of a default checklist to change it)',
      'FILE:5:5: checklists[1]: new checklist "release" needs items (or use the id of a default checklist to change it)',
      'FILE:11:15: checklists[2].items[1].id: item "a" is listed twice in checklist "before"',
    ]);
    const structural = problemsOf(`checklists:
  - id: deploy
    items:
      - { id: a, text: A }
  - id: release
    title: Release
  - id: before
    items:
      - { id: a, text: A }
      - { id: a, text: Again }
  - id: deploy
    enabled: false
`);
    expect(structural).toEqual([
      'FILE:2:5: checklists[0]: new checklist "deploy" needs title (or use the id of a default checklist to change it)',
      'FILE:5:5: checklists[1]: new checklist "release" needs items (or use the id of a default checklist to change it)',
      'FILE:10:15: checklists[2].items[1].id: item "a" is listed twice in checklist "before"',
      'FILE:11:9: checklists[3].id: checklist "deploy" is listed twice',
    ]);
  });

  it("accepts the README's example", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!).find((block) => block.startsWith('checklists:'));
    expect(example).toBeDefined();
    const { checklists } = loadConfig({ file: writeConfig(example!) });
    expect(checklists.map((checklist) => checklist.id)).toEqual([
      'before',
      'during',
      'after',
      'optimize',
      'load-balancer',
      'stateless',
      'emergency',
      'release',
    ]);
    expect(checklists.find((checklist) => checklist.id === 'before')?.responders).toEqual(['U0123ABCD', 'S0456EFGH', '@ops-leads']);
    expect(checklists.find((checklist) => checklist.id === 'release')?.items.map((item) => item.action)).toEqual([
      undefined,
      { kind: 'status_snapshot' },
      { kind: 'runbook', runbook: 'backup' },
    ]);
  });

  it('refuses a runbook that requires a checklist that is not configured', () => {
    const WITHOUT_BEFORE = 'during, after, optimize, tests, load-balancer, stateless, emergency';
    expect(problemsOf('runbooks:\n  - id: backup\n    requires_checklist: befor\nchecklists:\n  - id: tests\n    enabled: false\n')).toEqual([
      'runbooks.backup.requires_checklist: no checklist "befor" is configured (before, during, after, optimize, load-balancer, stateless, emergency)',
    ]);
    expect(problemsOf('checklists:\n  - id: before\n    enabled: false\n')).toEqual([
      `runbooks.vertical-migration.requires_checklist: no checklist "before" is configured (${WITHOUT_BEFORE})`,
      `runbooks.add-read-replica.requires_checklist: no checklist "before" is configured (${WITHOUT_BEFORE})`,
      `runbooks.vertical-migration-restore.requires_checklist: no checklist "before" is configured (${WITHOUT_BEFORE})`,
    ]);
  });

  it('refuses a list too long for one Slack message', () => {
    const items = Array.from({ length: 101 }, (_, index) => `      - { id: i${index}, text: Item ${index} }`).join('\n');
    const [problem] = problemsOf(`checklists:\n  - id: huge\n    title: Huge\n    items:\n${items}\n`);
    expect(problem).toBe('FILE:5:7: checklists[0].items: Too big: expected array to have <=100 items');
  });

  it('check-config counts the checklists and reports their errors with file:line', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text), env: {} };
    const good = writeConfig('checklists:\n  - id: tests\n    enabled: false\n');
    expect(await runCli(['check-config', good], io)).toBe(0);
    expect(out.join('')).toMatch(/: 13 triggers, 7 checklists, \d+ server tiers, \d+ stages\n$/);
    const bad = writeConfig('checklists:\n  - id: before\n    items:\n      - { id: x, text: X, action: { runbook: "Not An Id" } }\n');
    expect(await runCli(['check-config', bad], io)).toBe(1);
    expect(err.join('')).toContain(`${bad}:4:46: checklists[0].items[0].action.runbook: a runbook id is lower-case letters, digits, "_" and "-", like backup`);
  });
});
