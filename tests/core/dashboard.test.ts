import type { Dashboard, Panel, RowPanel, VariableModel } from '@grafana/schema';
// A value import, in the test only: the bot's code imports the package's types alone (erased at run time).
import { defaultDashboard } from '@grafana/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import { buildDashboard, DASHBOARD_SCHEMA_VERSION, groupsByInstance, GRAFANA_UNITS } from '../../core/dashboard.ts';
import { OPERATORS, SEVERITIES, type Trigger } from '../../core/triggers.ts';
import { UNITS } from '../../core/units.ts';

// `scalebot dashboard`: typed against @grafana/schema (a compile-time check, `satisfies Dashboard` below and
// the return type of buildDashboard), then checked as JSON: what Grafana needs to import and lay it out, and
// what makes each panel the trigger it shows. The package ships no JSON schema (only .d.ts and JavaScript,
// its CUE sources stay in Grafana's repository), so the types and this structural check are the schema check.

const GUIDE = loadConfig();

type AnyPanel = Panel | RowPanel;
const isRow = (panel: AnyPanel): panel is RowPanel => panel.type === 'row';
const targetsOf = (panel: Panel) => (panel.targets ?? []) as unknown as Target[];

interface Target {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
  legendFormat?: string;
}

/** Every property Grafana reads to import and lay out the dashboard, and the trigger each panel stands for. */
function checkStructure(dashboard: Dashboard, triggers: readonly Trigger[], datasourceUid?: string): void {
  expect(dashboard.schemaVersion).toBe(defaultDashboard.schemaVersion);
  const panels = dashboard.panels ?? [];
  const ids = panels.map((panel) => panel.id);
  expect(ids.every((id) => Number.isInteger(id) && id! > 0)).toBe(true);
  expect(new Set(ids).size).toBe(ids.length);

  // The grid: 24 columns, every panel inside it, no two panels on one cell.
  const cells = new Set<string>();
  for (const panel of panels) {
    const { x, y, w, h } = panel.gridPos!;
    expect(x).toBeGreaterThanOrEqual(0);
    expect(w).toBeGreaterThan(0);
    expect(h).toBeGreaterThan(0);
    expect(x + w).toBeLessThanOrEqual(24);
    for (let column = x; column < x + w; column += 1) {
      for (let row = y; row < y + h; row += 1) {
        const cell = `${column},${row}`;
        expect(cells.has(cell), `panel ${panel.id} overlaps another at ${cell}`).toBe(false);
        cells.add(cell);
      }
    }
  }

  // Rows: immediate first, then soon, each present only with triggers; an open row's panels follow it.
  const rows = panels.filter(isRow);
  const severitiesPresent = SEVERITIES.filter((severity) => triggers.some((trigger) => trigger.severity === severity));
  expect(rows.map((row) => row.title)).toEqual(severitiesPresent.map((severity) => (severity === 'immediate' ? 'Scale immediately if' : 'Scale soon if')));
  for (const row of rows) {
    expect(row.collapsed).toBe(false);
    expect(row.panels).toEqual([]);
    expect(row.gridPos).toMatchObject({ x: 0, w: 24, h: 1 });
  }
  const rowIndexes = rows.map((row) => panels.indexOf(row));
  for (let index = 1; index < rows.length; index += 1) expect(rows[index]!.gridPos!.y).toBeGreaterThan(rows[index - 1]!.gridPos!.y);

  // Template variables: the datasource (unless a uid was given) and the instance picker.
  const variables = dashboard.templating?.list ?? [];
  const byName = new Map<string, VariableModel>(variables.map((variable) => [variable.name, variable]));
  expect(new Set(byName.keys()).size).toBe(variables.length);
  const expectedRef = { type: 'prometheus', uid: datasourceUid ?? '${datasource}' };
  if (datasourceUid === undefined) {
    expect(byName.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    // Declared before the variable that queries through it.
    expect(variables.findIndex((variable) => variable.name === 'datasource')).toBeLessThan(variables.findIndex((variable) => variable.name === 'instance'));
  } else {
    expect(byName.has('datasource')).toBe(false);
    expect(JSON.stringify(dashboard)).not.toContain('${datasource}');
  }
  expect(byName.get('instance')).toMatchObject({ type: 'query', query: 'label_values(instance)', multi: true, includeAll: true, datasource: expectedRef });

  // One panel per trigger, in its severity's row, showing exactly its query against the one datasource.
  const panelsOfTriggers = panels.filter((panel): panel is Panel => !isRow(panel));
  expect(panelsOfTriggers).toHaveLength(triggers.length);
  for (const trigger of triggers) {
    const matching = panelsOfTriggers.filter((panel) => targetsOf(panel).some((target) => target.expr === trigger.query));
    const own = matching.filter((panel) => panel.description?.includes(`\`${trigger.id}\``));
    expect(own, `the panel of ${trigger.id}`).toHaveLength(1);
    const panel = own[0]!;
    expect(panel.type).toBe('timeseries');
    expect(panel.title).toBe(trigger.name);
    expect(panel.datasource).toEqual(expectedRef);
    const targets = targetsOf(panel);
    expect(targets).toHaveLength(1);
    expect(targets[0]!.datasource).toEqual(expectedRef);

    // Its row is the last row above it in the list and on the grid.
    const index = panels.indexOf(panel);
    const row = rows[rowIndexes.filter((rowIndex) => rowIndex < index).length - 1]!;
    expect(row.title).toBe(trigger.severity === 'immediate' ? 'Scale immediately if' : 'Scale soon if');
    expect(panel.gridPos!.y).toBeGreaterThan(row.gridPos!.y);

    const defaults = panel.fieldConfig!.defaults;
    expect(defaults.unit).toBe(GRAFANA_UNITS[trigger.unit]);
    expect(defaults.custom?.thresholdsStyle).toEqual({ mode: 'line' });
    const { mode, steps } = defaults.thresholds!;
    expect(mode).toBe('absolute');
    expect(steps).toHaveLength(2);
    // The base step is -∞ (null in JSON), then the trigger's threshold: ascending, as Grafana requires.
    expect(steps[0]!.value).toBeNull();
    expect(steps[1]!.value).toBe(trigger.threshold);
    // Grafana colours a value with the last step it reaches (value ≥ step): red must be the side that breaches.
    const breachSide = trigger.op === '>' || trigger.op === '>=' ? steps[1]! : steps[0]!;
    const okSide = breachSide === steps[1] ? steps[0]! : steps[1]!;
    expect(breachSide.color).toBe('red');
    expect(okSide.color).toBe('green');

    // Per-instance queries name each line by instance and narrow it with the picker; the others show as they are.
    if (groupsByInstance(trigger.query)) {
      expect(targets[0]!.legendFormat).toBe('{{instance}}');
      expect(JSON.stringify(panel.transformations)).toContain('${instance:regex}');
    } else {
      expect(panel.transformations).toBeUndefined();
    }
  }
}

describe('buildDashboard', () => {
  it("is a Dashboard as @grafana/schema types it (checked by tsc), at the schema version of Grafana's own default", () => {
    const dashboard = buildDashboard(GUIDE) satisfies Dashboard;
    expect(DASHBOARD_SCHEMA_VERSION).toBe(defaultDashboard.schemaVersion);
    expect(dashboard.uid).toBe('scalebot-triggers');
  });

  it("lays out the guide's triggers: one panel each, immediate then soon, thresholds as lines", () => {
    checkStructure(buildDashboard(GUIDE), GUIDE.triggers);
    checkStructure(buildDashboard(GUIDE, { datasourceUid: 'P1809F7CD0C75ACF3' }), GUIDE.triggers, 'P1809F7CD0C75ACF3');
  });

  it('colours a "<" trigger (cache hit rate) red below its threshold and green from it on', () => {
    const cache = GUIDE.triggers.find((trigger) => trigger.id === 'cache_hit_rate')!;
    expect(cache.op).toBe('<');
    const panel = buildDashboard({ triggers: [cache] }).panels!.find((candidate) => !isRow(candidate)) as Panel;
    expect(panel.fieldConfig!.defaults.thresholds!.steps).toEqual([
      { color: 'red', value: null },
      { color: 'green', value: 0.7 },
    ]);
    // The threshold line stays in view from below, where the breaches are.
    expect(panel.fieldConfig!.defaults.custom).toMatchObject({ axisSoftMin: 0.7 });
  });

  it('knows which queries group by instance', () => {
    expect(groupsByInstance('1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))')).toBe(true);
    expect(groupsByInstance('sum by (job, instance) (x) / on (instance) y')).toBe(true);
    expect(groupsByInstance('sum(app_concurrent_users)')).toBe(false);
    expect(groupsByInstance('histogram_quantile(0.99, sum by (le) (rate(x[5m])))')).toBe(false);
    expect(groupsByInstance('sum by (instance_type) (x)')).toBe(false);
  });

  it('holds its structure for any set of triggers (generated)', () => {
    const trigger = fc.record({
      id: fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/),
      name: fc.string({ minLength: 1, maxLength: 40 }),
      severity: fc.constantFrom(...SEVERITIES),
      query: fc.oneof(
        fc.stringMatching(/^[a-z_]{1,12}$/).map((metric) => `sum(${metric})`),
        fc.stringMatching(/^[a-z_]{1,12}$/).map((metric) => `max by (instance) (${metric})`),
      ),
      op: fc.constantFrom(...OPERATORS),
      threshold: fc.double({ min: -1e12, max: 1e12, noNaN: true }),
      forSeconds: fc.nat(3600),
      unit: fc.constantFrom(...UNITS),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(trigger, { maxLength: 25, selector: (generated) => generated.id }),
        fc.option(fc.stringMatching(/^[a-zA-Z0-9_-]{1,40}$/), { nil: undefined }),
        (triggers, datasourceUid) => {
          checkStructure(buildDashboard({ triggers }, datasourceUid === undefined ? {} : { datasourceUid }), triggers, datasourceUid);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a datasource uid Grafana would not have, saying what one looks like', () => {
    expect(() => buildDashboard(GUIDE, { datasourceUid: 'has spaces' })).toThrow(/not a Grafana uid \(letters, digits, _ and -, at most 40\)/);
  });
});
