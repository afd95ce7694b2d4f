/**
 * IR embedding request → Gemini POST /v1beta/models/{model}:batchEmbedContents, and its answer → IR.
 * Gemini reports no token usage for embeddings: it is estimated (~4 characters a token).
 */
import type { IREmbeddingRequest, IREmbeddingResponse } from '../../../ir/types'
import { IRErrorValue } from '../../../ir/types'
import { asArray, asObject, dig } from '../../guards'
import { errorFromWire } from '../errors'
import { modelPath, modelSegment } from './request'

const estimateTokens = (texts: string[]): number => texts.reduce((n, t) => n + Math.ceil(t.length / 4), 0)

/** IR → POST :batchEmbedContents (one request per input text) */
export function encodeGeminiEmbedUpstream(req: IREmbeddingRequest): { path: string; body: unknown } {
  const model = modelPath(req.model)
  return {
    path: `/v1beta/models/${modelSegment(req.model)}:batchEmbedContents`,
    body: {
      requests: req.input.map(text => ({
        model: `models/${model}`,
        content: { parts: [{ text }] },
        ...(req.dimensions ? { outputDimensionality: req.dimensions } : {}),
      })),
    },
  }
}

/** the :batchEmbedContents (or :embedContent) answer → IR; usage estimated when Gemini reports none */
export function decodeGeminiEmbedUpstream(body: unknown, model: string, input: string[] = []): IREmbeddingResponse {
  const b = asObject(body)
  if (b.error) throw new IRErrorValue(errorFromWire(b))
  const list = Array.isArray(b.embeddings) ? b.embeddings : b.embedding ? [b.embedding] : []
  const embeddings = list.map(e => asArray(dig(e, 'values')).map(Number))
  const reported = dig(b, 'usageMetadata', 'promptTokenCount')
  return { model, embeddings, usage: { inputTokens: typeof reported === 'number' ? reported : estimateTokens(input) } }
}
