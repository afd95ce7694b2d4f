/**
 * Reading an upstream failure: what went wrong, and how long the upstream asked us to wait.
 * Pure functions, no state, no HTTP. KeyPool (pool.ts) turns the verdict into key state.
 *
 * Hints understood (first match wins):
 *   retry-after-ms                 milliseconds (OpenAI SDK convention)
 *   retry-after                    delta-seconds or HTTP-date (RFC 9110 §10.2.3)
 *   google.rpc.RetryInfo           body.error.details[].retryDelay, a protobuf Duration JSON: "41s", "1.5s"
 *   anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset   RFC 3339 instants;
 *                                  the windows whose -remaining is 0 count, else the latest of all
 *   x-ratelimit-reset-{requests,tokens}   Go-style durations "1s", "6m0s", "20ms" (bare number = seconds);
 *                                  same remaining-0 rule
 *   "Please retry in 25.4s."       Gemini's message text, last resort
 */
import type { WireJson } from '../ir/types'

export type FailureKind =
  | 'auth' // the key is refused: disable it
  | 'quota' // an allowance is spent (per day / billing): long cooldown
  | 'rate' // short-window rate limit: cooldown from hint or ladder
  | 'server' // upstream trouble / network: short cooldown, try another key
  | 'request' // the request itself is bad: no cooldown, don't retry

export interface Verdict {
  kind: FailureKind
  /** short tag for summaries: '429', '403', 'quota', 'network' */
  label: string
  /** upstream's message, one line, whole (it may contain the key: callers redact it, then cut it) */
  message: string
  /** wait the upstream asked for, ms from now */
  hintMs?: number
  /** where hintMs came from, e.g. 'retry-after', 'RetryInfo' */
  hintSource?: string
  /** the limit is per model: the request's model when known, else the model the upstream names; unset when the whole key is limited */
  model?: string
}

export interface FailureInput {
  status?: number
  headers?: Headers | Record<string, string>
  body?: unknown
  model?: string
}

const DAY_WORDS = /per ?day|perday|daily/i

// ───────────── durations and instants ─────────────

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 }

/** "6m0s", "1h2m3.5s", "20ms", "41s", "1.5s", or a bare number of seconds → ms. */
export function parseDuration(text: string | undefined | null): number | undefined {
  if (text == null) return undefined
  const s = String(text).trim()
  if (!s) return undefined
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy
  let total = 0
  let end = 0
  for (let m = re.exec(s); m; end = re.lastIndex, m = re.exec(s)) total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN)
  return end === s.length && end > 0 ? total : undefined
}

/** retry-after: delta-seconds or an HTTP-date → ms from now (never negative). */
export function parseRetryAfter(value: string | undefined | null, now: number): number | undefined {
  if (value == null) return undefined
  const s = value.trim()
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000
  const t = Date.parse(s)
  return Number.isNaN(t) ? undefined : Math.max(0, t - now)
}

/** A reset instant: RFC 3339, or epoch seconds → ms from now (never negative). */
export function parseResetInstant(value: string | undefined | null, now: number): number | undefined {
  if (value == null) return undefined
  const s = value.trim()
  if (/^\d{9,}(\.\d+)?$/.test(s)) return Math.max(0, Number(s) * 1000 - now)
  if (!/^\d{4}-\d\d-\d\d/.test(s)) return undefined
  const t = Date.parse(s)
  return Number.isNaN(t) ? undefined : Math.max(0, t - now)
}

// ───────────── error bodies, any dialect ─────────────

interface Envelope {
  message: string
  type?: string
  code?: string
  status?: string
  details: WireJson[]
}

/** OpenAI {error:{message,type,code}}, Anthropic {type:'error',error:{type,message}},
 *  Gemini {error:{code,message,status,details}} (also wrapped in an array, or as JSON text). */
export function errorEnvelope(body: unknown): Envelope {
  let b = body as WireJson | undefined
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body)
    } catch {
      return { message: oneLine(body), details: [] }
    }
  }
  if (b instanceof Error) return { message: oneLine(b.message), details: [] }
  if (Array.isArray(b)) b = b[0]
  const e = b && typeof b === 'object' ? (b.error && typeof b.error === 'object' ? b.error : b) : {}
  // some relays put the upstream's JSON error inside message
  if (typeof e.message === 'string' && e.message.trimStart().startsWith('{')) {
    const inner = errorEnvelope(e.message)
    if (inner.details.length || inner.status) return inner
  }
  return {
    message: oneLine(typeof e.message === 'string' ? e.message : typeof b?.error === 'string' ? b.error : ''),
    type: str(e.type),
    code: str(e.code),
    status: str(e.status),
    details: Array.isArray(e.details) ? e.details : [],
  }
}

const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined)
/** whitespace collapsed, not cut: a cut could split a key in two and leave half of it unmasked (the body is capped) */
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim()
const ofType = (details: WireJson[], t: string) => details.filter(d => typeof d?.['@type'] === 'string' && d['@type'].endsWith(t))

// ───────────── hints ─────────────

function header(h: FailureInput['headers'], name: string): string | undefined {
  if (!h) return undefined
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined
  for (const k in h) if (k.toLowerCase() === name) return (h as Record<string, string>)[k]
  return undefined
}

/** Of several rate-limit windows, the ones exhausted (remaining 0) decide; if none says so, the latest reset. */
function windowsReset(h: FailureInput['headers'], resets: Array<[reset: string, remaining: string]>, parse: (v: string | undefined) => number | undefined) {
  const all: number[] = []
  const spent: number[] = []
  for (const [r, rem] of resets) {
    const ms = parse(header(h, r))
    if (ms === undefined) continue
    all.push(ms)
    if (header(h, rem)?.trim() === '0') spent.push(ms)
  }
  const pool = spent.length ? spent : all
  return pool.length ? Math.max(...pool) : undefined
}

const ANTHROPIC_WINDOWS = ['requests', 'tokens', 'input-tokens', 'output-tokens'].map(
  w => [`anthropic-ratelimit-${w}-reset`, `anthropic-ratelimit-${w}-remaining`] as [string, string],
)
const OPENAI_WINDOWS = ['requests', 'tokens'].map(w => [`x-ratelimit-reset-${w}`, `x-ratelimit-remaining-${w}`] as [string, string])

/** How long the upstream asked us to wait, from headers or body. */
export function retryHint(headers: FailureInput['headers'], body: unknown, now: number): { ms: number; source: string } | undefined {
  const tries: Array<[string, () => number | undefined]> = [
    [
      'retry-after-ms',
      () => {
        const v = Number(header(headers, 'retry-after-ms'))
        return Number.isFinite(v) && v >= 0 ? v : undefined
      },
    ],
    ['retry-after', () => parseRetryAfter(header(headers, 'retry-after'), now)],
    [
      'RetryInfo',
      () => {
        for (const d of ofType(errorEnvelope(body).details, 'google.rpc.RetryInfo')) {
          const ms = parseDuration(d.retryDelay)
          if (ms !== undefined) return ms
        }
      },
    ],
    ['anthropic-ratelimit reset', () => windowsReset(headers, ANTHROPIC_WINDOWS, v => parseResetInstant(v, now))],
    ['x-ratelimit reset', () => windowsReset(headers, OPENAI_WINDOWS, parseDuration)],
    ['message', () => parseDuration(/retry in (\d+(?:\.\d+)?(?:ms|s|m|h))/i.exec(errorEnvelope(body).message)?.[1])],
  ]
  for (const [source, get] of tries) {
    const ms = get()
    if (ms !== undefined && Number.isFinite(ms)) return { ms, source }
  }
  return undefined
}

// ───────────── classification ─────────────

const stripModels = (m: string) => m.replace(/^models\//, '')

/** A per-day / billing allowance is spent (as opposed to a per-minute window). */
function quotaSpent(env: Envelope, violations: WireJson[]): boolean {
  if (env.type === 'insufficient_quota' || env.code === 'insufficient_quota') return true
  for (const v of violations) {
    if (DAY_WORDS.test(String(v?.quotaId ?? '')) || DAY_WORDS.test(String(v?.quotaMetric ?? ''))) return true
    if (String(v?.quotaValue ?? '') === '0') return true // "limit: 0": this tier has no access at all
  }
  for (const d of ofType(env.details, 'google.rpc.ErrorInfo')) {
    if (DAY_WORDS.test(String(d?.metadata?.quota_limit ?? ''))) return true
  }
  return /quota/i.test(env.message) && DAY_WORDS.test(env.message)
}

/**
 * The model a rate limit or a spent quota applies to; undefined when it applies to the whole key. The providers
 * document their limits per model (OpenAI: per model, and the x-ratelimit-* headers describe the request's model;
 * Anthropic: per model class; Gemini: per quota, whose QuotaFailure quotaDimensions name the model), so a limit is
 * the request's model's unless the upstream says the key's account or project is limited: a spent billing quota
 * (OpenAI insufficient_quota, 402), or a Gemini QuotaFailure with a violation that is not per model. Without the
 * request's model: the model a Gemini violation names, if any.
 */
function limitedModel(status: number, env: Envelope, violations: WireJson[], model?: string): string | undefined {
  if (status === 402 || env.type === 'insufficient_quota' || env.code === 'insufficient_quota') return undefined
  const named = (v: WireJson) => (typeof v?.quotaDimensions?.model === 'string' && v.quotaDimensions.model) || undefined
  if (violations.some(v => !named(v) && !/PerModel/i.test(String(v?.quotaId ?? '')))) return undefined
  if (model) return model
  const dim = violations.map(named).find(Boolean)
  return dim && stripModels(dim)
}

function authFailure(status: number | undefined, env: Envelope): boolean {
  if (status === 401 || status === 403) return true
  // Gemini answers a bad or expired key with 400 INVALID_ARGUMENT + ErrorInfo API_KEY_INVALID
  return ofType(env.details, 'google.rpc.ErrorInfo').some(d => d?.reason === 'API_KEY_INVALID') || /\bAPI key (not valid|expired)\b/i.test(env.message)
}

export function classifyFailure(f: FailureInput, now: number): Verdict {
  const env = errorEnvelope(f.body)
  const { status } = f
  const label = status === undefined ? 'network' : String(status)
  if (status === undefined) return { kind: 'server', label, message: env.message }
  if (authFailure(status, env)) return { kind: 'auth', label, message: env.message }

  const violations = ofType(env.details, 'google.rpc.QuotaFailure').flatMap(d => (Array.isArray(d?.violations) ? d.violations : []))
  const isQuota = quotaSpent(env, violations)
  if (status === 429 || status === 402 || isQuota) {
    const hint = retryHint(f.headers, f.body, now)
    return {
      kind: isQuota || status === 402 ? 'quota' : 'rate',
      label: isQuota || status === 402 ? 'quota' : label,
      message: env.message,
      hintMs: hint?.ms,
      hintSource: hint?.source,
      model: limitedModel(status, env, violations, f.model),
    }
  }
  if (status === 408 || status >= 500) return { kind: 'server', label, message: env.message }
  return { kind: 'request', label, message: env.message }
}
