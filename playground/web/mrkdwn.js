// Slack's mrkdwn to HTML, for the playground page: *bold*, _italic_, ~strike~, `code`, ```blocks```, > quotes,
// <links|text>, <@U…> mentions, <#C…> channels, <!subteam^S…> groups, <!date^…|fallback>, :emoji: shortcodes.
// Pure string functions (no DOM), so they can be tested in Node as well. Everything that reaches the page
// is HTML-escaped here; images and links to elsewhere are never loaded, only shown.

/**
 * @typedef {object} MrkdwnContext
 * @property {Record<string, string>} users     user id → display name
 * @property {Record<string, string>} channels  channel id → name
 * @property {Record<string, string>} groups    user group id → handle
 * @property {Date} [now]                       for {ago} and "today"
 */

/** Shortcodes the bot and its Block Kit use, and a few common ones; the rest stay as :text:. */
export const EMOJI = {
  red_circle: '🔴',
  large_yellow_circle: '🟡',
  large_green_circle: '🟢',
  large_orange_circle: '🟠',
  large_blue_circle: '🔵',
  white_circle: '⚪',
  black_circle: '⚫',
  white_check_mark: '✅',
  heavy_check_mark: '✔️',
  ballot_box_with_check: '☑️',
  white_large_square: '⬜',
  grey_question: '❔',
  question: '❓',
  grey_exclamation: '❕',
  exclamation: '❗',
  warning: '⚠️',
  x: '❌',
  no_entry: '⛔',
  no_entry_sign: '🚫',
  stop_sign: '🛑',
  octagonal_sign: '🛑',
  bulb: '💡',
  eyes: '👀',
  zzz: '💤',
  alarm_clock: '⏰',
  stopwatch: '⏱️',
  timer_clock: '⏲️',
  hourglass: '⌛',
  hourglass_flowing_sand: '⏳',
  see_no_evil: '🙈',
  checkered_flag: '🏁',
  lock: '🔒',
  unlock: '🔓',
  key: '🔑',
  rocket: '🚀',
  rotating_light: '🚨',
  fire: '🔥',
  boom: '💥',
  zap: '⚡',
  sparkles: '✨',
  tada: '🎉',
  thumbsup: '👍',
  '+1': '👍',
  thumbsdown: '👎',
  '-1': '👎',
  wave: '👋',
  point_right: '👉',
  thinking_face: '🤔',
  construction: '🚧',
  gear: '⚙️',
  wrench: '🔧',
  hammer_and_wrench: '🛠️',
  clipboard: '📋',
  memo: '📝',
  pencil: '📝',
  chart_with_upwards_trend: '📈',
  chart_with_downwards_trend: '📉',
  bar_chart: '📊',
  computer: '💻',
  desktop_computer: '🖥️',
  floppy_disk: '💾',
  package: '📦',
  link: '🔗',
  mag: '🔍',
  moneybag: '💰',
  money_with_wings: '💸',
  dollar: '💵',
  bust_in_silhouette: '👤',
  busts_in_silhouette: '👥',
  shield: '🛡️',
  calendar: '📅',
  spiral_calendar_pad: '🗓️',
  arrow_right: '➡️',
  arrow_left: '⬅️',
  arrow_up: '⬆️',
  arrow_down: '⬇️',
  arrow_forward: '▶️',
  double_vertical_bar: '⏸️',
  black_square_for_stop: '⏹️',
  arrows_counterclockwise: '🔄',
  repeat: '🔁',
  leftwards_arrow_with_hook: '↩️',
  rewind: '⏪',
  fast_forward: '⏩',
  back: '🔙',
  recycle: '♻️',
  heavy_plus_sign: '➕',
  heavy_minus_sign: '➖',
  heavy_multiplication_x: '✖️',
  information_source: 'ℹ️',
  speech_balloon: '💬',
  pushpin: '📌',
  small_red_triangle: '🔺',
  small_red_triangle_down: '🔻',
  globe_with_meridians: '🌐',
  earth_africa: '🌍',
  card_file_box: '🗃️',
  file_cabinet: '🗄️',
  skull: '💀',
  robot_face: '🤖',
  scales: '⚖️',
  crystal_ball: '🔮',
  dart: '🎯',
  runner: '🏃',
  snail: '🐌',
  turtle: '🐢',
  traffic_light: '🚥',
  vertical_traffic_light: '🚦',
  hospital: '🏥',
  ambulance: '🚑',
  books: '📚',
  bookmark_tabs: '📑',
  scroll: '📜',
  test_tube: '🧪',
  raised_hand: '✋',
  wastebasket: '🗑️',
  closed_lock_with_key: '🔐',
  compass: '🧭',
  electric_plug: '🔌',
};

export function escapeHtml(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Slack escapes &, < and > in text; undo that before escaping for HTML. */
function decodeSlackEntities(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export function emojiToHtml(escapedText) {
  return escapedText.replace(/:([a-z0-9_+\-']+):/g, (whole, name) => {
    const emoji = EMOJI[name];
    return emoji ? `<span class="emoji" title=":${name}:">${emoji}</span>` : whole;
  });
}

/** plain_text objects: no formatting, but Slack does turn :emoji: into emoji when `emoji` is not false. */
export function plainToHtml(text, emoji = true) {
  const escaped = escapeHtml(decodeSlackEntities(String(text ?? ''))).replace(/\n/g, '<br>');
  return emoji ? emojiToHtml(escaped) : escaped;
}

const SAFE_URL = /^(https?:|mailto:)/i;

/** A link to a Slack message (https://<any>.slack.com/archives/C…/p…): in the playground it jumps to the message. */
const MESSAGE_LINK = /^https:\/\/(?:[a-z0-9-]+\.)?slack\.com\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})(?:\?.*)?$/;

function link(url, labelHtml) {
  const message = MESSAGE_LINK.exec(decodeSlackEntities(url));
  if (message) {
    const [, channel, seconds, micros] = message;
    return `<a href="#${channel}" class="message-link" data-jump-channel="${channel}" data-jump-ts="${seconds}.${micros}">${labelHtml}</a>`;
  }
  if (!SAFE_URL.test(url)) return labelHtml;
  return `<a href="${escapeHtml(decodeSlackEntities(url))}" target="_blank" rel="noopener noreferrer">${labelHtml}</a>`;
}

/** One `<…>` control sequence: link, mention, channel, group, special mention or date. */
function controlSequence(inner, ctx) {
  const bar = inner.indexOf('|');
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? inner.slice(bar + 1) : undefined;
  const labelHtml = label !== undefined ? escapeHtml(decodeSlackEntities(label)) : undefined;
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const name = ctx.users?.[id] ?? (label ? decodeSlackEntities(label).replace(/^@/, '') : id);
    return `<span class="mention" data-user="${escapeHtml(id)}">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith('#')) {
    const id = target.slice(1);
    const name = ctx.channels?.[id] ?? (label ? decodeSlackEntities(label) : id);
    return `<span class="mention">#${escapeHtml(name)}</span>`;
  }
  if (target.startsWith('!subteam^')) {
    const id = target.slice('!subteam^'.length);
    const handle = ctx.groups?.[id] ?? (label ? decodeSlackEntities(label).replace(/^@/, '') : id);
    return `<span class="mention">@${escapeHtml(handle)}</span>`;
  }
  if (target.startsWith('!date^')) {
    const [, seconds, format = '{date_short} {time}', url] = target.split('^');
    const date = new Date(Number(seconds) * 1000);
    if (Number.isNaN(date.getTime())) return labelHtml ?? '';
    const shown = escapeHtml(formatSlackDate(date, format, ctx.now ?? new Date()));
    const title = escapeHtml(date.toString());
    const html = `<time datetime="${escapeHtml(date.toISOString())}" title="${title}">${shown}</time>`;
    return url ? link(url, html) : html;
  }
  if (target.startsWith('!')) {
    const name = target.slice(1).split('^')[0];
    return `<span class="mention">@${escapeHtml(label ?? name)}</span>`;
  }
  return link(target, labelHtml ?? escapeHtml(target));
}

const ORDINAL = (day) => {
  const suffix = day % 10 === 1 && day !== 11 ? 'st' : day % 10 === 2 && day !== 12 ? 'nd' : day % 10 === 3 && day !== 13 ? 'rd' : 'th';
  return `${day}${suffix}`;
};

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** Slack's date tokens (https://docs.slack.dev/messaging/formatting-message-text#date-formatting), in the reader's zone. */
export function formatSlackDate(date, format, now = new Date()) {
  const month = (style) => date.toLocaleString('en-US', { month: style });
  const weekday = date.toLocaleString('en-US', { weekday: 'long' });
  const dateText = `${month('long')} ${ORDINAL(date.getDate())}, ${date.getFullYear()}`;
  const shortText = `${month('short')} ${date.getDate()}, ${date.getFullYear()}`;
  const longText = `${weekday}, ${dateText}`;
  const yesterday = new Date(now.getTime() - 86_400_000);
  const tomorrow = new Date(now.getTime() + 86_400_000);
  const pretty = (otherwise) => (sameDay(date, now) ? 'today' : sameDay(date, yesterday) ? 'yesterday' : sameDay(date, tomorrow) ? 'tomorrow' : otherwise);
  const time = (seconds) => date.toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}) });
  const tokens = {
    date_num: `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`,
    date: dateText,
    date_short: shortText,
    date_long: longText,
    date_pretty: pretty(dateText),
    date_short_pretty: pretty(shortText),
    date_long_pretty: pretty(longText),
    time: time(false),
    time_secs: time(true),
    ago: ago(date, now),
  };
  return format.replace(/\{(\w+)\}/g, (whole, token) => tokens[token] ?? whole);
}

function ago(date, now) {
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  const [value, unit] =
    s < 60 ? [s, 'second'] : s < 3600 ? [Math.floor(s / 60), 'minute'] : s < 86400 ? [Math.floor(s / 3600), 'hour'] : [Math.floor(s / 86400), 'day'];
  const text = `${value} ${unit}${value === 1 ? '' : 's'}`;
  return future ? `in ${text}` : `${text} ago`;
}

// Placeholders stand in for finished HTML while the rest is formatted; \u0001 never occurs in Slack text.
const HOLE = '\u0001';

/** Formats the parts of a line that are neither code nor control sequences. */
function inlineFormat(html) {
  const before = '(^|[\\s(\\u0001>\\[{"\'*_~])';
  const after = '(?=$|[\\s).,!?:;\\u0001<\\]}"\'*_~-])';
  return html
    .replace(new RegExp(`${before}\\*(?!\\s)([^*\\n]*?[^\\s*])\\*${after}`, 'g'), '$1<b>$2</b>')
    .replace(new RegExp(`${before}_(?!\\s)([^_\\n]*?[^\\s_])_${after}`, 'g'), '$1<i>$2</i>')
    .replace(new RegExp(`${before}~(?!\\s)([^~\\n]*?[^\\s~])~${after}`, 'g'), '$1<s>$2</s>');
}

/** mrkdwn text objects and message `text`. */
export function mrkdwnToHtml(text, ctx = {}) {
  const holes = [];
  const keep = (html) => `${HOLE}${holes.push(html) - 1}${HOLE}`;
  let source = String(text ?? '');
  // ```preformatted``` first, then `code`: nothing inside either is formatted.
  source = source.replace(/```\n?([\s\S]*?)```/g, (_, code) => keep(`<pre class="pre">${escapeHtml(decodeSlackEntities(code.replace(/\n$/, '')))}</pre>`));
  source = source.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${escapeHtml(decodeSlackEntities(code))}</code>`));
  source = source.replace(/<([^<>\n]+)>/g, (_, inner) => keep(controlSequence(inner, ctx)));
  let html = escapeHtml(decodeSlackEntities(source));
  html = emojiToHtml(html);
  // Quotes: lines that start with "> " (Slack's escaped &gt; decoded and escaped again above).
  const lines = html.split('\n');
  const out = [];
  let quote = [];
  const flushQuote = () => {
    if (quote.length) out.push(`<blockquote>${quote.map(inlineFormat).join('<br>')}</blockquote>`);
    quote = [];
  };
  for (const line of lines) {
    const quoted = /^&gt;\s?(.*)$/.exec(line);
    if (quoted) {
      quote.push(quoted[1]);
      continue;
    }
    flushQuote();
    out.push(inlineFormat(line));
  }
  flushQuote();
  html = out.join('<br>');
  // Holes may hold holes (a link inside bold stays a hole until now); two passes cover our nesting.
  const fill = (value) => value.replace(new RegExp(`${HOLE}(\\d+)${HOLE}`, 'g'), (_, index) => holes[Number(index)] ?? '');
  // Block elements bring their own line breaks.
  return fill(fill(html))
    .replace(/<br>(<pre|<blockquote)/g, '$1')
    .replace(/(<\/pre>|<\/blockquote>)<br>/g, '$1');
}

/** A Block Kit text object (plain_text or mrkdwn). */
export function textObjectToHtml(textObject, ctx = {}) {
  if (!textObject) return '';
  if (typeof textObject === 'string') return mrkdwnToHtml(textObject, ctx);
  if (textObject.type === 'plain_text') return plainToHtml(textObject.text, textObject.emoji !== false);
  return mrkdwnToHtml(textObject.text, ctx);
}
