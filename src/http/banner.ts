/** What the start banner and the CLI print about clients: the origin to show, and each client's settings. */
import type { Config } from '../config/schema'
import { clientFamilies } from './clients'
import { effectiveAuthMode, bindHost } from '../config/load'

/** The origin clients should use (a wildcard bind shown as loopback). */
export const displayOrigin = (c: Config, port = c.port) => {
  const h = bindHost(c)
  return `http://${h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h}:${port}`
}

/** Each client family's base-URL setting, and whether a key is needed. */
export function clientsText(c: Config, port = c.port): string {
  const origin = displayOrigin(c, port)
  const needsKey = effectiveAuthMode(c) !== 'off'
  const lines = clientFamilies(origin).map(f => `  ${f.clients}\n      ${f.setting} = ${f.baseUrl}`)
  const key = needsKey
    ? `A key is required (auth_mode ${effectiveAuthMode(c)}): send one of api_keys as the client's API key.`
    : 'No key is required (auth is off): any API key value works.'
  const extra = [
    `  Claude Code:   ANTHROPIC_BASE_URL=${origin}${needsKey ? ' ANTHROPIC_API_KEY=<key>' : ' ANTHROPIC_API_KEY=any'}`,
    `  Codex CLI:     a model_providers entry with base_url = "${origin}/v1" and wire_api = "responses"`,
    `  Gemini CLI:    GOOGLE_GEMINI_BASE_URL=${origin} GEMINI_API_KEY=${needsKey ? '<key>' : 'any'}`,
  ]
  const setup = 'agproxy setup claude-code | codex | gemini-cli | opencode writes these into the client’s own config; agproxy doctor checks them.'
  return `Client settings:\n${lines.join('\n')}\n${extra.join('\n')}\n${key}\n${setup}`
}
