/**
 * Codex CLI: $CODEX_HOME (~/.codex)/config.toml gets a top-level `model_provider = "agproxy"` and a
 * `[model_providers.agproxy]` table (base_url, wire_api = "responses", env_key = "AGPROXY_API_KEY"); the key goes to
 * ~/.codex/.env, which Codex loads at start (its values win over the environment's). The TOML is edited as text (smol-toml would drop comments) and parsed
 * before and after to prove every other key is unchanged.
 */
import { join } from 'node:path'
import { parse, TomlError } from 'smol-toml'
import { familyOf } from '../../http/clients'
import type { ClientDef, ClientView, Place } from './client'
import { tilde } from './client'
import { assertOnlyChanged, at, parseDotenv, SetupError, setDotenv } from './edit'
import { readText, type Change } from './files'

const ENV_KEY = 'AGPROXY_API_KEY'
const codexHome = (p: Place) => p.env.CODEX_HOME || join(p.home, '.codex')
const configPath = (p: Place) => join(codexHome(p), 'config.toml')
const envPath = (p: Place) => join(codexHome(p), '.env')

/** The parsed TOML (a missing file is empty); refuses what does not parse. */
function parseToml(text: string | undefined, shown: string): Record<string, unknown> {
  try {
    return text ? (parse(text) as Record<string, unknown>) : {}
  } catch (e) {
    const where = e instanceof TomlError ? ` on line ${e.line}` : ''
    throw new SetupError(`${shown}: not valid TOML${where} (${(e as Error).message.split('\n')[0]}); fix it, then run agproxy setup again`)
  }
}

/** a table header line (not an array element: those end in a comma or continue) */
const HEADER = /^[ \t]*\[\[?[ \t]*[A-Za-z0-9_."' -]+\]\]?[ \t]*(#.*)?$/
const BLANK_OR_COMMENT = /^\s*(#.*)?$/
const OUR_HEADER = /^[ \t]*\[[ \t]*model_providers[ \t]*\.[ \t]*("agproxy"|'agproxy'|agproxy)[ \t]*\][ \t]*(#.*)?$/
const MODEL_PROVIDER = /^[ \t]*model_provider[ \t]*=.*$/

/** The provider table agproxy writes. */
export const providerTable = (baseUrl: string) =>
  [
    '[model_providers.agproxy]',
    'name = "agproxy"',
    `base_url = ${JSON.stringify(baseUrl)}`,
    'wire_api = "responses"',
    `env_key = "${ENV_KEY}"`,
    `env_key_instructions = "agproxy setup codex writes ${ENV_KEY} to ~/.codex/.env; or export ${ENV_KEY}=<your agproxy key>"`,
  ].join('\n')

/** config.toml's text with our table and top-level model_provider line in place; every other line kept. */
export function editCodexToml(text: string, baseUrl: string): string {
  const lines = text ? text.replace(/\n$/, '').split('\n') : []
  const firstHeader = lines.findIndex(l => HEADER.test(l))
  const topEnd = firstHeader === -1 ? lines.length : firstHeader
  // the table: replace its lines (header to the next header) or append it
  const start = lines.findIndex(l => OUR_HEADER.test(l))
  const table = providerTable(baseUrl).split('\n')
  if (start !== -1) {
    let end = lines.findIndex((l, i) => i > start && HEADER.test(l))
    if (end === -1) end = lines.length
    // keep the blank lines and comments that lead into the next table
    while (end - 1 > start && BLANK_OR_COMMENT.test(lines[end - 1] ?? '')) end--
    lines.splice(start, end - start, ...table)
  } else lines.push(...(lines.length && lines.at(-1)?.trim() ? [''] : []), ...table)
  // the top-level model_provider line: replace it, or add it after the last top-level key (before the comments that lead into
  // the first table)
  const own = lines.findIndex((l, i) => i < topEnd && MODEL_PROVIDER.test(l))
  if (own !== -1) lines[own] = 'model_provider = "agproxy"'
  else {
    let pos = topEnd
    while (pos > 0 && BLANK_OR_COMMENT.test(lines[pos - 1] ?? '')) pos--
    lines.splice(pos, 0, 'model_provider = "agproxy"', ...(lines[pos]?.trim() ? [''] : []))
  }
  return `${lines.join('\n')}\n`
}

export const codex: ClientDef = {
  id: 'codex',
  name: 'Codex CLI',
  dialect: 'openai',
  baseUrl: origin => familyOf('openai', origin).baseUrl,
  files: p => [configPath(p), envPath(p)],
  plan(p, inst) {
    const file = configPath(p)
    const shown = tilde(file, p.home)
    const before = readText(file)
    const data = parseToml(before, shown)
    const providers = at(data, ['model_providers'])
    if (providers !== undefined && (providers === null || typeof providers !== 'object'))
      throw new SetupError(`${shown}: model_providers is not a table; fix it first`)
    const after = editCodexToml(before ?? '', familyOf('openai', inst.origin).baseUrl)
    let parsed: Record<string, unknown>
    try {
      parsed = parse(after) as Record<string, unknown>
    } catch {
      throw new SetupError(
        `${shown}: setup could not place its settings in this file safely; nothing was written. Add model_provider = "agproxy" and a [model_providers.agproxy] table by hand (agproxy clients shows the values)`,
      )
    }
    // an agproxy provider written some other way (inline table, dotted keys) would now be defined twice
    if (at(parsed, ['model_providers', 'agproxy', 'base_url']) !== familyOf('openai', inst.origin).baseUrl)
      throw new SetupError(`${shown}: model_providers.agproxy is defined in a form setup cannot edit; remove it, then run agproxy setup codex again`)
    assertOnlyChanged(data, parsed, [['model_provider'], ['model_providers', 'agproxy']], shown)
    const changes: Change[] = after === before ? [] : [{ path: file, before, after }]
    const envFile = envPath(p)
    const envBefore = readText(envFile)
    const envAfter = setDotenv(envBefore, { [ENV_KEY]: inst.key })
    if (envAfter !== envBefore) changes.push({ path: envFile, before: envBefore, after: envAfter, secret: true })
    return changes
  },
  next: p => [
    `Codex loads ${tilde(envPath(p), p.home)} at start (over the environment): ${ENV_KEY} needs no export.`,
    'Run `codex`: it now talks to agproxy (model_provider = "agproxy").',
  ],
  view(p) {
    const file = configPath(p)
    const shown = tilde(file, p.home)
    const view: ClientView = { carrier: 'bearer', warnings: [] }
    let data: Record<string, unknown> = {}
    try {
      data = parseToml(readText(file), shown)
    } catch (e) {
      view.broken = (e as Error).message
    }
    const providerId = typeof data.model_provider === 'string' ? data.model_provider : 'openai'
    const provider = at(data, ['model_providers', providerId]) as Record<string, unknown> | undefined
    if (typeof data.model === 'string') view.model = data.model
    if (provider && typeof provider.base_url === 'string')
      view.baseUrl = { value: provider.base_url, from: `model_providers.${providerId}.base_url in ${shown}` }
    else if (providerId === 'openai' && p.env.OPENAI_BASE_URL) view.baseUrl = { value: p.env.OPENAI_BASE_URL, from: 'OPENAI_BASE_URL in the environment' }
    const envKey = provider && typeof provider.env_key === 'string' ? provider.env_key : providerId === 'openai' ? 'OPENAI_API_KEY' : undefined
    if (envKey) {
      // Codex loads its .env over the environment
      const fromFile = parseDotenv(readText(envPath(p)))[envKey]
      const value = fromFile ?? p.env[envKey]
      if (value) view.key = { value, from: `${envKey} in ${fromFile !== undefined ? tilde(envPath(p), p.home) : 'the environment'}` }
    }
    if (provider && provider.wire_api !== undefined && provider.wire_api !== 'responses')
      view.warnings.push(`model_providers.${providerId}.wire_api is "${provider.wire_api}"; current Codex versions need "responses"`)
    return view
  },
  callPath: () => '/responses',
  defaultModel: 'gpt-5-codex',
}
