import { afterEach, describe, expect, it } from 'vitest';
import { createChartRenderer, type OffThreadChartRenderer } from '../../charts/off-thread.ts';
import { cpuChart } from '../../devkit/chart-samples.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const renderers: OffThreadChartRenderer[] = [];
afterEach(async () => {
  await Promise.all(renderers.splice(0).map((renderer) => renderer.close()));
});

function track(renderer: OffThreadChartRenderer): OffThreadChartRenderer {
  renderers.push(renderer);
  return renderer;
}

describe('the chart renderer in a worker thread', () => {
  it('draws charts and small multiples there, one request after another', async () => {
    const cpu: number[] = [];
    const renderer = track(createChartRenderer({ onRendered: ({ cpuMs }) => cpu.push(cpuMs) }));
    const [light, dark, multiples] = await Promise.all([
      renderer.render(cpuChart('light')),
      renderer.render(cpuChart('dark')),
      renderer.renderSmallMultiples([cpuChart('light'), cpuChart('light')], { title: 'This week', columns: 2 }),
    ]);
    for (const chart of [light, dark]) {
      expect([...chart.png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
      expect([chart.width, chart.height]).toEqual([800, 400]);
      expect(chart.altText).toMatch(/^Chart of CPU usage/);
    }
    expect([multiples.width, multiples.height]).toEqual([800, 310]);
    expect(cpu).toHaveLength(3);
    expect(renderer.workersStarted()).toBe(1);
  });

  it('fails the drawing a dead worker was on, says so, and draws the next one in a new worker', async () => {
    const deaths: Array<Error | number> = [];
    const renderer = track(
      createChartRenderer({ threadEntry: new URL('./fixtures/dying-chart-thread.ts', import.meta.url), onWorkerDied: (reason) => deaths.push(reason) }),
    );
    const dying = renderer.render({ ...cpuChart('light'), title: 'die' });
    const after = renderer.render(cpuChart('dark'));
    await expect(dying).rejects.toThrow(/worker died \(exit code 7\) while drawing the chart "die": post the message without its chart/);
    const chart = await after;
    expect([...chart.png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(deaths).toEqual([7]);
    expect(renderer.workersStarted()).toBe(2);
  });

  it('ends a drawing that takes too long, and its worker', async () => {
    const renderer = track(createChartRenderer({ timeoutMs: 1 }));
    await expect(renderer.render(cpuChart('light'))).rejects.toThrow(/worker died \(no picture after 1 ms\)/);
  });

  it('fails what still waits when closed, and refuses what comes after', async () => {
    const renderer = createChartRenderer();
    const waiting = expect(renderer.render(cpuChart('light'))).rejects.toThrow(/closed before the chart "CPU usage" was drawn/);
    await renderer.close();
    await waiting;
    await expect(renderer.render(cpuChart('light'))).rejects.toThrow(/closed: the chart "CPU usage" was not drawn/);
  });
});
