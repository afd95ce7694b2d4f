/**
 * How one model call is carried out against a provider of a given type: a Plan, one of three kinds.
 * `local`: answered here (a token estimate for a provider without a count endpoint). `pass-through`: same
 * dialect, bytes through with only the model rewritten. `translated`: client wire → IR → upstream wire, and back.
 */
import type { CodecContext, ClientCodec, IRRequest, UpstreamCodec, IREvent, IRError, Dialect } from '../ir/types'
import { IRErrorValue, invalid, err } from '../ir/errors'
import type { EndpointId } from '../endpoints'
import { frameReader, type FrameReader } from '../endpoints/frames'
import type { ModelCall } from './types'
import type { Provider, ProviderType } from '../providers/registry'
import { sseFrame } from '../ir/sse'
import {
  anthropicClient, anthropicUpstream, encodeCountTokensResponse, anthropicCountTokensUpstream, estimateTokens, anthropicErrorBody,
} from '../dialects/anthropic'
import {
  geminiClient, geminiStreamContentType, geminiUpstream, geminiCountTokensUpstream, decodeGeminiCountTokens, encodeGeminiCountTokensResponse,
  decodeGeminiCountTokensRequest, encodeGeminiEmbedUpstream, decodeGeminiEmbedUpstream, geminiErrorBody,
} from '../dialects/gemini'
import {
  openaiChatClient, openaiChatUpstream, openaiCompletionsClient, openaiResponsesClient, decodeEmbeddingRequest, encodeEmbeddingResponse,
  responseError, openaiErrorBody,
} from '../dialects/openai'

export const CLIENT_CODECS: Partial<Record<EndpointId, ClientCodec<any>>> = { // any: each endpoint's codec takes its own body type
  'openai.chat': openaiChatClient,
  'openai.completions': openaiCompletionsClient,
  'openai.responses': openaiResponsesClient,
  'anthropic.messages': anthropicClient,
  'gemini.generate': geminiClient,
  'gemini.stream': geminiClient,
}

export const UPSTREAM_CODECS: Record<ProviderType, UpstreamCodec> = {
  openai: openaiChatUpstream,
  anthropic: anthropicUpstream,
  gemini: geminiUpstream,
}

export const sameDialect = (endpoint: EndpointId, type: ProviderType) => endpoint.startsWith(type + '.')

/** Whether the client asked for a stream. */
export function clientStreams(call: ModelCall): boolean {
  if (call.endpoint.id === 'gemini.stream') return true
  if (call.endpoint.id === 'gemini.generate' || call.endpoint.id.endsWith('count_tokens') || call.endpoint.id === 'openai.embeddings') return false
  return call.body.stream === true
}

/** What goes upstream for a model. */
export type UpstreamBody = { path: string; body: string | Uint8Array }

/** What every upstream-calling plan has. */
interface Upstream {
  request(model: string): UpstreamBody
  /** the client's stream content type (the upstream is asked to stream when the plan streams) */
  streamContentType: string
  /** an error frame in the client's stream dialect (after the first byte) */
  errorFrame: (e: IRError) => Uint8Array
}

export type Plan =
  | { kind: 'local'; answer: () => { body: unknown; status?: number } }
  | (Upstream & { kind: 'pass-through'; upstreamStreams: boolean; frames: FrameReader })
  | (Upstream & {
    kind: 'translated'
    /** a whole JSON answer → the client's body */
    decodeJson: (json: unknown) => unknown
    /** present when the upstream is asked to stream */
    stream?: {
      decode: (body: ReadableStream<Uint8Array>) => AsyncIterable<IREvent>
      encode: (events: AsyncIterable<IREvent>) => ReadableStream<Uint8Array>
    }
  })

const te = new TextEncoder()
const json = (v: unknown) => JSON.stringify(v)
const SSE = 'text/event-stream; charset=utf-8'
const ERROR_BODY: Record<Dialect, (e: IRError) => unknown> = { openai: openaiErrorBody, anthropic: anthropicErrorBody, gemini: geminiErrorBody }

/** Rewrite only the model of a JSON body (bytes untouched when it is already right). */
function withModel(call: ModelCall, model: string): string | Uint8Array {
  if (call.body.model === model) return call.bytes
  return json({ ...call.body, model })
}

/** The in-stream error frame a client of this endpoint understands: the dialect's one error body (as its stream
 *  encoder sends it), framed for a pass-through stream. */
export function streamErrorFrame(endpoint: EndpointId, query: URLSearchParams): (e: IRError) => Uint8Array {
  switch (endpoint) {
    case 'anthropic.messages': return (e) => sseFrame(ERROR_BODY.anthropic(e), 'error')
    case 'openai.responses': return (e) => sseFrame({
      type: 'response.failed', sequence_number: 999999,
      response: { id: 'resp_error', object: 'response', status: 'failed', error: responseError(e), output: [] },
    }, 'response.failed')
    case 'gemini.stream': return query.get('alt') === 'sse' ? (e) => sseFrame(ERROR_BODY.gemini(e)) : (e) => te.encode(',' + json(ERROR_BODY.gemini(e)) + ']')
    default: return (e) => te.encode(`data: ${json(ERROR_BODY.openai(e))}\n\ndata: [DONE]\n\n`)
  }
}

/** Same-dialect upstream paths, per endpoint (Gemini: the model goes in the path, the body keeps its bytes). */
function passThroughRequest(call: ModelCall, alt: boolean): ((m: string) => UpstreamBody) | undefined {
  const gemini = (action: string) => (m: string) => ({ path: `/v1beta/models/${encodeURIComponent(m)}:${action}`, body: call.bytes })
  const path = (p: string) => (m: string) => ({ path: p, body: withModel(call, m) })
  switch (call.endpoint.id) {
    case 'openai.chat': return path('/chat/completions')
    case 'openai.completions': return path('/completions')
    case 'openai.responses': return path('/responses')
    case 'openai.embeddings': return path('/embeddings')
    case 'anthropic.messages': return path('/v1/messages')
    case 'anthropic.count_tokens': return path('/v1/messages/count_tokens')
    case 'gemini.generate': return gemini('generateContent')
    case 'gemini.stream': return gemini(`streamGenerateContent${alt ? '?alt=sse' : ''}`)
    case 'gemini.count_tokens': return gemini('countTokens')
  }
}

/** Same dialect: bytes through. */
function passThroughPlan(call: ModelCall, errorFrame: Upstream['errorFrame']): Plan | undefined {
  const alt = call.query.get('alt') === 'sse'
  const request = passThroughRequest(call, alt)
  if (!request) return undefined
  const streamContentType = call.endpoint.id === 'gemini.stream' && !alt ? 'application/json; charset=utf-8' : SSE
  const frames = frameReader(call.endpoint.id, call.endpoint.id !== 'gemini.stream' || alt)
  return { kind: 'pass-through', upstreamStreams: clientStreams(call), errorFrame, streamContentType, frames, request }
}

/** Token counting across dialects: the provider's own count endpoint, or a local estimate (OpenAI has none). */
function countTokensPlan(call: ModelCall, provider: Provider, ctx: CodecContext, errorFrame: Upstream['errorFrame']): Plan {
  const anthropic = call.endpoint.id === 'anthropic.count_tokens'
  const ir: IRRequest = anthropic ? anthropicClient.decodeRequest(call.body as any, ctx) : decodeGeminiCountTokensRequest(call.body, ctx) // any: validated body
  const answer = (n: number) => (anthropic ? encodeCountTokensResponse(n) : encodeGeminiCountTokensResponse(n))
  if (provider.type === 'openai') return { kind: 'local', answer: () => ({ body: answer(estimateTokens(ir)) }) }
  const base = { kind: 'translated' as const, errorFrame, streamContentType: SSE }
  if (provider.type === 'gemini') {
    return { ...base, request: (m) => { const r = geminiCountTokensUpstream({ ...ir, model: m }, ctx); return { path: r.path, body: json(r.body) } },
      decodeJson: (j) => answer(decodeGeminiCountTokens(j)) }
  }
  return { ...base, request: (m) => { const r = anthropicCountTokensUpstream({ ...ir, model: m }, ctx); return { path: r.path, body: json(r.body) } },
    decodeJson: (j) => answer(Number((j as { input_tokens?: unknown } | null)?.input_tokens ?? 0)) }
}

/** Embeddings across dialects: only Gemini has them besides OpenAI. */
function embeddingsPlan(call: ModelCall, provider: Provider, ctx: CodecContext, errorFrame: Upstream['errorFrame']): Plan {
  if (provider.type !== 'gemini') {
    throw new IRErrorValue(err('invalid_request', `Embeddings are not available from provider ${provider.name} (type ${provider.type}: Anthropic has no embeddings API). `
      + 'Route this model to an OpenAI-compatible or Gemini provider.', { param: 'model' }))
  }
  const req = decodeEmbeddingRequest(call.body as any) // any: validated body
  return {
    kind: 'translated', errorFrame, streamContentType: SSE,
    request: (m) => { const r = encodeGeminiEmbedUpstream({ ...req, model: m }); return { path: r.path, body: json(r.body) } },
    decodeJson: (j) => encodeEmbeddingResponse({ ...decodeGeminiEmbedUpstream(j, req.model, req.input), model: ctx.clientModel }, ctx),
  }
}

/** Generation across dialects, through the IR. */
function translatedPlan(call: ModelCall, provider: Provider, ctx: CodecContext, errorFrame: Upstream['errorFrame']): Plan {
  const id = call.endpoint.id
  const client = CLIENT_CODECS[id]
  if (!client) throw invalid(`${id} cannot be served by a ${provider.type} provider`)
  const upstream = UPSTREAM_CODECS[provider.type]
  const ir = client.decodeRequest(call.body, ctx)
  ir.stream = clientStreams(call)
  return {
    kind: 'translated',
    errorFrame,
    streamContentType: id.startsWith('gemini.') ? geminiStreamContentType(ctx) : SSE,
    request: (m) => { const r = upstream.encodeRequest({ ...ir, model: m }, ctx); return { path: r.path, body: json(r.body) } },
    decodeJson: (j) => client.encodeResponse(upstream.decodeResponse(j, ctx), ctx),
    stream: ir.stream ? { decode: (body) => upstream.decodeStream(body, ctx), encode: (events) => client.encodeStream(events, ctx) } : undefined,
  }
}

/** The plan for a call to a provider. Throws IRErrorValue when the request cannot be served by it. */
export function makePlan(call: ModelCall, provider: Provider, ctx: CodecContext): Plan {
  const id = call.endpoint.id
  const errorFrame = streamErrorFrame(id, call.query)
  const same = sameDialect(id, provider.type) ? passThroughPlan(call, errorFrame) : undefined
  if (same) return same
  if (id === 'anthropic.count_tokens' || id === 'gemini.count_tokens') return countTokensPlan(call, provider, ctx, errorFrame)
  if (id === 'openai.embeddings') return embeddingsPlan(call, provider, ctx, errorFrame)
  return translatedPlan(call, provider, ctx, errorFrame)
}
