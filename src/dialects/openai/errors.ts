/**
 * OpenAI error objects, both directions: the one body agproxy sends an OpenAI client,
 * `{ error: { message, type, param, code } }` (HTTP bodies and in-stream frames alike), the Responses API's
 * `response.error` object, and an upstream's error object read back as an IR error.
 *
 * Types and codes follow what api.openai.com returns: a bad key is `invalid_request_error` with code
 * `invalid_api_key`, an unknown model `invalid_request_error` with code `model_not_found` (the IR code).
 */
import type { ErrorKind, IRError } from '../../ir/errors'
import { statusOf } from '../../ir/errors'
import { sseFrame } from '../../ir/sse'
import { isObject, num } from '../guards'

const TYPE: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'invalid_request_error',
  permission: 'permission_error',
  not_found: 'invalid_request_error',
  method_not_allowed: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  unsupported_media: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  internal: 'server_error',
  upstream: 'server_error',
  unavailable: 'server_error',
  timeout: 'server_error',
  loop: 'invalid_request_error',
  overloaded: 'server_error',
}

const CODE: Partial<Record<ErrorKind, string>> = {
  authentication: 'invalid_api_key',
  permission: 'forbidden',
  not_found: 'not_found',
  method_not_allowed: 'method_not_allowed',
  request_too_large: 'request_too_large',
  unsupported_media: 'unsupported_media_type',
  rate_limit: 'rate_limit_exceeded',
  upstream: 'upstream_error',
  unavailable: 'service_unavailable',
  timeout: 'timeout',
  loop: 'loop_detected',
  overloaded: 'overloaded',
}

export type OpenAIErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } }

/** The OpenAI error body of an IR error (an HTTP body, or the data of an in-stream error frame). */
export function errorBody(e: IRError): OpenAIErrorBody {
  return { error: { message: e.message, type: TYPE[e.kind], param: e.param ?? null, code: e.code ?? CODE[e.kind] ?? null } }
}

/** The HTTP status an OpenAI client gets for an IR error. */
export const errorStatus = statusOf

/** An in-stream error as OpenAI sends it (the official SDK throws an APIError on it). */
export const errorFrame = (e: IRError): Uint8Array => sseFrame(errorBody(e))

// ───────────── Responses API `response.error` ─────────────

/** `response.error.code` per kind: the codes Codex reacts to (server_is_overloaded and server_error are retried,
 *  invalid_prompt is not). Two more depend on the message, see responseError. */
const RESPONSE_CODE: Record<ErrorKind, string> = {
  invalid_request: 'invalid_prompt',
  authentication: 'invalid_api_key',
  permission: 'permission_denied',
  not_found: 'invalid_prompt',
  method_not_allowed: 'server_error',
  request_too_large: 'invalid_prompt',
  unsupported_media: 'invalid_prompt',
  rate_limit: 'rate_limit_exceeded',
  internal: 'server_error',
  upstream: 'server_error',
  unavailable: 'server_is_overloaded',
  timeout: 'server_error',
  loop: 'server_error',
  overloaded: 'server_is_overloaded',
}

const CONTEXT_TOO_LONG =
  /context.?(length|window)|prompt is too long|too many (input )?tokens|input token count|exceeds the maximum (number of )?tokens|maximum context/i

/** IR error → the Responses API `response.error` of a `response.failed` event (from the stream encoder and from a
 *  pass-through stream alike). context_length_exceeded triggers Codex's auto-compaction; rate_limit_exceeded with
 *  "try again in Ns" its back-off. */
export function responseError(e: IRError): { code: string; message: string } {
  let message = e.message || 'upstream error'
  if (e.kind === 'rate_limit' && e.retryAfter !== undefined && !/try again in/i.test(message)) message += ` Please try again in ${e.retryAfter}s.`
  const tooLong = (e.kind === 'invalid_request' || e.kind === 'request_too_large') && CONTEXT_TOO_LONG.test(message)
  return { code: tooLong ? 'context_length_exceeded' : RESPONSE_CODE[e.kind], message }
}

// ───────────── upstream errors → IR ─────────────

const KIND_OF_STATUS: Record<number, ErrorKind> = {
  400: 'invalid_request',
  401: 'authentication',
  403: 'permission',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'request_too_large',
  415: 'unsupported_media',
  429: 'rate_limit',
  500: 'upstream',
  502: 'upstream',
  503: 'unavailable',
  504: 'timeout',
  529: 'overloaded',
}

/** An OpenAI-style error from upstream (a whole `{error}` body, or the error object of a 200 body or an SSE frame)
 *  → IR error. `status`: the HTTP status it came with, used when the object says nothing (default 502). */
export function errorFromWire(body: unknown, status = 502): IRError {
  const e = isObject(body) ? (isObject(body.error) ? body.error : body) : Array.isArray(body) ? {} : { message: String(body) }
  const type = String(e.type ?? '')
  const code = e.code
  let wireStatus = num(code) ?? num(e.status) ?? num(e.status_code)
  if (wireStatus === undefined) {
    if (/rate_limit|requests|tokens/.test(type) || code === 'rate_limit_exceeded') wireStatus = 429
    else if (type === 'invalid_request_error') wireStatus = 400
    else if (type === 'authentication_error') wireStatus = 401
    else if (type === 'permission_error') wireStatus = 403
    else if (type === 'not_found_error') wireStatus = 404
    else wireStatus = status
  }
  const kind = KIND_OF_STATUS[wireStatus] ?? (wireStatus >= 500 ? 'upstream' : 'invalid_request')
  const message = typeof e.message === 'string' && e.message ? e.message : 'upstream error'
  return { status: wireStatus, kind, message, param: typeof e.param === 'string' ? e.param : undefined }
}
