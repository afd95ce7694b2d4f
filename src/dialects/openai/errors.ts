/**
 * OpenAI error objects, both directions: the `{ error: { message, type, param, code } }` envelope agproxy
 * sends (HTTP bodies and in-stream frames), and an upstream's error object read back as an IR error.
 */
import type { ErrorKind, IRError } from '../../ir/types'
import { IRErrorValue } from '../../ir/types'
import { sseFrame } from '../../ir/sse'
import { num } from './mapping'

const TYPE_OF: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  method_not_allowed: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  unsupported_media: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  upstream: 'server_error',
  unavailable: 'server_error',
  timeout: 'server_error',
  overloaded: 'server_error',
  loop: 'server_error',
  internal: 'server_error',
}

const CODE_OF: Partial<Record<ErrorKind, string>> = {
  not_found: 'not_found',
  method_not_allowed: 'method_not_allowed',
  request_too_large: 'request_too_large',
  unsupported_media: 'unsupported_media_type',
  rate_limit: 'rate_limit_exceeded',
  unavailable: 'service_unavailable',
  timeout: 'timeout',
  overloaded: 'overloaded',
  loop: 'loop_detected',
}

/** The OpenAI error envelope: `{ error: { message, type, param, code } }` (HTTP bodies and in-stream frames). */
export function openaiErrorBody(e: IRError) {
  return { error: { message: e.message, type: TYPE_OF[e.kind] ?? 'server_error', param: e.param ?? null, code: CODE_OF[e.kind] ?? null } }
}

const KIND_OF_STATUS: Record<number, ErrorKind> = {
  400: 'invalid_request', 401: 'authentication', 403: 'permission', 404: 'not_found', 405: 'method_not_allowed',
  413: 'request_too_large', 415: 'unsupported_media', 429: 'rate_limit', 500: 'upstream', 502: 'upstream',
  503: 'unavailable', 504: 'timeout', 529: 'overloaded',
}

/** An OpenAI-style error object received from upstream (in a 200 body or an SSE frame) → IR error. */
export function irErrorFromWire(err: any): IRError {
  const e = typeof err === 'object' && err !== null ? err : { message: String(err) }
  const type = String(e.type ?? '')
  const code = e.code
  let status = num(code) ?? num(e.status) ?? num(e.status_code)
  if (status === undefined) {
    if (/rate_limit|requests|tokens/.test(type) || code === 'rate_limit_exceeded') status = 429
    else if (type === 'invalid_request_error') status = 400
    else if (type === 'authentication_error') status = 401
    else if (type === 'permission_error') status = 403
    else if (type === 'not_found_error') status = 404
    else status = 502
  }
  const kind = KIND_OF_STATUS[status] ?? (status >= 500 ? 'upstream' : 'invalid_request')
  const message = typeof e.message === 'string' && e.message ? e.message : 'upstream error'
  return { status, kind, message, param: typeof e.param === 'string' ? e.param : undefined }
}

/** Whatever was thrown while streaming → IR error. */
export function irErrorOf(e: unknown): IRError {
  if (e instanceof IRErrorValue) return e.error
  return { status: 502, kind: 'upstream', message: e instanceof Error ? e.message : String(e) }
}

/** An in-stream error as OpenAI sends it (the official SDK throws an APIError on it). */
export const errorFrame = (e: IRError): Uint8Array => sseFrame(openaiErrorBody(e))
