/**
 * Google error bodies, both directions: the one body agproxy sends a Gemini client,
 * `{error: {code, message, status, details?}}` (HTTP bodies and in-stream chunks alike), and an upstream's
 * error body read back as an IR error. Google has no 529: an overloaded upstream is 503 UNAVAILABLE, as
 * Google itself reports "model overloaded".
 */
import type { ErrorKind, IRError } from '../../ir/errors'
import { statusOf } from '../../ir/errors'
import { isObject } from '../guards'

/** google.rpc.Code name per kind */
const STATUS: Record<ErrorKind, string> = {
  invalid_request: 'INVALID_ARGUMENT',
  authentication: 'UNAUTHENTICATED',
  permission: 'PERMISSION_DENIED',
  not_found: 'NOT_FOUND',
  method_not_allowed: 'UNIMPLEMENTED',
  request_too_large: 'INVALID_ARGUMENT',
  unsupported_media: 'INVALID_ARGUMENT',
  rate_limit: 'RESOURCE_EXHAUSTED',
  internal: 'INTERNAL',
  upstream: 'INTERNAL',
  unavailable: 'UNAVAILABLE',
  timeout: 'DEADLINE_EXCEEDED',
  loop: 'FAILED_PRECONDITION',
  overloaded: 'UNAVAILABLE',
}

export type GeminiErrorBody = { error: { code: number; message: string; status: string; details?: unknown[] } }

/** overloaded, or an upstream's 529: Google says 503 UNAVAILABLE */
const overloaded = (e: IRError): boolean => e.kind === 'overloaded' || statusOf(e) === 529

/** The HTTP status a Gemini client gets for an IR error (and the body's `code`): never 529, which Google does not use. */
export const errorStatus = (e: IRError): number => (overloaded(e) ? 503 : statusOf(e))

/** The Google error body of an IR error (an HTTP body, or an in-stream chunk); a retry delay goes in a RetryInfo detail. */
export function errorBody(e: IRError): GeminiErrorBody {
  const error: GeminiErrorBody['error'] = { code: errorStatus(e), message: e.message, status: overloaded(e) ? 'UNAVAILABLE' : STATUS[e.kind] }
  if (e.retryAfter && e.retryAfter > 0) {
    error.details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${Math.ceil(e.retryAfter)}s` }]
  }
  return { error }
}

const KIND_OF_STATUS: Record<string, ErrorKind> = {
  INVALID_ARGUMENT: 'invalid_request',
  FAILED_PRECONDITION: 'invalid_request',
  OUT_OF_RANGE: 'invalid_request',
  UNAUTHENTICATED: 'authentication',
  PERMISSION_DENIED: 'permission',
  NOT_FOUND: 'not_found',
  RESOURCE_EXHAUSTED: 'rate_limit',
  UNAVAILABLE: 'unavailable',
  DEADLINE_EXCEEDED: 'timeout',
  INTERNAL: 'upstream',
  UNKNOWN: 'upstream',
  ABORTED: 'upstream',
  UNIMPLEMENTED: 'invalid_request',
}

function kindOfCode(code: number): ErrorKind {
  if (code === 401) return 'authentication'
  if (code === 403) return 'permission'
  if (code === 404) return 'not_found'
  if (code === 413) return 'request_too_large'
  if (code === 429) return 'rate_limit'
  if (code === 503) return 'unavailable'
  if (code === 504) return 'timeout'
  if (code >= 400 && code < 500) return 'invalid_request'
  return 'upstream'
}

/** The `retryDelay` of a RetryInfo detail ("41s", "1.5s"), in seconds. */
function retryDelayOf(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined
  const delay = details.find((d): d is { retryDelay: string } => isObject(d) && typeof d.retryDelay === 'string')?.retryDelay
  const secs = delay === undefined ? NaN : parseFloat(delay)
  return Number.isFinite(secs) ? secs : undefined
}

/** A Google error body ({error: {code, message, status, details}}) → IR error. `status`: the HTTP status it came
 *  with, used when the body has no numeric code (default 502). */
export function errorFromWire(body: unknown, status?: number): IRError {
  const e = isObject(body) && isObject(body.error) ? body.error : {}
  const code = typeof e.code === 'number' ? e.code : (status ?? 502)
  const kind = KIND_OF_STATUS[String(e.status)] ?? kindOfCode(code)
  const out: IRError = { status: code, kind, message: typeof e.message === 'string' ? e.message : 'upstream error' }
  const retry = retryDelayOf(e.details)
  if (retry !== undefined) out.retryAfter = retry
  return out
}
