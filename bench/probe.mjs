// Preloaded (`node --expose-gc --import ./bench/probe.mjs …`) into the bot and the bare Bolt app under test,
// so the bench can look inside them without changing them: over the IPC channel it answers
// "mem" (a forced GC, then memory usage) and "eld-start"/"eld-read" (the event loop's delay, which is what
// makes an ack wait). Plain JavaScript: it loads before tsx, and bin/scalebot.js registers tsx itself.
import { monitorEventLoopDelay } from 'node:perf_hooks';

if (process.send) {
  let histogram = null;
  process.on('message', (message) => {
    if (!message || typeof message !== 'object' || typeof message.probe !== 'string') return;
    let result;
    if (message.probe === 'mem') {
      if (typeof globalThis.gc === 'function') {
        globalThis.gc();
        globalThis.gc();
      }
      result = process.memoryUsage();
    } else if (message.probe === 'eld-start') {
      histogram?.disable();
      histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      result = true;
    } else if (message.probe === 'eld-read') {
      histogram?.disable();
      const ms = (ns) => Math.round(ns / 1e4) / 100;
      result = histogram ? { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), samples: histogram.count } : null;
      histogram = null;
    }
    process.send({ probe: message.probe, id: message.id, result });
  });
  // The IPC channel must not keep a stopped process alive.
  process.channel?.unref();
}
