/**
 * IR → Gemini POST /v1beta/models/{model}:countTokens, and its answer → a number.
 */
import type { CodecContext, IRRequest } from '../../../ir/types'
import { encodeGeminiBody, modelPath, modelSegment } from './request'
import { dig } from '../../guards'

const quiet: Pick<CodecContext, 'warn'> = { warn: () => {} }

/** contents alone, or the whole generateContentRequest when system / tools must be counted too */
export function geminiCountTokensUpstream(req: IRRequest, ctx?: CodecContext): { path: string; body: unknown } {
  const model = modelPath(req.model)
  const full = encodeGeminiBody({ ...req, stream: false }, { clientModel: req.model, ...quiet, ...ctx })
  const path = `/v1beta/models/${modelSegment(req.model)}:countTokens`
  if (!full.systemInstruction && !full.tools) return { path, body: { contents: full.contents } }
  const { generationConfig: _g, ...rest } = full
  return { path, body: { generateContentRequest: { model: `models/${model}`, ...rest } } }
}

/** the countTokens answer → its totalTokens (0 when missing) */
export function decodeGeminiCountTokens(body: unknown): number {
  const n = dig(body, 'totalTokens')
  return typeof n === 'number' ? n : 0
}
