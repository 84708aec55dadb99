/**
 * The ports core and services use; integrations/ and db/ implement them. Services receive them in their
 * factory options and never reach for a client of their own: tests build real ones over a test storage.
 */
import type { Trigger, Series } from './triggers.ts';
import type { StatusReport } from './status.ts';
import type { ChartModel, RenderedChart } from './chart.ts';
import type { ForecastSettings } from './forecast.ts';
import type { AdviceStore } from './storage/advice.ts';
import type { BreachStore } from './storage/breaches.ts';
import type { ChecklistStore } from './storage/checklists.ts';
import type { DecisionStore } from './storage/decisions.ts';
import type { OutboxStore } from './storage/outbox.ts';
import type { LeaseStore } from './storage/leases.ts';
import type { RunbookStore } from './storage/runbooks.ts';

/** The time now. Every service takes one, so tests can move it. */
export type Clock = () => Date;

/** Prometheus: the queries, and the judging of triggers where their answers are read (a worker thread in the bot). */
export interface PrometheusPort {
  /** Evaluates `query` at every step of [start, end] (unix seconds). */
  queryRange(query: string, start: number, end: number, stepSeconds: number): Promise<Series[]>;
  /** Evaluates `query` at one instant (unix seconds). */
  queryInstant(query: string, at: number): Promise<Array<{ labels: Record<string, string>; value: number }>>;
  /**
   * Evaluates every trigger at `at` (core/status.ts judgeTriggers, wherever the client runs it); with
   * `forecast`, each result of a trigger that has `forecast: true` carries its forecast too.
   */
  judgeTriggers(triggers: readonly Trigger[], at: Date, lookbackSeconds?: number, options?: JudgeOptions): Promise<StatusReport>;
  readonly url: string;
}

export interface JudgeOptions {
  /** Forecast the triggers that have `forecast: true` (a second, longer query each). */
  readonly forecast?: ForecastSettings;
}

/** Draws charts off the event loop (charts/, in a worker thread). */
export interface ChartRenderer {
  /** One chart as a PNG. */
  render(chart: ChartModel): Promise<RenderedChart>;
  /** Several small charts in one picture (the digest's small multiples), `columns` wide. */
  renderSmallMultiples(charts: readonly ChartModel[], options: { readonly title: string; readonly columns?: number }): Promise<RenderedChart>;
  close(): Promise<void>;
}

// SSH: the runbook steps' commands on the hosts (integrations/ssh.ts).

export interface SshHost {
  /** Inventory name, for messages. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** Path to the private key; read at connect time, its contents never leave this module. */
  privateKeyFile: string;
  /** The pinned host key as in known_hosts or the host's .pub file: "ssh-ed25519 AAAA…" (a leading host field is allowed). */
  hostKey: string;
}

export type StepOutcome =
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'connection_lost'
  | 'host_key_mismatch'
  | 'connect_failed'
  | 'stopped'
  /** Not started: another attempt with the same `lockKey` still holds its slot on the host (see `lockHolder`). */
  | 'already_running'
  /**
   * Not started: the host has recorded a higher `fenceToken` than this step's, so a newer leader has run steps
   * there and this replica no longer leads. The run is the new leader's to carry on: nothing is written for it.
   */
  | 'fenced';

/** Who holds a `lockKey` slot on the host, as the holder wrote it when it took the lock. */
export interface LockHolder {
  /** The holder's process (the remote `timeout`, leader of the command's process group); null if not yet written. */
  pid: number | null;
  /** Whether that PID still lives. False while the slot is held: a process the command left behind holds it. */
  alive: boolean;
  /** When the holder started, in the bot's clock (the host's clock offset is taken out). */
  since: Date | null;
  /** When its remote timeout ends it at the latest; null when the host has no `timeout` (no bound). */
  until: Date | null;
  /** The lock file on the host, for `fuser -v FILE` there. */
  lockFile: string;
}

export interface StepResult {
  outcome: StepOutcome;
  /** The remote exit status, when one arrived. */
  exitCode: number | null;
  /** The signal that ended the remote command ("KILL", …), when it ended by one. */
  signal: string | null;
  durationMs: number;
  /** The last few KB of each stream. */
  stdoutTail: string;
  stderrTail: string;
  /** Everything, both streams merged in arrival order, cut at `maxOutputBytes` with a note. */
  output: string;
  outputTruncated: boolean;
  /** One or two sentences for people; never contains key material. */
  message: string;
  /**
   * When the bot could not see the command end (connection lost, half-open link, local timeout without an
   * exit, stop without an answer): the latest moment it may still run on the host, from when it started plus
   * its timeout and kill-after. `NO_TIME_BOUND` when the host has no `timeout` command. Null when the command
   * is known to have ended or never started.
   */
  mayRunUntil: Date | null;
  /** With `already_running`: the attempt that holds the slot. */
  lockHolder?: LockHolder;
}

/** `mayRunUntil` when nothing on the host bounds the command's life (it has no `timeout` command). */
export const NO_TIME_BOUND: Date = new Date(8.64e15);

export interface RunOptions {
  /** The step's timeout. The remote command is stopped at this point; see `SshOptions` for the margins. */
  timeoutSeconds: number;
  /** Called for every decoded chunk as it arrives; errors thrown here are ignored. */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Aborting stops the step: the remote process group gets TERM, then KILL, and the result is `stopped`. */
  signal?: AbortSignal;
  /**
   * A name for this attempt's slot on the host, e.g. "run-12-steps-3" ([A-Za-z0-9_.-], at most 100
   * characters): while a process holding it lives, another run with the same key refuses to start, with
   * `already_running`. The slot is an flock(1) lock held by the remote command and everything it starts (see
   * buildRemoteCommand); the kernel releases it when the last of them dies.
   */
  lockKey?: string;
  /**
   * The leader's fencing token (core/storage/leases.ts). The host keeps the highest token it has seen and
   * refuses a step carrying a lower one (`fenced`), so a deposed leader that wakes up cannot start a step there.
   */
  fenceToken?: number;
  /** Whose tokens `fenceToken` is (LeaseStore.deployment(): [a-z0-9], at most 32): the host keeps one record per deployment. */
  fenceScope?: string;
}

export interface SshPort {
  run(host: SshHost, command: string, options: RunOptions): Promise<StepResult>;
}

/** Where the bot keeps its state (SCALEBOT_DB): a SQLite file, the embedded default, or a PostgreSQL database. */
export type DatabaseTarget = { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'postgres'; readonly url: string };

/**
 * Everything the bot keeps, one store per feature. Every method is asynchronous. A method that writes more
 * than one row is one transaction by itself: callers never hold a transaction open across an await, which is
 * what lets a PostgreSQL implementation be a second file beside the SQLite one (db/sqlite/).
 */
export interface Storage {
  readonly decisions: DecisionStore;
  readonly outbox: OutboxStore;
  readonly breaches: BreachStore;
  readonly runbooks: RunbookStore;
  readonly checklists: ChecklistStore;
  readonly advice: AdviceStore;
  readonly leases: LeaseStore;
  /** True while the storage can be used (the bot's readiness check). */
  isOpen(): boolean;
  /** Commits what is still queued (decision rows waiting for their batch) and closes. */
  close(): Promise<void>;
}

/**
 * Whether this replica leads (services/leadership.ts). Only the leader runs the jobs that must not run twice;
 * every replica answers commands and clicks. With SQLite there is one replica, and it always leads.
 */
export interface LeaderGate {
  /** True while this replica holds the lease. */
  isLeader(): boolean;
  /**
   * Runs `job` as the leader: the storage writes it makes (and those of everything it starts) carry the
   * current fencing token. Not the leader: `job` does not run and the answer is undefined.
   */
  asLeader<T>(job: () => T): T | undefined;
  /**
   * Before an outside call (a Slack post, an SSH step's start) that may take up to `timeoutMs`: true only if
   * this replica leads and its lease has more time left than that, so a stalled leader calls out no more.
   */
  mayCallOut(timeoutMs: number): boolean;
  /** The fencing token of this replica's tenure, while it leads (the host-side step lock carries it). */
  token(): number | undefined;
}

// Slack sending: the Web API calls of the outbox's delivery loop (services/outbox.ts); bot/main.ts passes its WebClient.

/** Metadata every outbox post carries, so that a post whose answer was lost can be found again. */
export interface SlackMessageMetadata {
  readonly event_type: string;
  readonly event_payload: Record<string, string | number | boolean>;
}

/** A message as conversations.history and conversations.replies list it: the outbox reads its ts and metadata. */
export interface SlackListedMessage {
  readonly ts?: string;
  /** A file share lists its files: an upload whose completion answer was lost is found by its file id. */
  readonly files?: ReadonlyArray<{ readonly id?: string }>;
  readonly metadata?: { readonly event_type?: string; readonly event_payload?: Record<string, unknown> };
}

export interface SlackMessagePage {
  readonly messages?: readonly SlackListedMessage[];
  readonly response_metadata?: { readonly next_cursor?: string };
}

/**
 * Block Kit blocks as the outbox stores them: JSON built by blocks/ and scrubbed on the way in, passed to
 * Slack as they are (typed loosely so that the Web API client's own block types accept them).
 */
// biome-ignore lint/suspicious/noExplicitAny: the client's block unions are not ours to restate here
export type SlackBlocks = any[];

/**
 * What the outbox calls on Slack. A call that fails rejects with the Web API client's error: `code`
 * "slack_webapi_rate_limited_error" with `retryAfter` (seconds) for a 429, "slack_webapi_platform_error" with
 * `data.error` when Slack answered ok:false (nothing was posted); anything else may or may not have reached Slack.
 */
export interface SlackSender {
  readonly chat: {
    postMessage(args: {
      channel: string;
      text: string;
      blocks?: SlackBlocks;
      thread_ts?: string;
      metadata: SlackMessageMetadata;
      unfurl_links: boolean;
    }): Promise<{ readonly ts?: string }>;
    update(args: { channel: string; ts: string; text: string; blocks?: SlackBlocks }): Promise<unknown>;
  };
  readonly conversations: {
    history(args: { channel: string; oldest: string; include_all_metadata: boolean; limit: number; cursor?: string }): Promise<SlackMessagePage>;
    replies(args: { channel: string; ts: string; oldest: string; include_all_metadata: boolean; limit: number; cursor?: string }): Promise<SlackMessagePage>;
  };
  /** Slack's upload flow: get an upload URL and file id, POST the bytes there (`uploadBytes`), complete into a channel or thread. */
  readonly files: {
    getUploadURLExternal(args: { filename: string; length: number; alt_text?: string }): Promise<{ readonly upload_url?: string; readonly file_id?: string }>;
    completeUploadExternal(args: {
      files: [{ id: string; title?: string }];
      channel_id: string;
      thread_ts?: string;
      initial_comment?: string;
    }): Promise<unknown>;
  };
  /** POSTs a file's bytes to the `upload_url` files.getUploadURLExternal gave (integrations/slack-upload.ts). */
  uploadBytes(uploadUrl: string, bytes: Uint8Array, filename: string): Promise<void>;
}
