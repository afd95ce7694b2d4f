/**
 * Small OpenAI wire helpers shared by the Chat Completions, legacy Completions and Embeddings codecs:
 * ids, finish reasons, usage and error objects (both directions).
 */
import type { ErrorKind, IRError, IRStopReason, IRUsage } from '../../ir/types'
import { IRErrorValue } from '../../ir/types'
import { sseFrame } from '../../ir/sse'

/** `chatcmpl-…`, `cmpl-…`, `call_…` style ids. */
export const newId = (prefix: string): string => prefix + crypto.randomUUID().replace(/-/g, '').slice(0, 24)

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** Keep an upstream id when it already has the client-visible prefix, otherwise mint one. */
export const withPrefix = (prefix: string, id: string | undefined): string =>
  id && id.startsWith(prefix) ? id : newId(prefix)

// ───────────── finish reasons ─────────────

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter'

/** IR stop reason → OpenAI finish_reason. A turn that produced tool calls always reports `tool_calls`
 *  (Gemini says STOP there, and agent clients key their loop on `tool_calls`). */
export function finishReasonOut(reason: IRStopReason, hasToolCalls: boolean): OpenAIFinishReason {
  if (hasToolCalls && (reason === 'stop' || reason === 'tool_calls' || reason === 'pause')) return 'tool_calls'
  switch (reason) {
    case 'length': return 'length'
    case 'content_filter':
    case 'refusal': return 'content_filter'
    case 'tool_calls': return hasToolCalls ? 'tool_calls' : 'stop'
    default: return 'stop' // stop, stop_sequence, pause, error
  }
}

/** OpenAI (or compatible server) finish_reason → IR stop reason. */
export function finishReasonIn(reason: unknown, hasToolCalls: boolean): IRStopReason {
  switch (reason) {
    case 'length': return 'length'
    case 'tool_calls':
    case 'function_call': return 'tool_calls'
    case 'content_filter': return 'content_filter'
    case 'insufficient_system_resource': return 'error' // DeepSeek
    default: return hasToolCalls ? 'tool_calls' : 'stop'
  }
}

// ───────────── usage ─────────────

export interface OpenAIUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details: { cached_tokens: number }
  completion_tokens_details: { reasoning_tokens: number }
}

export function usageOut(u: IRUsage): OpenAIUsage {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)

/** Upstream usage object → IR usage (OpenAI fields, plus DeepSeek `prompt_cache_hit_tokens`). */
export function usageIn(u: any): IRUsage {
  const usage: IRUsage = { inputTokens: num(u?.prompt_tokens) ?? 0, outputTokens: num(u?.completion_tokens) ?? 0 }
  const cached = num(u?.prompt_tokens_details?.cached_tokens) ?? num(u?.prompt_cache_hit_tokens)
  if (cached) usage.cachedInputTokens = cached
  const reasoning = num(u?.completion_tokens_details?.reasoning_tokens)
  if (reasoning) usage.reasoningTokens = reasoning
  return usage
}

// ───────────── errors ─────────────

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

// ───────────── stream frames ─────────────

/** The terminator every OpenAI stream ends with. */
export const doneFrame = (): Uint8Array => sseFrame('[DONE]')

/** An in-stream error as OpenAI sends it (the official SDK throws an APIError on it). */
export const errorFrame = (e: IRError): Uint8Array => sseFrame(openaiErrorBody(e))

/** The error to report when an event stream ends without `finish` or `error`. */
export const truncatedStream = (): IRError =>
  ({ status: 502, kind: 'upstream', message: 'The upstream stream ended before the response was complete.' })
