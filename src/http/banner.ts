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
 *  and IPv6 on ::), link-local ones left out (they need a zone). Empty when bound to one address. */
export function lanOrigins(c: Config, port = c.port, nets: Interfaces = networkInterfaces()): string[] {
  const h = bindHost(c)
  if (h !== '0.0.0.0' && h !== '::') return []
  const out: string[] = []
  for (const list of Object.values(nets))
    for (const n of list ?? []) {
      if (n.internal || /^(fe80:|169\.254\.)/i.test(n.address)) continue
      if (n.family === 'IPv4') out.push(`http://${n.address}:${port}`)
      else if (h === '::') out.push(`http://[${n.address}]:${port}`)
    }
  return [...new Set(out)]
}

/** Each client family's base-URL setting, whether a key is needed and which, and the LAN addresses when bound to all.
 *  `keyFile`: where the generated LAN key is kept (default: the data dir's, when no api_keys are configured). */
export function clientsText(c: Config, port = c.port, opts: { keyFile?: string; nets?: Interfaces } = {}): string {
  const origin = displayOrigin(c, port)
  const needsKey = effectiveAuthMode(c) !== 'off'
  const lines = clientFamilies(origin).map(f => `  ${f.clients}\n      ${f.setting} = ${f.baseUrl}`)
  const keyFile = opts.keyFile ?? (usesLanKeyFile(c) ? lanKeyFile(c) : undefined)
  const key = !needsKey
    ? 'No key is required (auth is off): any API key value works.'
    : keyFile
      ? `A key is required (auth_mode ${effectiveAuthMode(c)}): send the key agproxy generated for LAN access, kept in ${keyFile}.`
      : `A key is required (auth_mode ${effectiveAuthMode(c)}): send one of api_keys as the client's API key.`
  const lan = lanOrigins(c, port, opts.nets)
  const others = lan.length ? [`From other machines on the network, use ${lan.join(' or ')} in place of ${origin} (the same paths).`] : []
  const extra = [
    `  Claude Code:   ANTHROPIC_BASE_URL=${origin}${needsKey ? ' ANTHROPIC_API_KEY=<key>' : ' ANTHROPIC_API_KEY=any'}`,
    `  Codex CLI:     a model_providers entry with base_url = "${origin}/v1" and wire_api = "responses"`,
    `  Gemini CLI:    GOOGLE_GEMINI_BASE_URL=${origin} GEMINI_API_KEY=${needsKey ? '<key>' : 'any'}`,
  ]
  const setup = 'agproxy setup claude-code | codex | gemini-cli | opencode writes these into the client’s own config; agproxy doctor checks them.'
  return [`Client settings:`, ...lines, ...extra, ...others, key, setup].join('\n')
}
