/**
 * Small value mappings shared by the Anthropic client and upstream codecs:
 * stop reasons, usage, error types, ids.
 */
import type { ErrorKind, IRError, IRStopReason, IRUsage } from '../../ir/types'

// ───────────── stop reasons ─────────────

export type AnthropicStopReason =
  'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal' | 'model_context_window_exceeded'

const toWire: Record<IRStopReason, AnthropicStopReason> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  stop_sequence: 'stop_sequence',
  content_filter: 'refusal',
  refusal: 'refusal',
  pause: 'pause_turn',
  error: 'end_turn',
}

/** IR stop reason → Anthropic. A finished turn that called tools is always `tool_use` (clients rely on it). */
export function stopReasonToWire(reason: IRStopReason, hasToolCalls: boolean): AnthropicStopReason {
  if (hasToolCalls && (reason === 'stop' || reason === 'tool_calls')) return 'tool_use'
  return toWire[reason] ?? 'end_turn'
}

export function stopReasonFromWire(reason: string | null | undefined): IRStopReason {
  switch (reason) {
    case 'max_tokens': case 'model_context_window_exceeded': return 'length'
    case 'tool_use': return 'tool_calls'
    case 'stop_sequence': return 'stop_sequence'
    case 'pause_turn': return 'pause'
    case 'refusal': return 'refusal'
    default: return 'stop'
  }
}

// ───────────── usage ─────────────
// Anthropic input_tokens EXCLUDES cache reads and writes; IR inputTokens includes both.

export interface AnthropicUsage {
  input_tokens: number
  output_tokens: number
  cache_read_input_tokens: number
  cache_creation_input_tokens: number
}

export function usageToWire(u: Partial<IRUsage> | undefined): AnthropicUsage {
  const cacheRead = u?.cachedInputTokens ?? 0
  const cacheWrite = u?.cacheCreationInputTokens ?? 0
  return {
    input_tokens: Math.max(0, (u?.inputTokens ?? 0) - cacheRead - cacheWrite),
    output_tokens: u?.outputTokens ?? 0,
    cache_read_input_tokens: cacheRead,
    cache_creation_input_tokens: cacheWrite,
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)

/** Anthropic usage (possibly partial, as in message_delta) → the IR fields it carries. */
export function usageFromWire(u: any): Partial<IRUsage> {
  if (!u || typeof u !== 'object') return {}
  const out: Partial<IRUsage> = {}
  const input = num(u.input_tokens), read = num(u.cache_read_input_tokens), write = num(u.cache_creation_input_tokens)
  if (input !== undefined || read !== undefined || write !== undefined) out.inputTokens = (input ?? 0) + (read ?? 0) + (write ?? 0)
  if (read !== undefined) out.cachedInputTokens = read
  if (write !== undefined) out.cacheCreationInputTokens = write
  const output = num(u.output_tokens)
  if (output !== undefined) out.outputTokens = output
  const thinking = num(u.output_tokens_details?.thinking_tokens)
  if (thinking !== undefined) out.reasoningTokens = thinking
  return out
}

// ───────────── errors ─────────────

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

// ───────────── ids ─────────────

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

export function randomId(prefix: string, length = 24): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length))
  let s = prefix
  for (const b of bytes) s += alphabet[b % alphabet.length]
  return s
}

/** An Anthropic-looking message id: kept when it already is one, derived from the upstream id otherwise. */
export function messageId(id: string | undefined): string {
  if (id?.startsWith('msg_')) return id
  const clean = (id ?? '').replace(/[^A-Za-z0-9_-]/g, '')
  return clean ? `msg_${clean}` : randomId('msg_')
}

/** JSON text of tool arguments → the object Anthropic wants as `input` (never throws). */
export function parseToolInput(json: string): { value: Record<string, unknown>; ok: boolean } {
  if (!json.trim()) return { value: {}, ok: true }
  try {
    const v = JSON.parse(json)
    if (v && typeof v === 'object' && !Array.isArray(v)) return { value: v, ok: true }
    return { value: { value: v }, ok: false }
  } catch {
    return { value: {}, ok: false }
  }
}
