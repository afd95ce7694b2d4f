/**
 * Providers as configured (or, with no `providers:`, from the standard API-key variables), each with
 * its key pool and a repaired base URL. Built once at start.
 */
import { wireOf, type ProviderConfig, type WireType } from '../config/schema'
import type { Logger } from '../log'
import { KeyPool, type PoolOptions } from './pool'
import { displayUrl } from '../config/display-url'
import { type AzureSettings, azureSettings, azurePath, repairAzureBase } from './azure'
import { type VertexSettings, vertexHost, vertexSettings, vertexWireOf } from './vertex'
import { type BedrockSettings, bedrockBase, bedrockEnvCredentials, bedrockKeyName, bedrockRegion } from './bedrock'

export { displayUrl }

export type ProviderType = ProviderConfig['type']
export type ResponsesMode = NonNullable<ProviderConfig['responses']>
export { wireOf, type WireType }

export interface Provider {
  name: string
  type: ProviderType
  /** without trailing slash; openai: includes its version (…/v1), anthropic and gemini: the host root */
  baseUrl: string
  headers: Record<string, string>
  pool: KeyPool
  models: string[]
  /** openai / azure: how /v1/responses is served (absent: auto) */
  responses?: ResponsesMode
  /** type azure only */
  azure?: AzureSettings
  /** type vertex only */
  vertex?: VertexSettings
  /** type bedrock only */
  bedrock?: BedrockSettings
  /** how its keys read in the banner: "2 keys", "1 key from OPENAI_API_KEY", "no key" */
  keyNote?: string
}

export const DEFAULT_BASE: Record<WireType, string> = {
  gemini: 'https://generativelanguage.googleapis.com',
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  // the region's endpoint, unless base_url says otherwise (see buildProviders)
  bedrock: bedrockBase('us-east-1'),
}

/** Reduce a pasted endpoint, query string or trailing slash to the base agproxy appends its paths to.
 *  `https://api.openai.com/v1/chat/completions` → `https://api.openai.com/v1`,
 *  `https://api.anthropic.com/v1/messages` → `https://api.anthropic.com`,
 *  `https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent?key=…` → the host root. */
export function repairBaseUrl(type: ProviderType, raw: string): { url: string; changed: boolean } {
  const trimmed = raw.trim()
  // a query or fragment cannot be part of a base agproxy appends paths to (and a pasted ?key=… must not travel on)
  let url = trimmed.replace(/[?#].*$/s, '').replace(/\/+$/, '')
  const strip = (re: RegExp) => {
    url = url.replace(re, '').replace(/\/+$/, '')
  }
  if (type === 'azure') url = repairAzureBase(url)
  if (type === 'vertex') strip(/\/v1(beta1)?(\/projects\/.*)?$/i)
  if (type === 'openai') strip(/\/(chat\/completions|completions|responses|embeddings|models)$/i)
  if (type === 'anthropic') {
    strip(/\/(messages(\/count_tokens)?|models)$/i)
    strip(/\/v1$/i)
  }
  if (type === 'gemini') {
    strip(/\/models(\/[^/:]+(:[A-Za-z]+)?)?$/i)
    strip(/\/(v1beta|v1|v1alpha)$/i)
  }
  return { url, changed: url !== trimmed }
}

/** A base_url as it may be shown in a log line: no query (it may carry a key), no userinfo. */

/** Models a zero-config provider advertises in GET /v1/models (any other model of the family still routes
 *  through the globs below: this list only gives model pickers something to show). */
export const ZERO_CONFIG_MODELS: Record<WireType, string[]> = {
  gemini: ['gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.5-flash-lite'],
  openai: ['gpt-4.1', 'gpt-4.1-mini', 'gpt-4o', 'gpt-4o-mini', 'o3', 'o4-mini'],
  anthropic: ['claude-opus-4-1', 'claude-sonnet-4-5', 'claude-haiku-4-5'],
  bedrock: [],
}

/** The standard key variables of each provider type, in the order they are read (GEMINI_API_KEY before GOOGLE_API_KEY). */
export const KEY_VARS: Record<ProviderType, string[]> = {
  gemini: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
  openai: ['OPENAI_API_KEY'],
  anthropic: ['ANTHROPIC_API_KEY'],
  // never read for azure (no official base URL: every azure provider names its own resource)
  azure: [],
  // vertex: service-account credentials (GOOGLE_APPLICATION_CREDENTIALS), never an API key
  vertex: [],
  // bedrock: AWS credentials, read by keysOf (variables and the shared credentials file) whatever the base URL
  bedrock: [],
}

/** The keys a type's standard variable holds (the first one set; comma-separated keys), and its name. */
export function envKeys(type: ProviderType, env: Record<string, string | undefined>): { from: string; keys: string[] } | undefined {
  for (const from of KEY_VARS[type]) {
    const keys = (env[from] ?? '')
      .split(',')
      .map(s => s.trim())
      .filter(Boolean)
    if (keys.length) return { from, keys }
  }
  return undefined
}

/** A provider config, and the variable its keys came from when they came from the environment. */
export type ProviderSetup = ProviderConfig & { key_from?: string }

/** Zero-config: with no providers configured, each standard key variable creates its default provider
 *  (never the *_BASE_URL variables, which users point at agproxy itself). A variable may hold several
 *  comma-separated keys. */
export function providersFromEnv(env: Record<string, string | undefined>): { providers: ProviderSetup[]; models: Record<string, string> } {
  const providers: ProviderSetup[] = []
  const models: Record<string, string> = {}
  const add = (type: WireType, globs: string[]) => {
    const found = envKeys(type, env)
    if (!found) return
    providers.push({ name: type, type, api_keys: found.keys, models: [...ZERO_CONFIG_MODELS[type]], key_from: found.from })
    for (const g of globs) models[g] = `${type}/*`
  }
  add('gemini', ['gemini-*', 'gemma-*'])
  add('openai', ['gpt-*', 'o1*', 'o3*', 'o4*', 'chatgpt-*', 'text-embedding-*', 'codex-*'])
  add('anthropic', ['claude-*'])
  return { providers, models }
}

/** The keys of a provider; an azure provider with `auth: entra` and none configured takes AZURE_OPENAI_AD_TOKEN. */
type ProviderKey = NonNullable<ProviderConfig['api_keys']>[number]

function keysOf(p: ProviderConfig, env: Record<string, string | undefined>) {
  const keys = [...(p.api_keys ?? []), ...(p.api_key ? [p.api_key] : [])]
  const token = env.AZURE_OPENAI_AD_TOKEN?.trim()
  if (!keys.length && p.type === 'azure' && p.auth === 'entra' && token) keys.push({ key: token, name: 'AZURE_OPENAI_AD_TOKEN' })
  if (p.type === 'bedrock') return keys.length ? keys.map(bedrockKeyName) : bedrockEnvCredentials(p, env)
  return keys
}

const nameOf = (k: ProviderKey | undefined) => (typeof k === 'object' ? k.name : undefined)

/** The path a plan's call goes to on `p`: as planned, except for azure (deployment paths, api-version). */
export const upstreamPath = (p: Provider, path: string, deployment: string): string => (p.azure ? azurePath(p.azure, path, deployment) : path)

/** What a plan is made for: the provider, with the wire a vertex model speaks (Claude: anthropic, else gemini). */
export const planTarget = (p: Provider, model: string): Pick<Provider, 'name' | 'type'> => (p.vertex ? { name: p.name, type: vertexWireOf(model) } : p)

/** Whether a provider talks to its type's official API (where the standard key variable is meant to go). */
export const onOfficialBase = (p: ProviderConfig) =>
  p.type !== 'azure' &&
  p.type !== 'vertex' &&
  p.type !== 'bedrock' &&
  (!p.base_url || repairBaseUrl(p.type, p.base_url).url.toLowerCase() === DEFAULT_BASE[wireOf(p.type)])

/** Configured providers without keys take their type's standard variable (OPENAI_API_KEY, …), but only on the official
 *  base URL: a local `type: openai` server must not be sent the user's OpenAI key. */
export function withEnvKeys(configs: ProviderConfig[], env: Record<string, string | undefined>): ProviderSetup[] {
  return configs.map(p => {
    if (p.api_keys?.length || p.api_key || !onOfficialBase(p)) return p
    const found = envKeys(p.type, env)
    return found ? { ...p, api_keys: found.keys, key_from: found.from } : p
  })
}

/** How a provider's keys read in the banner and `agproxy models`: "2 keys", "1 key from OPENAI_API_KEY", or "no key" (fine for a
 *  local server; on the official API, set api_keys or the type's key variable). */
export function keyNoteOf(p: ProviderSetup): string {
  const n = (p.api_keys?.length ?? 0) + (p.api_key ? 1 : 0)
  if (p.type === 'vertex') return `${p.accounts?.length ?? 1} account${(p.accounts?.length ?? 1) === 1 ? '' : 's'}`
  if (n) return `${n} key${n === 1 ? '' : 's'}${p.key_from ? ` from ${p.key_from}` : ''}`
  return onOfficialBase(p) ? `no key: set api_keys or ${KEY_VARS[p.type].join(' / ')}` : 'no key'
}

/** `pool`: settings every key pool shares (e.g. retry.max_cooldown as `maxCooldownMs`). */
export function buildProviders(
  configs: ProviderSetup[],
  log: Logger,
  pool: Pick<PoolOptions, 'maxCooldownMs'> = {},
  env: Record<string, string | undefined> = process.env,
): Map<string, Provider> {
  const out = new Map<string, Provider>()
  for (const p of configs) {
    // an azure provider has no default endpoint: the config check requires its base_url
    const region = p.type === 'bedrock' ? bedrockRegion(p, env) : ''
    const raw = p.base_url ?? (p.type === 'vertex' ? vertexHost(p.location ?? 'global') : region ? bedrockBase(region) : DEFAULT_BASE[wireOf(p.type)])
    const { url, changed } = repairBaseUrl(p.type, raw)
    if (changed && p.base_url) log.warn(`provider ${p.name}: base_url "${displayUrl(raw)}" reduced to "${url}" (agproxy appends the endpoint path itself)`)
    const vertex = p.type === 'vertex' ? vertexSettings(p, env) : undefined
    // vertex: one pool entry per account, named by its service account and project (the secrets stay in vertex.ts)
    const keys = vertex ? [...vertex.accounts.values()].map(a => ({ key: a.slot, name: a.id })) : keysOf(p, env)
    for (const a of vertex?.accounts.values() ?? []) if (a.problem) log.warn(`provider ${p.name}: ${a.problem}`)
    if (p.type === 'bedrock' && !keys.length)
      log.warn(
        `provider ${p.name}: no AWS credentials; set api_keys (ACCESS_KEY_ID:SECRET_ACCESS_KEY), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ~/.aws/credentials`,
      )
    if (p.type === 'azure' && p.auth === 'entra' && !keys.length)
      log.warn(`provider ${p.name}: auth: entra but no token; set AZURE_OPENAI_AD_TOKEN (or api_keys) to a Microsoft Entra ID access token`)
    out.set(p.name, {
      name: p.name,
      type: p.type,
      baseUrl: url,
      headers: p.headers ?? {},
      // a keyless provider (a local Ollama / vLLM) still gets one pool slot, so retries and cooldowns work the same
      pool: new KeyPool(p.name, keys.length ? keys : [{ key: '', name: 'no-key' }], { ...pool, strategy: p.strategy }),
      models: p.models ?? [],
      responses: p.responses ?? 'auto',
      ...(p.type === 'azure' && { azure: azureSettings(p, url) }),
      ...(vertex && { vertex }),
      ...(region && { bedrock: { region } }),
      // bedrock: credentials found in the environment or the shared credentials file are named where they came from
      keyNote: p.type === 'bedrock' && !p.api_keys?.length && !p.api_key && keys.length ? `credentials from ${nameOf(keys[0])}` : keyNoteOf(p),
    })
  }
  return out
}
