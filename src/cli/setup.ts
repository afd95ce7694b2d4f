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

/** Run `agproxy setup`; returns the exit code and what to print. */
export function setupCommand(args: SetupArgs, config: Config, io: SetupIO = {}): { code: number; out: string } {
  if (!args.client) return { code: 2, out: `agproxy setup: name the client to set up.\n${USAGE}` }
  if (!isClientId(args.client)) return { code: 2, out: `agproxy setup: unknown client "${args.client.slice(0, 40)}".\n${USAGE}` }
  const def = CLIENTS[args.client]
  const place: Place = { home: io.home ?? homedir(), env: io.env ?? process.env }
  let inst: Instance | undefined
  let changes: Change[]
  let consumed: string[] = []
  try {
    if (args.undo) {
      const u = undoChanges(def.files(place))
      if (!u.when) return { code: 1, out: `agproxy setup --undo ${def.id}: no backup made by agproxy setup was found next to ${listFiles(def, place)}.` }
      changes = u.changes
      consumed = u.backups
    } else {
      inst = instanceOf(config, place.env)
      changes = def.plan(place, inst)
    }
  } catch (e) {
    if (e instanceof SetupError) return { code: 1, out: `agproxy setup ${def.id}: ${e.message}` }
    throw e
  }
  const out: string[] = []
  // an undo shows files that may hold any of the instance's keys
  const secrets = acceptedKeys(config)
  const diffs = changes.map(c => unifiedDiff(tilde(c.path, place.home), c.before, c.after)).filter(Boolean)
  if (!diffs.length) {
    const where = inst ? `${def.name} already points at ${def.baseUrl(inst.origin)}` : `${def.name}'s files already match the backup`
    return { code: 0, out: `${where}; nothing to change (${listFiles(def, place)}).` }
  }
  out.push(maskText(diffs.join('\n'), secrets))
  if (inst)
    out.push(
      '',
      `${def.name} → ${def.baseUrl(inst.origin)} with ${inst.authOn ? 'an agproxy key (masked above)' : `the key "${PLACEHOLDER_KEY}" (auth is off)`}.`,
    )
  if (args.print) return { code: 0, out: [...out, '(--print: nothing was written)'].join('\n') }
  if (!args.yes) {
    if (!io.interactive || !io.ask)
      return {
        code: 2,
        out: [
          ...out,
          'agproxy setup: stdin is not a terminal, so it cannot ask before writing; nothing was written. ' +
            'Run again with --yes to write these changes, or --print to only show them.',
        ].join('\n'),
      }
    // the diff is shown with the question, before the answer is read
    const answer = io.ask(`${out.join('\n')}\n\n${args.undo ? 'Restore' : 'Write'} these changes? [y/N]`)
    out.length = 0
    if (!/^y(es)?$/i.test(answer?.trim() ?? '')) return { code: 1, out: 'Nothing was written.' }
  }
  let backups: string[]
  try {
    backups = applyChanges(changes, { backup: !args.undo })
    for (const b of consumed) rmSync(b, { force: true })
  } catch (e) {
    return { code: 1, out: [...out, `agproxy setup ${def.id}: could not write: ${(e as Error).message.split('\n')[0]}`].join('\n') }
  }
  if (args.undo) {
    out.push(`Restored ${changes.map(c => tilde(c.path, place.home)).join(', ')} from agproxy setup's backup.`)
    return { code: 0, out: out.join('\n') }
  }
  out.push(`Wrote ${changes.map(c => tilde(c.path, place.home)).join(', ')} (backups: ${backups.map(b => tilde(b, place.home)).join(', ')}).`)
  // biome-ignore lint/style/noNonNullAssertion: set whenever not undoing
  out.push(...def.next(place, inst!), `Undo with: agproxy setup --undo ${def.id}. Check with: agproxy doctor.`)
  return { code: 0, out: out.join('\n') }
}

const listFiles = (def: ClientDef, place: Place) =>
  def
    .files(place)
    .map(f => tilde(f, place.home))
    .join(', ')
