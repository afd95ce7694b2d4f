/**
 * Small Gemini ⇄ IR mappings shared by the client and upstream codecs: finish reasons, usage,
 * ids, and thinking levels.
 */
import type { IRStopReason, IRUsage } from '../../ir/types'
import { asObject, num } from '../guards'

/** an id with a prefix and 24 random hex digits */
export const randomId = (prefix: string): string => prefix + crypto.randomUUID().replace(/-/g, '').slice(0, 24)

/** tool call ids must suit every dialect (Anthropic: ^[a-zA-Z0-9_-]+$) */
export const safeId = (id: string): string => id.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64)

/** A deterministic id for a Gemini functionCall that carries none: the same history gives the same ids. */
export const stableCallId = (name: string, args: string, occurrence: number): string =>
  `call_${Bun.hash(`${name}\u0000${args}\u0000${occurrence}`).toString(36)}`

// ───────────── finish reasons ─────────────

const FILTERED = new Set([
  'SAFETY',
  'RECITATION',
  'LANGUAGE',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
  'ESCALATION',
])

/** Gemini finishReason → IR stop reason (a turn that called tools ends with tool_calls) */
export function finishToIR(reason: string | undefined, sawToolCall: boolean): IRStopReason {
  if (!reason || reason === 'STOP' || reason === 'FINISH_REASON_UNSPECIFIED') return sawToolCall ? 'tool_calls' : 'stop'
  if (reason === 'MAX_TOKENS') return 'length'
  if (FILTERED.has(reason)) return 'content_filter'
  if (reason === 'TOO_MANY_TOOL_CALLS') return sawToolCall ? 'tool_calls' : 'stop'
  return 'error' // MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, MISSING_THOUGHT_SIGNATURE, OTHER, …
}

/** IR stop reason → Gemini finishReason */
export function finishToGemini(reason: IRStopReason): string {
  switch (reason) {
    case 'length':
      return 'MAX_TOKENS'
    case 'content_filter':
    case 'refusal':
      return 'SAFETY'
    case 'error':
      return 'OTHER'
    default:
      return 'STOP' // stop, stop_sequence, tool_calls, pause
  }
}

// ───────────── usage ─────────────

export interface GeminiUsage {
  promptTokenCount?: number
  candidatesTokenCount?: number
  totalTokenCount?: number
  cachedContentTokenCount?: number
  thoughtsTokenCount?: number
  toolUsePromptTokenCount?: number
}

/** Gemini usageMetadata, as received → IR usage. Gemini counts thoughts apart from candidates; the IR counts reasoning
 *  inside outputTokens. */
export function usageToIR(wire: unknown): IRUsage {
  const u = asObject(wire)
  const thoughts = num(u.thoughtsTokenCount) ?? 0
  const usage: IRUsage = {
    inputTokens: (num(u.promptTokenCount) ?? 0) + (num(u.toolUsePromptTokenCount) ?? 0),
    outputTokens: (num(u.candidatesTokenCount) ?? 0) + thoughts,
  }
  const cached = num(u.cachedContentTokenCount)
  if (cached) usage.cachedInputTokens = cached
  if (thoughts) usage.reasoningTokens = thoughts
  return usage
}

/** IR usage → usageMetadata (thoughts counted apart, as Gemini does) */
export function usageToGemini(u: IRUsage): GeminiUsage {
  const thoughts = Math.min(u.reasoningTokens ?? 0, u.outputTokens)
  const out: GeminiUsage = {
    promptTokenCount: u.inputTokens,
    candidatesTokenCount: u.outputTokens - thoughts,
    totalTokenCount: u.inputTokens + u.outputTokens,
  }
  if (u.cachedInputTokens) out.cachedContentTokenCount = u.cachedInputTokens
  if (thoughts) out.thoughtsTokenCount = thoughts
  return out
}

// ───────────── thinking ─────────────

export type Effort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh'

/** Gemini thinkingLevel → IR effort */
export function levelToEffort(level: unknown): Effort | undefined {
  const l = String(level ?? '').toLowerCase()
  return l === 'minimal' || l === 'low' || l === 'medium' || l === 'high' || l === 'xhigh' ? l : undefined
}

const isGemini3 = (model: string) => /gemini-[3-9]/i.test(model)
const isPro = (model: string) => /-pro/i.test(model)

/** IR reasoning → Gemini thinkingConfig fields for a model family (level on Gemini 3+, budget before). */
export function thinkingFields(model: string, effort: Effort | undefined, budget: number | undefined): Record<string, unknown> {
  if (budget !== undefined) return { thinkingBudget: budget }
  if (!effort) return {}
  if (isGemini3(model)) {
    if (isPro(model)) return { thinkingLevel: effort === 'none' || effort === 'minimal' || effort === 'low' ? 'low' : 'high' }
    return { thinkingLevel: effort === 'none' ? 'minimal' : effort === 'xhigh' ? 'high' : effort }
  }
  const pro = isPro(model)
  const budgets: Record<Effort, number> = {
    none: pro ? 128 : 0,
    minimal: 512,
    low: 1024,
    medium: 8192,
    high: 24576,
    xhigh: pro ? 32768 : 24576,
  }
  return { thinkingBudget: budgets[effort] }
}

/** whether Gemini will think on this request (so functionCall turns need thought signatures) */
export function usesThinking(model: string, effort: Effort | undefined, budget: number | undefined): boolean {
  if (isGemini3(model)) return true
  if (budget !== undefined) return budget !== 0
  return effort !== undefined && effort !== 'none'
}
