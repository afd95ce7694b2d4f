/**
 * A local estimate of a request's input tokens, for providers without a counting endpoint. Dialect-neutral:
 * it reads an IR request from whichever client (Anthropic's count_tokens and Gemini's countTokens both use it).
 */
import type { IRRequest } from '../../../ir/types'

/** tokens an image costs, whatever its size (Anthropic: ~1600 for a ~1.15 MP image) */
export const IMAGE_TOKENS = 1600
const MESSAGE_OVERHEAD = 4
const TOOL_OVERHEAD = 10

/** ~4 characters per token for ASCII text; non-ASCII (CJK, accents, emoji) is much denser */
function textTokens(s: string): number {
  let ascii = 0
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 128) ascii++
  return ascii / 4 + (s.length - ascii) / 1.2
}

/** A local estimate of a request's input tokens (never 0 for a non-empty request). */
export function estimateTokens(req: IRRequest): number {
  let n = 0
  for (const s of req.system) n += textTokens(s) + 2
  for (const m of req.messages) {
    n += MESSAGE_OVERHEAD
    for (const p of m.content) {
      switch (p.type) {
        case 'text':
          n += textTokens(p.text)
          break
        case 'image':
          n += IMAGE_TOKENS
          break
        case 'thinking':
          n += textTokens(p.text)
          break
        case 'tool_call':
          n += TOOL_OVERHEAD + textTokens(p.name) + textTokens(p.arguments)
          break
        case 'tool_result':
          n += TOOL_OVERHEAD
          for (const c of p.content) n += c.type === 'text' ? textTokens(c.text) : IMAGE_TOKENS
          break
      }
    }
  }
  for (const t of req.tools ?? []) {
    n += TOOL_OVERHEAD + textTokens(t.name) + textTokens(t.description ?? '') + textTokens(JSON.stringify(t.parameters ?? {}))
  }
  for (const b of req.builtinTools ?? []) n += TOOL_OVERHEAD + textTokens(JSON.stringify(b.raw ?? b.kind))
  if (req.responseFormat?.type === 'json_schema') n += textTokens(JSON.stringify(req.responseFormat.schema))
  return Math.ceil(n)
}
