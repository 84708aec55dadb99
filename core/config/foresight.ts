import { z } from 'zod';
import { parseDuration } from '../duration.ts';
import { duration } from './shared.ts';

/**
 * `forecast:` when a growing trigger will cross its threshold (core/forecast.ts); `charts:` the pictures the bot
 * draws; `digest:` the weekly capacity digest. Each trigger says for itself whether it is forecast (`forecast:`
 * in config/triggers.yaml).
 */

const forecastFields = { window: duration, min_history: duration, warn_within: duration };

export const forecastFile = z.object(forecastFields).partial().strict();

export const forecastSection = z
  .object(forecastFields)
  .strict()
  .transform((forecast) => ({
    /** How far back the trend is fitted. */
    windowSeconds: parseDuration(forecast.window),
    /** Less history than this: "not enough history", no forecast. */
    minHistorySeconds: parseDuration(forecast.min_history),
    /** An ok trigger forecast to cross within this long is shown as such (and posted, with watch.forecasts). */
    warnWithinSeconds: parseDuration(forecast.warn_within),
  }))
  .readonly();

const chartFields = { enabled: z.boolean(), theme: z.enum(['light', 'dark']) };

export const chartsFile = z.object(chartFields).partial().strict();

export const chartsSection = z
  .object(chartFields)
  .strict()
  .transform((charts) => ({ enabled: charts.enabled, theme: charts.theme }))
  .readonly();

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
const schedulePattern = new RegExp(`^(${WEEKDAYS.join('|')}) ([01]\\d|2[0-3]):([0-5]\\d)$`);

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const digestFields = {
  channel: z
    .string()
    .regex(/^[CG][A-Z0-9]{2,}$/, 'the channel id (C…), not its name: in Slack, open the channel → its name → About → Channel ID')
    .nullable(),
  schedule: z.string().regex(schedulePattern, 'a weekday and a 24-hour time, like "Mon 09:00"'),
  timezone: z.string().refine(isTimeZone, 'an IANA time zone, like "Europe/Berlin" or "UTC"'),
};

export const digestFile = z.object(digestFields).partial().strict();

export const digestSection = z
  .object(digestFields)
  .strict()
  .transform((digest) => {
    const [, day, hour, minute] = schedulePattern.exec(digest.schedule)!;
    return {
      /** Where the weekly digest goes; null: no digest is posted (`scalebot digest` still prints one). */
      channel: digest.channel,
      /** 1 = Monday … 7 = Sunday (ISO), in `timezone`. */
      weekday: WEEKDAYS.indexOf(day as Weekday) + 1,
      hour: Number(hour),
      minute: Number(minute),
      timezone: digest.timezone,
      /** As written, for messages. */
      schedule: digest.schedule,
    };
  })
  .readonly();
