/**
 * Small value mappings shared by the Anthropic client and upstream codecs:
 * stop reasons, usage, ids, tool input.
 */
import type { IRStopReason, IRUsage } from '../../ir/types'
import { dig, isObject, num } from '../guards'

// ───────────── stop reasons ─────────────

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal' | 'model_context_window_exceeded'

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

/** Anthropic stop_reason → IR */
export function stopReasonFromWire(reason: unknown): IRStopReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length'
    case 'tool_use':
      return 'tool_calls'
    case 'stop_sequence':
      return 'stop_sequence'
    case 'pause_turn':
      return 'pause'
    case 'refusal':
      return 'refusal'
    default:
      return 'stop'
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

/** IR usage → Anthropic usage (cache reads and writes apart from input_tokens) */
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

/** Anthropic usage (possibly partial, as in message_delta) → the IR fields it carries. */
export function usageFromWire(u: unknown): Partial<IRUsage> {
  if (!isObject(u)) return {}
  const out: Partial<IRUsage> = {}
  const input = num(u.input_tokens),
    read = num(u.cache_read_input_tokens),
    write = num(u.cache_creation_input_tokens)
  if (input !== undefined || read !== undefined || write !== undefined) out.inputTokens = (input ?? 0) + (read ?? 0) + (write ?? 0)
  if (read !== undefined) out.cachedInputTokens = read
  if (write !== undefined) out.cacheCreationInputTokens = write
  const output = num(u.output_tokens)
  if (output !== undefined) out.outputTokens = output
  const thinking = num(dig(u, 'output_tokens_details', 'thinking_tokens'))
  if (thinking !== undefined) out.reasoningTokens = thinking
  return out
}

// ───────────── ids ─────────────

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** a prefix and `length` random alphanumerics (`toolu_…`, `msg_…`) */
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
