// Preloaded (`node --expose-gc --import ./bench/probe.mjs …`) into the bot and the bare Bolt app under test,
// so the bench can look inside them without changing them: over the IPC channel it answers
// "mem" (a forced GC, then memory usage) and "eld-start"/"eld-read" (the event loop's delay, which is what
// makes an ack wait). Plain JavaScript: it loads before tsx, and bin/scalebot.js registers tsx itself.
//
// Worker threads inherit the preload. There it only answers the main thread's "gc" on a BroadcastChannel with
// its isolate's heap after a forced GC: the bot's Prometheus worker has a heap of its own, which a leak check
// of the main isolate alone would not see.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { BroadcastChannel, isMainThread } from 'node:worker_threads';

const CHANNEL = 'scalebot-bench-probe';

function forceGc() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
}

if (!isMainThread) {
  const channel = new BroadcastChannel(CHANNEL);
  channel.unref();
  channel.onmessage = (event) => {
    if (event.data?.ask !== 'gc') return;
    forceGc();
    channel.postMessage({ reply: 'gc', id: event.data.id, heapUsed: getHeapStatistics().used_heap_size });
  };
}

/** The worker threads' heaps after their forced GC: whoever answers within the wait. */
async function workerHeaps(waitMs = 500) {
  const channel = new BroadcastChannel(CHANNEL);
  const id = Math.random();
  const heaps = [];
  channel.onmessage = (event) => {
    if (event.data?.reply === 'gc' && event.data.id === id) heaps.push(event.data.heapUsed);
  };
  channel.postMessage({ ask: 'gc', id });
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  channel.close();
  return heaps;
}

if (isMainThread && process.send) {
  let histogram = null;
  process.on('message', async (message) => {
    if (!message || typeof message !== 'object' || typeof message.probe !== 'string') return;
    let result;
    if (message.probe === 'mem') {
      const workers = await workerHeaps();
      forceGc();
      result = { ...process.memoryUsage(), workerHeapsUsed: workers };
    } else if (message.probe === 'eld-start') {
      histogram?.disable();
      histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      result = true;
    } else if (message.probe === 'eld-read') {
      histogram?.disable();
      const ms = (ns) => Math.round(ns / 1e4) / 100;
      result = histogram
        ? { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), samples: histogram.count }
        : null;
      histogram = null;
    }
    process.send({ probe: message.probe, id: message.id, result });
  });
  // The IPC channel must not keep a stopped process alive.
  process.channel?.unref();
}
