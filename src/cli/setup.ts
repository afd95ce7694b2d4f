/**
 * `agproxy setup <client>`: point a client's own configuration at this instance. It shows the change as a diff (keys
 * masked), asks before writing (--yes skips the question, --print only shows), keeps a timestamped backup of each
 * file, and `--undo` restores the newest backup.
 */
import { rmSync } from 'node:fs'
import { homedir } from 'node:os'
import type { Config } from '../config/schema'
import { effectiveAuthMode } from '../config/load'
import { displayOrigin } from '../http/banner'
import { providersFromEnv } from '../providers/registry'
import { createModelRouter } from '../routing/models'
import { acceptedKeys } from './keys'
import type { ClientDef, Instance, Place } from './setup/client'
import { tilde } from './setup/client'
import { SetupError } from './setup/edit'
import { applyChanges, maskText, undoChanges, unifiedDiff, type Change } from './setup/files'
import { CLIENT_IDS, CLIENTS, isClientId } from './setup/index'

export interface SetupArgs {
  client?: string
  yes?: boolean
  print?: boolean
  undo?: boolean
}

export interface SetupIO {
  home?: string
  env?: Record<string, string | undefined>
  /** stdin is a terminal the question can be asked on */
  interactive?: boolean
  /** asks a question and returns the answer (null: no answer) */
  ask?: (question: string) => string | null
}

/** The key a client writes when the instance's auth is off: any value is accepted. */
export const PLACEHOLDER_KEY = 'agproxy'

/** The instance this configuration describes: its origin (as `agproxy clients` prints it), a key it accepts, its models. */
export function instanceOf(c: Config, env: Record<string, string | undefined> = process.env): Instance {
  const authOn = effectiveAuthMode(c) !== 'off'
  const accepted = acceptedKeys(c)
  const key = authOn ? accepted[0] : PLACEHOLDER_KEY
  if (!key)
    throw new SetupError(
      `auth is on (auth_mode ${effectiveAuthMode(c)}) but no key is configured: add api_keys to agproxy.yaml (or pass --api-key), ` +
        'or start agproxy once with --allow-lan so it generates its LAN key, then run agproxy setup again',
    )
  const fromEnv = c.providers.length ? undefined : providersFromEnv(env)
  const router = createModelRouter({ models: fromEnv ? { ...fromEnv.models, ...c.models } : c.models }, fromEnv?.providers ?? c.providers)
  // bare names first: those are what a client's model picker should show
  const ids = router.list().map(m => m.id)
  const models = [...ids.filter(id => !id.includes('/')), ...ids.filter(id => id.includes('/'))]
  return { origin: displayOrigin(c), key, authOn, accepted, models }
}

const USAGE = `usage: agproxy setup <client> [--print | --yes] [--undo]   (clients: ${CLIENT_IDS.join(', ')})`

interface Plan {
  changes: Change[]
  /** the instance pointed at (not when undoing) */
  inst?: Instance
  /** the backups an undo restores (removed once restored) */
  consumed: string[]
}

type Result = { code: number; out: string }

/** Run `agproxy setup`; returns the exit code and what to print. */
export function setupCommand(args: SetupArgs, config: Config, io: SetupIO = {}): Result {
  if (!args.client) return { code: 2, out: `agproxy setup: name the client to set up.\n${USAGE}` }
  if (!isClientId(args.client)) return { code: 2, out: `agproxy setup: unknown client "${args.client.slice(0, 40)}".\n${USAGE}` }
  const def = CLIENTS[args.client]
  const place: Place = { home: io.home ?? homedir(), env: io.env ?? process.env }
  const plan = planOf(args, def, place, config)
  if ('code' in plan) return plan
  const { changes, inst } = plan
  const diffs = changes.map(c => unifiedDiff(tilde(c.path, place.home), c.before, c.after)).filter(Boolean)
  if (!diffs.length) {
    if (!inst) removeAll(plan.consumed)
    const where = inst ? `${def.name} already points at ${def.baseUrl(inst.origin)}` : `${def.name}'s files already match the backup`
    return { code: 0, out: `${where}; nothing to change (${listFiles(def, place)}).` }
  }
  // an undo shows files that may hold any of the instance's keys, so those are masked whatever is written
  const out = [maskText(diffs.join('\n'), acceptedKeys(config))]
  if (inst)
    out.push(
      '',
      `${def.name} → ${def.baseUrl(inst.origin)} with ${inst.authOn ? 'an agproxy key (masked above)' : `the key "${PLACEHOLDER_KEY}" (auth is off)`}.`,
    )
  if (args.print) return { code: 0, out: [...out, '(--print: nothing was written)'].join('\n') }
  if (!args.yes) {
    const refused = confirm(out, args, io)
    if (refused) return refused
    out.length = 0
  }
  return write(def, place, plan, out)
}

/** The changes setup (or --undo) would make; a Result when there is nothing it can do. */
function planOf(args: SetupArgs, def: ClientDef, place: Place, config: Config): Plan | Result {
  try {
    if (args.undo) {
      const u = undoChanges(def.files(place))
      if (!u.when) return { code: 1, out: `agproxy setup --undo ${def.id}: no backup made by agproxy setup was found next to ${listFiles(def, place)}.` }
      return { changes: u.changes, consumed: u.backups }
    }
    const inst = instanceOf(config, place.env)
    return { changes: def.plan(place, inst), inst, consumed: [] }
  } catch (e) {
    if (e instanceof SetupError) return { code: 1, out: `agproxy setup ${def.id}: ${e.message}` }
    throw e
  }
}

/** Ask on the terminal, the diff shown with the question; a Result unless the answer is yes. */
function confirm(shown: string[], args: SetupArgs, io: SetupIO): Result | undefined {
  if (!io.interactive || !io.ask)
    return {
      code: 2,
      out: [
        ...shown,
        'agproxy setup: stdin is not a terminal, so it cannot ask before writing; nothing was written. ' +
          'Run again with --yes to write these changes, or --print to only show them.',
      ].join('\n'),
    }
  const answer = io.ask(`${shown.join('\n')}\n\n${args.undo ? 'Restore' : 'Write'} these changes? [y/N]`)
  return /^y(es)?$/i.test(answer?.trim() ?? '') ? undefined : { code: 1, out: 'Nothing was written.' }
}

/** Write the changes (with backups, unless undoing) and say what was done and what comes next. */
function write(def: ClientDef, place: Place, plan: Plan, out: string[]): Result {
  const files = plan.changes.map(c => tilde(c.path, place.home)).join(', ')
  let backups: string[]
  try {
    backups = applyChanges(plan.changes, { backup: !!plan.inst })
    removeAll(plan.consumed)
  } catch (e) {
    return { code: 1, out: [...out, `agproxy setup ${def.id}: could not write: ${(e as Error).message.split('\n')[0]}`].join('\n') }
  }
  if (!plan.inst) return { code: 0, out: [...out, `Restored ${files} from agproxy setup's backup.`].join('\n') }
  out.push(`Wrote ${files} (backups: ${backups.map(b => tilde(b, place.home)).join(', ')}).`)
  out.push(...def.next(place, plan.inst), `Undo with: agproxy setup --undo ${def.id}. Check with: agproxy doctor.`)
  return { code: 0, out: out.join('\n') }
}

const removeAll = (paths: string[]) => {
  for (const p of paths) rmSync(p, { force: true })
}

const listFiles = (def: ClientDef, place: Place) =>
  def
    .files(place)
    .map(f => tilde(f, place.home))
    .join(', ')
