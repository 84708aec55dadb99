// Slack's side of Socket Mode (https://docs.slack.dev/apis/events-api/using-socket-mode), as
// @slack/socket-mode 3.1 expects it:
// - `apps.connections.open` hands out a one-time URL; the client opens a WebSocket there;
// - Slack speaks first with `{"type":"hello", num_connections, debug_info, connection_info}`, and the client
//   counts itself connected only then (SocketModeClient resolves start() on hello);
// - envelopes `{ envelope_id, type, payload, accepts_response_payload }` go out, acks
//   `{ envelope_id, payload? }` come back on the same socket;
// - `{"type":"disconnect","reason":…}` makes the client close and reconnect through apps.connections.open.
// Pings: the client pings every clientPingTimeout/3 and `ws` answers pongs by itself. Slack also pings the
// client; the fake does not, because one server ping arms the client's 30 s "no ping from Slack" timer and
// a test would then have to keep pinging.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { buildSlashCommandPayload, type SlashCommandInput } from './payloads.ts';

export type SocketEnvelopeType = 'slash_commands' | 'interactive' | 'events_api' | (string & {});

export interface SocketEnvelopeInput {
  type: SocketEnvelopeType;
  payload: unknown;
  /** Default: false for events_api, true otherwise (slash commands and interactions may answer in the ack). */
  accepts_response_payload?: boolean;
  /** events_api only; default 0 and "". */
  retry_attempt?: number;
  retry_reason?: string;
  envelope_id?: string;
}

export interface SocketEnvelope {
  envelope_id: string;
  type: SocketEnvelopeType;
  payload: unknown;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface SocketAck {
  envelope_id: string;
  payload?: unknown;
}

export interface SentEnvelope {
  envelope: SocketEnvelope;
  sentAt: Date;
  ack?: SocketAck;
  ackedAt?: Date;
}

export interface WaitOptions {
  timeoutMs?: number;
}

interface Connection {
  ws: WebSocket;
  id: number;
  openedAt: Date;
}

interface PendingAck {
  resolve(ack: SocketAck): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  record: SentEnvelope;
}

export interface FakeSocketModeOptions {
  appId: string;
  now: () => Date;
  /** Slack gives an app 3 seconds to ack an envelope. */
  ackTimeoutMs: number;
}

export class FakeSocketMode {
  /** Every envelope sent, with its ack once it came. */
  readonly envelopes: SentEnvelope[] = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly connections: Connection[] = [];
  private readonly pending = new Map<string, PendingAck>();
  private readonly changes = new EventEmitter();
  private opened = 0;
  private closed = false;

  constructor(private readonly options: FakeSocketModeOptions) {
    this.changes.setMaxListeners(0);
  }

  /** Open connections that have had their hello. */
  get openConnections(): number {
    return this.connections.length;
  }

  /** Connections ever opened: grows by one on every reconnect. */
  get totalConnections(): number {
    return this.opened;
  }

  /** For apps.connections.open: a one-time URL under `wsBaseUrl` (ws://127.0.0.1:PORT). */
  issueUrl(wsBaseUrl: string): string {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return `${wsBaseUrl}/socket/${ticket}?app_id=${this.options.appId}`;
  }

  /** The http server's `upgrade` handler. A ticket is good for one connection, as Slack's are. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ticket = new URL(request.url ?? '/', 'http://localhost').pathname.replace(/^\/socket\//, '');
    if (this.closed || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws));
  }

  private onConnection(ws: WebSocket): void {
    this.opened += 1;
    const connection: Connection = { ws, id: this.opened, openedAt: this.options.now() };
    this.connections.push(connection);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.onMessage(data.toString());
    });
    ws.on('close', () => {
      const index = this.connections.indexOf(connection);
      if (index >= 0) this.connections.splice(index, 1);
      this.changes.emit('change');
    });
    ws.on('error', () => ws.terminate());
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.connections.length,
        debug_info: {
          host: `fake-applink-${connection.id}`,
          build_number: 1,
          approximate_connection_time: 18060,
        },
        connection_info: { app_id: this.options.appId },
      }),
    );
    this.changes.emit('change');
  }

  private onMessage(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const ack = message as SocketAck;
    if (typeof ack.envelope_id !== 'string') return;
    const pending = this.pending.get(ack.envelope_id);
    if (!pending) return;
    this.pending.delete(ack.envelope_id);
    clearTimeout(pending.timer);
    pending.record.ack = ack;
    pending.record.ackedAt = this.options.now();
    pending.resolve(ack);
  }

  /** Resolves once a client is connected and has had its hello (at once if one is). */
  connected(options: WaitOptions = {}): Promise<void> {
    return this.until(() => this.connections.length > 0, 'a Socket Mode client to connect', options);
  }

  /** Resolves once no client is connected: after app.stop(), before closing the fake. */
  disconnected(options: WaitOptions = {}): Promise<void> {
    return this.until(() => this.connections.length === 0, 'every Socket Mode client to disconnect', options);
  }

  private until(condition: () => boolean, what: string, { timeoutMs = 5000 }: WaitOptions): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onChange = (): void => {
        if (!condition()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake Slack: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.changes.off('change', onChange);
      };
      this.changes.on('change', onChange);
    });
  }

  /**
   * Sends an envelope to the newest connection (waiting up to the timeout for one) and resolves with the
   * client's ack; rejects when no ack arrives in time, which in Slack means an error shown to the user
   * (or, for events, a retry).
   */
  async sendEnvelope(input: SocketEnvelopeInput, options: WaitOptions = {}): Promise<SocketAck> {
    const timeoutMs = options.timeoutMs ?? this.options.ackTimeoutMs;
    await this.connected({ timeoutMs });
    const connection = this.connections.at(-1);
    if (!connection) throw new Error('fake Slack: no Socket Mode client connected');
    const envelope: SocketEnvelope = {
      envelope_id: input.envelope_id ?? randomUUID(),
      type: input.type,
      payload: input.payload,
      accepts_response_payload: input.accepts_response_payload ?? input.type !== 'events_api',
      ...(input.type === 'events_api' && {
        retry_attempt: input.retry_attempt ?? 0,
        retry_reason: input.retry_reason ?? '',
      }),
    };
    const record: SentEnvelope = { envelope, sentAt: this.options.now() };
    this.envelopes.push(record);
    const acked = new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelope.envelope_id);
        reject(
          new Error(
            `fake Slack: no ack for ${envelope.type} envelope ${envelope.envelope_id} within ${timeoutMs} ms ` +
              '(Slack would show the user an error, or retry an event)',
          ),
        );
      }, timeoutMs);
      this.pending.set(envelope.envelope_id, { resolve, reject, timer, record });
      connection.ws.send(JSON.stringify(envelope));
    });
    // A caller that awaits still sees the rejection; one that fired and forgot (or a test already over when
    // close() rejects) does not turn it into an unhandled rejection that fails the whole run.
    acked.catch(() => {});
    return acked;
  }

  /** A slash command over the socket: the same payload Slack would POST, as an object. */
  sendSlashCommand(input: SlashCommandInput, options?: WaitOptions): Promise<SocketAck> {
    return this.sendEnvelope({ type: 'slash_commands', payload: buildSlashCommandPayload(input) }, options);
  }

  /** An interaction payload (block_actions, view_submission, …) over the socket. */
  sendInteraction(payload: unknown, options?: WaitOptions): Promise<SocketAck> {
    return this.sendEnvelope({ type: 'interactive', payload }, options);
  }

  /** An Events API `event_callback` body over the socket. */
  sendEvent(payload: unknown, options?: WaitOptions): Promise<SocketAck> {
    return this.sendEnvelope({ type: 'events_api', payload }, options);
  }

  /**
   * Slack's polite disconnect (`refresh_requested` every few hours, `warning` before it, `link_disabled`
   * when Socket Mode is turned off): the client closes and reconnects through apps.connections.open.
   */
  requestDisconnect(reason: 'refresh_requested' | 'warning' | 'link_disabled' = 'refresh_requested'): void {
    for (const { ws, id } of this.connections) {
      ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: `fake-applink-${id}` } }));
    }
  }

  /** Cuts every connection without a close handshake, as a network failure would. */
  dropConnections(): void {
    for (const { ws } of [...this.connections]) ws.terminate();
  }

  /** Forgets sent envelopes (acks still pending keep waiting). */
  reset(): void {
    this.envelopes.length = 0;
  }

  close(): void {
    this.closed = true;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`fake Slack closed before envelope ${id} was acked`));
    }
    this.pending.clear();
    for (const { ws } of [...this.connections]) ws.terminate();
    this.wss.close();
  }
}
