// The playground in a real browser: Debian's chromium, driven by playwright-core, against the page
// `npm run playground` serves, with the real bot behind it. Each step's screenshot is kept under
// test-artifacts/playground/ (CI keeps that folder as an artifact).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOUR_RUNBOOK_ID } from '../../playground/runbook-target.ts';
import { startPlayground, type RunningPlayground } from '../../playground/start-playground.ts';
import { fireAlert, startTestPlayground } from './helpers.ts';

const ARTIFACTS = join('test-artifacts', 'playground');
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
/** Chromium as root on a machine with a closed network (see .library/env/machines/node.md). */
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
const STEP_TIMEOUT_MS = 10_000;

/** The playground's own runbook: three harmless steps on this machine, through its throwaway sshd. */
const RUNBOOK_COMMAND = `run ${TOUR_RUNBOOK_ID}`;

let playground: RunningPlayground;
let browser: Browser;
let page: Page;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

async function becomes(realName: string): Promise<void> {
  const who = page.getByRole('radio', { name: new RegExp(`^${realName}`) });
  await who.click();
  await page.locator(`.who.active`, { hasText: realName }).waitFor({ timeout: STEP_TIMEOUT_MS });
}

async function type(text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
  // The box empties once the playground has handed the command to the bot.
  await page.waitForFunction('document.getElementById("composer-input").value === ""', undefined, { timeout: STEP_TIMEOUT_MS });
}

function message(hasText: string | RegExp) {
  return page.locator('.message', { hasText }).last();
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  [playground, browser] = await Promise.all([startTestPlayground(), chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })]);
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${playground.url}?as=U0PLAYANA`);
  await page.getByRole('radio', { name: /^Ana Ops/ }).waitFor();
  expect(errors).toEqual([]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await playground?.stop();
});

describe('the playground page in a browser', () => {
  it('answers /scale status typed in the message box, to the one who typed it', async () => {
    await type('/scale status');
    const answer = page.locator('.message.ephemeral', { hasText: 'Cannot tell: no metrics' });
    await answer.waitFor();
    expect(await answer.locator('.ephemeral-note').textContent()).toContain('Only visible to you');
    expect(await answer.locator('.block-header').textContent()).toBe('Cannot tell: no metrics');
    expect(await answer.textContent()).toContain('CPU usage');
    // No Prometheus here: the page says why, and how to get the demo.
    expect(await page.locator('#banner').textContent()).toContain('npm run playground -- --demo');
    await shot('01-status');

    await becomes('Ben Backend');
    expect(await page.locator('.message.ephemeral').count()).toBe(0);
    await becomes('Ana Ops');
    await answer.waitFor();
  });

  it('clicks the watcher\'s buttons as whoever "I" am: a refusal, an acknowledgement in place, a status in the thread', async () => {
    await fireAlert(playground);
    const breach = message('Scale now: HighCPUUsage');
    await breach.getByRole('button', { name: 'Acknowledge' }).waitFor();
    expect(await breach.getByRole('button').allTextContents()).toEqual(['Acknowledge', 'Snooze 1 h', 'Snooze 4 h', 'Snooze 1 d', 'Status']);
    await shot('02-breach');

    await becomes('Cas Newcomer');
    await breach.getByRole('button', { name: 'Acknowledge' }).click();
    const refusal = page.locator('.message.ephemeral', { hasText: 'may acknowledge or snooze alerts' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('Only @ops may acknowledge');
    await shot('03-refused-for-cas');

    await becomes('Ben Backend');
    await breach.getByRole('button', { name: 'Acknowledge' }).click();
    await page.locator('.message', { hasText: 'acknowledged by @Ben Backend' }).waitFor();
    expect(await breach.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
    expect(await breach.locator('.edited').textContent()).toBe('(edited)');
    await shot('04-acknowledged-by-ben');

    await breach.getByRole('button', { name: 'Status' }).click();
    const replies = breach.getByRole('button', { name: '1 reply' });
    await replies.click();
    await page.locator('.thread .message', { hasText: 'Scale immediately if' }).waitFor();
    await page.evaluate('document.querySelector(".thread").parentElement.scrollIntoView()');
    await shot('05-status-in-thread');

    // /scale alerts links to the breach's message; in the playground the link jumps to it.
    await page
      .locator('.message.flash')
      .first()
      .waitFor({ state: 'detached' })
      .catch(() => undefined);
    await type('/scale alerts');
    const list = page.locator('.message.ephemeral', { hasText: '1 open breach' });
    await list.getByRole('link', { name: 'message' }).click();
    await page.locator('.message.flash', { hasText: 'Scale now: HighCPUUsage' }).waitFor();
  });

  it('starts the before checklist and ticks two items', async () => {
    await becomes('Ana Ops');
    await type('/scale checklist before');
    const checklist = page.locator('.message', { has: page.getByRole('button', { name: 'Tick', exact: true }) }).last();
    await checklist.waitFor();
    await shot('06-checklist-started');
    await checklist.getByRole('button', { name: 'Tick', exact: true }).first().click();
    await checklist
      .getByText(/\b1 of \d+/)
      .first()
      .waitFor();
    await becomes('Ben Backend');
    await checklist.getByRole('button', { name: 'Tick', exact: true }).first().click();
    await checklist
      .getByText(/\b2 of \d+/)
      .first()
      .waitFor();
    expect(await checklist.textContent()).toContain('@Ana Ops');
    expect(await checklist.textContent()).toContain('@Ben Backend');
    await shot('07-checklist-two-ticked');
  });

  it('runs a runbook as one person and has it approved by another', async () => {
    await becomes('Ana Ops');
    await type(`/scale ${RUNBOOK_COMMAND}`);
    const plan = page.locator('.message', { has: page.getByRole('button', { name: 'Approve' }) }).last();
    await plan.waitFor();
    expect(await plan.textContent()).toContain('df -h /');
    await shot('08-runbook-plan');
    // The four-eyes rule: the requester's own approval is refused, to her alone.
    await plan.getByRole('button', { name: 'Approve' }).click();
    await page.locator('.message.ephemeral', { hasText: 'four-eyes' }).waitFor();
    await becomes('Ben Backend');
    await plan.getByRole('button', { name: 'Approve' }).click();
    // The third step waits for an approver's Confirm; the first two have run on this machine by then.
    const run = message(/Playground tour/);
    await run.getByRole('button', { name: 'Confirm step 3' }).waitFor({ timeout: 30_000 });
    await shot('09-runbook-approved-waiting-for-confirm');
    await run.getByRole('button', { name: 'Confirm step 3' }).click();
    await run.locator('b', { hasText: /Succeeded/ }).waitFor({ timeout: 30_000 });
    const thread = run.locator('xpath=..').getByRole('button', { name: /\d+ repl/ });
    await thread.click();
    const output = page.locator('.thread .message', { hasText: 'hello from' });
    await output.waitFor();
    await output.scrollIntoViewIfNeeded();
    await shot('10-runbook-succeeded');
  }, 60_000);
});

describe('--demo without Prometheus', () => {
  it('says how to install it, and the bot says "no data"', async () => {
    const withoutPrometheus = await startPlayground({ port: 0, demo: true, env: { PROMETHEUS_BIN: '/nonexistent/prometheus', LOG_LEVEL: 'silent' } });
    try {
      const other = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      await other.goto(withoutPrometheus.url);
      const banner = other.locator('#banner');
      await banner.getByText('Prometheus is not installed').waitFor({ timeout: STEP_TIMEOUT_MS });
      expect(await banner.textContent()).toContain('sudo apt-get install prometheus');
      const box = other.getByRole('textbox', { name: 'Message' });
      await box.fill('/scale status');
      await box.press('Enter');
      await other.locator('.message.ephemeral', { hasText: 'Cannot tell: no metrics' }).waitFor({ timeout: STEP_TIMEOUT_MS });
      await other.screenshot({ path: join(ARTIFACTS, '11-demo-without-prometheus.png') });
      await other.close();
    } finally {
      await withoutPrometheus.stop();
    }
  });
});
