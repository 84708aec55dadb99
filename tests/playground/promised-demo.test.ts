// README: "`--demo` … a local Prometheus playing the scaling guide's story": the breaches appear in #ops,
// `/scale advise` walks the decision tree to "vertical scaling", **Load drops** on the page lets the breaches
// resolve, **Replay** starts the story over. End to end in headless chromium, against Debian's prometheus. It
// takes minutes (the story's own pace), so it runs in `npm run test:long` only.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground, type RunningPlayground } from '../../playground/start-playground.ts';
import { ALERTS_CHANNEL } from '../../playground/workspace.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const ARTIFACTS = join('test-artifacts', 'playground');
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The story: about a minute to the peak, 30 s of `for`, a 5 s watcher: the README says "within about two minutes". */
const BREACH_TIMEOUT_MS = 180_000;
/** Load drops over 20 s, then 30 s under the thresholds before a breach resolves. */
const RESOLVE_TIMEOUT_MS = 150_000;

let playground: RunningPlayground;
let browser: Browser;
let page: Page;

describe.runIf(LONG)('npm run playground -- --demo, in a browser', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [playground, browser] = await Promise.all([
      startPlayground({ port: 0, demo: true, env: { LOG_LEVEL: 'silent', PATH: process.env.PATH } }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(15_000);
    await page.goto(`${playground.url}?as=U0PLAYANA#${ALERTS_CHANNEL.id}`);
    await page.getByRole('radio', { name: /^Ana Ops/ }).waitFor();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await playground?.stop();
  });

  const breach = (title: RegExp) => page.locator(`.message[data-channel="${ALERTS_CHANNEL.id}"]`, { hasText: title }).first();

  it('plays the story: breaches in #ops, advise says vertical, Load drops resolves them, Replay starts over', async () => {
    expect(playground.status().prometheus.mode).toBe('demo');
    await breach(/Scale now: CPU usage/).waitFor({ timeout: BREACH_TIMEOUT_MS });
    await breach(/Scale soon: Concurrent users/).waitFor({ timeout: BREACH_TIMEOUT_MS });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-1-breaches.png') });

    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('/scale advise');
    await box.press('Enter');
    const question = page.locator('.message', { hasText: 'Have you optimized first?' }).last();
    await question.getByRole('button', { name: 'Yes' }).click();
    await page
      .locator('.message', { hasText: /Vertical scaling: upgrade the VPS/ })
      .last()
      .waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-2-advise-vertical.png') });

    await page.locator('#banner').getByRole('button', { name: 'Load drops' }).click();
    await page.locator('#banner', { hasText: /load drops|calm again/ }).waitFor();
    await breach(/Resolved: CPU usage/).waitFor({ timeout: RESOLVE_TIMEOUT_MS });
    await breach(/Resolved: Concurrent users/).waitFor({ timeout: RESOLVE_TIMEOUT_MS });
    expect(await breach(/Scale now: CPU usage/).count()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-3-resolved.png') });

    await page.locator('#banner').getByRole('button', { name: 'Replay the story' }).click();
    await page.locator('#banner', { hasText: /Demo: (warming up|calm|traffic grows)/ }).waitFor();
    // The story plays again: a new CPU breach is opened (a new message; the resolved one stays resolved).
    await breach(/Scale now: CPU usage/).waitFor({ timeout: BREACH_TIMEOUT_MS });
    expect(await breach(/Resolved: CPU usage/).count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-4-replayed.png') });
  }, 720_000);
});
