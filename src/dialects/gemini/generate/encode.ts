/**
 * IR response → Gemini GenerateContentResponse (for a Gemini client).
 * Thought parts are sent when the client asked for them (thinkingConfig.includeThoughts), and also when
 * they are signed (as thoughtSignature), so that the next turn can send them back intact.
 */
import type { CodecContext, IRResponse } from '../../../ir/types'
import { camelize } from '../camel'
import { finishToGemini, usageToGemini } from '../mapping'
import { dig } from '../../guards'

export type GeminiPartOut = Record<string, unknown>

/** whether the client asked for thought parts (no raw body, e.g. in tests: yes) */
export function thoughtsWanted(ctx: CodecContext): boolean {
  if (ctx.raw === undefined || ctx.raw === null) return true
  return dig(camelize(ctx.raw), 'generationConfig', 'thinkingConfig', 'includeThoughts') === true
}

/** args must be an object on the Gemini wire */
export function argsObject(json: string, ctx: CodecContext): Record<string, unknown> {
  if (!json) return {}
  try {
    const v = JSON.parse(json)
    if (v && typeof v === 'object' && !Array.isArray(v)) return v
  } catch {
    /* fall through */
  }
  ctx.warn('tool call arguments are not a JSON object; sent as {}')
  return {}
}

/** A thought part. Unwanted thoughts are still sent when signed: the signature is only valid with its text,
 *  and a provider such as Anthropic needs the whole block back on the next turn of a tool loop. */
export function thoughtPart(text: string, signature: string | undefined, show: boolean): GeminiPartOut | undefined {
  if (!show && !signature) return undefined
  return { text, thought: true, ...(signature ? { thoughtSignature: signature } : {}) }
}

/** a functionCall part, with its thoughtSignature when it has one */
export function functionCallPart(id: string, name: string, args: Record<string, unknown>, signature?: string): GeminiPartOut {
  return { functionCall: { id, name, args }, ...(signature ? { thoughtSignature: signature } : {}) }
}

/** IR response → GenerateContentResponse */
export function encodeGeminiResponse(res: IRResponse, ctx: CodecContext): unknown {
  const show = thoughtsWanted(ctx)
  const parts: GeminiPartOut[] = []
  for (const p of res.content) {
    if (p.type === 'thinking') {
      if (p.redacted) continue // provider-specific opaque data: nothing Gemini can show or send back
      const part = thoughtPart(p.text, p.signature, show)
      if (part) parts.push(part)
    } else if (p.type === 'text') {
      parts.push({ text: p.text })
    } else {
      parts.push(functionCallPart(p.id, p.name, argsObject(p.arguments, ctx), p.signature))
    }
  }
  if (!parts.length) parts.push({ text: '' })
  return {
    candidates: [{ content: { role: 'model', parts }, finishReason: finishToGemini(res.stopReason), index: 0 }],
    usageMetadata: usageToGemini(res.usage),
    modelVersion: ctx.clientModel,
    responseId: res.id,
  }
}
