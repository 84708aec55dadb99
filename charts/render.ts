/**
 * A chart drawn with no browser and no fonts of the machine's: ECharts' server-side SVG renderer, then
 * resvg (a prebuilt native rasteriser) to PNG with the DejaVu fonts shipped by the dejavu-fonts-ttf package.
 * Synchronous and CPU-bound: the bot calls it in a worker (charts/off-thread.ts), never on its event loop.
 */
import { Resvg } from '@resvg/resvg-js';
import * as echarts from 'echarts';
import type { ChartModel, RenderedChart } from '../core/chart.ts';
import { chartFonts } from './fonts.ts';
import { measureTextWith } from './font-metrics.ts';
import { DEFAULT_HEIGHT, DEFAULT_WIDTH, echartsOption, FONT_FAMILY, PALETTES } from './echarts-option.ts';

/** The TTF files text is drawn with; loaded by resvg instead of the machine's fonts. */
export interface ChartFonts {
  readonly fontFiles: readonly string[];
}

// In a module of its own (charts/fonts.ts): the thread that starts the chart worker needs it without ECharts.
export { chartFonts };

/**
 * ECharts writes some labels' font as CSS shorthand with the family unquoted (`font: normal normal 20px DejaVu
 * Sans`), which resvg does not read: those labels fell back to 12 px. Written out, they keep their size.
 */
export function expandFontShorthand(svg: string): string {
  return svg.replace(
    /style="font:\s*(normal|italic|oblique)\s+(normal|bold|bolder|lighter|\d{3})\s+([\d.]+)px\s+([^";]+);?"/g,
    (_match, style: string, weight: string, size: string, family: string) =>
      `style="font-style:${style};font-weight:${weight};font-size:${size}px;font-family:${family.trim()};"`,
  );
}

let measuringWith: string | null = null;

/** ECharts measures text (label boxes, truncation) with the fonts resvg will draw it with. */
function measureWith(fonts: ChartFonts): void {
  const [regular, bold] = fonts.fontFiles;
  if (!regular || measuringWith === fonts.fontFiles.join('\n')) return;
  echarts.setPlatformAPI({ measureText: measureTextWith(regular, bold ?? regular) });
  measuringWith = fonts.fontFiles.join('\n');
}

/** The chart as SVG text, at the model's size. */
export function chartSvg(model: ChartModel, fonts: ChartFonts = chartFonts()): string {
  measureWith(fonts);
  const width = model.width ?? DEFAULT_WIDTH;
  const height = model.height ?? DEFAULT_HEIGHT;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption(echartsOption(model));
    return expandFontShorthand(chart.renderToSVGString());
  } finally {
    chart.dispose();
  }
}

function rasterise(svg: string, fonts: ChartFonts): { png: Uint8Array; width: number; height: number } {
  const image = new Resvg(svg, {
    font: { fontFiles: [...fonts.fontFiles], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
  }).render();
  const png = image.asPng();
  return { png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), width: image.width, height: image.height };
}

export function renderChart(model: ChartModel, fonts: ChartFonts = chartFonts()): RenderedChart {
  const { png, width, height } = rasterise(chartSvg(model, fonts), fonts);
  return { png, width, height, altText: fitAltText(model.altText ?? model.title) };
}

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);

export interface SmallMultiplesOptions {
  readonly title: string;
  /** Charts per row; 3 by default (12 triggers make a 3 × 4 picture). */
  readonly columns?: number;
  /** One chart's size in pixels; 400 × 250 by default. */
  readonly cellWidth?: number;
  readonly cellHeight?: number;
}

/**
 * Several charts in one picture (the weekly digest): each is drawn small (compact: its title, the threshold,
 * the current value), and the SVGs are set side by side in one SVG under a title, then rasterised once.
 */
export function renderSmallMultiples(models: readonly ChartModel[], options: SmallMultiplesOptions, fonts: ChartFonts = chartFonts()): RenderedChart {
  const columns = Math.max(1, Math.min(options.columns ?? 3, Math.max(1, models.length)));
  const cellWidth = options.cellWidth ?? 400;
  const cellHeight = options.cellHeight ?? 250;
  const titleHeight = 60;
  const rows = Math.max(1, Math.ceil(models.length / columns));
  const width = columns * cellWidth;
  const height = titleHeight + rows * cellHeight;
  const palette = PALETTES[models[0]?.theme ?? 'light'];
  const cells = models.map((model, index) => {
    const x = (index % columns) * cellWidth;
    const y = titleHeight + Math.floor(index / columns) * cellHeight;
    // ECharts names its classes and clip paths per instance (zr0-…, zr1-…), so nested charts do not collide.
    const svg = chartSvg({ ...model, width: cellWidth, height: cellHeight }, fonts);
    return svg.replace(/^<svg /, `<svg x="${x}" y="${y}" `);
  });
  const empty = models.length === 0 ? `<text x="20" y="${titleHeight + 40}" font-size="20" fill="${palette.subtext}">no triggers to show</text>` : '';
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="${palette.background}"/>`,
    `<text x="20" y="40" font-family="${FONT_FAMILY}" font-size="28" font-weight="bold" fill="${palette.text}">${escapeXml(options.title)}</text>`,
    ...cells,
    empty,
    '</svg>',
  ].join('\n');
  const rendered = rasterise(svg, fonts);
  // Each chart's title, not its whole description: Slack refuses alt text over 1,000 characters (alt_txt_too_large).
  const altText = fitAltText(`${options.title}: ${models.length} charts: ${models.map((model) => model.title).join('; ')}.`);
  return { ...rendered, altText };
}

/** Slack's limit on a file's alt text (files.getUploadURLExternal refuses longer with alt_txt_too_large). */
export const MAX_ALT_TEXT = 1_000;

/** The alt text cut to Slack's limit at a word, with an ellipsis. */
export function fitAltText(text: string): string {
  if (text.length <= MAX_ALT_TEXT) return text;
  const cut = text.slice(0, MAX_ALT_TEXT - 1);
  const atWord = cut.lastIndexOf(' ');
  return `${atWord > MAX_ALT_TEXT / 2 ? cut.slice(0, atWord) : cut}…`;
}
