// The identities the fake workspace uses unless a test says otherwise. The payload builders use the same
// values, so an envelope built without options names the team, app and bot that the fake answers for.
export const FAKE_SLACK_DEFAULTS = {
  teamId: 'T0FAKE0001',
  teamName: 'Scalebot Test',
  teamDomain: 'scalebot-test',
  appId: 'A0FAKE0001',
  botId: 'B0FAKE0001',
  botUserId: 'U0FAKEBOT1',
  botName: 'scalebot',
  /** The deprecated verification token Slack still puts in payloads; Bolt ignores it. */
  verificationToken: 'fake-verification-token',
} as const;
