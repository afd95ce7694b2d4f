/**
 * Cross-dialect plans that are not plain generation: token counting (the provider's own count endpoint, or a local
 * estimate where there is none), embeddings (OpenAI-compatible or Gemini only), Codex remote compaction (OpenAI's own, else a summary by the model),
 * images (OpenAI, or a Gemini image model through generateContent) and audio transcriptions (OpenAI only).
 */
import type { CodecContext, IRRequest, UpstreamCodec } from '../ir/types'
import { IRErrorValue, err, invalid } from '../ir/errors'
import {
  type AnthropicRequestWire,
  anthropicClient,
  anthropicUpstream,
  encodeCountTokensResponse,
  anthropicCountTokensUpstream,
  estimateTokens,
} from '../dialects/anthropic'
import {
  geminiCountTokensUpstream,
  decodeGeminiCountTokens,
  encodeGeminiCountTokensResponse,
  decodeGeminiCountTokensRequest,
  encodeGeminiEmbedUpstream,
  decodeGeminiEmbedUpstream,
  decodeGeminiEmbedRequest,
  encodeGeminiEmbedResponse,
  type GeminiEmbedContentBody,
  encodeGeminiImagesUpstream,
  decodeGeminiImagesUpstream,
  geminiUpstream,
} from '../dialects/gemini'
import {
  type ResponsesRequestBody,
  openaiResponsesClient,
  openaiChatUpstream,
  type EmbeddingRequestBody,
  decodeEmbeddingRequest,
  encodeEmbeddingResponse,
  encodeEmbeddingUpstream,
  decodeEmbeddingUpstream,
  decodeImagesRequest,
  encodeImagesResponse,
} from '../dialects/openai'
import { SSE, type EndpointId } from '../dialects/endpoint'
import { encodeInputTokensResponse } from '../dialects/openai/responses-input-tokens/endpoint'
import { compactRequest, encodeCompactResponse } from '../dialects/openai/responses-compact/encode'
import type { ModelCall, PlanTarget, SpecialPlan } from './plan'
import { wireOf } from '../config/schema'

const json = (v: unknown) => JSON.stringify(v)

/** How each token-counting endpoint reads its request and shapes its answer. */
const COUNTERS: Partial<Record<EndpointId, { decode(body: Record<string, unknown>, ctx: CodecContext): IRRequest; answer(n: number): unknown }>> = {
  'anthropic.count_tokens': { decode: (b, ctx) => anthropicClient.decodeRequest(b as AnthropicRequestWire, ctx), answer: encodeCountTokensResponse },
  'gemini.count_tokens': { decode: decodeGeminiCountTokensRequest, answer: encodeGeminiCountTokensResponse },
  'openai.responses_input_tokens': {
    decode: (b, ctx) => openaiResponsesClient.decodeRequest(b as ResponsesRequestBody, ctx),
    answer: encodeInputTokensResponse,
  },
}

/** Token counting across dialects: the provider's own count endpoint, or a local estimate (OpenAI and Converse have none). */
export const countTokensPlan: SpecialPlan = (call, provider, ctx) => {
  const counter = COUNTERS[call.endpoint.id]
  if (!counter) return undefined
  const ir = counter.decode(call.body, ctx) // validated by its schema
  const answer = counter.answer
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

/** Anthropic has no embeddings API: a request routed there is the caller's to re-route. */
function noEmbeddings(provider: PlanTarget): never {
  const why = `Embeddings are not available from provider ${provider.name} (type ${provider.type}: ${provider.type === 'bedrock' ? 'Bedrock embedding models are not served' : 'Anthropic has no embeddings API'}). `
  throw new IRErrorValue(err('invalid_request', `${why}Route this model to an OpenAI-compatible or Gemini provider.`, { param: 'model' }))
}

/** Embeddings across dialects: only Gemini has them besides OpenAI. */
export const embeddingsPlan: SpecialPlan = (call, provider, ctx) => {
  if (provider.type !== 'gemini') noEmbeddings(provider)
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

/** Gemini embedContent / batchEmbedContents on an OpenAI-compatible provider: its /embeddings, answered in Google's shape. */
export const geminiEmbedPlan: SpecialPlan = (call, provider) => {
  if (wireOf(provider.type) !== 'openai') noEmbeddings(provider)
  const batch = call.endpoint.id === 'gemini.batch_embed'
  const req = decodeGeminiEmbedRequest(call.body as GeminiEmbedContentBody, call.model, batch) // validated by its schema
  return {
    kind: 'translated',
    errorFrame: call.endpoint.errorFrame(call.query),
    streamContentType: SSE,
    request: m => {
      const r = encodeEmbeddingUpstream({ ...req, model: m })
      return { path: r.path, body: json(r.body) }
    },
    decodeJson: j => encodeGeminiEmbedResponse(decodeEmbeddingUpstream(j), batch),
  }
}

/** Codex remote compaction: OpenAI's own (an OpenAI provider serves it as sent); elsewhere (and on a chat-only server) the
 *  model writes a summary of the conversation, answered as the compacted history (the user messages, then the summary). */
export const compactPlan: SpecialPlan = (call, provider, ctx) => {
  // an openai provider gets here only when it is chat-only (responses: chat, or found so)
  const codecs: Partial<Record<string, UpstreamCodec>> = { openai: openaiChatUpstream, gemini: geminiUpstream, anthropic: anthropicUpstream }
  const upstream = codecs[wireOf(provider.type)]
  if (!upstream)
    throw invalid(`Remote compaction is not available from provider ${provider.name} (type ${provider.type}); route this model elsewhere.`, 'model')
  const ir = compactRequest(openaiResponsesClient.decodeRequest(call.body as ResponsesRequestBody, ctx)) // validated by its schema
  return {
    kind: 'translated',
    errorFrame: call.endpoint.errorFrame(call.query),
    streamContentType: SSE,
    request: m => {
      const r = upstream.encodeRequest({ ...ir, model: m }, ctx)
      return { path: r.path, body: json(r.body) }
    },
    decodeJson: j => encodeCompactResponse(call.body.input, upstream.decodeResponse(j, ctx)),
  }
}

/** an edit's image files (`image`, or `image[]` as the SDK sends several), base64 */
const imageFiles = (call: ModelCall) =>
  (call.parts ?? [])
    .filter(p => p.filename !== undefined && (p.name === 'image' || p.name === 'image[]'))
    .map(p => ({ mimeType: p.type ?? 'image/png', data: Buffer.from(p.data).toString('base64') }))

/** Images (generations and edits) on a Gemini image model: generateContent with image output, answered in OpenAI's shape. */
export const imagesPlan: SpecialPlan = (call, provider, ctx) => {
  if (wireOf(provider.type) !== 'gemini') {
    const why = `Images are not available from provider ${provider.name} (type ${provider.type} has no image generation). `
    throw invalid(`${why}Route this model to an OpenAI-compatible provider or a Gemini image model (e.g. gemini-2.5-flash-image).`, 'model')
  }
  if (call.endpoint.streams(call.body)) throw invalid('stream: Gemini image models answer whole images here; send the request without stream.', 'stream')
  const edit = call.endpoint.id === 'openai.image_edits'
  const images = edit ? imageFiles(call) : undefined
  if (edit && !images?.length) throw invalid('image: an edit needs at least one image file (the form field image, or image[]).', 'image')
  if (edit && call.parts?.some(p => p.name === 'mask')) ctx.warn('mask: Gemini image models take no mask; the edit follows the prompt alone.')
  const req = decodeImagesRequest(call.body, images)
  return {
    kind: 'translated',
    errorFrame: call.endpoint.errorFrame(call.query),
    streamContentType: SSE,
    request: m => {
      const r = encodeGeminiImagesUpstream({ ...req, model: m })
      return { path: r.path, body: json(r.body) }
    },
    decodeJson: j => encodeImagesResponse(decodeGeminiImagesUpstream(j), call.body.response_format),
  }
}

/** Audio transcriptions: OpenAI's (an OpenAI provider gets the form as sent); no other provider type has them. */
export const transcriptionsPlan: SpecialPlan = (_call, provider) => {
  throw invalid(
    `Audio transcriptions are served by OpenAI-compatible providers only; provider ${provider.name} is type ${provider.type}. ` +
      'Route this model to an openai provider (e.g. whisper-1 or gpt-4o-transcribe).',
    'model',
  )
}
