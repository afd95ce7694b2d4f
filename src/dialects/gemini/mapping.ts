/**
 * Small Gemini ⇄ IR mappings shared by the client and upstream codecs: finish reasons, usage,
 * errors, ids, and thinking levels.
 */
import type { ErrorKind, IRError, IRStopReason, IRUsage } from '../../ir/types'

export const randomId = (prefix: string): string => prefix + crypto.randomUUID().replace(/-/g, '').slice(0, 24)

/** tool call ids must suit every dialect (Anthropic: ^[a-zA-Z0-9_-]+$) */
export const safeId = (id: string): string => id.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64)

/** A deterministic id for a Gemini functionCall that carries none: the same history gives the same ids. */
export const stableCallId = (name: string, args: string, occurrence: number): string =>
  'call_' + Bun.hash(`${name}\u0000${args}\u0000${occurrence}`).toString(36)

// ───────────── finish reasons ─────────────

const FILTERED = new Set([
  'SAFETY', 'RECITATION', 'LANGUAGE', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION', 'ESCALATION',
])

export function finishToIR(reason: string | undefined, sawToolCall: boolean): IRStopReason {
  if (!reason || reason === 'STOP' || reason === 'FINISH_REASON_UNSPECIFIED') return sawToolCall ? 'tool_calls' : 'stop'
  if (reason === 'MAX_TOKENS') return 'length'
  if (FILTERED.has(reason)) return 'content_filter'
  if (reason === 'TOO_MANY_TOOL_CALLS') return sawToolCall ? 'tool_calls' : 'stop'
  return 'error' // MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, MISSING_THOUGHT_SIGNATURE, OTHER, …
}

export function finishToGemini(reason: IRStopReason): string {
  switch (reason) {
    case 'length': return 'MAX_TOKENS'
    case 'content_filter': case 'refusal': return 'SAFETY'
    case 'error': return 'OTHER'
    default: return 'STOP' // stop, stop_sequence, tool_calls, pause
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

/** Gemini counts thoughts apart from candidates; the IR counts reasoning inside outputTokens. */
export function usageToIR(u: GeminiUsage | undefined): IRUsage {
  const thoughts = u?.thoughtsTokenCount ?? 0
  const usage: IRUsage = {
    inputTokens: (u?.promptTokenCount ?? 0) + (u?.toolUsePromptTokenCount ?? 0),
    outputTokens: (u?.candidatesTokenCount ?? 0) + thoughts,
  }
  if (u?.cachedContentTokenCount) usage.cachedInputTokens = u.cachedContentTokenCount
  if (thoughts) usage.reasoningTokens = thoughts
  return usage
}

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

// ───────────── errors ─────────────

const STATUS_OF_KIND: Record<ErrorKind, [number, string]> = {
  invalid_request: [400, 'INVALID_ARGUMENT'],
  authentication: [401, 'UNAUTHENTICATED'],
  permission: [403, 'PERMISSION_DENIED'],
  not_found: [404, 'NOT_FOUND'],
  method_not_allowed: [405, 'UNIMPLEMENTED'],
  request_too_large: [413, 'INVALID_ARGUMENT'],
  unsupported_media: [415, 'INVALID_ARGUMENT'],
  rate_limit: [429, 'RESOURCE_EXHAUSTED'],
  upstream: [502, 'INTERNAL'],
  unavailable: [503, 'UNAVAILABLE'],
  timeout: [504, 'DEADLINE_EXCEEDED'],
  overloaded: [503, 'UNAVAILABLE'], // Google clients know 503 for "model overloaded", not 529
  loop: [508, 'ABORTED'],
  internal: [500, 'INTERNAL'],
}

/** The error body Google sends (also as an in-stream chunk): {error: {code, message, status, details?}}. */
export function geminiErrorBody(e: IRError): { error: { code: number; message: string; status: string; details?: unknown[] } } {
  const [mapped, status] = STATUS_OF_KIND[e.kind] ?? [500, 'INTERNAL']
  const code = e.kind === 'overloaded' || !e.status ? mapped : e.status
  const error: { code: number; message: string; status: string; details?: unknown[] } = { code, message: e.message, status }
  if (e.retryAfter && e.retryAfter > 0) {
    error.details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${Math.ceil(e.retryAfter)}s` }]
  }
  return { error }
}

const KIND_OF_STATUS: Record<string, ErrorKind> = {
  INVALID_ARGUMENT: 'invalid_request', FAILED_PRECONDITION: 'invalid_request', OUT_OF_RANGE: 'invalid_request',
  UNAUTHENTICATED: 'authentication', PERMISSION_DENIED: 'permission', NOT_FOUND: 'not_found',
  RESOURCE_EXHAUSTED: 'rate_limit', UNAVAILABLE: 'unavailable', DEADLINE_EXCEEDED: 'timeout',
  INTERNAL: 'upstream', UNKNOWN: 'upstream', ABORTED: 'upstream', UNIMPLEMENTED: 'invalid_request',
}

function kindOfCode(code: number): ErrorKind {
  if (code === 401) return 'authentication'
  if (code === 403) return 'permission'
  if (code === 404) return 'not_found'
  if (code === 413) return 'request_too_large'
  if (code === 429) return 'rate_limit'
  if (code === 503) return 'unavailable'
  if (code === 504) return 'timeout'
  if (code >= 400 && code < 500) return 'invalid_request'
  return 'upstream'
}

/** A Google error body ({error: {code, message, status, details}}) → IR error. */
export function geminiErrorToIR(body: unknown, httpStatus?: number): IRError {
  const err = (body as any)?.error ?? {}
  const code = typeof err.code === 'number' ? err.code : httpStatus ?? 502
  const kind = KIND_OF_STATUS[String(err.status)] ?? kindOfCode(code)
  const out: IRError = { status: code, kind, message: typeof err.message === 'string' ? err.message : 'upstream error' }
  const retry = Array.isArray(err.details)
    ? err.details.find((d: any) => typeof d?.retryDelay === 'string')?.retryDelay as string | undefined
    : undefined
  if (retry) {
    const secs = parseFloat(retry)
    if (Number.isFinite(secs)) out.retryAfter = secs
  }
  return out
}

// ───────────── thinking ─────────────

export type Effort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh'

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
    none: pro ? 128 : 0, minimal: 512, low: 1024, medium: 8192, high: 24576, xhigh: pro ? 32768 : 24576,
  }
  return { thinkingBudget: budgets[effort] }
}

/** whether Gemini will think on this request (so functionCall turns need thought signatures) */
export function usesThinking(model: string, effort: Effort | undefined, budget: number | undefined): boolean {
  if (isGemini3(model)) return true
  if (budget !== undefined) return budget !== 0
  return effort !== undefined && effort !== 'none'
}
