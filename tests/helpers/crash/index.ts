// Crash-point harness: the real bot process killed with SIGKILL where it awaits Slack or Prometheus, and
// started again on the same database. See README.md in this folder.
export { createBotSupervisor, type BotGeneration, type BotProcessOptions, type BotSupervisor } from './bot-process.ts';
export { startPointProxy, type PointProxy, type PointProxyOptions, type PointProxyRequest } from './point-proxy.ts';
export {
  BOTH_SIDES,
  describeCalls,
  describePoint,
  labelCounts,
  labelsNotIn,
  pointsOf,
  samePoint,
  type CallFate,
  type CrashPoint,
  type PointSelection,
  type ProxiedCall,
  type When,
} from './points.ts';
export {
  decodeSlackCall,
  exactlyOnceProblems,
  outboxIdOf,
  outboxKeyOf,
  slackPointLabeller,
  startSlackProxy,
  type ExpectedSlackMessage,
  type SlackCall,
  type SlackProxy,
} from './slack.ts';
export { sweepConcurrently } from './sweep.ts';
export { until, type UntilOptions } from './wait.ts';
