import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { ChartFonts } from './render.ts';
import { renderChart, renderSmallMultiples } from './render.ts';
import type { ChartReply, ChartRequest } from './off-thread.ts';

// The worker side of charts/off-thread.ts: ECharts and resvg run here, one request at a time, so that the
// event loop that acks Slack never draws. The fonts' paths come from the main thread: this bundle has no
// import.meta.url to resolve the font package from.
const fonts = (workerData as { fonts: ChartFonts }).fonts;

// On Linux a nice value belongs to a thread: this lowers this worker's alone, 10 below the bot's, so that a
// chart waits a little when the CPUs are busy, never an ack (as integrations/prometheus-thread.ts does).
if (process.platform === 'linux') {
  try {
    setPriority(Math.min(19, getPriority() + 10));
  } catch {
    // Refused (a seccomp profile, say): the worker runs at the process's priority, still off the event loop.
  }
}

const port = parentPort!;

port.on('message', (request: ChartRequest) => {
  const before = process.cpuUsage();
  let reply: ChartReply;
  try {
    const chart = request.kind === 'chart' ? renderChart(request.model, fonts) : renderSmallMultiples(request.models, request.options, fonts);
    const used = process.cpuUsage(before);
    // A copy in a buffer of its own, handed over rather than copied again.
    const png = new Uint8Array(chart.png);
    reply = { id: request.id, chart: { ...chart, png }, cpuMs: (used.user + used.system) / 1000 };
    port.postMessage(reply, [png.buffer]);
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
  }
});
