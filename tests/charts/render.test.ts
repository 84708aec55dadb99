import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { buildChartModel, type ChartModel, type ChartTheme } from '../../core/chart.ts';
import type { Trigger } from '../../core/triggers.ts';
import { echartsOption, PALETTES } from '../../charts/echarts-option.ts';
import { measureTextWith } from '../../charts/font-metrics.ts';
import { chartFonts, chartSvg, fitAltText, MAX_ALT_TEXT, renderChart, renderSmallMultiples } from '../../charts/render.ts';
import { AT, cpuChart } from '../../devkit/chart-samples.ts';

interface Picture {
  readonly width: number;
  readonly height: number;
  pixel(x: number, y: number): [number, number, number];
}

function decode(png: Uint8Array): Picture {
  const image = PNG.sync.read(Buffer.from(png));
  return {
    width: image.width,
    height: image.height,
    pixel(x, y) {
      const at = (image.width * y + x) * 4;
      return [image.data[at]!, image.data[at + 1]!, image.data[at + 2]!];
    },
  };
}

const rgb = (hex: string): [number, number, number] => [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)) as [number, number, number];
const near = (a: readonly number[], b: readonly number[], tolerance = 24) => a.every((value, index) => Math.abs(value - b[index]!) <= tolerance);

function distinctColours(picture: Picture): number {
  const seen = new Set<number>();
  for (let y = 0; y < picture.height; y += 1)
    for (let x = 0; x < picture.width; x += 1) {
      const [r, g, b] = picture.pixel(x, y);
      seen.add((r << 16) | (g << 8) | b);
    }
  return seen.size;
}

/** The share of the plot's columns where a row (± 2 px) has the colour. */
function shareOfRow(picture: Picture, row: number, colour: readonly number[], from: number, to: number): number {
  let hits = 0;
  for (let x = from; x < to; x += 1) {
    for (let y = Math.round(row) - 2; y <= Math.round(row) + 2; y += 1) {
      if (near(picture.pixel(x, y), colour)) {
        hits += 1;
        break;
      }
    }
  }
  return hits / (to - from);
}

/** The threshold's pixel row, from the geometry the option sets explicitly: the grid's edges in pixels and a fixed y range. */
function thresholdRow(model: ChartModel): { row: number; left: number; right: number } {
  const option = echartsOption(model) as unknown as {
    grid: { top: number; bottom: number; left: number; right: number };
    yAxis: { min: number; max: number };
  };
  const height = model.height ?? 400;
  const width = model.width ?? 800;
  const { grid, yAxis } = option;
  const row = grid.top + ((yAxis.max - model.threshold) / (yAxis.max - yAxis.min)) * (height - grid.top - grid.bottom);
  return { row, left: grid.left, right: width - grid.right };
}

const LOW_DISK: Trigger = {
  id: 'disk_free',
  name: 'Free disk',
  severity: 'soon',
  query: 'disk',
  op: '<',
  threshold: 0.3,
  forSeconds: 0,
  unit: 'percent',
};

describe('a chart as a PNG', () => {
  for (const theme of ['light', 'dark'] as ChartTheme[]) {
    it(`${theme}: 800 × 400, not blank, the threshold drawn in its colour on its row`, () => {
      const model = cpuChart(theme);
      const chart = renderChart(model);
      const picture = decode(chart.png);
      expect([picture.width, picture.height, chart.width, chart.height]).toEqual([800, 400, 800, 400]);
      expect(near(picture.pixel(2, 2), rgb(PALETTES[theme].background), 0)).toBe(true);
      expect(distinctColours(picture)).toBeGreaterThan(200);

      const threshold = rgb(PALETTES[theme].threshold);
      const { row, left, right } = thresholdRow(model);
      expect(row).toBeGreaterThan(100);
      expect(shareOfRow(picture, row, threshold, left, right)).toBeGreaterThan(0.8);
      // Away from its row (half a plot lower) the colour is not there: the row found is the threshold's.
      expect(shareOfRow(picture, row + 90, threshold, left, right)).toBeLessThan(0.05);
      expect(chart.altText).toBe(model.altText);
    });
  }

  it('shades below the threshold for a `<` trigger, and not above it', () => {
    const end = Math.floor(AT.getTime() / 1000);
    const model = buildChartModel({
      trigger: LOW_DISK,
      series: [{ labels: {}, points: Array.from({ length: 50 }, (_, index) => [end - 86400 + index * 1700, 0.8] as [number, number]) }],
      at: AT,
      windowSeconds: 86400,
      theme: 'light',
    });
    const picture = decode(renderChart(model).png);
    const { row, left } = thresholdRow(model);
    const background = rgb(PALETTES.light.background);
    // Between grid lines: 15 px below the threshold is shaded, 15 px above it is the plain background.
    expect(near(picture.pixel(left + 200, Math.round(row + 15)), background, 3)).toBe(false);
    expect(near(picture.pixel(left + 200, Math.round(row - 15)), background, 0)).toBe(true);
  });

  it('draws its text with the packaged font, never the machine’s: a title shows on a machine with no fonts', () => {
    const bare = { ...cpuChart('light', { series: 0 }), subtitle: '', altText: '' };
    const titled = renderChart({ ...bare, title: 'CPU usage' });
    const untitled = renderChart({ ...bare, title: '' });
    const differing = (a: Picture, b: Picture) => {
      let count = 0;
      for (let y = 0; y < 60; y += 1) for (let x = 0; x < 400; x += 1) if (!near(a.pixel(x, y), b.pixel(x, y), 0)) count += 1;
      return count;
    };
    expect(differing(decode(titled.png), decode(untitled.png))).toBeGreaterThan(500);
    // Without the packaged font there is no text at all (resvg is told not to look for the machine's fonts).
    const noFonts = { fontFiles: [] };
    expect(differing(decode(renderChart({ ...bare, title: 'CPU usage' }, noFonts).png), decode(renderChart({ ...bare, title: '' }, noFonts).png))).toBe(0);
  });

  it('keeps every label at its font size (no CSS font shorthand, which resvg does not read)', () => {
    const svg = chartSvg(cpuChart('light'));
    expect(svg).not.toMatch(/style="font:/);
    expect(svg).toMatch(/font-size:20px;font-family:DejaVu Sans;"[^>]*>\d\d:\d\d</);
  });

  it('draws small multiples in one picture, a grid of charts under a title', () => {
    const models = Array.from({ length: 12 }, (_, index) => ({ ...cpuChart('light'), title: `Trigger ${index + 1}` }));
    const chart = renderSmallMultiples(models, { title: 'Capacity this week', columns: 3 });
    const picture = decode(chart.png);
    expect([picture.width, picture.height]).toEqual([1200, 60 + 4 * 250]);
    expect(distinctColours(picture)).toBeGreaterThan(200);
    // Each cell has its threshold in the threshold's colour somewhere along its rows.
    const threshold = rgb(PALETTES.light.threshold);
    for (let cell = 0; cell < 12; cell += 1) {
      const x0 = (cell % 3) * 400;
      const y0 = 60 + Math.floor(cell / 3) * 250;
      const cellModel = { ...models[cell]!, width: 400, height: 250 };
      const { row, left, right } = thresholdRow(cellModel);
      let hits = 0;
      for (let x = x0 + left; x < x0 + right; x += 1)
        if (near(picture.pixel(x, Math.round(y0 + row)), threshold) || near(picture.pixel(x, Math.round(y0 + row) + 1), threshold)) hits += 1;
      expect(hits / (right - left)).toBeGreaterThan(0.8);
    }
    expect(chart.altText).toMatch(/^Capacity this week: 12 charts/);
    expect(chart.altText.length).toBeLessThanOrEqual(MAX_ALT_TEXT);
  });

  it('keeps the alt text within Slack’s 1,000 characters however many charts a picture holds', () => {
    const many = `${'CPU usage against its threshold over the week, '.repeat(40)}end`;
    expect(fitAltText(many).length).toBeLessThanOrEqual(MAX_ALT_TEXT);
    expect(fitAltText(many).endsWith('…')).toBe(true);
    expect(fitAltText('short')).toBe('short');
  });

  it('measures text with the fonts it draws with (DejaVu Sans advance widths, 2048 units an em)', () => {
    const [regular, bold] = chartFonts().fontFiles;
    const measure = measureTextWith(regular!, bold!);
    expect(['0', ' ', 'm', 'é'].map((char) => measure(char, '2048px DejaVu Sans').width)).toEqual([1303, 651, 1995, 1260]);
    expect(measure('80 %', 'bold 20px DejaVu Sans').width).toBeCloseTo((20 * (2 * 1425 + 713 + 2052)) / 2048, 0);
  });
});
