// The playground page: a channel view of the emulator's workspace. It fetches the state, re-fetches whenever
// the server says something changed (Server-Sent Events), and turns what a person does into the two things
// a Slack client sends: a line from the message box, and a click on a message's element.
import { renderMessageBody } from './blocks.js';
import { escapeHtml, mrkdwnToHtml, plainToHtml } from './mrkdwn.js';

const $ = (id) => document.getElementById(id);
const AVATAR_COLORS = ['#e8912d', '#1264a3', '#e01e5a', '#2eb67d', '#4a154b', '#ecb22e'];

const page = {
  me: new URLSearchParams(location.search).get('as') || localStorage.getItem('playground.me') || '',
  channel: decodeURIComponent(location.hash.slice(1)),
  data: null,
  openThreads: new Set(),
  dismissed: new Set(),
  /** message key → { html, parts: Map(partKey → html) } as last rendered, to keep unchanged nodes. */
  rendered: new Map(),
  /** message key → the interactive elements its HTML refers to by data-el. */
  elements: new Map(),
  renderedChannel: '',
  renderedMe: '',
  loading: false,
  dirty: false,
};

// ---- talking to the playground ----

async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await response.json().catch(() => ({}));
  return { ok: response.ok && json.ok !== false, message: json.message };
}

async function refresh() {
  if (page.loading) {
    page.dirty = true;
    return;
  }
  page.loading = true;
  try {
    do {
      page.dirty = false;
      const response = await fetch(`/api/state?as=${encodeURIComponent(page.me)}`);
      if (response.ok) {
        page.data = await response.json();
        if (!page.me) page.me = page.data.me;
        render();
      }
    } while (page.dirty);
  } finally {
    page.loading = false;
  }
}

function listen() {
  const events = new EventSource('/api/events');
  events.addEventListener('change', () => void refresh());
  events.onerror = () => setComposerError('Lost the connection to the playground; retrying… (is `npm run playground` still running?)');
  events.onopen = () => setComposerError('');
}

// ---- rendering ----

function context() {
  const workspace = page.data.workspace;
  const users = Object.fromEntries(workspace.users.map((user) => [user.id, user.realName]));
  users[workspace.bot.id] = workspace.bot.name;
  return {
    users,
    channels: Object.fromEntries(workspace.channels.map((channel) => [channel.id, channel.name])),
    groups: Object.fromEntries(workspace.groups.map((group) => [group.id, group.handle])),
    now: new Date(),
  };
}

function currentChannel() {
  const channels = page.data.workspace.channels;
  return channels.find((channel) => channel.id === page.channel) ?? channels.find((channel) => channel.id === page.data.status.alertsChannel) ?? channels[0];
}

function me() {
  return page.data.workspace.users.find((user) => user.id === page.me) ?? page.data.workspace.users[0];
}

function avatar(id, label, isBot) {
  const users = page.data.workspace.users;
  const index = users.findIndex((user) => user.id === id);
  const color = isBot ? '#2bac76' : AVATAR_COLORS[(index >= 0 ? index : id.length) % AVATAR_COLORS.length];
  const initials = isBot
    ? 'SB'
    : label
        .split(/\s+/)
        .map((word) => word[0] ?? '')
        .join('')
        .slice(0, 2)
        .toUpperCase();
  return `<span class="avatar" style="background:${color}" aria-hidden="true">${escapeHtml(initials)}</span>`;
}

function timeOf(ts) {
  const date = new Date(Number(ts.split('.')[0]) * 1000);
  return (
    `<time class="time" datetime="${date.toISOString()}" title="${escapeHtml(date.toString())}">` +
    `${date.toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' })}</time>`
  );
}

function authorName(message) {
  if (message.isBot) return page.data.workspace.bot.name;
  return page.data.workspace.users.find((user) => user.id === message.user)?.realName ?? message.user;
}

function renderOne(message, ctx, footer = '') {
  const attributes =
    `data-key="${escapeHtml(message.key)}" data-ts="${escapeHtml(message.ts)}" data-channel="${escapeHtml(message.channel)}" ` +
    `data-kind="${message.kind}"${message.kind === 'ephemeral' ? ' data-ephemeral="true"' : ''}`;
  if (message.kind === 'notice') {
    const icon = message.level === 'error' ? '⚠️' : 'ℹ️';
    return (
      `<div class="message notice notice-${message.level}" ${attributes}><span class="notice-icon" aria-hidden="true">${icon}</span>` +
      `<div class="content"><div class="meta"><span class="author">Playground</span>${timeOf(message.ts)}</div>` +
      `<div class="message-text">${mrkdwnToHtml(message.text, ctx)}</div></div></div>`
    );
  }
  if (message.kind === 'command') {
    return (
      `<div class="message command" ${attributes}>${avatar(message.user, authorName(message), false)}` +
      `<div class="content"><div class="meta"><span class="author">${escapeHtml(authorName(message))}</span>${timeOf(message.ts)}` +
      '<span class="only-you">slash command · only you see this line</span></div>' +
      `<div class="message-text"><code class="slash">${escapeHtml(message.text)}</code></div></div></div>`
    );
  }
  const elementContext = { ...ctx, elements: [] };
  const body = renderMessageBody(message, elementContext);
  page.elements.set(message.key, elementContext.elements);
  const badge = message.isBot ? '<span class="app-badge">APP</span>' : '';
  const edited = message.edits > 0 ? '<span class="edited" title="changed in place (chat.update or replace_original)">(edited)</span>' : '';
  const ephemeral =
    message.kind === 'ephemeral'
      ? '<div class="ephemeral-note"><span aria-hidden="true">👁</span> Only visible to you ' +
        `<button type="button" class="link dismiss" data-dismiss="${escapeHtml(message.key)}">Dismiss</button></div>`
      : '';
  return (
    `<div class="message ${message.kind === 'ephemeral' ? 'ephemeral' : ''}" ${attributes}>${avatar(message.user, authorName(message), message.isBot)}` +
    `<div class="content">${ephemeral}<div class="meta"><span class="author">${escapeHtml(authorName(message))}</span>` +
    `${badge}${timeOf(message.ts)}${edited}</div><div class="body">${body}</div>${footer}</div></div>`
  );
}

function renderThread(message, ctx) {
  const replies = (message.replies ?? []).filter((reply) => !page.dismissed.has(reply.key));
  if (replies.length === 0) return { summary: '', html: '', parts: [] };
  const open = page.openThreads.has(message.key);
  const last = replies[replies.length - 1];
  const summary =
    `<button type="button" class="thread-toggle" data-thread="${escapeHtml(message.key)}" aria-expanded="${open}">` +
    `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}</button><span class="thread-last">Last reply ${timeOf(last.ts)}</span>`;
  const parts = replies.map((reply) => ({ key: reply.key, html: renderOne(reply, ctx) }));
  const html = open ? `<div class="thread" aria-label="Thread">${parts.map((part) => part.html).join('')}</div>` : '';
  return { summary, html, parts: open ? parts : [] };
}

function renderMessages() {
  const container = $('messages');
  const channel = currentChannel();
  const ctx = context();
  const nearBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 120;
  const switched = page.renderedChannel !== channel.id || page.renderedMe !== page.me;
  if (switched) {
    container.replaceChildren();
    page.rendered.clear();
  }
  const messages = channel.messages.filter((message) => !page.dismissed.has(message.key));
  const seen = new Set();
  let previous = null;
  for (const message of messages) {
    seen.add(message.key);
    const thread = renderThread(message, ctx);
    const own = renderOne(message, ctx);
    const footer = thread.summary ? `<div class="thread-summary">${thread.summary}</div>` : '';
    const html = `<div class="message-group" data-group="${escapeHtml(message.key)}">${footer ? renderOne(message, ctx, footer) : own}${thread.html}</div>`;
    const before = page.rendered.get(message.key);
    let node = container.querySelector(`[data-group="${CSS.escape(message.key)}"]`);
    if (!before || before.html !== html || !node) {
      const fresh = document.createElement('div');
      fresh.innerHTML = html;
      const replacement = fresh.firstElementChild;
      if (node) node.replaceWith(replacement);
      else if (previous) previous.after(replacement);
      else container.prepend(replacement);
      // Flash what changed in place (an edit, a new reply), not what is new.
      if (before && !switched) {
        const parts = new Map([[message.key, own], ...thread.parts.map((part) => [part.key, part.html])]);
        for (const [key, partHtml] of parts) {
          if (before.parts.has(key) && before.parts.get(key) !== partHtml) {
            replacement.querySelector(`.message[data-key="${CSS.escape(key)}"]`)?.classList.add('flash');
          }
        }
      }
      node = replacement;
      page.rendered.set(message.key, { html, parts: new Map([[message.key, own], ...thread.parts.map((part) => [part.key, part.html])]) });
    }
    if (previous ? node.previousElementSibling !== previous : container.firstElementChild !== node) {
      if (previous) previous.after(node);
      else container.prepend(node);
    }
    previous = node;
  }
  for (const node of [...container.querySelectorAll('[data-group]')]) {
    if (!seen.has(node.dataset.group)) {
      page.rendered.delete(node.dataset.group);
      node.remove();
    }
  }
  if (messages.length === 0) {
    container.innerHTML = `<div class="empty">Nothing here yet. Type <code>/scale status</code> below and press Enter.</div>`;
    page.rendered.clear();
  } else {
    container.querySelector('.empty')?.remove();
  }
  page.renderedChannel = channel.id;
  page.renderedMe = page.me;
  if (switched || nearBottom) container.scrollTop = container.scrollHeight;
}

function renderSidebar() {
  const { workspace, status } = page.data;
  $('team-name').textContent = workspace.team;
  const channel = currentChannel();
  $('channel-list').innerHTML = workspace.channels
    .map(
      (c) =>
        `<a class="channel-link${c.id === channel.id ? ' active' : ''}" href="#${escapeHtml(c.id)}" data-channel="${escapeHtml(c.id)}">` +
        `# ${escapeHtml(c.name)}</a>`,
    )
    .join('');
  $('user-list').innerHTML = workspace.users
    .map(
      (user) =>
        `<button type="button" role="radio" class="who${user.id === me().id ? ' active' : ''}" aria-checked="${user.id === me().id}" ` +
        `data-user="${escapeHtml(user.id)}">${avatar(user.id, user.realName, false)}` +
        `<span><span class="who-name">${escapeHtml(user.realName)}</span><small>${escapeHtml(user.role)}</small></span></button>`,
    )
    .join('');
  const lines = [];
  const prometheus = status.prometheus;
  if (prometheus.mode === 'demo') lines.push(`<div><b>Prometheus</b> demo, scraping every second</div>`);
  else if (prometheus.mode === 'missing') lines.push(`<div><b>Prometheus</b> not installed</div>`);
  else
    lines.push(
      `<div><b>Prometheus</b> ${escapeHtml(prometheus.url)} ` +
        `${prometheus.answers ? 'answers' : prometheus.answers === false ? 'does not answer' : ''}</div>`,
    );
  lines.push(`<div><b>Runbooks</b> ${escapeHtml(status.runbooks.summary)}</div>`);
  lines.push(`<div><b>Bot</b> ${escapeHtml(status.botUrl)} (HTTP mode)</div>`);
  $('playground-status').innerHTML = lines.join('');
}

function renderBanner() {
  const { status } = page.data;
  const banner = $('banner');
  const prometheus = status.prometheus;
  let html = '';
  if (status.demo) {
    const next =
      {
        'warming up': 'The story starts in a few seconds.',
        calm: 'The watcher checks every 5 s; the breaches appear here within about two minutes.',
        'traffic grows': 'The watcher checks every 5 s; the breaches appear here within about two minutes.',
        'CPU stays above 70 %':
          "Try <code>/scale advise</code> (the guide's decision tree on these numbers), " +
          'the buttons on the breach (as Cas, then as Ben), <code>/scale status</code>.',
        'load drops': 'Breaches resolve once the load has stayed under the thresholds for 30 s.',
        'calm again': 'Breaches resolve once the load has stayed under the thresholds for 30 s. Replay to watch it again.',
      }[status.demo.phase] ?? '';
    html =
      `<div><b>Demo</b>: ${escapeHtml(status.demo.phase)} <span class="muted">(${status.demo.elapsedSeconds} s into the story)</span>. ${next}</div>\n` +
      '      <div class="banner-actions"><button type="button" class="btn btn-default" data-demo="calm-down">Load drops</button>' +
      '<button type="button" class="btn btn-default" data-demo="replay">Replay the story</button></div>';
  } else if (prometheus.mode === 'missing') {
    html =
      '<div><b>Prometheus is not installed</b>, so the demo cannot play and the bot honestly says "no data". ' +
      'Install it with <code>sudo apt-get install prometheus</code>, then run <code>npm run playground -- --demo</code>.</div>';
  } else if (prometheus.mode === 'external' && prometheus.answers === false) {
    html =
      `<div>Nothing answers at <code>${escapeHtml(prometheus.url)}</code>: every trigger shows <b>no data</b> ` +
      "and the watcher reports monitoring as blind. To watch the scaling guide's story (traffic grows, CPU passes 70 %), " +
      'run <code>npm run playground -- --demo</code>; for your own Prometheus, set <code>PROMETHEUS_URL</code>.</div>';
  }
  banner.hidden = html === '';
  if (banner.innerHTML !== html) banner.innerHTML = html;
}

function renderComposer() {
  const channel = currentChannel();
  const user = me();
  $('channel-name').textContent = `# ${channel.name}`;
  $('channel-topic').textContent = channel.topic;
  $('composer-input').placeholder = `Message #${channel.name} as ${user.realName}: try /scale status`;
  const hints = page.data.commandHints
    .map((usage) => `<button type="button" class="hint" data-hint="/scale ${escapeHtml(usage)}">/scale ${escapeHtml(usage)}</button>`)
    .join('');
  if ($('hints').innerHTML !== hints) $('hints').innerHTML = hints;
}

function renderLog() {
  const log = $('log');
  if (log.hidden) return;
  const list = $('log-entries');
  list.innerHTML = page.data.workspace.activity
    .map((entry) => {
      const time = new Date(entry.at).toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit', second: '2-digit' });
      return (
        `<li class="${entry.ok ? '' : 'refused'}"><span class="log-kind">${escapeHtml(entry.kind)}</span><span class="log-time">${time}</span>` +
        `<span class="log-summary">${escapeHtml(entry.summary)}</span>` +
        `${entry.detail ? `<span class="log-detail">${escapeHtml(entry.detail)}</span>` : ''}</li>`
      );
    })
    .join('');
  list.lastElementChild?.scrollIntoView({ block: 'end' });
}

function render() {
  if (!page.data) return;
  localStorage.setItem('playground.me', me().id);
  renderSidebar();
  renderBanner();
  renderComposer();
  renderMessages();
  renderLog();
}

// ---- what a person does ----

function setComposerError(text) {
  $('composer-error').textContent = text ?? '';
}

async function submit(event) {
  event.preventDefault();
  if (!page.data) return;
  const input = $('composer-input');
  const text = input.value.trim();
  if (!text) return;
  input.disabled = true;
  setComposerError('');
  try {
    const outcome = await post('/api/submit', { user: me().id, channel: currentChannel().id, text });
    if (outcome.ok) input.value = '';
    else setComposerError(outcome.message ?? 'That did not work.');
  } finally {
    input.disabled = false;
    input.focus();
  }
}

function elementOf(node) {
  const holder = node.closest('[data-el]');
  const messageNode = node.closest('.message');
  if (!holder || !messageNode) return null;
  const entry = page.elements.get(messageNode.dataset.key)?.[Number(holder.dataset.el)];
  return entry ? { ...entry, holder, messageNode } : null;
}

function optionObject(element, value) {
  const options = [...(element.options ?? []), ...(element.option_groups ?? []).flatMap((group) => group.options ?? [])];
  const option = options.find((candidate) => candidate.value === value);
  return option ? { text: option.text, value: option.value } : undefined;
}

function checkedValues(holder) {
  return [...holder.querySelectorAll('input:checked')].map((input) => input.value);
}

/** What the message's stateful elements hold, in the shape of Slack's `state.values`. */
function collectState(messageNode) {
  const values = {};
  for (const holder of messageNode.querySelectorAll('[data-el]')) {
    const entry = page.elements.get(messageNode.dataset.key)?.[Number(holder.dataset.el)];
    if (!entry?.blockId || !entry.element.action_id) continue;
    const { element } = entry;
    let value;
    if (element.type === 'static_select' && holder.value) value = { type: element.type, selected_option: optionObject(element, holder.value) ?? null };
    else if (element.type === 'multi_static_select')
      value = { type: element.type, selected_options: [...holder.selectedOptions].map((o) => optionObject(element, o.value)).filter(Boolean) };
    else if (element.type === 'checkboxes')
      value = {
        type: element.type,
        selected_options: checkedValues(holder)
          .map((v) => optionObject(element, v))
          .filter(Boolean),
      };
    else if (element.type === 'radio_buttons') value = { type: element.type, selected_option: optionObject(element, checkedValues(holder)[0]) ?? null };
    else if (element.type === 'datepicker' && holder.value) value = { type: element.type, selected_date: holder.value };
    if (value) {
      values[entry.blockId] ??= {};
      values[entry.blockId][element.action_id] = value;
    }
  }
  return values;
}

function confirmWith(confirm) {
  if (!confirm) return Promise.resolve(true);
  const dialog = $('confirm-dialog');
  const ctx = context();
  $('confirm-title').innerHTML = plainToHtml(confirm.title?.text ?? 'Are you sure?');
  $('confirm-text').innerHTML = confirm.text?.type === 'plain_text' ? plainToHtml(confirm.text.text) : mrkdwnToHtml(confirm.text?.text ?? '', ctx);
  $('confirm-ok').innerHTML = plainToHtml(confirm.confirm?.text ?? 'Yes');
  $('confirm-deny').innerHTML = plainToHtml(confirm.deny?.text ?? 'Cancel');
  $('confirm-ok').className = `btn ${confirm.style === 'danger' ? 'btn-danger' : 'btn-primary'}`;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
    dialog.showModal();
  });
}

async function act(target, extra) {
  const found = elementOf(target);
  if (!found) return;
  const { element, blockId, holder, messageNode } = found;
  if (!(await confirmWith(element.confirm))) return;
  if (element.url) window.open(element.url, '_blank', 'noopener,noreferrer');
  holder.setAttribute('aria-busy', 'true');
  try {
    const outcome = await post('/api/action', {
      user: me().id,
      channel: messageNode.dataset.channel,
      ts: messageNode.dataset.ts,
      ephemeral: messageNode.dataset.ephemeral === 'true',
      actionId: element.action_id,
      ...(blockId ? { blockId } : {}),
      ...extra,
      state: collectState(messageNode),
    });
    if (!outcome.ok) setComposerError(outcome.message ?? 'The click was not sent.');
  } finally {
    holder.removeAttribute('aria-busy');
  }
}

function onClick(event) {
  const target = event.target;
  if (!(target instanceof Element) || !page.data) return;
  const who = target.closest('[data-user].who');
  if (who) {
    page.me = who.dataset.user;
    localStorage.setItem('playground.me', page.me);
    void refresh();
    return;
  }
  const hint = target.closest('[data-hint]');
  if (hint) {
    const input = $('composer-input');
    // Usages with placeholders ("checklist <name>") stop before the first one, for the person to fill in.
    input.value = hint.dataset.hint.replace(/\s*[<[].*$/, ' ');
    input.focus();
    return;
  }
  const demo = target.closest('[data-demo]');
  if (demo) {
    void post('/api/demo', { do: demo.dataset.demo });
    return;
  }
  const jump = target.closest('[data-jump-ts]');
  if (jump) {
    event.preventDefault();
    jumpTo(jump.dataset.jumpChannel, jump.dataset.jumpTs);
    return;
  }
  const thread = target.closest('[data-thread]');
  if (thread) {
    const key = thread.dataset.thread;
    if (page.openThreads.has(key)) page.openThreads.delete(key);
    else page.openThreads.add(key);
    render();
    return;
  }
  const dismiss = target.closest('[data-dismiss]');
  if (dismiss) {
    page.dismissed.add(dismiss.dataset.dismiss);
    render();
    return;
  }
  const overflowToggle = target.closest('.overflow-toggle');
  if (overflowToggle) {
    const menu = overflowToggle.nextElementSibling;
    menu.hidden = !menu.hidden;
    return;
  }
  const overflowItem = target.closest('.overflow-item');
  if (overflowItem) {
    overflowItem.parentElement.hidden = true;
    void act(overflowItem, { selectedValue: overflowItem.dataset.value });
    return;
  }
  const button = target.closest('button[data-el]');
  if (button && button.dataset.type === 'button') void act(button, {});
}

/** A link to a message (from `/scale alerts`, say): show its channel, open its thread if it is a reply, flash it. */
function jumpTo(channel, ts) {
  const view = page.data.workspace.channels.find((c) => c.id === channel);
  if (!view) return;
  const parent = view.messages.find((m) => m.ts === ts || (m.replies ?? []).some((reply) => reply.ts === ts));
  if (!parent) {
    setComposerError('That message is not in the playground any more.');
    return;
  }
  if (parent.ts !== ts) page.openThreads.add(parent.key);
  page.channel = channel;
  history.replaceState(null, '', `#${channel}`);
  render();
  const node = $('messages').querySelector(`.message[data-ts="${CSS.escape(ts)}"]`);
  node?.scrollIntoView({ block: 'center' });
  node?.classList.add('flash');
}

function onChange(event) {
  const target = event.target;
  if (!(target instanceof Element)) return;
  const found = elementOf(target);
  if (!found) return;
  const { element, holder } = found;
  switch (element.type) {
    case 'static_select':
      void act(holder, { selectedValue: holder.value });
      break;
    case 'multi_static_select':
      void act(holder, { selectedValues: [...holder.selectedOptions].map((option) => option.value) });
      break;
    case 'checkboxes':
      void act(holder, { selectedValues: checkedValues(holder) });
      break;
    case 'radio_buttons':
      void act(holder, { selectedValue: checkedValues(holder)[0] });
      break;
    case 'datepicker':
      void act(holder, { selectedDate: holder.value });
      break;
  }
}

function start() {
  document.addEventListener('click', onClick);
  // A flash is for one change: drop it once shown, so the next change (or a jump) can flash again.
  document.addEventListener('animationend', (event) => event.target instanceof Element && event.target.classList.remove('flash'));
  $('messages').addEventListener('change', onChange);
  $('composer').addEventListener('submit', (event) => void submit(event));
  $('toggle-log').addEventListener('click', () => {
    const log = $('log');
    log.hidden = !log.hidden;
    $('toggle-log').setAttribute('aria-pressed', String(!log.hidden));
    renderLog();
  });
  window.addEventListener('hashchange', () => {
    page.channel = decodeURIComponent(location.hash.slice(1));
    render();
  });
  listen();
  void refresh();
  $('composer-input').focus();
}

start();
