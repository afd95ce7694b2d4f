/**
 * IR embedding request → Gemini POST /v1beta/models/{model}:batchEmbedContents, and its answer → IR.
 * Gemini reports no token usage for embeddings: it is estimated (~4 characters a token).
 */
import type { IREmbeddingRequest, IREmbeddingResponse } from '../../../ir/types'
import { IRErrorValue } from '../../../ir/types'
import { errorFromWire } from '../errors'
import { modelPath } from './request'

const estimateTokens = (texts: string[]): number => texts.reduce((n, t) => n + Math.ceil(t.length / 4), 0)

export function encodeGeminiEmbedUpstream(req: IREmbeddingRequest): { path: string; body: unknown } {
  const model = modelPath(req.model)
  return {
    path: `/v1beta/models/${model}:batchEmbedContents`,
    body: {
      requests: req.input.map(text => ({
        model: `models/${model}`,
        content: { parts: [{ text }] },
        ...(req.dimensions ? { outputDimensionality: req.dimensions } : {}),
      })),
    },
  }
}

export function decodeGeminiEmbedUpstream(body: unknown, model: string, input: string[] = []): IREmbeddingResponse {
  const b = body as any
  if (b?.error) throw new IRErrorValue(errorFromWire(b))
  const list: unknown[] = Array.isArray(b?.embeddings) ? b.embeddings : b?.embedding ? [b.embedding] : []
  const embeddings = list.map((e: any) => (Array.isArray(e?.values) ? e.values.map(Number) : []))
  const reported = b?.usageMetadata?.promptTokenCount
  return { model, embeddings, usage: { inputTokens: typeof reported === 'number' ? reported : estimateTokens(input) } }
}
