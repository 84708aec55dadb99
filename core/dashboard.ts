/**
 * The guide's "Create Grafana dashboard with these panels": the triggers as a dashboard JSON that Grafana
 * imports (`scalebot dashboard`). Typed against Grafana's own published schema (@grafana/schema, a
 * devDependency): the imports are type-only and erased, so the running bot never loads the package.
 */
import type {
  DataSourceRef,
  Dashboard,
  GraphFieldConfig,
  GraphThresholdsStyleMode,
  FieldColorModeId,
  LegendDisplayMode,
  Panel,
  RowPanel,
  ThresholdsConfig,
  ThresholdsMode,
  SortOrder,
  TooltipDisplayMode,
  VariableModel,
} from '@grafana/schema';
import type { Options as TimeSeriesOptions } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import { formatDuration } from './duration.ts';
import { SEVERITIES, type Operator, type Severity, type Trigger } from './triggers.ts';
import { formatValue, type Unit } from './units.ts';

/**
 * The schema version Grafana 13's own empty dashboard carries (@grafana/schema's defaultDashboard; a test
 * holds the two together): Grafana migrates older JSON on import, never newer.
 */
export const DASHBOARD_SCHEMA_VERSION = 42;
export const DASHBOARD_UID = 'scalebot-triggers';
/** Grafana's uid rule for datasources and dashboards. */
export const DATASOURCE_UID_PATTERN = /^[a-zA-Z0-9_-]{1,40}$/;

export interface DashboardOptions {
  /** A Prometheus datasource's uid in the Grafana that imports it; absent: a `datasource` variable picks one. */
  readonly datasourceUid?: string;
}

/**
 * Grafana's string enums are nominal in TypeScript and their values exist only in the package's JavaScript,
 * which the bot does not load: this checks at compile time that `value` is one of the enum's values.
 */
function enumValue<E extends string>(value: `${E}`): E {
  return value as E;
}

/** Grafana's unit ids for ours. Bytes are decimal (decbytes: 20 GB = 20·10⁹), as core/units.ts writes them. */
export const GRAFANA_UNITS: Readonly<Record<Unit, string>> = {
  percent: 'percentunit',
  ratio: 'suffix:×',
  seconds: 's',
  bytes: 'decbytes',
  count: 'short',
};

const ROW_TITLES: Record<Severity, string> = { immediate: 'Scale immediately if', soon: 'Scale soon if' };
const PANEL_WIDTH = 12;
const PANEL_HEIGHT = 8;
const GRID_COLUMNS = 24;
const OK_COLOUR = 'green';
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, interpolated by Grafana
const DATASOURCE_VARIABLE = '${datasource}';
/** The picked instances as one regex alternation (`${instance:regex}`), `.*` for All. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, interpolated by Grafana
const PICKED_INSTANCES_REGEX = '${instance:regex}';
const BREACH_COLOUR = 'red';

/** Whether the query's result has one series per instance (`… by (instance) …`): those panels use the variable. */
export function groupsByInstance(query: string): boolean {
  return [...query.matchAll(/\bby\s*\(([^)]*)\)/g)].some((match) => /\binstance\b/.test(match[1] ?? ''));
}

/**
 * Grafana colours a value with the last step whose value it reaches (value ≥ step), from a base step at
 * -∞ (null in JSON). So `>`/`>=` triggers are green below the threshold and red from it on, and `<`/`<=`
 * triggers (cache hit rate) red below it and green from it on: in both, red is the side that breaches.
 */
export function thresholdSteps(op: Operator, threshold: number): ThresholdsConfig {
  const above = op === '>' || op === '>=';
  return {
    mode: enumValue<ThresholdsMode>('absolute'),
    steps: [
      { color: above ? OK_COLOUR : BREACH_COLOUR, value: null },
      { color: above ? BREACH_COLOUR : OK_COLOUR, value: threshold },
    ],
  };
}

function describeTrigger(trigger: Trigger): string {
  const held = trigger.forSeconds > 0 ? ` for ${formatDuration(trigger.forSeconds)}` : '';
  const verdict = trigger.severity === 'immediate' ? 'Scale now' : 'Scale soon';
  const rule = `${verdict} when ${trigger.name} ${trigger.op} ${formatValue(trigger.threshold, trigger.unit)}${held} (scalebot trigger \`${trigger.id}\`).`;
  return trigger.advice ? `${rule} ${trigger.advice}` : rule;
}

function triggerPanel(trigger: Trigger, id: number, x: number, y: number, datasource: DataSourceRef): Panel<TimeSeriesOptions, GraphFieldConfig> {
  const perInstance = groupsByInstance(trigger.query);
  const above = trigger.op === '>' || trigger.op === '>=';
  return {
    id,
    type: 'timeseries',
    title: trigger.name,
    description: describeTrigger(trigger),
    datasource,
    gridPos: { x, y, w: PANEL_WIDTH, h: PANEL_HEIGHT },
    targets: [
      {
        refId: 'A',
        datasource,
        expr: trigger.query,
        range: true,
        editorMode: 'code',
        legendFormat: perInstance ? '{{instance}}' : '__auto',
      },
    ],
    // The panel shows exactly the query the bot judges; the instance picker narrows its lines afterwards (the
    // `instance` label becomes each line's name), so no label matcher has to be spliced into arbitrary PromQL.
    ...(perInstance
      ? {
          transformations: [
            {
              id: 'filterFieldsByName',
              options: { include: { pattern: `^(Time|${PICKED_INSTANCES_REGEX})$` } },
            },
          ],
        }
      : {}),
    fieldConfig: {
      defaults: {
        unit: GRAFANA_UNITS[trigger.unit],
        color: { mode: enumValue<FieldColorModeId>('palette-classic') },
        thresholds: thresholdSteps(trigger.op, trigger.threshold),
        custom: {
          thresholdsStyle: { mode: enumValue<GraphThresholdsStyleMode>('line') },
          // The threshold line stays in view when the series is far from it.
          ...(above ? { axisSoftMax: trigger.threshold } : { axisSoftMin: trigger.threshold }),
          lineWidth: 2,
          fillOpacity: 0,
          spanNulls: false,
        },
      },
      overrides: [],
    },
    options: {
      legend: { showLegend: true, displayMode: enumValue<LegendDisplayMode>('table'), placement: 'bottom', calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: enumValue<TooltipDisplayMode>('multi'), sort: enumValue<SortOrder>('desc') },
    },
  };
}

function templateVariables(datasource: DataSourceRef, withDatasourceVariable: boolean): VariableModel[] {
  const instance: VariableModel = {
    type: 'query',
    name: 'instance',
    label: 'Instance',
    description: 'Narrows the per-instance panels (queries grouped by instance) to these instances.',
    datasource,
    query: 'label_values(instance)',
    refresh: 2, // on time range change: instances come and go
    sort: 1, // alphabetical
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
  };
  if (!withDatasourceVariable) return [instance];
  return [
    {
      type: 'datasource',
      name: 'datasource',
      label: 'Prometheus',
      query: 'prometheus',
      refresh: 1,
    },
    instance,
  ];
}

/**
 * The dashboard: one time-series panel per trigger (its query, its threshold as a line), the immediate
 * triggers under one row and the soon ones under another, in the config's order.
 */
export function buildDashboard(config: { readonly triggers: readonly Trigger[] }, options: DashboardOptions = {}): Dashboard {
  if (options.datasourceUid !== undefined && !DATASOURCE_UID_PATTERN.test(options.datasourceUid)) {
    throw new Error(`datasource uid "${options.datasourceUid}" is not a Grafana uid (letters, digits, _ and -, at most 40)`);
  }
  const datasource: DataSourceRef = { type: 'prometheus', uid: options.datasourceUid ?? DATASOURCE_VARIABLE };
  const panels: Array<Panel | RowPanel> = [];
  let nextId = 1;
  let y = 0;
  for (const severity of SEVERITIES) {
    const triggers = config.triggers.filter((trigger) => trigger.severity === severity);
    if (triggers.length === 0) continue;
    // An open row lists its panels after it at the top level; `panels` holds them only while it is collapsed.
    panels.push({ id: nextId++, type: 'row', title: ROW_TITLES[severity], collapsed: false, gridPos: { x: 0, y, w: GRID_COLUMNS, h: 1 }, panels: [] });
    y += 1;
    triggers.forEach((trigger, index) => {
      const x = (index % 2) * PANEL_WIDTH;
      panels.push(triggerPanel(trigger, nextId++, x, y + Math.floor(index / 2) * PANEL_HEIGHT, datasource) as Panel);
    });
    y += Math.ceil(triggers.length / 2) * PANEL_HEIGHT;
  }
  return {
    uid: DASHBOARD_UID,
    title: 'Scalebot: scaling triggers',
    description: "The scaling guide's triggers as scalebot watches them: each panel is a trigger's query with its threshold.",
    tags: ['scalebot', 'scaling'],
    editable: true,
    graphTooltip: 1, // shared crosshair
    timezone: 'browser',
    time: { from: 'now-24h', to: 'now' },
    refresh: '1m',
    schemaVersion: DASHBOARD_SCHEMA_VERSION,
    annotations: { list: [] },
    templating: { list: templateVariables(datasource, options.datasourceUid === undefined) },
    panels,
  };
}
