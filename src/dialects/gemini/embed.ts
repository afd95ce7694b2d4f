/**
 * Embeddings, both ways:
 * - upstream: IR embedding request → :batchEmbedContents, and its response → IR
 * - client:   :embedContent / :batchEmbedContents bodies → IR, and IR → their responses
 * Gemini reports no token usage for embeddings: it is estimated (~4 characters a token).
 */
import type { IREmbeddingRequest, IREmbeddingResponse } from '../../ir/types'
import { invalid, IRErrorValue } from '../../ir/types'
import { camelize } from './camel'
import { geminiErrorToIR } from './mapping'
import { modelPath } from './encode-request'

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
  if (b?.error) throw new IRErrorValue(geminiErrorToIR(b))
  const list: unknown[] = Array.isArray(b?.embeddings) ? b.embeddings : b?.embedding ? [b.embedding] : []
  const embeddings = list.map((e: any) => (Array.isArray(e?.values) ? e.values.map(Number) : []))
  const reported = b?.usageMetadata?.promptTokenCount
  return { model, embeddings, usage: { inputTokens: typeof reported === 'number' ? reported : estimateTokens(input) } }
}

const contentText = (c: any): string =>
  (Array.isArray(c?.parts) ? c.parts : []).map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('')

/** a Gemini client's embedContent (batch = false) or batchEmbedContents (batch = true) body → IR */
export function decodeGeminiEmbedRequest(body: unknown, model: string, batch: boolean): IREmbeddingRequest {
  const b = camelize(body)
  const requests: any[] = batch ? (Array.isArray(b?.requests) ? b.requests : []) : [b]
  if (!requests.length) throw invalid('requests must not be empty', 'requests')
  const input = requests.map(r => contentText(r?.content))
  const dims = requests.find(r => typeof r?.outputDimensionality === 'number')?.outputDimensionality
  return { model, input, ...(dims ? { dimensions: dims } : {}) }
}

export function encodeGeminiEmbedResponse(res: IREmbeddingResponse, batch: boolean): unknown {
  const items = res.embeddings.map(values => ({ values }))
  return batch ? { embeddings: items } : { embedding: items[0] ?? { values: [] } }
}
