/**
 * Text widths from the very TTF files resvg draws with. ECharts on a server has no canvas to measure text and
 * guesses widths that are narrower than DejaVu Sans: label boxes came out smaller than their text and the
 * legend was cut in the wrong places. Read from the fonts' own tables (cmap format 4 and hmtx), the boxes fit.
 */
import { readFileSync } from 'node:fs';

export interface FontMetrics {
  /** Advance width of a text at 1 px, in px. */
  widthAtOnePixel(text: string): number;
}

function readMetrics(bytes: Buffer): FontMetrics {
  const tables = new Map<string, number>();
  const tableCount = bytes.readUInt16BE(4);
  for (let index = 0; index < tableCount; index += 1) {
    const record = 12 + index * 16;
    tables.set(bytes.toString('latin1', record, record + 4), bytes.readUInt32BE(record + 8));
  }
  const table = (tag: string) => {
    const offset = tables.get(tag);
    if (offset === undefined) throw new Error(`The chart font has no ${tag} table: is it a TrueType font?`);
    return offset;
  };
  const unitsPerEm = bytes.readUInt16BE(table('head') + 18);
  const metricsCount = bytes.readUInt16BE(table('hhea') + 34);
  const hmtx = table('hmtx');
  const advance = (glyph: number) => bytes.readUInt16BE(hmtx + 4 * Math.min(glyph, metricsCount - 1));

  // The Unicode BMP subtable (platform 3, encoding 1), format 4: segments of character codes to glyphs.
  const cmap = table('cmap');
  let segments = -1;
  for (let index = 0; index < bytes.readUInt16BE(cmap + 2); index += 1) {
    const record = cmap + 4 + index * 8;
    if (bytes.readUInt16BE(record) === 3 && bytes.readUInt16BE(record + 2) === 1) segments = cmap + bytes.readUInt32BE(record + 4);
  }
  if (segments < 0 || bytes.readUInt16BE(segments) !== 4) throw new Error('The chart font has no Unicode (format 4) character map.');
  const segmentCount = bytes.readUInt16BE(segments + 6) / 2;
  const ends = segments + 14;
  const starts = ends + segmentCount * 2 + 2;
  const deltas = starts + segmentCount * 2;
  const rangeOffsets = deltas + segmentCount * 2;
  const glyphOf = (code: number): number => {
    for (let segment = 0; segment < segmentCount; segment += 1) {
      if (code > bytes.readUInt16BE(ends + segment * 2)) continue;
      const start = bytes.readUInt16BE(starts + segment * 2);
      if (code < start) return 0;
      const delta = bytes.readInt16BE(deltas + segment * 2);
      const rangeOffsetAt = rangeOffsets + segment * 2;
      const rangeOffset = bytes.readUInt16BE(rangeOffsetAt);
      if (rangeOffset === 0) return (code + delta) & 0xffff;
      const glyph = bytes.readUInt16BE(rangeOffsetAt + rangeOffset + (code - start) * 2);
      return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
    }
    return 0;
  };

  const widths = new Map<number, number>();
  return {
    widthAtOnePixel(text) {
      let total = 0;
      for (const char of text) {
        const code = char.codePointAt(0)!;
        let width = widths.get(code);
        if (width === undefined) {
          width = advance(code > 0xffff ? 0 : glyphOf(code)) / unitsPerEm;
          widths.set(code, width);
        }
        total += width;
      }
      return total;
    },
  };
}

/**
 * A measureText for ECharts (echarts.setPlatformAPI) from a regular and a bold font file: `font` is the CSS
 * shorthand zrender passes ("bold 23px DejaVu Sans", "18px sans-serif").
 */
export function measureTextWith(regularFile: string, boldFile: string): (text: string, font?: string) => { width: number } {
  const regular = readMetrics(readFileSync(regularFile));
  const bold = readMetrics(readFileSync(boldFile));
  return (text, font = '12px sans-serif') => {
    const size = Number(font.match(/([\d.]+)px/)?.[1] ?? 12);
    const metrics = /\b(bold|bolder|[6-9]00)\b/.test(font) ? bold : regular;
    return { width: metrics.widthAtOnePixel(text) * size };
  };
}
