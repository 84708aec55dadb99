import { z } from 'zod';
import { parseDuration } from '../duration.ts';
import { duration, slackId } from './shared.ts';

/** `watch:` how often the watcher evaluates the triggers, and how it follows up on a breach. */

const repeatFields = { immediate: duration, soon: duration };
// In the order a file's problems are reported.
const watchFields = <Repeat extends z.ZodType>(repeat: Repeat) => ({
  enabled: z.boolean(),
  interval: duration,
  resolve_after: duration,
  repeat,
  responders: z.array(slackId),
  snooze_options: z.array(duration).min(1).max(5),
  forecasts: z.boolean(),
});

export const watchFile = z
  .object(watchFields(z.object(repeatFields).partial().strict()))
  .partial()
  .strict();

export type WatchFile = z.infer<typeof watchFile>;

export function mergeWatch(base: WatchFile | undefined, override: WatchFile | undefined): WatchFile {
  return { ...base, ...override, repeat: { ...base?.repeat, ...override?.repeat } };
}

/** Whether it runs depends on `slack.alerts_channel` too: the config as a whole decides (index.ts). */
export const watchSection = z
  .object(watchFields(z.object(repeatFields).strict()))
  .strict()
  .transform((watch) => ({
    enabled: watch.enabled,
    intervalSeconds: parseDuration(watch.interval),
    resolveAfterSeconds: parseDuration(watch.resolve_after),
    repeatSeconds: { immediate: parseDuration(watch.repeat.immediate), soon: parseDuration(watch.repeat.soon) } as const,
    /** Slack user and user group ids allowed to acknowledge and snooze; empty: anyone. */
    responders: watch.responders as readonly string[],
    snoozeOptionsSeconds: watch.snooze_options.map((option) => parseDuration(option)) as readonly number[],
    /** Post an ok trigger forecast to cross within forecast.warn_within, once per trigger per week. */
    forecasts: watch.forecasts,
  }))
  .readonly();
