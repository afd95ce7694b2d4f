/**
 * Configuration sources, highest first: flags, env, config file, defaults.
 * The merged result is validated once against ConfigSchema; a bad value is a ConfigError that names
 * the file, the field path and what was expected. It never prints a value that may be a secret (showConfigValue).
 */
import { existsSync, readFileSync } from 'node:fs'
import type { parse as ParseJsonc, ParseError } from 'jsonc-parser'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { kindOf, schemaValidator, showJson } from '../schema/validate'
import { displayUrl } from './display-url'
import { ConfigSchema, DEFAULTS, wireOf, type Config } from './schema'

export class ConfigError extends Error {}

export interface Flags {
  port?: number
  host?: string
  allowLan?: boolean
  authMode?: string
  apiKeys?: string[]
  config?: string
}

/** Settings whose values may be secrets (provider and client keys, header values, tokens, passwords): an error about
 *  one of them, or anything inside one, names its kind only. */
const SECRET_SETTING = /key|token|secret|passw|credential|^headers$|^authorization$|^cookie$/i

/** How a bad config value appears in an error: a secret's kind only; an object or array by kind too (it may hold a
 *  key); a base_url, redis_url or database_url without its query or userinfo (either may carry a key); anything else as JSON. */
function showConfigValue(value: unknown, path: string): string {
  const names = path.split(/[.[\]]+/).filter(n => n && !/^\d+$/.test(n))
  if (value !== null && typeof value === 'object') return kindOf(value)
  if (names.some(n => SECRET_SETTING.test(n))) return kindOf(value)
  const last = names.at(-1)
  // a URL's userinfo and query may carry a password or key
  if ((last === 'base_url' || last === 'redis_url' || last === 'database_url') && typeof value === 'string') return showJson(displayUrl(value), path)
  return showJson(value, path)
}

// interpreted, not compiled: the config is checked once at start (and at a reload), compiling would cost more than checking
const check = schemaValidator(ConfigSchema, showConfigValue)

/** Find the config file: --config, $AGPROXY_CONFIG, ./agproxy.yaml, ~/.config/agproxy/config.yaml. */
export function findConfigFile(flags: Flags, env: Record<string, string | undefined>): string | undefined {
  const explicit = flags.config ?? env.AGPROXY_CONFIG
  if (explicit) {
    if (!existsSync(explicit)) throw new ConfigError(`${explicit}: config file not found`)
    return resolve(explicit)
  }
  for (const p of ['agproxy.yaml', 'agproxy.yml', 'agproxy.json', join(homedir(), '.config', 'agproxy', 'config.yaml')]) if (existsSync(p)) return resolve(p)
  return undefined
}

/** The config text as data; a syntax error names the line and column (never the line's text: it may hold a key). */
export function parseConfigText(text: string, file: string): Record<string, unknown> {
  const json = file.endsWith('.json')
  let data: unknown
  try {
    data = json ? JSON.parse(text) : Bun.YAML.parse(text)
  } catch (e) {
    const at = json ? jsonErrorAt(text) : yamlErrorAt(text)
    // the parser may quote the offending token, which may be part of a key: name the kind of error only
    const what = (e as Error).message.replace(/^(JSON|YAML) Parse error: /, '').replace(/\s*(["'`]).*?\1/g, '')
    throw new ConfigError(`${file}: cannot parse ${json ? 'JSON' : 'YAML'}${at ? ` at line ${at.line}, column ${at.column}` : ''}: ${what}`)
  }
  if (data == null) return {}
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`${file}: expected a mapping of settings at the top level`)
  return data as Record<string, unknown>
}

/** Read a config file; a directory or an unreadable file is one line naming it and why. */
export function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why =
      code === 'EISDIR'
        ? 'is a directory; name the config file itself (e.g. agproxy.yaml)'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot be read: permission denied'
          : code === 'ENOENT'
            ? 'config file not found'
            : `cannot be read (${code ?? summarizeError(e)})`
    throw new ConfigError(`${file}: ${why}`)
  }
}

const summarizeError = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]

/** Line and column (1-based) of an offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n')
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 }
}

/** Where JSON.parse gave up: jsonc-parser in strict mode (no comments, no trailing commas) reports the offset. It is
 *  loaded here, for a file that failed to parse: evaluating it costs ~3 ms of every start. */
function jsonErrorAt(text: string): { line: number; column: number } | undefined {
  const errors: ParseError[] = []
  const parseJsonc = (require('jsonc-parser') as { parse: typeof ParseJsonc }).parse
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false })
  return errors[0] ? lineColumn(text, errors[0].offset) : undefined
}

/** Where a YAML document stops parsing: Bun's parser gives no position, so find the first line from which every longer
 *  prefix fails (an unclosed bracket or quote fails until it closes), then the first column of that line from which it
 *  fails. Runs only on a file that failed to parse. */
function yamlErrorAt(text: string): { line: number; column: number } | undefined {
  const parses = (t: string) => {
    try {
      Bun.YAML.parse(t)
      return true
    } catch {
      return false
    }
  }
  const lines = text.split('\n')
  let line = lines.length
  while (line > 1 && !parses(lines.slice(0, line - 1).join('\n'))) line--
  const head = lines.slice(0, line - 1).join('\n') + (line > 1 ? '\n' : '')
  const row = lines[line - 1] ?? ''
  let column = row.length
  while (column > 1 && !parses(head + row.slice(0, column - 1))) column--
  return { line, column: Math.max(1, column) }
}

const bool = (v: string | undefined, name: string): boolean | undefined => {
  if (v === undefined || v === '') return undefined
  if (/^(1|true|yes|on)$/i.test(v)) return true
  if (/^(0|false|no|off)$/i.test(v)) return false
  throw new ConfigError(`${name}: expected true or false, got ${JSON.stringify(v)}`)
}
const int = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined || v === '') return undefined
  if (!/^\d+$/.test(v)) throw new ConfigError(`${name}: expected a port number, got ${JSON.stringify(v)}`)
  return Number(v)
}

export interface Loaded {
  config: Config
  file?: string
}

export function loadConfig(flags: Flags = {}, env: Record<string, string | undefined> = process.env): Loaded {
  const file = findConfigFile(flags, env)
  const fromFile = file ? parseConfigText(readConfigFile(file), file) : {}
  const label = file ?? 'config'
  return { config: buildConfig(fromFile, flags, env, label), file }
}

/** `${VAR}` or `${VAR:-default}` in a string value; `$${` is a literal `${`. */
const ENV_REF = /\$(\$?)\{([^}]*)\}/g

/** Replace `${VAR}` / `${VAR:-default}` in every string value (not in keys) with the environment's value; a variable
 *  that is unset (or empty, without a default) is an error naming the setting and the variable, never a value. */
export function expandEnv(value: unknown, env: Record<string, string | undefined>, label: string, path = ''): unknown {
  if (typeof value === 'string') return value.includes('${') ? expandString(value, env, label, path) : value
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, label, `${path}[${i}]`))
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, label, path ? `${path}.${k}` : k)]))
  return value
}

function expandString(s: string, env: Record<string, string | undefined>, label: string, path: string): string {
  return s.replace(ENV_REF, (whole, escaped: string, ref: string) => {
    if (escaped) return whole.slice(1)
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/.exec(ref)
    if (!m)
      throw new ConfigError(`${label}: ${path}: a \${…} that is not a variable reference; write \${NAME} or \${NAME:-default} (or $\${ for a literal \${)`)
    const [, name = '', fallback] = m
    const v = env[name]
    if (v !== undefined && v !== '') return v
    if (fallback !== undefined) return fallback
    throw new ConfigError(`${label}: ${path}: environment variable ${name} is not set; set it, or give a default with \${${name}:-default}`)
  })
}

/** Merge layers and validate. `label` names the source in error messages; `${VAR}` in the file's values reads `env`. */
export function buildConfig(fromFile0: Record<string, unknown>, flags: Flags = {}, env: Record<string, string | undefined> = {}, label = 'config'): Config {
  const fromFile = expandEnv(fromFile0, env, label) as Record<string, unknown>
  const merged: Record<string, unknown> = { ...structuredClone(DEFAULTS), ...fromFile }
  // nested defaults survive a partial block in the file
  for (const k of ['retry', 'timeouts', 'limits', 'metrics', 'log_retention'] as const)
    if (fromFile[k] && typeof fromFile[k] === 'object') merged[k] = { ...DEFAULTS[k], ...(fromFile[k] as object) }
  // `api_key` is accepted for one key (joined to a list; an api_keys that is not one is left for validation to refuse,
  // rather than spread into one-character keys)
  const keys = merged.api_keys
  if (typeof merged.api_key === 'string' && (keys == null || Array.isArray(keys))) {
    merged.api_keys = [...(keys ?? []), merged.api_key]
    delete merged.api_key
  }

  const envLayer: Record<string, unknown> = {
    port: int(env.AGPROXY_PORT, 'AGPROXY_PORT'),
    host: env.AGPROXY_HOST || undefined,
    allow_lan_access: bool(env.AGPROXY_ALLOW_LAN_ACCESS, 'AGPROXY_ALLOW_LAN_ACCESS'),
    auth_mode: env.AGPROXY_AUTH_MODE || undefined,
    api_keys: env.AGPROXY_API_KEYS
      ? env.AGPROXY_API_KEYS.split(',')
          .map(s => s.trim())
          .filter(Boolean)
      : undefined,
    data_dir: env.AGPROXY_DATA_DIR || undefined,
  }
  const flagLayer: Record<string, unknown> = {
    port: flags.port,
    host: flags.host,
    allow_lan_access: flags.allowLan,
    auth_mode: flags.authMode,
    api_keys: flags.apiKeys?.length ? flags.apiKeys : undefined,
  }
  // where each setting came from, so an error names the env var or flag rather than the file
  const source: Record<string, string> = {}
  const ENV_NAME: Record<string, string> = {
    port: 'AGPROXY_PORT',
    host: 'AGPROXY_HOST',
    allow_lan_access: 'AGPROXY_ALLOW_LAN_ACCESS',
    auth_mode: 'AGPROXY_AUTH_MODE',
    api_keys: 'AGPROXY_API_KEYS',
    data_dir: 'AGPROXY_DATA_DIR',
  }
  const FLAG_NAME: Record<string, string> = { port: '--port', host: '--host', allow_lan_access: '--allow-lan', auth_mode: '--auth-mode', api_keys: '--api-key' }
  for (const [layer, names] of [
    [envLayer, ENV_NAME],
    [flagLayer, FLAG_NAME],
  ] as const)
    for (const [k, v] of Object.entries(layer))
      if (v !== undefined) {
        merged[k] = v
        source[k] = names[k] ?? k
      }

  const bad = check(merged)
  if (bad)
    throw new ConfigError(
      `${source[bad.path.split(/[.[]/)[0] ?? ''] ?? label}: ${bad.path || '(top level)'}: ` +
        `${bad.message.replace(/^unknown field; check its spelling$/, "unknown setting; check its spelling against the README's config reference")}`,
    )
  const config = merged as Config
  const names = new Set<string>()
  config.providers.forEach((p, i) => {
    if (names.has(p.name)) throw new ConfigError(`${label}: providers[${i}].name: "${p.name}" is used twice; provider names must be unique`)
    names.add(p.name)
    const bad = providerMismatch(p)
    if (bad) throw new ConfigError(`${label}: providers[${i}].${bad}`)
  })
  const bad2 = clientKeyProblem(config)
  if (bad2) throw new ConfigError(`${label}: ${bad2}`)
  return config
}

/** client_keys: names and keys unique (and no key also an api_key), expires a date. */
function clientKeyProblem(c: Config): string | undefined {
  const names = new Set<string>()
  const keys = new Set(c.api_keys)
  for (const [i, k] of c.client_keys.entries()) {
    if (names.has(k.name)) return `client_keys[${i}].name: "${k.name}" is used twice; client key names must be unique`
    if (keys.has(k.key)) return `client_keys[${i}].key: the same key is given twice (in client_keys or api_keys); each client needs its own key`
    if (k.expires !== undefined && Number.isNaN(Date.parse(k.expires)))
      return `client_keys[${i}].expires: "${k.expires}" is not a date; write an ISO 8601 date or time such as 2026-12-31 or 2026-12-31T18:00:00Z`
    names.add(k.name)
    keys.add(k.key)
  }
  return undefined
}

/** Settings that only some provider types take, on another type; and what a type cannot do without. */
function providerMismatch(p: Config['providers'][number]): string | undefined {
  if (p.type === 'azure' && !p.base_url)
    return 'base_url: a provider of type azure needs its resource endpoint, e.g. https://{resource}.openai.azure.com (or …/openai/v1)'
  if (p.type !== 'azure')
    for (const k of ['api_version', 'deployments', 'auth'] as const)
      if (p[k] !== undefined) return `${k}: only a provider of type azure takes ${k} (this one is ${p.type})`
  if (p.type !== 'vertex')
    for (const k of ['project', 'location', 'credentials_file', 'credentials', 'accounts'] as const)
      if (p[k] !== undefined) return `${k}: only a provider of type vertex takes ${k} (this one is ${p.type})`
  if (p.type === 'vertex' && (p.api_keys !== undefined || p.api_key !== undefined))
    return 'api_keys: a vertex provider authenticates with a service account: set credentials_file (or credentials, or accounts:)'
  if (p.type !== 'bedrock')
    for (const k of ['region', 'profile'] as const) if (p[k] !== undefined) return `${k}: only a provider of type bedrock takes ${k} (this one is ${p.type})`
  if (p.responses !== undefined && wireOf(p.type) !== 'openai')
    return `responses: only openai and azure providers take responses (this one is ${p.type}: Responses calls to it are always translated)`
  return undefined
}

/** The address to bind: `host` overrides; LAN access binds all interfaces, else loopback. */
export const bindHost = (c: Config) => c.host ?? (c.allow_lan_access ? '0.0.0.0' : '127.0.0.1')

/** auth_mode `auto` = all_except_health when LAN access is on or client_keys are configured, else off. */
export const effectiveAuthMode = (c: Config) =>
  c.auth_mode === 'auto' ? (c.allow_lan_access || c.client_keys.length ? 'all_except_health' : 'off') : c.auth_mode

export const dataDir = (c: Config, env: Record<string, string | undefined> = process.env) => c.data_dir ?? env.AGPROXY_DATA_DIR ?? join(homedir(), '.agproxy')

/** Where the key generated for LAN access (no api_keys configured) is kept. */
export const lanKeyFile = (c: Config) => join(dataDir(c), 'api_key')

/** Whether clients use the generated LAN key: LAN access on, auth on, no api_keys configured. */
export const usesLanKeyFile = (c: Config) => c.allow_lan_access && effectiveAuthMode(c) !== 'off' && !c.api_keys.length
