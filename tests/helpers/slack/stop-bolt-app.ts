// Stopping a Bolt app so that nothing of it outlives a test. For Socket Mode, `app.stop()` resolves as soon
// as the client has *sent* its close frame (SocketModeReceiver.stop does not await disconnect()); the
// socket, its ping interval and the client's state machine are only done at the client's `disconnected`
// event. This waits for that too. Reaches into Bolt 5.1's private `receiver`: re-check on a Bolt upgrade.
import type { App } from '@slack/bolt';

interface DisconnectingClient {
  once(event: 'disconnected', listener: () => void): unknown;
  off(event: 'disconnected', listener: () => void): unknown;
}

function socketModeClientOf(app: App): DisconnectingClient | undefined {
  const receiver = (app as unknown as { receiver?: { client?: unknown } }).receiver;
  const client = receiver?.client as Partial<DisconnectingClient> | undefined;
  return typeof client?.once === 'function' && typeof client.off === 'function' ? (client as DisconnectingClient) : undefined;
}

export async function stopBoltApp(app: App, { timeoutMs = 5000 }: { timeoutMs?: number } = {}): Promise<void> {
  const client = socketModeClientOf(app);
  let onDisconnected: (() => void) | undefined;
  const disconnected = client
    ? new Promise<void>((resolve) => {
        onDisconnected = resolve;
        client.once('disconnected', resolve);
      })
    : undefined;
  await app.stop();
  if (!disconnected) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      disconnected,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`stopBoltApp: the Socket Mode client did not disconnect within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (client && onDisconnected) client.off('disconnected', onDisconnected);
  }
}
