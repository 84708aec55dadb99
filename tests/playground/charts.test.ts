// Issue 16's "done when": a breach in the playground's demo gets a chart in its thread that a person reads at a
// glance, and the weekly digest has something to say. `npm run playground -- --demo` in headless chromium,
// against Debian's prometheus with the backfilled week: the demo week's digest lands in #capacity as the demo
// starts, with its small multiples in its thread; the CPU breach in #ops gets its chart in its thread. Each image
// must load in the page (a natural size), come from the page's own server as a PNG, and open full size on a
// click. The story takes its own pace (about two minutes to the breach), so this runs in `npm run test:long`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground, type RunningPlayground } from '../../playground/start-playground.ts';
import { ALERTS_CHANNEL, CAPACITY_CHANNEL } from '../../playground/workspace.ts';

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
/** The story's pace (see promised-demo.test.ts), then a chart drawn, uploaded through the outbox and shown. */
const BREACH_TIMEOUT_MS = 180_000;
/** The digest is due the minute the demo starts; the bot posts it once it has started and read the week. */
const DIGEST_TIMEOUT_MS = 90_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let playground: RunningPlayground;
let browser: Browser;
let page: Page;

/** The parts of an <img> element the test reads (no DOM types here). */
interface PageImage {
  readonly complete: boolean;
  readonly naturalWidth: number;
  readonly naturalHeight: number;
  readonly src: string;
}

/** What a person's browser got for an image: its natural size in the page, and the bytes its source serves. */
async function loadedImage(image: Locator): Promise<{ width: number; height: number; src: string; bytes: Buffer; contentType: string }> {
  await image.waitFor();
  await page.waitForFunction((img) => (img as unknown as PageImage).complete, await image.elementHandle(), { timeout: 15_000 });
  const { width, height, src } = await image.evaluate((img) => {
    const { naturalWidth, naturalHeight, src } = img as unknown as PageImage;
    return { width: naturalWidth, height: naturalHeight, src };
  });
  const response = await page.request.get(src);
  expect(response.status()).toBe(200);
  return { width, height, src, bytes: await response.body(), contentType: response.headers()['content-type'] ?? '' };
}

function expectPng(loaded: Awaited<ReturnType<typeof loadedImage>>): PNG {
  expect(loaded.width).toBeGreaterThan(0);
  expect(loaded.height).toBeGreaterThan(0);
  expect(loaded.contentType).toBe('image/png');
  expect(loaded.bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  const png = PNG.sync.read(loaded.bytes);
  // The page shows the very image the bot uploaded, at its own size.
  expect([png.width, png.height]).toEqual([loaded.width, loaded.height]);
  return png;
}

function channelMessage(channel: string, hasText: RegExp): Locator {
  return page.locator(`.message-group:has(> .message[data-channel="${channel}"])`, { has: page.locator('> .message', { hasText }) }).first();
}

async function openThread(group: Locator): Promise<Locator> {
  const toggle = group.locator('.thread-toggle');
  await toggle.waitFor();
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  const thread = group.locator('.thread');
  await thread.waitFor();
  return thread;
}

describe.runIf(LONG)('charts and the digest in the demo, in a browser', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [playground, browser] = await Promise.all([
      startPlayground({ port: 0, demo: true, env: { LOG_LEVEL: 'silent', PATH: process.env.PATH } }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    await page.goto(`${playground.url}?as=U0PLAYANA#${CAPACITY_CHANNEL.id}`);
    await page.getByRole('radio', { name: /^Ana Ops/ }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await playground?.stop();
  });

  it(
    "posts the demo week's digest in #capacity, with its small multiples in the thread",
    async () => {
      const status = playground.status().prometheus;
      expect(status.mode).toBe('demo');
      if (status.mode === 'demo') expect(status.history.days).toBeGreaterThanOrEqual(7);

      const digest = channelMessage(CAPACITY_CHANNEL.id, /Weekly capacity digest/);
      await digest.waitFor({ timeout: DIGEST_TIMEOUT_MS });
      // Due the minute the demo started: on time, not "late".
      expect(await digest.locator('> .message').first().textContent()).not.toContain('(late)');
      const thread = await openThread(digest);
      const picture = expectPng(await loadedImage(thread.locator('.file-image img').first()));
      expect(picture.width).toBeGreaterThan(300);
      expect(await thread.locator('.file-image img').first().getAttribute('alt')).toBeTruthy();
      await digest.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ARTIFACTS, 'charts-1-digest.png') });
    },
    DIGEST_TIMEOUT_MS + 30_000,
  );

  it(
    'gets the CPU breach in #ops a chart in its thread, which opens full size on a click',
    async () => {
      await page.locator(`.channel-link[data-channel="${ALERTS_CHANNEL.id}"]`).click();
      const breach = channelMessage(ALERTS_CHANNEL.id, /Scale now: CPU usage/);
      await breach.waitFor({ timeout: BREACH_TIMEOUT_MS });
      await breach.locator('.thread-toggle').waitFor({ timeout: 60_000 });
      const thread = await openThread(breach);
      const image = thread.locator('.file-image img').first();
      await image.waitFor({ timeout: 60_000 });
      const loaded = await loadedImage(image);
      expectPng(loaded);
      // Shown at thumbnail size, as Slack does; the title says what it is.
      const shown = await image.boundingBox();
      expect(shown!.width).toBeLessThanOrEqual(360);
      expect(await thread.locator('.file-image .file-title').first().textContent()).toMatch(/CPU/);
      expect(await image.getAttribute('alt')).toMatch(/CPU/);

      await image.scrollIntoViewIfNeeded();
      await breach.screenshot({ path: join(ARTIFACTS, 'charts-2-breach-thread.png') });
      writeFileSync(join(ARTIFACTS, 'charts-3-breach-chart-full-size.png'), loaded.bytes);

      const [fullSize] = await Promise.all([page.waitForEvent('popup'), image.click()]);
      await fullSize.waitForLoadState();
      expect(fullSize.url()).toBe(loaded.src);
      await fullSize.close();
    },
    BREACH_TIMEOUT_MS + 120_000,
  );
});
