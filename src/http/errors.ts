/**
 * Errors are values until the edge: this is the edge. One function renders an IRError in the
 * caller's dialect, with the right status and headers.
 */
import type { Dialect, ErrorKind, IRError } from '../ir/types'
import { dialectOfPath } from './route-table'

/** Which dialect is calling: path family first, then headers, else OpenAI.
 *  (Not x-api-key vs Bearer: the Anthropic SDK 1.x sends its key as a Bearer token.) */
export function detectDialect(path: string, headers: Headers, query: URLSearchParams): Dialect {
  // an encoded separator (refused as a trick) still tells which family the caller meant
  const byPath = dialectOfPath(path.replace(/%2f|%5c/gi, '/'))
  if (byPath) return byPath
  if (headers.has('anthropic-version')) return 'anthropic'
  if (headers.has('x-goog-api-key') || query.has('key')) return 'gemini'
  return 'openai'
}

const STATUS: Record<ErrorKind, number> = {
  invalid_request: 400, authentication: 401, permission: 403, not_found: 404, method_not_allowed: 405,
  request_too_large: 413, unsupported_media: 415, rate_limit: 429, internal: 500, upstream: 502,
  unavailable: 503, timeout: 504, loop: 508, overloaded: 529,
}

const OPENAI_TYPE: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error', authentication: 'invalid_request_error', permission: 'permission_error',
  not_found: 'invalid_request_error', method_not_allowed: 'invalid_request_error', request_too_large: 'invalid_request_error',
  unsupported_media: 'invalid_request_error', rate_limit: 'rate_limit_error', internal: 'server_error', upstream: 'server_error',
  unavailable: 'server_error', timeout: 'server_error', loop: 'invalid_request_error', overloaded: 'server_error',
}
const OPENAI_CODE: Partial<Record<ErrorKind, string>> = {
  authentication: 'invalid_api_key', permission: 'forbidden', not_found: 'not_found', method_not_allowed: 'method_not_allowed',
  request_too_large: 'request_too_large', unsupported_media: 'unsupported_media_type', rate_limit: 'rate_limit_exceeded',
  upstream: 'upstream_error', unavailable: 'service_unavailable', timeout: 'timeout', loop: 'loop_detected', overloaded: 'overloaded',
}
const ANTHROPIC_TYPE: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error', authentication: 'authentication_error', permission: 'permission_error',
  not_found: 'not_found_error', method_not_allowed: 'invalid_request_error', request_too_large: 'request_too_large',
  unsupported_media: 'invalid_request_error', rate_limit: 'rate_limit_error', internal: 'api_error', upstream: 'api_error',
  unavailable: 'api_error', timeout: 'timeout_error', loop: 'invalid_request_error', overloaded: 'overloaded_error',
}
const GOOGLE_STATUS: Record<ErrorKind, string> = {
  invalid_request: 'INVALID_ARGUMENT', authentication: 'UNAUTHENTICATED', permission: 'PERMISSION_DENIED',
  not_found: 'NOT_FOUND', method_not_allowed: 'UNIMPLEMENTED', request_too_large: 'INVALID_ARGUMENT',
  unsupported_media: 'INVALID_ARGUMENT', rate_limit: 'RESOURCE_EXHAUSTED', internal: 'INTERNAL', upstream: 'UNAVAILABLE',
  unavailable: 'UNAVAILABLE', timeout: 'DEADLINE_EXCEEDED', loop: 'FAILED_PRECONDITION', overloaded: 'UNAVAILABLE',
}

export const statusOf = (e: IRError) => e.status || STATUS[e.kind]

/** The error body in a dialect (also used for in-stream error frames). */
export function errorBody(dialect: Dialect, e: IRError): unknown {
  switch (dialect) {
    case 'openai':
      return { error: { message: e.message, type: OPENAI_TYPE[e.kind], param: e.param ?? null, code: e.code ?? OPENAI_CODE[e.kind] ?? null } }
    case 'anthropic':
      return { type: 'error', error: { type: ANTHROPIC_TYPE[e.kind], message: e.message } }
    case 'gemini':
      return { error: { code: statusOf(e), message: e.message, status: GOOGLE_STATUS[e.kind] } }
  }
}

export function renderError(dialect: Dialect, e: IRError, extraHeaders?: Record<string, string>): Response {
  const status = statusOf(e)
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extraHeaders }
  if (e.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfter)))
  // tell SDKs not to retry what cannot succeed on retry
  if (status < 500 && status !== 429 && status !== 408) headers['x-should-retry'] = 'false'
  return new Response(JSON.stringify(errorBody(dialect, e)), { status, headers })
}

export const err = (kind: ErrorKind, message: string, extra?: Partial<IRError>): IRError =>
  ({ status: STATUS[kind], kind, message, ...extra })

/** The 500 for what nothing else caught (the details go to the log, never to the client). */
export const internalError = () =>
  err('internal', 'agproxy hit an internal error while handling this request; it has been logged. Retry, and report it if it persists.')

/** The first line of an error's message, for a log line or a client message: never a stack. */
export const summarize = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 300)
