import { describe, expect, it } from 'vitest';
import { buildBreachMessage } from '../../blocks/breach.ts';
import type { BreachRow } from '../../db/breaches.ts';
import { renderBlock, renderFiles, renderMessageBody, type RenderContext } from '../../playground/web/blocks.js';
import { formatSlackDate, mrkdwnToHtml, plainToHtml } from '../../playground/web/mrkdwn.js';

const ctx = { users: { U0PLAYANA: 'Ana Ops' }, groups: { S0PLAYOPS: 'ops' }, channels: { C0PLAYOPS: 'ops' } };
const renderContext = (): RenderContext => ({ ...ctx, elements: [] });

describe('mrkdwn on the page', () => {
  it('formats bold, italic, strike, code and quotes, and leaves words with underscores alone', () => {
    expect(mrkdwnToHtml('*bold* _italic_ ~gone~ `a_b*c` snake_case_word', ctx)).toBe(
      '<b>bold</b> <i>italic</i> <s>gone</s> <code>a_b*c</code> snake_case_word',
    );
    expect(mrkdwnToHtml('&gt; quoted *line*\nplain', ctx)).toBe('<blockquote>quoted <b>line</b></blockquote>plain');
    expect(mrkdwnToHtml('```\nnot *bold* <@U0PLAYANA>\n```\nafter', ctx)).toBe('<pre class="pre">not *bold* &lt;@U0PLAYANA&gt;</pre>after');
  });

  it('resolves mentions, groups and channels by name, and links only to http(s) and mailto', () => {
    expect(mrkdwnToHtml('<@U0PLAYANA> <!subteam^S0PLAYOPS> <#C0PLAYOPS> <!here>', ctx)).toBe(
      '<span class="mention" data-user="U0PLAYANA">@Ana Ops</span> <span class="mention">@ops</span> ' +
        '<span class="mention">#ops</span> <span class="mention">@here</span>',
    );
    expect(mrkdwnToHtml('*<https://example.com/a?b=1&amp;c=2|the dashboard>*', ctx)).toBe(
      '<b><a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the dashboard</a></b>',
    );
    expect(mrkdwnToHtml('<javascript:alert(1)|click>', ctx)).toBe('click');
    // A link to a Slack message (what /scale alerts gives) stays in the page: it jumps to the message.
    expect(mrkdwnToHtml('<https://slack.com/archives/C0PLAYOPS/p1795829341839000|message>', ctx)).toBe(
      '<a href="#C0PLAYOPS" class="message-link" data-jump-channel="C0PLAYOPS" data-jump-ts="1795829341.839000">message</a>',
    );
  });

  it('escapes everything else, so a message can never inject markup into the page', () => {
    expect(mrkdwnToHtml('a &lt;script&gt; & "quotes"', ctx)).toBe('a &lt;script&gt; &amp; &quot;quotes&quot;');
    expect(plainToHtml('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert(1)&gt;');
    expect(mrkdwnToHtml('<https://x.example/"onmouseover="alert(1)|x>', ctx)).not.toContain('"onmouseover');
  });

  it("turns the bot's emoji into emoji and keeps unknown ones as text", () => {
    expect(mrkdwnToHtml(':red_circle: :no_such_emoji:', ctx)).toBe('<span class="emoji" title=":red_circle:">🔴</span> :no_such_emoji:');
  });

  it("formats <!date^…> with Slack's tokens in the reader's zone", () => {
    const now = new Date(2026, 10, 28, 15, 0, 0);
    const date = new Date(2026, 10, 28, 14, 5, 9);
    expect(formatSlackDate(date, '{date_short_pretty} {time}', now)).toBe('today 2:05 PM');
    expect(formatSlackDate(date, '{date_num} {time_secs}', now)).toBe('2026-11-28 2:05:09 PM');
    expect(formatSlackDate(date, '{date}', now)).toBe('November 28th, 2026');
    expect(formatSlackDate(date, '{ago}', now)).toBe('54 minutes ago');
    const html = mrkdwnToHtml(`since <!date^${Math.floor(date.getTime() / 1000)}^{time}|14:05 UTC>`, { ...ctx, now });
    expect(html).toMatch(/^since <time datetime="[^"]+" title="[^"]+">2:05 PM<\/time>$/);
  });
});

describe('Block Kit on the page', () => {
  it("renders the bot's breach message: section, context and styled buttons that carry their action ids", () => {
    const breach: BreachRow = {
      id: 7,
      key: 'cpu|instance=web-1',
      triggerId: 'cpu',
      name: 'CPU usage',
      severity: 'immediate',
      labels: { instance: 'web-1' },
      source: 'watcher',
      status: 'open',
      openedAt: new Date('2026-11-28T10:00:00Z'),
      breachedSince: new Date('2026-11-28T09:45:00Z'),
      lastValue: '0.9',
      lastSeenAt: new Date('2026-11-28T10:05:00Z'),
      detail: { unit: 'percent', op: '>', threshold: 0.7, forSeconds: 900, advice: 'Consider vertical scaling.' },
      ackedBy: null,
      ackedAt: null,
      snoozedUntil: null,
      snoozedBy: null,
      conditionFalseSince: null,
      resolvedAt: null,
      lastReminderAt: null,
      messageId: null,
    };
    const message = buildBreachMessage(breach, { now: new Date('2026-11-28T10:05:00Z'), snoozeOptionsSeconds: [3600] });
    const context = renderContext();
    const html = renderMessageBody({ text: message.text, blocks: [...(message.blocks ?? [])] }, context);
    expect(html).toContain('<b>Scale now: CPU usage</b>');
    expect(html).toContain('Consider vertical scaling.');
    const ackButton = /<button type="button" class="btn btn-primary" data-el="0" data-action-id="alert_ack"/;
    const ackAttributes = / data-block-id="alert_actions_7" data-type="button">Acknowledge<\/button>/;
    expect(html).toMatch(new RegExp(ackButton.source + ackAttributes.source));
    expect(html).toContain('data-action-id="alert_snooze_3600"');
    expect(context.elements.map((entry) => entry.element.action_id)).toEqual(['alert_ack', 'alert_snooze_3600', 'alert_status']);
  });

  it('renders header, fields, divider, danger buttons, selects, overflow menus, checkboxes and radio buttons', () => {
    const context = renderContext();
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'Before scaling :rocket:' } },
      {
        type: 'section',
        block_id: 's',
        fields: [
          { type: 'mrkdwn', text: '*Run*\n#42' },
          { type: 'plain_text', text: 'Two' },
        ],
      },
      { type: 'divider' },
      {
        type: 'actions',
        block_id: 'a',
        elements: [
          {
            type: 'button',
            action_id: 'stop',
            style: 'danger',
            text: { type: 'plain_text', text: 'Stop' },
            confirm: { title: { type: 'plain_text', text: 'Sure?' } },
          },
          {
            type: 'static_select',
            action_id: 'pick',
            placeholder: { type: 'plain_text', text: 'Pick a tier' },
            options: [{ text: { type: 'plain_text', text: 'CPX51' }, value: 'cpx51' }],
          },
          { type: 'overflow', action_id: 'more', options: [{ text: { type: 'plain_text', text: 'Abandon' }, value: 'abandon' }] },
        ],
      },
      {
        type: 'section',
        block_id: 'c',
        text: { type: 'mrkdwn', text: 'Items' },
        accessory: {
          type: 'checkboxes',
          action_id: 'items',
          options: [{ text: { type: 'mrkdwn', text: '*Backup*' }, value: 'backup' }],
          initial_options: [{ text: { type: 'mrkdwn', text: '*Backup*' }, value: 'backup' }],
        },
      },
      {
        type: 'actions',
        block_id: 'r',
        elements: [{ type: 'radio_buttons', action_id: 'answer', options: [{ text: { type: 'plain_text', text: 'Yes' }, value: 'yes' }] }],
      },
      { type: 'image', image_url: 'https://example.com/graph.png', alt_text: 'CPU graph' },
      { type: 'video', title: { type: 'plain_text', text: 'x' } },
    ];
    const html = blocks.map((block) => renderBlock(block, context)).join('');
    expect(html).toContain('<div class="block block-header">Before scaling <span class="emoji" title=":rocket:">🚀</span></div>');
    expect(html).toContain('<div class="section-fields"><div class="field"><b>Run</b><br>#42</div><div class="field">Two</div></div>');
    expect(html).toContain('<hr class="block block-divider">');
    expect(html).toContain('class="btn btn-danger"');
    expect(html).toContain('<option value="" disabled selected>Pick a tier</option><option value="cpx51">CPX51</option>');
    expect(html).toContain('<button type="button" class="overflow-item" data-value="abandon">Abandon</button>');
    expect(html).toMatch(/<input type="checkbox" name="r\d+" value="backup" checked><span><b>Backup<\/b><\/span>/);
    expect(html).toContain('type="radio"');
    // Images from elsewhere are shown as what they are, never loaded.
    expect(html).toContain('🖼 CPU graph');
    expect(html).not.toContain('<img');
    expect(html).toContain('[video block: not shown by the playground]');
    expect(context.elements.map((entry) => [entry.blockId, entry.element.action_id])).toEqual([
      ['a', 'stop'],
      ['a', 'pick'],
      ['a', 'more'],
      ['c', 'items'],
      ['r', 'answer'],
    ]);
  });

  it('shows a message without blocks by its text, and keeps attachment colours to colours', () => {
    const html = renderMessageBody({ text: 'plain *text*', attachments: [{ text: 'x', color: 'red;background:url(https://evil.example)' }] }, renderContext());
    expect(html).toBe('<div class="message-text">plain <b>text</b></div><div class="attachment" style="border-color:#dddddd">x</div>');
  });

  it("shows a shared image at thumbnail size from the page's own server, under its title, with its alt text, opening full size", () => {
    const chart = { id: 'F0CHART1', name: 'cpu.png', title: 'CPU usage, last hour', mimetype: 'image/png', altText: 'CPU at 86 %, over 70 % for 2 minutes' };
    const html = renderMessageBody({ text: 'CPU usage', files: [chart] }, renderContext());
    expect(html).toBe(
      '<div class="message-text">CPU usage</div><div class="files"><figure class="file file-image" data-file-id="F0CHART1">' +
        '<figcaption class="file-title">CPU usage, last hour</figcaption><a href="/api/files/F0CHART1" target="_blank" rel="noopener" title="Open full size">' +
        '<img src="/api/files/F0CHART1" alt="CPU at 86 %, over 70 % for 2 minutes" loading="lazy"></a></figure></div>',
    );
    // A file with no text of its own (an upload's reply) shows the file alone.
    expect(renderMessageBody({ text: '', files: [chart] }, renderContext())).toMatch(/^<div class="files">/);
  });

  it('offers any other file as a download, and escapes what a file is called', () => {
    const html = renderFiles([{ id: 'F0LOG/../x', name: 'a"b.txt', title: '<script>', mimetype: 'text/html' }]);
    expect(html).toBe('<div class="files"><a class="file file-other" href="/api/files/F0LOG%2F..%2Fx" download="a&quot;b.txt">📎 &lt;script&gt;</a></div>');
    expect(renderFiles(undefined)).toBe('');
  });
});
