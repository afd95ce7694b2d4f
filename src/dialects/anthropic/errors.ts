/**
 * Anthropic error bodies, both directions: the one body agproxy sends an Anthropic client,
 * `{type:'error', error:{type, message}}` (HTTP bodies and `event: error` frames alike), and an upstream's
 * error body read back as an IR error. Types are the ones api.anthropic.com documents.
 */
import type { ErrorKind, IRError } from '../../ir/errors'
import { statusOf } from '../../ir/errors'
import { isObject } from '../guards'

const TYPE: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  method_not_allowed: 'invalid_request_error',
  request_too_large: 'request_too_large',
  unsupported_media: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  internal: 'api_error',
  upstream: 'api_error',
  unavailable: 'api_error',
  timeout: 'timeout_error',
  loop: 'invalid_request_error',
  overloaded: 'overloaded_error',
}

export type AnthropicErrorBody = { type: 'error'; error: { type: string; message: string } }

/** The Anthropic error body of an IR error (an HTTP body, or the data of an `event: error` frame). */
export function errorBody(e: IRError): AnthropicErrorBody {
  return { type: 'error', error: { type: TYPE[e.kind], message: e.message } }
}

/** The HTTP status an Anthropic client gets for an IR error. */
export const errorStatus = statusOf

const KINDS: Record<string, [ErrorKind, number]> = {
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

/** An Anthropic error body (or its inner `error` object) → IR error. `status`: the HTTP status it came with,
 *  used when the error type is unknown (default 502). */
export function errorFromWire(body: unknown, status = 502): IRError {
  const inner = isObject(body) && isObject(body.error) ? body.error : body
  const type = isObject(inner) && typeof inner.type === 'string' ? inner.type : ''
  const text = isObject(inner) ? inner.message : undefined
  const message = typeof text === 'string' && text ? text : `upstream error${type ? ` (${type})` : ''}`
  const [kind, wireStatus] = KINDS[type] ?? ['upstream', status]
  return { status: wireStatus, kind, message }
}
