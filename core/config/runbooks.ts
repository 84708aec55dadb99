import { z } from 'zod';
import { parseDuration } from '../duration.ts';
import { parseHostKey } from '../host-key.ts';
import { paramTypes, SUDO_PROGRAM, type HostDef, type RunbookDef, type StepDef } from '../runbooks.ts';
import { PARAM_TYPES, renderCommand, TemplateError, templatePlaceholders } from '../shell-quote.ts';
import { duration, id, mergeListsById, slackId, type Locate } from './shared.ts';

/**
 * `hosts:` the inventory runbook steps run on, `admins:` who may force-release a host lock, and `runbooks:`
 * merged by id (a runbook's `approval` merges field by field, so adding approvers keeps a built-in's `expires`).
 */

type Env = Readonly<Record<string, string | undefined>>;

const hostEntry = z
  .object({
    address: z.string().min(1),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1),
    private_key_file: z
      .string()
      .min(1)
      .refine((value) => !value.includes('PRIVATE KEY'), 'give the path of the key file, never the key itself')
      .optional(),
    private_key_file_env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'the name of an environment variable holding the key file path')
      .optional(),
    host_key: z.string().superRefine((value, context) => {
      try {
        parseHostKey(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  })
  .strict()
  .refine((host) => Boolean(host.private_key_file) !== Boolean(host.private_key_file_env), 'give exactly one of private_key_file or private_key_file_env');

export const hostsFile = z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a host name is lower-case letters, digits, ".", "_" and "-"'), hostEntry);

/** The key file comes from the environment when the host names a variable (checked set by checkRunbooks). */
export const hostsSection = (env: Env) =>
  hostsFile
    .transform(
      (hosts): ReadonlyMap<string, HostDef> =>
        new Map(
          Object.entries(hosts).map(([name, host]) => [
            name,
            {
              name,
              address: host.address,
              port: host.port ?? 22,
              user: host.user,
              privateKeyFile: host.private_key_file ?? env[host.private_key_file_env!] ?? '',
              hostKey: host.host_key,
            },
          ]),
        ),
    )
    .readonly();

/** May force-release host locks. */
export const admins = z.array(slackId).readonly();

const stepEntry = z
  .object({
    id,
    title: z.string().min(1).optional(),
    host: z.string().min(1),
    run: z.string().min(1),
    timeout: duration.optional(),
    confirm: z.boolean().optional(),
    output: z.enum(['shown', 'hidden'], { error: 'output is shown (the default) or hidden (kept out of Slack)' }).optional(),
    sudo: z
      .array(z.string().regex(SUDO_PROGRAM, 'a program name as sudoers names it, found on PATH (rsync, not /usr/bin/rsync or "rsync -a")'))
      .min(1)
      .optional(),
  })
  .strict();
const step = stepEntry.transform(
  (entry): StepDef => ({
    id: entry.id,
    title: entry.title ?? entry.id,
    host: entry.host,
    run: entry.run,
    timeoutSeconds: parseDuration(entry.timeout ?? '10m'),
    confirm: entry.confirm ?? false,
    output: entry.output ?? 'shown',
    ...(entry.sudo ? { sudo: entry.sudo } : {}),
  }),
);

/** Who may approve (or request): Slack ids, or the word `anyone`, which has to be written out to mean it. */
const approversEntry = z.union(
  [
    z.literal('anyone'),
    z.array(
      z
        .string()
        .regex(
          /^([USW][A-Z0-9]+|@[a-z0-9._-]+)$/,
          'a Slack user id (U…), user group id (S…) or group handle (@ops-leads); to let anyone, write `anyone` instead of the list',
        ),
    ),
  ],
  { error: 'a list of Slack ids ([U0123ABCD, S0456EFGH, "@ops-leads"]) or the word anyone' },
);
const paramEntry = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a parameter name is letters, digits and _'),
    type: z.enum(PARAM_TYPES),
    description: z.string().optional(),
    values: z.array(z.string().min(1)).min(1).optional(),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
    default: z.union([z.string(), z.number()]).transform(String).optional(),
  })
  .strict()
  .refine((param) => param.type !== 'enum' || Boolean(param.values), 'an enum parameter needs values');

export const runbookFileEntry = z
  .object({
    id,
    enabled: z.boolean().optional(),
    title: z.string().min(1).optional(),
    description: z.string().optional(),
    requires_checklist: z.string().nullable().optional(),
    requesters: approversEntry.optional(),
    approval: z
      .object({
        approvers: approversEntry.optional(),
        required: z.number().int().min(1).max(10).optional(),
        allow_self: z.boolean().optional(),
        expires: duration.optional(),
      })
      .strict()
      .optional(),
    params: z.array(paramEntry).optional(),
    steps: z.array(stepEntry).min(1).optional(),
    rollback: z.array(stepEntry).optional(),
  })
  .strict();

export type RunbookFileEntry = z.infer<typeof runbookFileEntry>;

export function mergeRunbooks(
  base: readonly RunbookFileEntry[] | undefined,
  override: readonly RunbookFileEntry[] | undefined,
): RunbookFileEntry[] | undefined {
  return mergeListsById(base, override)?.map((runbook) => {
    const before = base?.find((entry) => entry.id === runbook.id)?.approval;
    return before && runbook.approval && runbook.approval !== before ? { ...runbook, approval: { ...before, ...runbook.approval } } : runbook;
  });
}

/** Open by default is not a default: `approvers: anyone` is written out, and a list that names nobody approves nothing. */
export const runbooksSection = z
  .array(
    runbookFileEntry.extend({ title: z.string().min(1), steps: z.array(step).min(1), rollback: z.array(step).optional() }).transform(
      (entry): RunbookDef => ({
        id: entry.id,
        title: entry.title,
        ...(entry.description ? { description: entry.description } : {}),
        params: (entry.params ?? []).map((param) => ({
          name: param.name,
          type: param.type,
          ...(param.description ? { description: param.description } : {}),
          ...(param.values ? { values: param.values } : {}),
          ...(param.min !== undefined ? { min: param.min } : {}),
          ...(param.max !== undefined ? { max: param.max } : {}),
          ...(param.default !== undefined ? { default: param.default } : {}),
        })),
        steps: entry.steps,
        rollback: entry.rollback ?? [],
        ...(entry.requires_checklist ? { requiresChecklist: entry.requires_checklist } : {}),
        requesters: entry.requesters === 'anyone' || !entry.requesters ? [] : entry.requesters,
        approval: {
          approvers: Array.isArray(entry.approval?.approvers) ? entry.approval.approvers : [],
          anyone: entry.approval?.approvers === 'anyone',
          required: entry.approval?.required ?? 1,
          allowSelf: entry.approval?.allow_self ?? false,
          expiresSeconds: parseDuration(entry.approval?.expires ?? '30m'),
        },
      }),
    ),
  )
  .readonly();

/**
 * A runbook that can run on a host (any host is configured: a step's host is either an inventory name or a host
 * parameter) and names nobody as approver is disabled, unless the config says `approvers: anyone`.
 */
export function disableWithoutApprovers(runbook: RunbookDef, hostCount: number): RunbookDef {
  if (hostCount === 0 || runbook.approval.anyone || runbook.approval.approvers.length > 0) return runbook;
  const disabled =
    `\`${runbook.id}\` names no approvers, so nobody could approve a run of it. An admin adds to the bot's config file:\n` +
    `\`\`\`\nrunbooks:\n  - id: ${runbook.id}\n    approval: { approvers: [U0123ABCD, "@ops-leads"] }\n\`\`\`\n` +
    '(Slack user ids, user group ids or handles; `approvers: anyone` lets anyone approve it.)';
  const { approval, ...rest } = runbook;
  return { ...rest, disabled, approval };
}

export function disabledRunbookWarning(id: string): string {
  return (
    `runbook "${id}" can run on the configured hosts but names no approvers, so the bot starts with it disabled: ` +
    `under \`runbooks:\` in your config file, add \`- id: ${id}\` with \`approval: { approvers: [U0123ABCD, "@ops-leads"] }\` ` +
    '(Slack user ids, user group ids or handles), or `approval: { approvers: anyone }` to let anyone approve it'
  );
}

/** Where each runbook was last defined: the user's entry when it has one, else the defaults'. */
export type RunbookSites = Map<string, (message: string) => string>;

export function noteRunbookSites(sites: RunbookSites, locate: Locate, runbooks: readonly RunbookFileEntry[] | undefined): void {
  (runbooks ?? []).forEach((entry, index) => {
    const path = entry.approval ? ['runbooks', index, 'approval'] : ['runbooks', index];
    sites.set(entry.id, (message) => locate(path, message));
  });
}

interface MergedRunbooks {
  readonly hosts?: z.infer<typeof hostsFile>;
  readonly runbooks?: readonly RunbookFileEntry[];
}

/**
 * What a schema cannot see: every placeholder names a parameter, a step's host is a host parameter or an
 * inventory name, a template fills safely, step ids are unique, key files exist by name.
 */
export function checkRunbooks(merged: MergedRunbooks, env: Env): string[] {
  const problems: string[] = [];
  const hosts = merged.hosts ?? {};
  for (const [name, host] of Object.entries(hosts)) {
    if (host.private_key_file_env && !env[host.private_key_file_env]) {
      problems.push(`hosts.${name}.private_key_file_env: the environment variable ${host.private_key_file_env} is not set`);
    }
  }
  for (const runbook of merged.runbooks ?? []) {
    const where = `runbooks.${runbook.id}`;
    if (!runbook.title) problems.push(`${where}: needs a title`);
    if (!runbook.steps || runbook.steps.length === 0) {
      problems.push(`${where}: needs steps`);
      continue;
    }
    const params = new Map((runbook.params ?? []).map((param) => [param.name, param]));
    const sample = Object.fromEntries([...params.keys()].map((name) => [name, 'x']));
    const types = paramTypes(runbook.params ?? []);
    for (const [phase, steps] of [
      ['steps', runbook.steps],
      ['rollback', runbook.rollback ?? []],
    ] as const) {
      const ids = new Set<string>();
      steps.forEach((step, index) => {
        const at = `${where}.${phase}[${index}]`;
        if (ids.has(step.id)) problems.push(`${at}: step id "${step.id}" is used twice`);
        ids.add(step.id);
        try {
          for (const name of templatePlaceholders(step.run)) {
            if (!params.has(name))
              problems.push(`${at}.run: {{${name}}} is not a parameter of ${runbook.id} (${[...params.keys()].join(', ') || 'it has none'})`);
          }
          if (templatePlaceholders(step.run).every((name) => params.has(name))) renderCommand(step.run, sample, types);
        } catch (error) {
          if (error instanceof TemplateError || error instanceof Error) problems.push(`${at}.run: ${error.message}`);
        }
        const hostParam = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/.exec(step.host);
        if (hostParam) {
          if (params.get(hostParam[1]!)?.type !== 'host') problems.push(`${at}.host: {{${hostParam[1]}}} must be a parameter of type host`);
        } else if (!Object.hasOwn(hosts, step.host)) {
          problems.push(`${at}.host: "${step.host}" is not in hosts (${Object.keys(hosts).join(', ') || 'none configured'})`);
        }
      });
    }
  }
  return problems;
}

/** A runbook that requires a checklist nobody can post would wait for ever: name the typo instead. */
export function checkRequiredChecklists(runbooks: readonly RunbookFileEntry[] | undefined, checklistIds: readonly string[]): string[] {
  return (runbooks ?? [])
    .filter((runbook) => runbook.requires_checklist && !checklistIds.includes(runbook.requires_checklist))
    .map(
      (runbook) =>
        `runbooks.${runbook.id}.requires_checklist: no checklist "${runbook.requires_checklist}" is configured (${checklistIds.join(', ') || 'none'})`,
    );
}
