/**
 * Anthropic error bodies, both directions: `{type:'error', error:{type, message}}` as agproxy sends it
 * (HTTP bodies and `event: error` frames), and an upstream's error body read back as an IR error.
 */
import type { ErrorKind, IRError } from '../../ir/types'

const errorTypes: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  method_not_allowed: 'invalid_request_error',
  request_too_large: 'request_too_large',
  unsupported_media: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  upstream: 'api_error',
  unavailable: 'api_error',
  timeout: 'timeout_error',
  overloaded: 'overloaded_error',
  loop: 'api_error',
  internal: 'api_error',
}

/** IR error kind → Anthropic `error.type` */
export const anthropicErrorType = (kind: ErrorKind): string => errorTypes[kind] ?? 'api_error'

/** The Anthropic error body `{type:'error', error:{type, message}}` (also the data of an `event: error` frame). */
export const anthropicErrorBody = (e: IRError) =>
  ({ type: 'error', error: { type: anthropicErrorType(e.kind), message: e.message } })

const kinds: Record<string, [ErrorKind, number]> = {
  invalid_request_error: ['invalid_request', 400],
  authentication_error: ['authentication', 401],
  billing_error: ['permission', 402],
  permission_error: ['permission', 403],
  not_found_error: ['not_found', 404],
  conflict_error: ['invalid_request', 409],
  request_too_large: ['request_too_large', 413],
  rate_limit_error: ['rate_limit', 429],
  api_error: ['upstream', 502],
  timeout_error: ['timeout', 504],
  overloaded_error: ['overloaded', 529],
}

/** An Anthropic error body (or its inner `error` object) → IR error. */
export function errorFromWire(body: any, fallbackStatus = 502): IRError {
  const inner = body?.error && typeof body.error === 'object' ? body.error : body
  const type = typeof inner?.type === 'string' ? inner.type : ''
  const message = typeof inner?.message === 'string' && inner.message ? inner.message : `upstream error${type ? ` (${type})` : ''}`
  const [kind, status] = kinds[type] ?? ['upstream', fallbackStatus]
  return { status, kind, message }
}
