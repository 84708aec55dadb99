// Block Kit to HTML for the playground page: the layout blocks (section with fields and accessory, header,
// context, divider, actions, image, rich_text, input) and the interactive elements a message can carry
// (button with style, url and confirm; static and multi-static selects; overflow menus; checkboxes; radio
// buttons; date pickers). Interactive elements carry data-* attributes that app.js turns into block_actions.
// Pure string functions: no DOM here.
import { escapeHtml, mrkdwnToHtml, plainToHtml, textObjectToHtml } from './mrkdwn.js';

/**
 * Each interactive element gets `data-el="<index>"` into `elements`, so the page can find the element's
 * definition (options, confirm dialog) when it is used.
 * @typedef {{ elements: object[] } & import('./mrkdwn.js').MrkdwnContext} RenderContext
 */

function register(ctx, element, blockId) {
  ctx.elements.push({ element, blockId });
  return ctx.elements.length - 1;
}

function dataAttributes(ctx, element, blockId) {
  const index = register(ctx, element, blockId);
  return (
    `data-el="${index}" data-action-id="${escapeHtml(element.action_id ?? '')}" ` +
    `data-block-id="${escapeHtml(blockId ?? '')}" data-type="${escapeHtml(element.type)}"`
  );
}

function optionLabel(option) {
  return option?.text ? (option.text.type === 'mrkdwn' ? option.text.text : option.text.text) : String(option?.value ?? '');
}

function allOptions(element) {
  return [...(element.options ?? []), ...(element.option_groups ?? []).flatMap((group) => group.options ?? [])];
}

function imagePlaceholder(element, className = 'image-placeholder') {
  // The page never loads images from elsewhere: it shows what the image is instead.
  const alt = element.alt_text ?? 'image';
  const url = element.image_url ?? element.slack_file?.url ?? '';
  return `<span class="${className}" title="${escapeHtml(url)}">🖼 ${escapeHtml(alt)}</span>`;
}

/** One interactive (or image) element, wherever it sits: actions block, section accessory, input. */
export function renderElement(element, blockId, ctx) {
  if (!element || typeof element !== 'object') return '';
  switch (element.type) {
    case 'button': {
      const style = element.style === 'primary' ? 'btn-primary' : element.style === 'danger' ? 'btn-danger' : 'btn-default';
      const external = element.url ? ' <span class="external" aria-hidden="true">↗</span>' : '';
      return (
        `<button type="button" class="btn ${style}" ${dataAttributes(ctx, element, blockId)}>` +
        `${plainToHtml(element.text?.text ?? '', element.text?.emoji !== false)}${external}</button>`
      );
    }
    case 'static_select':
    case 'external_select':
    case 'users_select':
    case 'conversations_select':
    case 'channels_select': {
      const placeholder = element.placeholder?.text ?? 'Select an item';
      const initial = element.initial_option?.value;
      const renderOption = (option) =>
        `<option value="${escapeHtml(option.value)}"${option.value === initial ? ' selected' : ''}>${escapeHtml(optionLabel(option))}</option>`;
      const groups = (element.option_groups ?? [])
        .map((group) => `<optgroup label="${escapeHtml(group.label?.text ?? '')}">${(group.options ?? []).map(renderOption).join('')}</optgroup>`)
        .join('');
      const supported = element.type === 'static_select';
      return (
        `<select class="select" ${dataAttributes(ctx, element, blockId)}${supported ? '' : ' disabled title="the playground only sends static selects"'}>` +
        `<option value="" disabled${initial === undefined ? ' selected' : ''}>${escapeHtml(placeholder)}</option>` +
        `${(element.options ?? []).map(renderOption).join('')}${groups}</select>`
      );
    }
    case 'multi_static_select': {
      const initial = new Set((element.initial_options ?? []).map((option) => option.value));
      const items = allOptions(element)
        .map(
          (option) => `<option value="${escapeHtml(option.value)}"${initial.has(option.value) ? ' selected' : ''}>${escapeHtml(optionLabel(option))}</option>`,
        )
        .join('');
      return `<select class="select multi" multiple ${dataAttributes(ctx, element, blockId)}>${items}</select>`;
    }
    case 'overflow': {
      const items = (element.options ?? [])
        .map((option) => `<button type="button" class="overflow-item" data-value="${escapeHtml(option.value)}">${plainToHtml(optionLabel(option))}</button>`)
        .join('');
      return (
        `<span class="overflow" ${dataAttributes(ctx, element, blockId)}>` +
        '<button type="button" class="btn btn-default overflow-toggle" aria-label="More actions" aria-haspopup="menu">⋮</button>' +
        `<span class="overflow-menu" role="menu" hidden>${items}</span></span>`
      );
    }
    case 'checkboxes':
    case 'radio_buttons': {
      const inputType = element.type === 'checkboxes' ? 'checkbox' : 'radio';
      const initial = new Set([...(element.initial_options ?? []), ...(element.initial_option ? [element.initial_option] : [])].map((option) => option.value));
      const name = `r${ctx.elements.length}`;
      const attributes = dataAttributes(ctx, element, blockId);
      const items = (element.options ?? [])
        .map((option) => {
          const label = textObjectToHtml(option.text, ctx);
          const description = option.description ? `<span class="option-description">${textObjectToHtml(option.description, ctx)}</span>` : '';
          return (
            `<label class="choice"><input type="${inputType}" name="${name}" value="${escapeHtml(option.value)}"` +
            `${initial.has(option.value) ? ' checked' : ''}>` +
            `<span>${label}${description}</span></label>`
          );
        })
        .join('');
      return `<span class="choices" ${attributes}>${items}</span>`;
    }
    case 'datepicker':
      return `<input type="date" class="datepicker" value="${escapeHtml(element.initial_date ?? '')}" ${dataAttributes(ctx, element, blockId)}>`;
    case 'image':
      return imagePlaceholder(element);
    default:
      return `<span class="unsupported">[${escapeHtml(element.type ?? 'element')} element: not shown by the playground]</span>`;
  }
}

function renderRichText(block, ctx) {
  const inline = (elements) =>
    (elements ?? [])
      .map((element) => {
        switch (element.type) {
          case 'text': {
            let html = plainToHtml(element.text, false);
            const style = element.style ?? {};
            if (style.code) html = `<code>${html}</code>`;
            if (style.bold) html = `<b>${html}</b>`;
            if (style.italic) html = `<i>${html}</i>`;
            if (style.strike) html = `<s>${html}</s>`;
            return html;
          }
          case 'link':
            return mrkdwnToHtml(`<${element.url}${element.text ? `|${element.text}` : ''}>`, ctx);
          case 'emoji':
            return plainToHtml(`:${element.name}:`);
          case 'user':
            return mrkdwnToHtml(`<@${element.user_id}>`, ctx);
          case 'channel':
            return mrkdwnToHtml(`<#${element.channel_id}>`, ctx);
          case 'usergroup':
            return mrkdwnToHtml(`<!subteam^${element.usergroup_id}>`, ctx);
          case 'broadcast':
            return `<span class="mention">@${escapeHtml(element.range)}</span>`;
          case 'date':
            return mrkdwnToHtml(`<!date^${element.timestamp}^${element.format ?? '{date_short} {time}'}|${element.fallback ?? ''}>`, ctx);
          default:
            return '';
        }
      })
      .join('');
  return (block.elements ?? [])
    .map((part) => {
      switch (part.type) {
        case 'rich_text_section':
          return `<div>${inline(part.elements)}</div>`;
        case 'rich_text_preformatted':
          return `<pre class="pre">${inline(part.elements)}</pre>`;
        case 'rich_text_quote':
          return `<blockquote>${inline(part.elements)}</blockquote>`;
        case 'rich_text_list': {
          const tag = part.style === 'ordered' ? 'ol' : 'ul';
          return `<${tag}>${(part.elements ?? []).map((item) => `<li>${inline(item.elements)}</li>`).join('')}</${tag}>`;
        }
        default:
          return '';
      }
    })
    .join('');
}

/** One block. */
export function renderBlock(block, ctx) {
  if (!block || typeof block !== 'object') return '';
  const blockId = block.block_id;
  switch (block.type) {
    case 'header':
      return `<div class="block block-header">${plainToHtml(block.text?.text ?? '', block.text?.emoji !== false)}</div>`;
    case 'divider':
      return '<hr class="block block-divider">';
    case 'section': {
      const text = block.text ? `<div class="section-text">${textObjectToHtml(block.text, ctx)}</div>` : '';
      const fields = block.fields?.length
        ? `<div class="section-fields">${block.fields.map((field) => `<div class="field">${textObjectToHtml(field, ctx)}</div>`).join('')}</div>`
        : '';
      const accessory = block.accessory ? `<div class="section-accessory">${renderElement(block.accessory, blockId, ctx)}</div>` : '';
      return `<div class="block block-section"><div class="section-body">${text}${fields}</div>${accessory}</div>`;
    }
    case 'context': {
      const parts = (block.elements ?? []).map((element) =>
        element.type === 'image' ? imagePlaceholder(element, 'context-image') : `<span>${textObjectToHtml(element, ctx)}</span>`,
      );
      return `<div class="block block-context">${parts.join('')}</div>`;
    }
    case 'actions':
      return `<div class="block block-actions">${(block.elements ?? []).map((element) => renderElement(element, blockId, ctx)).join('')}</div>`;
    case 'image': {
      const title = block.title ? `<div class="image-title">${plainToHtml(block.title.text)}</div>` : '';
      return `<div class="block block-image">${title}${imagePlaceholder(block)}</div>`;
    }
    case 'rich_text':
      return `<div class="block block-rich-text">${renderRichText(block, ctx)}</div>`;
    case 'input': {
      const label = block.label ? `<div class="input-label">${plainToHtml(block.label.text)}</div>` : '';
      return `<div class="block block-input">${label}${renderElement(block.element, blockId, ctx)}</div>`;
    }
    default:
      return `<div class="block unsupported">[${escapeHtml(block.type ?? 'unknown')} block: not shown by the playground]</div>`;
  }
}

/** A message's blocks, or its text when it has none (as Slack shows it), then the files it shares. */
export function renderMessageBody(message, ctx) {
  return renderContent(message, ctx) + renderFiles(message.files);
}

function renderContent(message, ctx) {
  if (Array.isArray(message.blocks) && message.blocks.length > 0) {
    return message.blocks.map((block) => renderBlock(block, ctx)).join('');
  }
  const attachments = (message.attachments ?? [])
    .map(
      (attachment) =>
        `<div class="attachment" style="border-color:${attachmentColor(attachment.color)}">` +
        `${mrkdwnToHtml(attachment.text ?? attachment.fallback ?? '', ctx)}</div>`,
    )
    .join('');
  const text = message.text ? `<div class="message-text">${mrkdwnToHtml(message.text, ctx)}</div>` : '';
  return `${text}${attachments}`;
}

const INLINE_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/**
 * Files shared in a message, as Slack's client shows them: an image at thumbnail size under its title, which
 * opens full size when clicked; any other file as a chip to download. The page loads them from its own server
 * (`/api/files/<id>`), which fetches them from the emulator with the bot's token.
 */
export function renderFiles(files) {
  if (!Array.isArray(files) || files.length === 0) return '';
  const items = files.map((file) => {
    const url = `/api/files/${encodeURIComponent(String(file.id ?? ''))}`;
    const title = escapeHtml(file.title ?? file.name ?? 'file');
    if (INLINE_IMAGES.has(file.mimetype)) {
      return (
        `<figure class="file file-image" data-file-id="${escapeHtml(String(file.id ?? ''))}"><figcaption class="file-title">${title}</figcaption>` +
        `<a href="${url}" target="_blank" rel="noopener" title="Open full size">` +
        `<img src="${url}" alt="${escapeHtml(file.altText ?? file.title ?? '')}" loading="lazy"></a></figure>`
      );
    }
    return `<a class="file file-other" href="${url}" download="${escapeHtml(file.name ?? 'file')}">📎 ${title}</a>`;
  });
  return `<div class="files">${items.join('')}</div>`;
}

const NAMED_COLORS = { good: '#2eb67d', warning: '#ecb22e', danger: '#e01e5a' };

/** Only a hex colour or Slack's three names reach the style attribute. */
function attachmentColor(color) {
  if (typeof color !== 'string') return '#dddddd';
  if (NAMED_COLORS[color]) return NAMED_COLORS[color];
  const hex = color.startsWith('#') ? color : `#${color}`;
  return /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(hex) ? hex : '#dddddd';
}
