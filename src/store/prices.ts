/**
 * What a request cost, in USD: `prices:` from the configuration first (model name or glob), then the price table
 * bundled with @pydantic/genai-prices (never fetched at runtime). Unknown = null, never 0.
 */
import { calcPrice } from '@pydantic/genai-prices'
import type { Price } from '../config/schema'
import type { IRUsage } from '../ir/types'

/** Where a provider answers, so the table can tell OpenAI from OpenRouter behind the same dialect. */
export type ProviderUrl = (provider: string) => string | undefined

export type Pricer = (model: string | undefined, usage: IRUsage | undefined, provider?: string) => number | null

const globToRegExp = (glob: string) =>
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

/** The bundled table's price: the provider matched by its base URL, else by the model's name; null when unknown. */
function tablePrice(model: string, u: IRUsage, url: string | undefined): number | null {
  const usage = {
    input_tokens: u.inputTokens,
    output_tokens: u.outputTokens,
    cache_read_tokens: Math.min(u.cachedInputTokens ?? 0, u.inputTokens),
    cache_write_tokens: Math.min(u.cacheCreationInputTokens ?? 0, u.inputTokens - Math.min(u.cachedInputTokens ?? 0, u.inputTokens)),
  }
  try {
    const byUrl = url ? calcPrice(usage, model, { providerApiUrl: url }) : null
    return (byUrl ?? calcPrice(usage, model))?.total_price ?? null
  } catch {
    return null
  }
}

/** A pricer for these configured prices; `urlOf` names a provider's base URL. */
export function createPricer(prices: Record<string, Price>, urlOf: ProviderUrl = () => undefined): Pricer {
  const globs = Object.entries(prices)
    .filter(([k]) => /[*?]/.test(k))
    .map(([k, p]) => [globToRegExp(k), p] as [RegExp, Price])
  return (model, usage, provider) => {
    if (!model || !usage) return null
    const name = model.replace(/^models\//, '')
    const own = configuredPrice(prices, globs, name)
    if (own) return costAt(own, usage)
    return tablePrice(name, usage, provider ? urlOf(provider) : undefined)
  }
}
