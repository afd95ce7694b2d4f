/** What the start banner and the CLI print about clients: the origin to show, and each client's settings. */
import type { Config } from '../config/schema'
import { clientFamilies } from './clients'
import { networkInterfaces } from 'node:os'
import { effectiveAuthMode, bindHost, lanKeyFile, usesLanKeyFile } from '../config/load'

/** The origin clients should use (a wildcard bind shown as loopback). */
export const displayOrigin = (c: Config, port = c.port) => {
  const h = bindHost(c)
  return `http://${h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h}:${port}`
}

type Interfaces = ReturnType<typeof networkInterfaces>

/** With a wildcard bind, the origins other machines reach this one at: each non-internal address (IPv4 on 0.0.0.0, IPv4
 *  and IPv6 on ::), link-local ones left out (they need a zone). Empty when bound to one address (the interfaces are
 *  then not read: every start prints this). */
export function lanOrigins(c: Config, port = c.port, nets?: Interfaces): string[] {
  const h = bindHost(c)
  if (h !== '0.0.0.0' && h !== '::') return []
  const out: string[] = []
  for (const list of Object.values(nets ?? networkInterfaces()))
    for (const n of list ?? []) {
      if (n.internal || /^(fe80:|169\.254\.)/i.test(n.address)) continue
      if (n.family === 'IPv4') out.push(`http://${n.address}:${port}`)
      else if (h === '::') out.push(`http://[${n.address}]:${port}`)
    }
  return [...new Set(out)]
}

/** One client (or client family) and what it sets to reach this agproxy. */
export interface ClientEntry {
  client: string
  settings: string
}

/** Each client family's base-URL setting, then the three CLIs' settings: what `agproxy clients` lists, one entry each. */
export function clientEntries(c: Config, port = c.port): ClientEntry[] {
  const origin = displayOrigin(c, port)
  const needsKey = effectiveAuthMode(c) !== 'off'
  return [
    ...clientFamilies(origin).map(f => ({ client: f.clients, settings: `${f.setting} = ${f.baseUrl}` })),
    { client: 'Claude Code', settings: `ANTHROPIC_BASE_URL=${origin}${needsKey ? ' ANTHROPIC_API_KEY=<key>' : ' ANTHROPIC_API_KEY=any'}` },
    { client: 'Codex CLI', settings: `a model_providers entry with base_url = "${origin}/v1" and wire_api = "responses"` },
    { client: 'Gemini CLI', settings: `GOOGLE_GEMINI_BASE_URL=${origin} GEMINI_API_KEY=${needsKey ? '<key>' : 'any'}` },
  ]
}

/** Each client family's base-URL setting, whether a key is needed and which, and the LAN addresses when bound to all.
 *  `keyFile`: where the generated LAN key is kept (default: the data dir's, when no api_keys are configured). */
export function clientsText(c: Config, port = c.port, opts: { keyFile?: string; nets?: Interfaces } = {}): string {
  const origin = displayOrigin(c, port)
  const needsKey = effectiveAuthMode(c) !== 'off'
  const entries = clientEntries(c, port)
  const families = clientFamilies(origin).length
  const lines = entries.slice(0, families).map(e => `  ${e.client}\n      ${e.settings}`)
  const extra = entries.slice(families).map(e => `  ${`${e.client}:`.padEnd(15)}${e.settings}`)
  const keyFile = opts.keyFile ?? (usesLanKeyFile(c) ? lanKeyFile(c) : undefined)
  const key = !needsKey
    ? 'No key is required (auth is off): any API key value works.'
    : keyFile
      ? `A key is required (auth_mode ${effectiveAuthMode(c)}): send the key agproxy generated for LAN access, kept in ${keyFile}.`
      : `A key is required (auth_mode ${effectiveAuthMode(c)}): send one of api_keys as the client's API key.`
  const lan = lanOrigins(c, port, opts.nets)
  const others = lan.length ? [`From other machines on the network, use ${lan.join(' or ')} in place of ${origin} (the same paths).`] : []
  const setup = 'agproxy setup claude-code | codex | gemini-cli | opencode writes these into the client’s own config; agproxy doctor checks them.'
  return [`Client settings:`, ...lines, ...extra, ...others, key, setup].join('\n')
}
