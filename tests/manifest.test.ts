import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SUBCOMMANDS } from '../commands/registry.ts';

const manifest = parse(readFileSync(new URL('../manifest.yml', import.meta.url), 'utf8'));
// Vendored with its licence (tests/fixtures/slack-manifest-schema/README.md): a clone alone must be able to run this.
const schema = JSON.parse(readFileSync(new URL('./fixtures/slack-manifest-schema/manifest.schema.1.0.0.json', import.meta.url), 'utf8'));

describe('manifest.yml', () => {
  it("is a manifest Slack's own schema accepts", () => {
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    const validate = ajv.compile(schema);
    expect(validate(manifest), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it('declares /scale with a usage hint that names exactly the registered subcommands', () => {
    const [command] = manifest.features.slash_commands;
    expect(command.command).toBe('/scale');
    const hinted = String(command.usage_hint)
      .split('|')
      .map((word: string) => word.trim().split(' ')[0]);
    expect(new Set(hinted)).toEqual(new Set(SUBCOMMANDS.map((sub) => sub.name)));
  });

  it('runs in Socket Mode with interactivity on and asks for the least scopes', () => {
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.oauth_config.scopes.bot).toEqual([
      'commands',
      'chat:write',
      'channels:history',
      'groups:history',
      'im:history',
      'usergroups:read',
      'files:write',
    ]);
  });
});
