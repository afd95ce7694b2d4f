/**
 * Google error bodies, both directions: `{error: {code, message, status, details?}}` as agproxy sends it
 * (HTTP bodies and in-stream chunks), and an upstream's error body read back as an IR error.
 */
import type { ErrorKind, IRError } from '../../ir/types'

const STATUS_OF_KIND: Record<ErrorKind, [number, string]> = {
  invalid_request: [400, 'INVALID_ARGUMENT'],
  authentication: [401, 'UNAUTHENTICATED'],
  permission: [403, 'PERMISSION_DENIED'],
  not_found: [404, 'NOT_FOUND'],
  method_not_allowed: [405, 'UNIMPLEMENTED'],
  request_too_large: [413, 'INVALID_ARGUMENT'],
  unsupported_media: [415, 'INVALID_ARGUMENT'],
  rate_limit: [429, 'RESOURCE_EXHAUSTED'],
  upstream: [502, 'INTERNAL'],
  unavailable: [503, 'UNAVAILABLE'],
  timeout: [504, 'DEADLINE_EXCEEDED'],
  overloaded: [503, 'UNAVAILABLE'], // Google clients know 503 for "model overloaded", not 529
  loop: [508, 'ABORTED'],
  internal: [500, 'INTERNAL'],
}

/** The error body Google sends (also as an in-stream chunk): {error: {code, message, status, details?}}. */
export function geminiErrorBody(e: IRError): { error: { code: number; message: string; status: string; details?: unknown[] } } {
  const [mapped, status] = STATUS_OF_KIND[e.kind] ?? [500, 'INTERNAL']
  const code = e.kind === 'overloaded' || !e.status ? mapped : e.status
  const error: { code: number; message: string; status: string; details?: unknown[] } = { code, message: e.message, status }
  if (e.retryAfter && e.retryAfter > 0) {
    error.details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${Math.ceil(e.retryAfter)}s` }]
  }
  return { error }
}

const KIND_OF_STATUS: Record<string, ErrorKind> = {
  INVALID_ARGUMENT: 'invalid_request', FAILED_PRECONDITION: 'invalid_request', OUT_OF_RANGE: 'invalid_request',
  UNAUTHENTICATED: 'authentication', PERMISSION_DENIED: 'permission', NOT_FOUND: 'not_found',
  RESOURCE_EXHAUSTED: 'rate_limit', UNAVAILABLE: 'unavailable', DEADLINE_EXCEEDED: 'timeout',
  INTERNAL: 'upstream', UNKNOWN: 'upstream', ABORTED: 'upstream', UNIMPLEMENTED: 'invalid_request',
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

/** A Google error body ({error: {code, message, status, details}}) → IR error. */
export function geminiErrorToIR(body: unknown, httpStatus?: number): IRError {
  const err = (body as any)?.error ?? {}
  const code = typeof err.code === 'number' ? err.code : httpStatus ?? 502
  const kind = KIND_OF_STATUS[String(err.status)] ?? kindOfCode(code)
  const out: IRError = { status: code, kind, message: typeof err.message === 'string' ? err.message : 'upstream error' }
  const retry = Array.isArray(err.details)
    ? err.details.find((d: any) => typeof d?.retryDelay === 'string')?.retryDelay as string | undefined
    : undefined
  if (retry) {
    const secs = parseFloat(retry)
    if (Number.isFinite(secs)) out.retryAfter = secs
  }
  return out
}
