import type { Severity } from './triggers.ts';

/** One alert of an Alertmanager webhook, as integrations/alertmanager.ts reads it and the watcher opens or resolves it. */
export interface AlertmanagerAlert {
  readonly key: string;
  readonly status: 'firing' | 'resolved';
  readonly alertname: string;
  readonly severity: Severity;
  readonly labels: Record<string, string>;
  readonly summary?: string;
  readonly description?: string;
  readonly value?: string;
  readonly startsAt: Date;
  readonly endsAt?: Date;
  readonly generatorUrl?: string;
  readonly advice?: string;
}
