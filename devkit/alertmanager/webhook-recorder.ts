import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST as Alertmanager sent it, and what the receiver behind answered. */
export interface RecordedDelivery {
  readonly at: Date;
  readonly contentType: string | undefined;
  readonly userAgent: string | undefined;
  /** The Authorization header's scheme only ("Bearer"): the token itself is not kept. */
  readonly authorizationScheme: string | undefined;
  /** The body exactly as sent. */
  readonly raw: string;
  readonly body: WebhookPayload;
  /**
   * The receiver's HTTP status (0: it could not be reached), what Alertmanager counts as success or failure;
   * null while the receiver is still at it (it may already have acted on the payload).
   */
  answer: number | null;
}

/** Alertmanager's webhook payload, version 4, as 0.25 sends it (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export interface WebhookPayload {
  version: string;
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: Array<{
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }>;
}

export interface WebhookRecorder {
  /** `http://127.0.0.1:PORT<path of the target>`: give this to Alertmanager instead of the target's URL. */
  readonly url: string;
  /** Every delivery, in arrival order. */
  readonly deliveries: RecordedDelivery[];
  stop(): Promise<void>;
}

// What a webhook request carries that the receiver may read; hop-by-hop headers stay behind.
const FORWARDED_HEADERS = ['content-type', 'authorization', 'user-agent'] as const;

/**
 * A transparent forwarder in front of a webhook receiver (the bot's /alertmanager): each POST goes through
 * byte for byte with its headers, the receiver's answer goes back unchanged, and both are kept, so a test sees
 * exactly which payloads the receiver got and whether it accepted each.
 */
export async function startWebhookRecorder(target: string): Promise<WebhookRecorder> {
  const deliveries: RecordedDelivery[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const name of FORWARDED_HEADERS) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const delivery: RecordedDelivery = {
        at: new Date(),
        contentType: headers['content-type'],
        userAgent: headers['user-agent'],
        authorizationScheme: headers.authorization?.split(' ')[0],
        raw,
        body: JSON.parse(raw) as WebhookPayload,
        answer: null,
      };
      // Kept before it is forwarded: whatever the receiver does with it, a test sees the payload behind it.
      deliveries.push(delivery);
      fetch(target, { method: request.method ?? 'POST', headers, body: raw }).then(
        async (answer) => {
          const text = await answer.text();
          delivery.answer = answer.status;
          response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' }).end(text);
        },
        () => {
          delivery.answer = 0;
          response.writeHead(502).end();
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${new URL(target).pathname}`,
    deliveries,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
