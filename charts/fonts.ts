import { createRequire } from 'node:module';
import type { ChartFonts } from './render.ts';

let resolvedFonts: ChartFonts | null = null;

/**
 * The fonts' paths, resolved through the package (wherever npm put it), once. Apart from charts/render.ts so that
 * the thread that starts the chart worker, which hands these paths over, does not load ECharts and resvg (42 MB
 * and 7 MB of RSS: bench/dependency-costs.ts) only to find two files.
 */
export function chartFonts(): ChartFonts {
  if (!resolvedFonts) {
    const require = createRequire(import.meta.url);
    resolvedFonts = {
      fontFiles: [require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'), require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf')],
    };
  }
  return resolvedFonts;
}
