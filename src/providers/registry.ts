/**
 * Providers as configured (or, with no `providers:`, from the standard API-key variables), each with
 * its key pool and a repaired base URL. Built once at start.
 */
import type { Config, ProviderConfig } from '../config/schema'
import type { Logger } from '../log'
import { KeyPool } from './pool'

export type ProviderType = ProviderConfig['type']

export interface Provider {
  name: string
  type: ProviderType
  /** without trailing slash; openai: includes its version (…/v1), anthropic and gemini: the host root */
  baseUrl: string
  headers: Record<string, string>
  pool: KeyPool
  models: string[]
}

export const DEFAULT_BASE: Record<ProviderType, string> = {
  gemini: 'https://generativelanguage.googleapis.com',
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
}

/** Reduce a pasted endpoint or trailing slash to the base agproxy appends its paths to. */
export function repairBaseUrl(type: ProviderType, raw: string): { url: string; changed: boolean } {
  let url = raw.trim().replace(/\/+$/, '')
  const before = url
  const strip = (re: RegExp) => { url = url.replace(re, '') }
  if (type === 'openai') strip(/\/(chat\/completions|completions|responses|embeddings|models)$/)
  if (type === 'anthropic') { strip(/\/messages(\/count_tokens)?$/); strip(/\/v1$/) }
  if (type === 'gemini') { strip(/\/models\/[^/]+:[A-Za-z]+$/); strip(/\/models$/); strip(/\/(v1beta|v1|v1alpha)$/) }
  url = url.replace(/\/+$/, '')
  return { url, changed: url !== before || raw.trim() !== before }
}

/** Zero-config: with no providers configured, each standard key variable creates its default provider
 *  (never the *_BASE_URL variables, which users point at agproxy itself). */
export function providersFromEnv(env: Record<string, string | undefined>): { providers: ProviderConfig[]; models: Record<string, string> } {
  const providers: ProviderConfig[] = []
  const models: Record<string, string> = {}
  const keys = (v?: string) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : [])
  const gemini = keys(env.GEMINI_API_KEY || env.GOOGLE_API_KEY)
  const openai = keys(env.OPENAI_API_KEY)
  const anthropic = keys(env.ANTHROPIC_API_KEY)
  if (gemini.length) { providers.push({ name: 'gemini', type: 'gemini', api_keys: gemini }); models['gemini-*'] = 'gemini/*' }
  if (openai.length) {
    providers.push({ name: 'openai', type: 'openai', api_keys: openai })
    for (const g of ['gpt-*', 'o1*', 'o3*', 'o4*', 'chatgpt-*', 'text-embedding-*', 'codex-*']) models[g] = 'openai/*'
  }
  if (anthropic.length) { providers.push({ name: 'anthropic', type: 'anthropic', api_keys: anthropic }); models['claude-*'] = 'anthropic/*' }
  return { providers, models }
}

export function buildProviders(configs: ProviderConfig[], log: Logger): Map<string, Provider> {
  const out = new Map<string, Provider>()
  for (const p of configs) {
    const raw = p.base_url ?? DEFAULT_BASE[p.type]
    const { url, changed } = repairBaseUrl(p.type, raw)
    if (changed && p.base_url) log.warn(`provider ${p.name}: base_url "${raw}" reduced to "${url}" (agproxy appends the endpoint path itself)`)
    const keys = [...(p.api_keys ?? []), ...(p.api_key ? [p.api_key] : [])]
    out.set(p.name, {
      name: p.name,
      type: p.type,
      baseUrl: url,
      headers: p.headers ?? {},
      // a keyless provider (a local Ollama / vLLM) still gets one pool slot, so retries and cooldowns work the same
      pool: new KeyPool(p.name, keys.length ? keys : [{ key: '', name: 'no-key' }], { strategy: p.strategy }),
      models: p.models ?? [],
    })
  }
  return out
}
