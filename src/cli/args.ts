/** Command-line arguments: flags and subcommands. */
import type { Flags } from '../config/load'

export interface Args {
  command: 'serve' | 'routes' | 'clients' | 'keys' | 'usage' | 'logs' | 'help' | 'version'
  flags: Flags
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
  --version, -v              print the version
`

/** An unknown argument as an error may show it: a misspelt `--api-keys=sk-…` or a stray key must not be printed,
 *  so a flag's value and anything that does not look like a word are elided. */
const shownArg = (arg: string, name: string, inline: string | undefined) =>
  inline !== undefined ? `${name}=…` : /^-{0,2}[a-z][a-z-]{0,30}$/i.test(arg) ? arg : `${arg.slice(0, 2)}…`

export function parseArgs(argv: string[]): Args {
  const flags: Flags = {}
  let command: Args['command'] = 'serve'
  let opts: Args['opts']
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
        case '--json':
        case '--follow':
          ;(opts ??= {})[name.slice(2)] = true
          break
        case 'usage':
        case 'logs':
        case 'routes':
        case 'clients':
        case 'keys':
        case 'help':
        case 'version':
          command = name
          break
        case 'serve':
          break
        default:
          throw new Error(`unknown argument "${shownArg(a, name, inline)}"`)
      }
    }
  } catch (e) {
    return { command, flags, error: (e as Error).message }
  }
  if (opts && command !== 'usage' && command !== 'logs')
    return { command, flags, error: `--${Object.keys(opts)[0]} is an option of agproxy usage / agproxy logs` }
  return opts ? { command, flags, opts } : { command, flags }
}
