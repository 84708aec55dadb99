// Slack's Block Kit limits, checked before a message is accepted, the way Slack's API does.
//
// Slack publishes no offline validator (`blocks.validate` needs Slack itself, `@slack/types` is compile-time
// only), so this is our reading of the reference pages under https://docs.slack.dev/reference/block-kit/.
// Each rule names the page it comes from. Violations read like Slack's own `invalid_blocks` errors: a sentence,
// then `[json-pointer:/blocks/0/text/text]` saying where.
//
// The check is deliberately about limits and required parts, not about every property Slack knows: an unknown
// property passes, an unknown block or element type does not (a typo there is the common mistake).

export type BlockKitSurface = 'message' | 'modal' | 'home';

export interface BlockKitCheckOptions {
  /** Messages allow 50 blocks, modals and Home tabs 100. Default `message`. */
  surface?: BlockKitSurface;
}

// https://docs.slack.dev/reference/block-kit/blocks: "You can include up to 50 blocks in each message, and 100
// blocks in modals or Home tabs."
const MAX_BLOCKS: Record<BlockKitSurface, number> = { message: 50, modal: 100, home: 100 };

// https://docs.slack.dev/reference/block-kit/blocks (block_id: "Maximum length for this field is 255
// characters") and every interactive element page (action_id: "Maximum length is 255 characters").
const MAX_ID = 255;

// https://docs.slack.dev/reference/block-kit/composition-objects/text-object: text "Minimum length is 1.
// Maximum length is 3000 characters."
const MAX_TEXT_OBJECT = 3000;

const BLOCK_TYPES = new Set(['actions', 'context', 'divider', 'file', 'header', 'image', 'input', 'markdown', 'rich_text', 'section', 'video']);

const SELECT_TYPES = new Set([
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'multi_static_select',
  'multi_external_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
]);

const ELEMENT_TYPES = new Set([
  ...SELECT_TYPES,
  'button',
  'checkboxes',
  'datepicker',
  'datetimepicker',
  'email_text_input',
  'file_input',
  'image',
  'number_input',
  'overflow',
  'plain_text_input',
  'radio_buttons',
  'rich_text_input',
  'timepicker',
  'url_text_input',
  'workflow_button',
]);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface TextRule {
  /** What the text is, for the message: "section text", "button text". */
  label: string;
  max: number;
  required?: boolean;
  /** Slack only accepts `plain_text` here (headers, buttons, labels, placeholders...). */
  plainOnly?: boolean;
}

/**
 * Returns every Block Kit limit that `blocks` breaks, as human-readable sentences ending in Slack's
 * `[json-pointer:…]` notation; an empty list when Slack would accept them.
 */
export function checkBlockKitLimits(blocks: unknown, options: BlockKitCheckOptions = {}): string[] {
  const surface = options.surface ?? 'message';
  const violations: string[] = [];
  const report = (pointer: string, message: string): void => {
    violations.push(`${message} [json-pointer:${pointer}]`);
  };

  if (!Array.isArray(blocks)) {
    report('/blocks', 'blocks must be an array');
    return violations;
  }
  const maxBlocks = MAX_BLOCKS[surface];
  if (blocks.length > maxBlocks) {
    report('/blocks', `${blocks.length} blocks; a ${surface} allows at most ${maxBlocks}`);
  }

  const blockIds = new Map<string, string>();
  const actionIds = new Map<string, string>();

  const checkLength = (pointer: string, label: string, value: unknown, max: number, required = false): void => {
    if (value === undefined) {
      if (required) report(pointer, `${label} is required`);
      return;
    }
    if (typeof value !== 'string') {
      report(pointer, `${label} must be a string`);
      return;
    }
    if (value.length > max) report(pointer, `${label} is ${value.length} characters; at most ${max} allowed`);
  };

  const checkText = (pointer: string, value: unknown, rule: TextRule): void => {
    if (value === undefined) {
      if (rule.required) report(pointer, `${rule.label} is required`);
      return;
    }
    if (!isObject(value)) {
      report(pointer, `${rule.label} must be a text object ({ type, text })`);
      return;
    }
    if (value.type !== 'plain_text' && value.type !== 'mrkdwn') {
      report(`${pointer}/type`, `${rule.label} must have type plain_text or mrkdwn`);
    } else if (rule.plainOnly && value.type !== 'plain_text') {
      report(`${pointer}/type`, `${rule.label} must be a plain_text text object`);
    }
    if (typeof value.text !== 'string') {
      report(`${pointer}/text`, `${rule.label} must have a string text`);
      return;
    }
    // Text objects: minimum length 1 (composition-objects/text-object).
    if (value.text.length === 0) report(`${pointer}/text`, `${rule.label} must not be empty`);
    const max = Math.min(rule.max, MAX_TEXT_OBJECT);
    if (value.text.length > max) {
      report(`${pointer}/text`, `${rule.label} is ${value.text.length} characters; at most ${max} allowed`);
    }
  };

  // Duplicates: block_id "should be unique for each message" (blocks page). For action_id the element pages
  // ask for uniqueness "among all other action_ids in the containing block"; we check across the whole
  // message, stricter than the page, because a listener keyed by action_id cannot tell two such buttons apart.
  const checkId = (pointer: string, label: 'block_id' | 'action_id', value: unknown, seen: Map<string, string>) => {
    if (value === undefined) return;
    checkLength(pointer, label, value, MAX_ID);
    if (typeof value !== 'string') return;
    const first = seen.get(value);
    if (first !== undefined) {
      report(pointer, `duplicate ${label} "${value}" (also at ${first})`);
    } else {
      seen.set(value, pointer);
    }
  };

  // https://docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object: title 100,
  // text 300, confirm 30, deny 30, all plain_text and all required.
  const checkConfirm = (pointer: string, confirm: unknown): void => {
    if (confirm === undefined) return;
    if (!isObject(confirm)) {
      report(pointer, 'confirm must be a confirmation dialog object');
      return;
    }
    checkText(`${pointer}/title`, confirm.title, { label: 'confirm title', max: 100, required: true, plainOnly: true });
    checkText(`${pointer}/text`, confirm.text, { label: 'confirm text', max: 300, required: true });
    checkText(`${pointer}/confirm`, confirm.confirm, { label: 'confirm button', max: 30, required: true, plainOnly: true });
    checkText(`${pointer}/deny`, confirm.deny, { label: 'deny button', max: 30, required: true, plainOnly: true });
  };

  // https://docs.slack.dev/reference/block-kit/composition-objects/option-object: text 75, value 150,
  // description 75, url 3000.
  const checkOptions = (pointer: string, options: unknown, max: number, min = 0): void => {
    if (options === undefined) return;
    if (!Array.isArray(options)) {
      report(pointer, 'options must be an array');
      return;
    }
    if (options.length > max) report(pointer, `${options.length} options; at most ${max} allowed`);
    if (options.length < min) report(pointer, `${options.length} options; at least ${min} required`);
    options.forEach((option, i) => {
      const at = `${pointer}/${i}`;
      if (!isObject(option)) {
        report(at, 'option must be an object');
        return;
      }
      checkText(`${at}/text`, option.text, { label: 'option text', max: 75, required: true });
      checkLength(`${at}/value`, 'option value', option.value, 150);
      checkText(`${at}/description`, option.description, { label: 'option description', max: 75 });
      checkLength(`${at}/url`, 'option url', option.url, 3000);
    });
  };

  const checkElement = (pointer: string, element: unknown): void => {
    if (!isObject(element)) {
      report(pointer, 'element must be an object');
      return;
    }
    const type = element.type;
    if (typeof type !== 'string' || !ELEMENT_TYPES.has(type)) {
      report(`${pointer}/type`, `unknown element type ${JSON.stringify(type)}`);
      return;
    }
    if (type === 'image') {
      // https://docs.slack.dev/reference/block-kit/block-elements/image-element
      checkLength(`${pointer}/alt_text`, 'image alt_text', element.alt_text, 2000, true);
      checkLength(`${pointer}/image_url`, 'image_url', element.image_url, 3000);
      return;
    }
    checkId(`${pointer}/action_id`, 'action_id', element.action_id, actionIds);
    checkConfirm(`${pointer}/confirm`, element.confirm);
    // Every select and input page: placeholder is plain_text, "Maximum length is 150 characters."
    checkText(`${pointer}/placeholder`, element.placeholder, { label: 'placeholder', max: 150, plainOnly: true });

    if (type === 'button' || type === 'workflow_button') {
      // https://docs.slack.dev/reference/block-kit/block-elements/button-element: text plain_text 75,
      // value 2000, url 3000, accessibility_label 75, style primary|danger.
      checkText(`${pointer}/text`, element.text, { label: 'button text', max: 75, required: true, plainOnly: true });
      checkLength(`${pointer}/value`, 'button value', element.value, 2000);
      checkLength(`${pointer}/url`, 'button url', element.url, 3000);
      checkLength(`${pointer}/accessibility_label`, 'button accessibility_label', element.accessibility_label, 75);
      if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
        report(`${pointer}/style`, 'button style must be primary or danger');
      }
    } else if (SELECT_TYPES.has(type)) {
      // https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element: at most 100 options
      // or 100 option groups (group label 75).
      checkOptions(`${pointer}/options`, element.options, 100);
      if (Array.isArray(element.option_groups)) {
        if (element.option_groups.length > 100) {
          report(`${pointer}/option_groups`, `${element.option_groups.length} option groups; at most 100 allowed`);
        }
        element.option_groups.forEach((group, i) => {
          if (!isObject(group)) return;
          const at = `${pointer}/option_groups/${i}`;
          checkText(`${at}/label`, group.label, { label: 'option group label', max: 75, required: true, plainOnly: true });
          checkOptions(`${at}/options`, group.options, 100);
        });
      }
    } else if (type === 'overflow') {
      // https://docs.slack.dev/reference/block-kit/block-elements/overflow-menu-element: 1 to 5 options.
      checkOptions(`${pointer}/options`, element.options, 5, 1);
    } else if (type === 'checkboxes' || type === 'radio_buttons') {
      // checkboxes-element / radio-button-group-element: at most 10 options.
      checkOptions(`${pointer}/options`, element.options, 10, 1);
    }
  };

  blocks.forEach((block, index) => {
    const pointer = `/blocks/${index}`;
    if (!isObject(block)) {
      report(pointer, 'block must be an object');
      return;
    }
    const type = block.type;
    if (typeof type !== 'string' || !BLOCK_TYPES.has(type)) {
      report(`${pointer}/type`, `unknown block type ${JSON.stringify(type)}`);
      return;
    }
    // https://docs.slack.dev/reference/block-kit/blocks: block_id max 255, "unique for each message".
    checkId(`${pointer}/block_id`, 'block_id', block.block_id, blockIds);

    switch (type) {
      case 'section': {
        // https://docs.slack.dev/reference/block-kit/blocks/section-block: text 1..3000; fields at most 10,
        // each at most 2000; text or fields required.
        checkText(`${pointer}/text`, block.text, { label: 'section text', max: 3000 });
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields)) {
            report(`${pointer}/fields`, 'section fields must be an array');
          } else {
            if (block.fields.length > 10) {
              report(`${pointer}/fields`, `${block.fields.length} section fields; at most 10 allowed`);
            }
            for (const [i, field] of block.fields.entries()) checkText(`${pointer}/fields/${i}`, field, { label: 'section field', max: 2000, required: true });
          }
        }
        if (block.text === undefined && block.fields === undefined) {
          report(pointer, 'section needs text or fields');
        }
        if (block.accessory !== undefined) checkElement(`${pointer}/accessory`, block.accessory);
        break;
      }
      case 'header':
        // https://docs.slack.dev/reference/block-kit/blocks/header-block: plain_text, max 150.
        checkText(`${pointer}/text`, block.text, { label: 'header text', max: 150, required: true, plainOnly: true });
        break;
      case 'actions': {
        // https://docs.slack.dev/reference/block-kit/blocks/actions-block: "maximum number of items is 25".
        if (!Array.isArray(block.elements) || block.elements.length === 0) {
          report(`${pointer}/elements`, 'actions block needs at least one element');
          break;
        }
        if (block.elements.length > 25) {
          report(`${pointer}/elements`, `${block.elements.length} elements in an actions block; at most 25 allowed`);
        }
        for (const [i, element] of block.elements.entries()) checkElement(`${pointer}/elements/${i}`, element);
        break;
      }
      case 'context': {
        // https://docs.slack.dev/reference/block-kit/blocks/context-block: image elements and text objects,
        // "Maximum number of items is 10."
        if (!Array.isArray(block.elements) || block.elements.length === 0) {
          report(`${pointer}/elements`, 'context block needs at least one element');
          break;
        }
        if (block.elements.length > 10) {
          report(`${pointer}/elements`, `${block.elements.length} elements in a context block; at most 10 allowed`);
        }
        block.elements.forEach((element, i) => {
          const at = `${pointer}/elements/${i}`;
          if (isObject(element) && element.type === 'image') {
            checkElement(at, element);
          } else {
            checkText(at, element, { label: 'context element', max: MAX_TEXT_OBJECT, required: true });
          }
        });
        break;
      }
      case 'image':
        // https://docs.slack.dev/reference/block-kit/blocks/image-block: image_url 3000, alt_text 2000
        // (required), title plain_text 2000.
        checkLength(`${pointer}/alt_text`, 'image alt_text', block.alt_text, 2000, true);
        if (block.slack_file === undefined) checkLength(`${pointer}/image_url`, 'image_url', block.image_url, 3000, true);
        checkText(`${pointer}/title`, block.title, { label: 'image title', max: 2000, plainOnly: true });
        break;
      case 'input':
        // https://docs.slack.dev/reference/block-kit/blocks/input-block: label and hint plain_text 2000,
        // element required.
        checkText(`${pointer}/label`, block.label, { label: 'input label', max: 2000, required: true, plainOnly: true });
        checkText(`${pointer}/hint`, block.hint, { label: 'input hint', max: 2000, plainOnly: true });
        if (block.element === undefined) report(`${pointer}/element`, 'input block needs an element');
        else checkElement(`${pointer}/element`, block.element);
        break;
      case 'markdown':
        // https://docs.slack.dev/reference/block-kit/blocks/markdown-block: "cumulative limit of 12,000
        // characters".
        checkLength(`${pointer}/text`, 'markdown text', block.text, 12000, true);
        break;
      case 'rich_text':
        if (!Array.isArray(block.elements)) report(`${pointer}/elements`, 'rich_text block needs elements');
        break;
      default:
        break;
    }
  });

  return violations;
}
