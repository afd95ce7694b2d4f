/**
 * How a failed attempt reads to the client: a non-retryable upstream failure, or every candidate exhausted.
 * Messages arrive already scrubbed (keys masked).
 */
import type { IRError } from '../ir/types'
import { err } from '../ir/errors'
import type { Provider } from '../providers/registry'
import { formatMs } from '../providers/pool'
import { displayUrl } from '../config/display-url'
import { azureContentFilter } from '../providers/azure'
import type { Failure } from './types'

/** An upstream's message in an answer or log line is cut to this many characters (after masking). */
export const MAX_MESSAGE = 500

/** A 404/405 that says the upstream has no such path (an older server without /v1/responses, a wrong base_url),
 *  not that it lacks the model or deployment: vLLM `{"detail":"Not Found"}`, llama.cpp `File Not Found`, Ollama
 *  `404 page not found`, OpenAI `Invalid URL (POST /v1/…)`, Azure `Resource not found`. */
export function unknownPath(f: Pick<Failure, 'status' | 'body' | 'message'>): boolean {
  if (f.status === 405) return true
  if (f.status !== 404) return false
  const code = (f.body as { error?: { code?: unknown } } | undefined)?.error?.code
  return !/model|deployment/i.test(`${typeof code === 'string' ? code : ''} ${f.message}`)
}

/** The full upstream path of a failure, as a message names it (base URL path + the call's path). */
function fullPath(f: Failure, provider: Provider): string {
  let base = ''
  try {
    base = new URL(provider.baseUrl).pathname.replace(/\/+$/, '')
  } catch {}
  return `${base}${f.path ?? ''}`
}

/** A non-retryable upstream failure, as the client should see it (message already scrubbed). */
export function clientError(f: Failure, provider: Provider): IRError {
  const msg = f.message
  const s = f.status
  if (s === 401 || s === 403) return err('upstream', `upstream rejected the provider key for ${provider.name} (${s}: ${msg})`)
  if (s === 429) return err('rate_limit', `provider ${provider.name} is rate limited: ${msg}`)
  if (s === 404 && unknownPath(f)) {
    const where = `POST ${fullPath(f, provider)}`
    return err('not_found', `provider ${provider.name} has no ${where} (404: ${msg}); check its base_url (${displayUrl(provider.baseUrl)})`)
  }
  if (s === 404) return err('not_found', `provider ${provider.name}: ${msg}`, { code: 'model_not_found', param: 'model' })
  const filtered = s === 400 ? azureContentFilter(f.body) : undefined
  if (filtered) return err('invalid_request', `provider ${provider.name}: ${filtered}`, { status: s, code: 'content_filter' })
  if (s === 413) return err('request_too_large', `provider ${provider.name}: ${msg}`)
  if (s && s >= 400 && s < 500) return err('invalid_request', `provider ${provider.name} rejected the request: ${msg}`, { status: s })
  return err('upstream', `provider ${provider.name} failed: ${msg}`, { status: s && s >= 500 ? s : 502 })
}

/** What the retry loop knows when every candidate is exhausted. */
export interface Exhausted {
  model: string
  tried: string[]
  used: Array<{ provider: Provider; model: string }>
  attempts: number
  max: number
  last?: Failure
  now: number
}

/**
 * Everything was tried. 429 when every key of every candidate is held by a rate limit / quota (retry-after =
 * the soonest); 502 "upstream rejected the provider key" when every key is disabled (a permanent refusal:
 * retrying cannot help); else 503 (with retry-after when all keys are merely cooling). The message names
 * each candidate's key states and the attempts made.
 */
export function exhausted(x: Exhausted): IRError {
  const { model, tried, used, attempts, max, last } = x
  const forModel = (m: string) => (used.length > 1 || m !== model ? ` for ${m}` : '')
  const state = used.map(u => `${u.provider.pool.describe(u.model)}${forModel(u.model)}`).join('; ') || 'no provider'
  const attemptsText = tried.length ? ` Tried (${attempts} of at most ${max} attempt${max === 1 ? '' : 's'}): ${tried.join(' | ')}.` : ''
  const soonest = used.map(u => u.provider.pool.soonestAvailable(u.model)).filter((s): s is number => s !== undefined)
  const allCooling = used.length > 0 && soonest.length === used.length
  const retryAfter = allCooling ? Math.max(1, Math.ceil((Math.min(...soonest) - x.now) / 1000)) : undefined
  if (retryAfter !== undefined && used.every(u => u.provider.pool.rateLimited(u.model)))
    return err('rate_limit', `All keys for ${model} are rate limited: ${state}. Retry in ${formatMs(retryAfter * 1000)}.${attemptsText}`, { retryAfter })
  if (used.length > 0 && used.every(u => u.provider.pool.nextAvailable(u.model) === undefined)) {
    const names = [...new Set(used.map(u => u.provider.name))].join(', ')
    const why = last && (last.status === 401 || last.status === 403 || last.status === 400) ? ` (${last.status}: ${last.message})` : ''
    return err('upstream', `upstream rejected the provider key for ${names}${why}: ${state}.${attemptsText}`)
  }
  const retryText = retryAfter ? ` Retry in ${formatMs(retryAfter * 1000)}.` : ''
  return err('unavailable', `No provider could answer for ${model}: ${state}.${retryText}${attemptsText}`, { retryAfter })
}
