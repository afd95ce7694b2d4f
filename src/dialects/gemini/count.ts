/**
 * countTokens, both ways, plus the embedding helpers (re-exported from ./embed).
 *   upstream: IR → POST /v1beta/models/{model}:countTokens, response → number
 *   client:   a countTokens body → IR request, and a number → {totalTokens}
 */
import type { CodecContext, IRRequest } from '../../ir/types'
import { invalid } from '../../ir/types'
import { camelize } from './camel'
import { decodeGeminiRequest } from './decode-request'
import { encodeGeminiBody, modelPath } from './encode-request'

export { encodeGeminiEmbedUpstream, decodeGeminiEmbedUpstream, decodeGeminiEmbedRequest, encodeGeminiEmbedResponse } from './embed'

const quiet: Pick<CodecContext, 'warn'> = { warn: () => {} }

/** contents alone, or the whole generateContentRequest when system / tools must be counted too */
export function geminiCountTokensUpstream(req: IRRequest, ctx?: CodecContext): { path: string; body: unknown } {
  const model = modelPath(req.model)
  const full = encodeGeminiBody({ ...req, stream: false }, { clientModel: req.model, ...quiet, ...ctx })
  const path = `/v1beta/models/${model}:countTokens`
  if (!full.systemInstruction && !full.tools) return { path, body: { contents: full.contents } }
  const { generationConfig: _g, ...rest } = full
  return { path, body: { generateContentRequest: { model: `models/${model}`, ...rest } } }
}

export function decodeGeminiCountTokens(body: unknown): number {
  const n = (body as any)?.totalTokens
  return typeof n === 'number' ? n : 0
}

export function encodeGeminiCountTokensResponse(n: number): { totalTokens: number } {
  return { totalTokens: n }
}

/** a Gemini client's countTokens body ({contents} or {generateContentRequest}) → IR request */
export function decodeGeminiCountTokensRequest(body: unknown, ctx: CodecContext): IRRequest {
  const b = camelize(body)
  const inner = b?.generateContentRequest
  if (inner && typeof inner === 'object') return decodeGeminiRequest(inner, ctx)
  if (Array.isArray(b?.contents)) return decodeGeminiRequest({ contents: b.contents }, ctx)
  throw invalid('countTokens needs contents or generateContentRequest', 'contents')
}
