// The playground's pretend workspace: who can be "me", the channels, and one user group. Ids look like
// Slack's so the bot treats them as it would real ones (responders, approvers, mentions).
import type { FakeUser } from '../devkit/slack-emulator/index.ts';

export interface PlaygroundUser {
  readonly id: string;
  readonly name: string;
  readonly realName: string;
  /** One line under the name in the "who am I" switch: what this person may do here. */
  readonly role: string;
  readonly inOpsGroup: boolean;
}

export interface PlaygroundChannel {
  readonly id: string;
  readonly name: string;
  readonly topic: string;
}

export const PLAYGROUND_TEAM = { teamId: 'T0PLAYGRND', teamName: 'Scalebot Playground', teamDomain: 'scalebot-playground' } as const;

/** The user group that may acknowledge and snooze alerts (and, once runbooks exist, approve them). */
export const OPS_GROUP = { id: 'S0PLAYOPS', handle: 'ops' } as const;

export const PLAYGROUND_USERS: readonly PlaygroundUser[] = [
  { id: 'U0PLAYANA', name: 'ana', realName: 'Ana Ops', role: 'ops lead, in @ops', inOpsGroup: true },
  { id: 'U0PLAYBEN', name: 'ben', realName: 'Ben Backend', role: 'engineer, in @ops', inOpsGroup: true },
  { id: 'U0PLAYCAS', name: 'cas', realName: 'Cas Newcomer', role: 'developer, not in @ops', inOpsGroup: false },
];

export const ALERTS_CHANNEL: PlaygroundChannel = { id: 'C0PLAYOPS', name: 'ops', topic: 'The watcher posts breaches here; try /scale status' };
export const CAPACITY_CHANNEL: PlaygroundChannel = {
  id: 'C0PLAYCAP',
  name: 'capacity',
  topic: 'The weekly capacity digest lands here (with --demo, a minute after start)',
};
export const PLAYGROUND_CHANNELS: readonly PlaygroundChannel[] = [
  ALERTS_CHANNEL,
  CAPACITY_CHANNEL,
  { id: 'C0PLAYGEN', name: 'general', topic: 'A second channel: answers to /scale commands land where they were typed' },
];

export function findUser(id: string): PlaygroundUser | undefined {
  return PLAYGROUND_USERS.find((user) => user.id === id);
}

export function findChannel(id: string): PlaygroundChannel | undefined {
  return PLAYGROUND_CHANNELS.find((channel) => channel.id === id);
}

/** The emulator's users.info answers. */
export function emulatorUsers(): Record<string, FakeUser> {
  return Object.fromEntries(PLAYGROUND_USERS.map((user) => [user.id, { name: user.name, real_name: user.realName, tz: 'UTC' }]));
}

export function emulatorUserGroups(): Record<string, string[]> {
  return { [OPS_GROUP.id]: PLAYGROUND_USERS.filter((user) => user.inOpsGroup).map((user) => user.id) };
}

export function emulatorChannels(): Record<string, string> {
  return Object.fromEntries(PLAYGROUND_CHANNELS.map((channel) => [channel.id, channel.name]));
}
