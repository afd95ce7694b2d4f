/**
 * Tokens as an upstream reported them, read cheaply from what agproxy already holds: a whole JSON answer (already
 * parsed), or the first and last frames of a relayed stream (the guard keeps them). Each dialect's usage fields are
 * mapped by that dialect's own mapping (usageIn, usageFromWire, usageToIR): cached = prompt_tokens_details.cached_tokens
 * / cache_read_input_tokens / cachedContentTokenCount, reasoning = completion_tokens_details.reasoning_tokens /
 * output_tokens_details.reasoning_tokens / thoughtsTokenCount.
 */
import type { IRUsage, WireJson } from '../ir/types'
import { usageIn } from '../dialects/openai/mapping'
import { usageFromWire } from '../dialects/anthropic/mapping'
import { usageToIR } from '../dialects/gemini/mapping'
import { dataJson, lastBlock, someBlock, sseEvent } from '../dialects/frames'

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const isObj = (v: unknown): v is WireJson => !!v && typeof v === 'object' && !Array.isArray(v)

/** OpenAI Responses usage → IR usage. */
function responsesUsage(u: WireJson): IRUsage {
  const usage: IRUsage = { inputTokens: num(u.input_tokens) ?? 0, outputTokens: num(u.output_tokens) ?? 0 }
  const cached = num(u.input_tokens_details?.cached_tokens)
  if (cached) usage.cachedInputTokens = cached
  const reasoning = num(u.output_tokens_details?.reasoning_tokens)
  if (reasoning) usage.reasoningTokens = reasoning
  return usage
}

/** The usage one JSON object carries, whatever the dialect (an answer, a stream chunk or event); undefined when none. */
export function usageOf(j: unknown): Partial<IRUsage> | undefined {
  if (!isObj(j)) return undefined
  if (isObj(j.usageMetadata)) return usageToIR(j.usageMetadata)
  // Responses events carry the response; Anthropic's message_start its message
  const u = isObj(j.usage) ? j.usage : isObj(j.response?.usage) ? j.response.usage : isObj(j.message?.usage) ? j.message.usage : undefined
  if (!u) return undefined
  if (num(u.prompt_tokens) !== undefined) return usageIn(u)
  if (j.object === 'response' || isObj(j.response) || isObj(u.input_tokens_details) || isObj(u.output_tokens_details)) return responsesUsage(u)
  return usageFromWire(u)
}

/** Does an object report an error (OpenAI/Gemini `error`, Anthropic `type: error`, Responses `response.failed`)? */
const isError = (j: WireJson | undefined) => !!j && (j.error !== undefined && j.error !== null ? true : j.type === 'error' || j.type === 'response.failed')

/** What a run of complete stream frames says: the usage it reports (later frames win), and whether its last frame is an error. */
export function streamUsage(text: string, framing: 'sse' | 'json-array' = 'sse'): { usage?: Partial<IRUsage>; error: boolean } {
  if (framing === 'json-array') return arrayUsage(text)
  let usage: Partial<IRUsage> | undefined
  if (text.includes('sage')) {
    someBlock(text, block => {
      if (!block.includes('sage')) return false
      const e = sseEvent(block)
      const u = e && usageOf(dataJson(e))
      if (u) usage = { ...usage, ...u }
      return false
    })
  }
  const last = sseEvent(lastBlock(text))
  return { usage, error: !!last && (last.event === 'error' || isError(last.data === '[DONE]' ? undefined : dataJson(last))) }
}

/** Gemini's JSON-array stream: complete elements (`[{…}`, `,{…}`, `]`) joined back into an array. */
function arrayUsage(text: string): { usage?: Partial<IRUsage>; error: boolean } {
  const inner = text
    .trim()
    .replace(/^[[,]\s*/, '')
    .replace(/\]\s*$/, '')
  try {
    const items = JSON.parse(`[${inner}]`) as unknown[]
    let usage: Partial<IRUsage> | undefined
    for (const item of items) usage = usageOf(item) ?? usage
    return { usage, error: isError(items.at(-1) as WireJson | undefined) }
  } catch {
    return { error: false }
  }
}
