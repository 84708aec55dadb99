// The Slack emulator: a fake of Slack's servers (Web API, response_urls, Socket Mode), Slack-shaped payloads,
// signed requests into the bot, and Slack's Block Kit limits. The tests' harness (tests/helpers/slack) and
// the playground (playground/) both use it. See README.md beside this file.
export { checkBlockKitLimits, type BlockKitCheckOptions, type BlockKitSurface } from './block-kit-limits.ts';
export { FAKE_SLACK_DEFAULTS } from './defaults.ts';
export {
  FakeSlack,
  startFakeSlack,
  type FakeSlackOptions,
  type HumanMessageInput,
  type InjectedFailure,
  type RecordedCall,
  type RecordedResponse,
  type RecordedUpload,
  type WaitForOptions,
} from './fake-slack.ts';
export { fileKind, pngDimensions, type SharedFile, type UploadedFile } from './file-store.ts';
export { SLACK_RATE_LIMITS, SlackLoad, type LoadCounts, type RateLimit, type SlackLoadOptions } from './load.ts';
export {
  compareTs,
  type EphemeralMessage,
  type MessageMetadata,
  type StoredMessage,
} from './message-store.ts';
export {
  actionTs,
  buildBlockActionsPayload,
  buildSlashCommandPayload,
  findBlockElement,
  newTriggerId,
  type BlockActionInput,
  type BlockActionsInput,
  type BlockActionsPayload,
  type PayloadUser,
  type SlashCommandInput,
  type SlashCommandPayload,
} from './payloads.ts';
export type { ResponseUrlContext, ResponseUrlOptions } from './response-urls.ts';
export {
  sendEvent,
  sendInteraction,
  sendSlashCommand,
  signSlackRequest,
  type BotResponse,
  type SendOptions,
  type SlackSignatureHeaders,
} from './signing.ts';
export {
  FakeSocketMode,
  type SentEnvelope,
  type SocketAck,
  type SocketEnvelope,
  type SocketEnvelopeInput,
  type SocketEnvelopeType,
} from './socket-mode.ts';
export { MAX_MESSAGE_TEXT, type FakeUser, type FakeWorkspaceIdentity, type WebApiResult } from './web-api.ts';
