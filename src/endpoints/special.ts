/**
 * Cross-dialect plans that are not plain generation: token counting (the provider's own count endpoint, or a local
 * estimate where there is none) and embeddings (OpenAI-compatible or Gemini only).
 */
import type { IRRequest } from '../ir/types'
import { IRErrorValue, err } from '../ir/errors'
import { type AnthropicRequestWire, anthropicClient, encodeCountTokensResponse, anthropicCountTokensUpstream, estimateTokens } from '../dialects/anthropic'
import {
  geminiCountTokensUpstream,
  decodeGeminiCountTokens,
  encodeGeminiCountTokensResponse,
  decodeGeminiCountTokensRequest,
  encodeGeminiEmbedUpstream,
  decodeGeminiEmbedUpstream,
} from '../dialects/gemini'
import { type EmbeddingRequestBody, decodeEmbeddingRequest, encodeEmbeddingResponse } from '../dialects/openai'
import { SSE } from '../dialects/endpoint'
import type { SpecialPlan } from './plan'
import { wireOf } from '../config/schema'

const json = (v: unknown) => JSON.stringify(v)

/** Token counting across dialects: the provider's own count endpoint, or a local estimate (OpenAI and Converse have none). */
export const countTokensPlan: SpecialPlan = (call, provider, ctx) => {
  const anthropic = call.endpoint.id === 'anthropic.count_tokens'
  const ir: IRRequest = anthropic ? anthropicClient.decodeRequest(call.body as AnthropicRequestWire, ctx) : decodeGeminiCountTokensRequest(call.body, ctx) // validated by its schema
  const answer = (n: number) => (anthropic ? encodeCountTokensResponse(n) : encodeGeminiCountTokensResponse(n))
  if (wireOf(provider.type) === 'openai' || provider.type === 'bedrock') return { kind: 'local', answer: () => ({ body: answer(estimateTokens(ir)) }) }
  const base = { kind: 'translated' as const, errorFrame: call.endpoint.errorFrame(call.query), streamContentType: SSE }
  if (provider.type === 'gemini') {
    return {
      ...base,
      request: m => {
        const r = geminiCountTokensUpstream({ ...ir, model: m }, ctx)
        return { path: r.path, body: json(r.body) }
      },
      decodeJson: j => answer(decodeGeminiCountTokens(j)),
    }
  }
  return {
    ...base,
    request: m => {
      const r = anthropicCountTokensUpstream({ ...ir, model: m }, ctx)
      return { path: r.path, body: json(r.body) }
    },
    decodeJson: j => answer(Number((j as { input_tokens?: unknown } | null)?.input_tokens ?? 0)),
  }
}

/** Embeddings across dialects: only Gemini has them besides OpenAI. */
export const embeddingsPlan: SpecialPlan = (call, provider, ctx) => {
  if (provider.type !== 'gemini') {
    const why = `Embeddings are not available from provider ${provider.name} (type ${provider.type}: ${provider.type === 'bedrock' ? 'Bedrock embedding models are not served' : 'Anthropic has no embeddings API'}). `
    throw new IRErrorValue(err('invalid_request', `${why}Route this model to an OpenAI-compatible or Gemini provider.`, { param: 'model' }))
  }
  const req = decodeEmbeddingRequest(call.body as EmbeddingRequestBody) // validated by its schema
  return {
    kind: 'translated',
    errorFrame: call.endpoint.errorFrame(call.query),
    streamContentType: SSE,
    request: m => {
      const r = encodeGeminiEmbedUpstream({ ...req, model: m })
      return { path: r.path, body: json(r.body) }
    },
    decodeJson: j => encodeEmbeddingResponse({ ...decodeGeminiEmbedUpstream(j, req.model, req.input), model: ctx.clientModel }, ctx),
  }
}
