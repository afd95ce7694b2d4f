/**
 * What a request cost, in USD: `prices:` from the configuration first (model name or glob), then the price table
 * bundled with @pydantic/genai-prices (never fetched at runtime). Unknown = null, never 0.
 */
import type { calcPrice as CalcPrice } from '@pydantic/genai-prices'
import type { Price } from '../config/schema'
import type { IRUsage } from '../ir/types'

/** Where a provider answers, so the table can tell OpenAI from OpenRouter behind the same dialect. */
export type ProviderUrl = (provider: string) => string | undefined

export type Pricer = (model: string | undefined, usage: IRUsage | undefined, provider?: string) => number | null

/** A model glob (`*` any run, `?` one character) as a case-insensitive RegExp of the whole name. */
export const globToRegExp = (glob: string) =>
  new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  )

/** The configured price of `model`: an exact name first, then the first glob that matches. */
function configuredPrice(prices: Record<string, Price>, globs: Array<[RegExp, Price]>, model: string): Price | undefined {
  return prices[model] ?? globs.find(([re]) => re.test(model))?.[1]
}

/** USD of `usage` at a configured price (cached input and reasoning default to the input and output prices). */
export function costAt(p: Price, u: IRUsage): number {
  const cached = Math.min(u.cachedInputTokens ?? 0, u.inputTokens)
  const reasoning = Math.min(u.reasoningTokens ?? 0, u.outputTokens)
  const usd =
    (u.inputTokens - cached) * p.input + cached * (p.cached_input ?? p.input) + (u.outputTokens - reasoning) * p.output + reasoning * (p.reasoning ?? p.output)
  return usd / 1e6
}

/** genai-prices' usage units for an IRUsage (cache reads and writes are parts of the input) */
function tableUsage(u: IRUsage) {
  const read = Math.min(u.cachedInputTokens ?? 0, u.inputTokens)
  return {
    input_tokens: u.inputTokens,
    output_tokens: u.outputTokens,
    cache_read_tokens: read,
    cache_write_tokens: Math.min(u.cacheCreationInputTokens ?? 0, u.inputTokens - read),
  }
}

/** A model's price per million tokens, when it is that simple (no tiers), else the provider to ask again. */
type TableEntry = { linear: Record<string, number> } | { providerId: string } | null

const LINEAR_UNITS = new Set(['input_mtok', 'output_mtok', 'cache_read_mtok', 'cache_write_mtok'])
/** table lookups are remembered this long (a price may change on a date) and for this many models */
const TABLE_TTL_MS = 3_600_000
const TABLE_ENTRIES = 2000

/** genai-prices' calcPrice, its table loaded at the first price asked (~20 ms: not on the start's path). */
let calcPriceFn: typeof CalcPrice | undefined
const calcPrice: typeof CalcPrice = (...args) => {
  calcPriceFn ??= (require('@pydantic/genai-prices') as { calcPrice: typeof CalcPrice }).calcPrice
  return calcPriceFn(...args)
}

/** The bundled table, remembered per model and base URL: looking a model up costs ~50 µs, a remembered one ~0.2. */
function tablePricer() {
  const memo = new Map<string, { entry: TableEntry; until: number }>()
  const lookup = (model: string, url: string | undefined, u: IRUsage): { entry: TableEntry; price: number | null } => {
    const usage = tableUsage(u)
    const r = (url ? calcPrice(usage, model, { providerApiUrl: url }) : null) ?? calcPrice(usage, model)
    if (!r) return { entry: null, price: null }
    // the units agproxy reports (others, e.g. web searches, are never in its usage and cost nothing here)
    const units = Object.entries(r.model_price).filter(([k, v]) => LINEAR_UNITS.has(k) && v !== undefined)
    const linear = units.every(([, v]) => typeof v === 'number')
    return { entry: linear ? { linear: Object.fromEntries(units) as Record<string, number> } : { providerId: r.provider.id }, price: r.total_price }
  }
  return (model: string, u: IRUsage, url: string | undefined, id = `${url ?? ''} ${model}`): number | null => {
    const now = Date.now()
    const hit = memo.get(id)
    try {
      if (!hit || hit.until < now) {
        const { entry, price } = lookup(model, url, u)
        if (memo.size >= TABLE_ENTRIES) memo.clear()
        memo.set(id, { entry, until: now + TABLE_TTL_MS })
        return price
      }
      if (!hit.entry) return null
      if ('providerId' in hit.entry) return calcPrice(tableUsage(u), model, { providerId: hit.entry.providerId })?.total_price ?? null
      return linearCost(hit.entry.linear, tableUsage(u))
    } catch {
      return null
    }
  }
}

/** What genai-prices computes for per-million prices: uncached input, cache reads and writes, output. */
function linearCost(p: Record<string, number>, u: ReturnType<typeof tableUsage>): number {
  const input = p.input_mtok ?? 0
  const uncached = u.input_tokens - u.cache_read_tokens - u.cache_write_tokens
  return (
    (uncached * input +
      u.cache_read_tokens * (p.cache_read_mtok ?? input) +
      u.cache_write_tokens * (p.cache_write_mtok ?? input) +
      u.output_tokens * (p.output_mtok ?? 0)) /
    1e6
  )
}

/** How one provider's model is priced: at its configured price, or by the table (as `name` at `url`; `id` its memo key). */
type Pricing = { own: Price } | { own?: undefined; name: string; url: string | undefined; id: string }

/** A pricer for these configured prices; `urlOf` names a provider's base URL. Each provider × model is resolved once (its
 *  configured price or glob, its name for the table, its base URL): every request of the request log is priced. */
export function createPricer(prices: Record<string, Price>, urlOf: ProviderUrl = () => undefined): Pricer {
  const table = tablePricer()
  const globs = Object.entries(prices)
    .filter(([k]) => /[*?]/.test(k))
    .map(([k, p]) => [globToRegExp(k), p] as [RegExp, Price])
  const resolved = new Map<string, Map<string, Pricing>>()
  const resolve = (model: string, provider: string | undefined): Pricing => {
    const name = model.replace(/^models\//, '')
    const own = configuredPrice(prices, globs, name)
    if (own) return { own }
    const url = provider ? urlOf(provider) : undefined
    return { name, url, id: `${url ?? ''} ${name}` }
  }
  return (model, usage, provider) => {
    if (!model || !usage) return null
    let byModel = resolved.get(provider ?? '')
    if (!byModel) resolved.set(provider ?? '', (byModel = new Map()))
    let p = byModel.get(model)
    if (!p) {
      // model names come from clients: the memo stays bounded
      if (byModel.size >= TABLE_ENTRIES) byModel.clear()
      byModel.set(model, (p = resolve(model, provider)))
    }
    return p.own ? costAt(p.own, usage) : table(p.name, usage, p.url, p.id)
  }
}
