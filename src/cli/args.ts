/** Command-line arguments: flags and subcommands. */
import type { Flags } from '../config/load'
import type { SetupArgs } from './setup'

export const SERVICE_ACTIONS = ['install', 'uninstall', 'status'] as const
export type ServiceAction = (typeof SERVICE_ACTIONS)[number]
export const KEYS_ACTIONS = ['create', 'list', 'revoke', 'rotate'] as const
export type KeysAction = (typeof KEYS_ACTIONS)[number]
/** the options of `keys create` */
const KEY_OPTIONS = ['--models', '--rpm', '--tpm', '--max-parallel', '--budget', '--expires', '--note']

export interface Args {
  command: 'serve' | 'routes' | 'clients' | 'keys' | 'models' | 'help' | 'version' | 'service' | 'health' | 'setup' | 'doctor' | 'usage' | 'logs'
  flags: Flags
  /** `service install|uninstall|status` */
  action?: ServiceAction
  /** `version --check`: compare with the latest release */
  check?: boolean
  /** `setup`: the client named, --yes, --print, --undo */
  setup?: SetupArgs
  /** `models resolve NAME`: the name */
  resolve?: string
  /** `keys create|list|revoke|rotate [NAME]`: client keys of the running instance */
  keysAction?: KeysAction
  keyName?: string
  /** options of `usage` and `logs` (--since, --by, --json, --follow, --status, --model) */
  opts?: Record<string, string | true>
  error?: string
}

export const USAGE = `agproxy — one gateway for OpenAI, Anthropic and Gemini clients and backends

Usage:
  agproxy [flags]            start the gateway (default port 8045)
  agproxy routes             print the route table
  agproxy clients            print the base URL each client should use
  agproxy keys               print the key pool state of the running instance
  agproxy keys create NAME [--models 'gpt-*,claude-*'] [--rpm N] [--tpm N] [--max-parallel N]
                  [--budget USD/day|week|month] [--expires 2026-12-31] [--note TEXT]
                             create a client key with limits (the key is printed once; admin key)
  agproxy keys list          client keys, their limits and their use of them (names only)
  agproxy keys revoke NAME   refuse a client key from now on
  agproxy keys rotate NAME   give a client key a new secret (printed once); the old one is refused
  agproxy models             print the model routing table (from the config; no instance needed)
  agproxy models resolve NAME
                             print where one model name goes
  agproxy setup <client>     point a client at this instance: claude-code, codex, gemini-cli, opencode
                             (shows the diff and asks; --yes writes, --print only shows; --undo restores the backup)
  agproxy doctor             check each client's settings, a real request through each, and every provider key
  agproxy service install    run agproxy in the background at login (systemd user unit, launchd agent;
                             on Windows it prints the scheduled task to create); uninstall removes it;
                             status says whether it runs and where. Flags given here go into the service.
  agproxy health             exit 0 when the configured instance answers /healthz (for health checks)
  agproxy version --check    compare this version with the latest release (asks the network)
  agproxy usage [--since 7d] [--by day|key|model|provider] [--json]
                             tokens and cost of the running instance (admin key)
  agproxy logs [--follow] [--status 5xx] [--model M] [--since 1h]
                             its request log; --follow prints requests as they finish

Flags:
  --port N                   listen port (env AGPROXY_PORT, default 8045)
  --host ADDR                bind address (env AGPROXY_HOST; default 127.0.0.1, or 0.0.0.0 with --allow-lan)
  --allow-lan                accept connections from the LAN (env AGPROXY_ALLOW_LAN_ACCESS)
  --auth-mode MODE           off | strict | all_except_health | auto (env AGPROXY_AUTH_MODE, default auto)
  --api-key KEY              a key clients must send (repeatable; env AGPROXY_API_KEYS, comma-separated)
  --config FILE              config file (env AGPROXY_CONFIG; default ./agproxy.yaml, ~/.config/agproxy/config.yaml)
  --help, -h                 this help
  --version, -v              print the name, version, Bun version and platform
`

/** An unknown argument as an error may show it: a misspelt `--api-keys=sk-…` or a stray key must not be printed,
 *  so a flag's value and anything that does not look like a word are elided. */
const shownArg = (arg: string, name: string, inline: string | undefined) =>
  inline !== undefined ? `${name}=…` : /^-{0,2}[a-z][a-z-]{0,30}$/i.test(arg) ? arg : `${arg.slice(0, 2)}…`

export function parseArgs(argv: string[]): Args {
  const flags: Flags = {}
  const setup: SetupArgs = {}
  let command: Args['command'] = 'serve'
  let resolve: string | undefined
  let action: ServiceAction | undefined
  let check = false
  let opts: Args['opts']
  let keysAction: KeysAction | undefined
  let keyName: string | undefined
  const value = (i: number, name: string) => {
    const v = argv[i + 1]
    if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`)
    return v
  }
  try {
    for (let i = 0; i < argv.length; i++) {
      // biome-ignore lint/style/noNonNullAssertion: i < argv.length
      const a = argv[i]!
      const [name, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]
      const take = () => inline ?? value(i++, name)
      switch (name) {
        case '--port': {
          const v = take()
          if (!/^\d+$/.test(v)) throw new Error(`--port: expected a port number, got "${v}"`)
          flags.port = Number(v)
          break
        }
        case '--host':
          flags.host = take()
          break
        case '--allow-lan':
          flags.allowLan = true
          break
        case '--auth-mode':
          flags.authMode = take()
          break
        case '--api-key':
          ;(flags.apiKeys ??= []).push(take())
          break
        case '--config':
          flags.config = take()
          break
        case '--help':
        case '-h':
          command = 'help'
          break
        case '--version':
        case '-v':
          command = 'version'
          break
        case '--since':
        case '--by':
        case '--status':
        case '--model':
          ;(opts ??= {})[name.slice(2)] = take()
          break
        case '--models':
        case '--rpm':
        case '--tpm':
        case '--max-parallel':
        case '--budget':
        case '--expires':
        case '--note':
          ;(opts ??= {})[name.slice(2)] = take()
          break
        case '--json':
        case '--follow':
          ;(opts ??= {})[name.slice(2)] = true
          break
        case 'usage':
        case 'logs':
        case 'routes':
        case 'clients':
          command = name
          break
        case 'keys': {
          command = 'keys'
          const next = argv[i + 1]
          if (!KEYS_ACTIONS.includes(next as KeysAction)) break
          keysAction = next as KeysAction
          i++
          if (keysAction === 'list') break
          keyName = argv[i + 1]
          if (keyName === undefined || keyName.startsWith('-'))
            throw new Error(`keys ${keysAction} needs the client key's name: agproxy keys ${keysAction} NAME`)
          i++
          break
        }
        case 'health':
        case 'help':
        case 'version':
        case 'setup':
        case 'doctor':
          command = name
          break
        case 'models':
          command = 'models'
          if (argv[i + 1] === 'resolve') {
            resolve = argv[i + 2]
            if (resolve === undefined || resolve.startsWith('-')) throw new Error('models resolve needs a model name: agproxy models resolve NAME')
            i += 2
          }
          break
        case 'service': {
          command = 'service'
          const next = argv[i + 1]
          if (!SERVICE_ACTIONS.includes(next as ServiceAction)) throw new Error(`service needs one of: ${SERVICE_ACTIONS.join(', ')}`)
          action = next as ServiceAction
          i++
          break
        }
        case '--check':
          check = true
          break
        case '--yes':
        case '-y':
        case '--print':
        case '--undo':
          setup[name === '-y' ? 'yes' : (name.slice(2) as 'yes' | 'print' | 'undo')] = true
          break
        case 'serve':
          break
        default:
          if (command === 'setup' && !setup.client && /^[a-z][a-z-]*$/.test(a)) setup.client = a
          else throw new Error(`unknown argument "${shownArg(a, name, inline)}"`)
      }
    }
    if (check && command !== 'version') throw new Error('--check goes with the version command: agproxy version --check')
  } catch (e) {
    return { command, flags, error: (e as Error).message }
  }
  if (command === 'setup') return { command, flags, setup }
  if (Object.keys(setup).length) return { command, flags, error: '--yes, --print and --undo belong to agproxy setup <client>' }
  const cmd = command as Args['command']
  const reads = cmd === 'usage' || cmd === 'logs'
  const keyOpt = opts && Object.keys(opts).find(o => KEY_OPTIONS.includes(`--${o}`))
  if (keyOpt && keysAction !== 'create') return { command, flags, error: `--${keyOpt} is an option of agproxy keys create` }
  const other = opts && Object.keys(opts).find(o => !KEY_OPTIONS.includes(`--${o}`) && o !== 'json')
  if (other && !reads) return { command, flags, error: `--${other} is an option of agproxy usage / agproxy logs` }
  if (opts?.json && !reads && !keysAction) return { command, flags, error: '--json is an option of agproxy usage / keys' }
  return {
    command,
    flags,
    ...(opts && { opts }),
    ...(action && { action }),
    ...(check && { check }),
    ...(resolve !== undefined && { resolve }),
    ...(keysAction && { keysAction }),
    ...(keyName !== undefined && { keyName }),
  }
}
