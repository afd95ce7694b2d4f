/**
 * Configuration sources, highest first: flags, env, config file, defaults.
 * The merged result is validated once against ConfigSchema; a bad value is a ConfigError that names
 * the file, the field path and what was expected. It never prints a value that may be a secret (showConfigValue).
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { compileValidator, kindOf, showJson } from '../schema/validate'
import { displayUrl } from './display-url'
import { ConfigSchema, DEFAULTS, type Config } from './schema'

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
 *  key); a base_url without its query or userinfo (either may carry a key); anything else as JSON. */
function showConfigValue(value: unknown, path: string): string {
  const names = path.split(/[.[\]]+/).filter(n => n && !/^\d+$/.test(n))
  if (value !== null && typeof value === 'object') return kindOf(value)
  if (names.some(n => SECRET_SETTING.test(n))) return kindOf(value)
  if (names.at(-1) === 'base_url' && typeof value === 'string') return showJson(displayUrl(value), path)
  return showJson(value, path)
}

const check = compileValidator(ConfigSchema, showConfigValue)

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

export function parseConfigText(text: string, file: string): Record<string, unknown> {
  let data: unknown
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : Bun.YAML.parse(text)
  } catch (e) {
    throw new ConfigError(`${file}: cannot parse: ${(e as Error).message}`)
  }
  if (data == null) return {}
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`${file}: expected a mapping of settings at the top level`)
  return data as Record<string, unknown>
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
  const fromFile = file ? parseConfigText(readFileSync(file, 'utf8'), file) : {}
  const label = file ?? 'config'
  return { config: buildConfig(fromFile, flags, env, label), file }
}

/** Merge layers and validate. `label` names the source in error messages. */
export function buildConfig(fromFile: Record<string, unknown>, flags: Flags = {}, env: Record<string, string | undefined> = {}, label = 'config'): Config {
  const merged: Record<string, unknown> = { ...structuredClone(DEFAULTS), ...fromFile }
  // nested defaults survive a partial block in the file
  for (const k of ['retry', 'timeouts', 'limits', 'log_retention'] as const)
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
  })
  return config
}

/** The address to bind: `host` overrides; LAN access binds all interfaces, else loopback. */
export const bindHost = (c: Config) => c.host ?? (c.allow_lan_access ? '0.0.0.0' : '127.0.0.1')

/** auth_mode `auto` = all_except_health when LAN access is on, else off. */
export const effectiveAuthMode = (c: Config) => (c.auth_mode === 'auto' ? (c.allow_lan_access ? 'all_except_health' : 'off') : c.auth_mode)

export const dataDir = (c: Config, env: Record<string, string | undefined> = process.env) => c.data_dir ?? env.AGPROXY_DATA_DIR ?? join(homedir(), '.agproxy')
