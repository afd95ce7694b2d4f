/**
 * Small OpenAI value mappings shared by the Chat Completions, legacy Completions and Embeddings codecs:
 * ids, finish reasons, usage (both directions) and the stream terminator.
 */
import type { IRError, IRStopReason, IRUsage } from '../../ir/types'
import { err } from '../../ir/errors'
import { sseFrame } from '../../ir/sse'
import { asObject, dig, num } from '../guards'

/** `chatcmpl-…`, `cmpl-…`, `call_…` style ids. */
export const newId = (prefix: string): string => prefix + crypto.randomUUID().replace(/-/g, '').slice(0, 24)

/** the Unix time in seconds (`created` fields) */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** Keep an upstream id when it already has the client-visible prefix, otherwise mint one. */
export const withPrefix = (prefix: string, id: string | undefined): string => (id?.startsWith(prefix) ? id : newId(prefix))

// ───────────── finish reasons ─────────────

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter'

/** IR stop reason → OpenAI finish_reason. A turn that produced tool calls always reports `tool_calls`
 *  (Gemini says STOP there, and agent clients key their loop on `tool_calls`). */
export function finishReasonOut(reason: IRStopReason, hasToolCalls: boolean): OpenAIFinishReason {
  if (hasToolCalls && (reason === 'stop' || reason === 'tool_calls' || reason === 'pause')) return 'tool_calls'
  switch (reason) {
    case 'length':
      return 'length'
    case 'content_filter':
    case 'refusal':
      return 'content_filter'
    case 'tool_calls':
      return hasToolCalls ? 'tool_calls' : 'stop'
    default:
      return 'stop' // stop, stop_sequence, pause, error
  }
}

/** OpenAI (or compatible server) finish_reason → IR stop reason. */
export function finishReasonIn(reason: unknown, hasToolCalls: boolean): IRStopReason {
  switch (reason) {
    case 'length':
      return 'length'
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls'
    case 'content_filter':
      return 'content_filter'
    case 'insufficient_system_resource':
      return 'error' // DeepSeek
    default:
      return hasToolCalls ? 'tool_calls' : 'stop'
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

/** IR usage → OpenAI usage */
export function usageOut(u: IRUsage): OpenAIUsage {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
  }
}

/** Upstream usage object → IR usage (OpenAI fields, plus DeepSeek `prompt_cache_hit_tokens`). */
export function usageIn(wire: unknown): IRUsage {
  const u = asObject(wire)
  const usage: IRUsage = { inputTokens: num(u.prompt_tokens) ?? 0, outputTokens: num(u.completion_tokens) ?? 0 }
  const cached = num(dig(u, 'prompt_tokens_details', 'cached_tokens')) ?? num(u.prompt_cache_hit_tokens)
  if (cached) usage.cachedInputTokens = cached
  const reasoning = num(dig(u, 'completion_tokens_details', 'reasoning_tokens'))
  if (reasoning) usage.reasoningTokens = reasoning
  return usage
}

// ───────────── upstream message fields ─────────────

/** a string, else '' */
export const str = (v: unknown): string => (typeof v === 'string' ? v : '')

/** Reasoning text of a message or delta; `reasoning_content` wins when a server sends both aliases. */
export const reasoningOf = (m: Record<string, unknown>): string => str(m.reasoning_content) || str(m.reasoning)

/** Message content as text: a string, or (Mistral-style) an array of text parts. */
export const textOf = (c: unknown): string =>
  typeof c === 'string' ? c : Array.isArray(c) ? c.map(p => (dig(p, 'type') === 'text' ? str(dig(p, 'text')) : '')).join('') : ''

// ───────────── stream frames ─────────────

/** The terminator every OpenAI stream ends with. */
export const doneFrame = (): Uint8Array => sseFrame('[DONE]')

/** The error to report when an event stream ends without `finish` or `error`. */
export const truncatedStream = (): IRError => err('upstream', 'The upstream stream ended before the response was complete.')
