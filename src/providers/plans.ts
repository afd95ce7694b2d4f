/**
 * How one model call is carried out against a provider of a given type: what to send, and how to
 * turn a successful answer into the client's response. Same dialect: bytes through, only the model
 * rewritten. Otherwise: client wire → IR → upstream wire, and back.
 */
import type { CodecContext, ClientCodec, IRRequest, UpstreamCodec, IREvent, IRError } from '../ir/types'
import { IRErrorValue, invalid } from '../ir/types'
import type { EndpointId } from '../routes/endpoints'
import type { ModelCall } from './dispatch'
import type { Provider, ProviderType } from './registry'
import { errorBody, err } from '../http/errors'
import { sseFrame } from '../ir/sse'
import { anthropicClient, anthropicUpstream, encodeCountTokensResponse, anthropicCountTokensUpstream, estimateTokens } from '../dialects/anthropic'
import {
  geminiClient, geminiStreamContentType, geminiUpstream, geminiCountTokensUpstream, decodeGeminiCountTokens, encodeGeminiCountTokensResponse,
  decodeGeminiCountTokensRequest, encodeGeminiEmbedUpstream, decodeGeminiEmbedUpstream,
} from '../dialects/gemini'
import {
  openaiChatClient, openaiChatUpstream, openaiCompletionsClient, openaiResponsesClient, decodeEmbeddingRequest, encodeEmbeddingResponse,
  responseError,
} from '../dialects/openai'

export const CLIENT_CODECS: Partial<Record<EndpointId, ClientCodec<any>>> = {
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

export type Answer =
  | { kind: 'json'; body: unknown; status?: number }
  | { kind: 'bytes-json'; text: string; contentType: string }
  | { kind: 'stream'; stream: ReadableStream<Uint8Array>; contentType: string }

/** What a plan sends upstream, and how it reads the answer. */
export interface Plan {
  /** no upstream call needed: answer locally (e.g. a token estimate for a provider without a count endpoint) */
  local?: () => Answer
  request(model: string): { path: string; body: string | Uint8Array }
  /** the upstream is asked to stream */
  upstreamStreams: boolean
  /** same-dialect bytes (true) or translated IR (false) */
  passthrough: boolean
  /** for translated JSON answers */
  decodeJson?: (json: unknown) => unknown
  /** for translated streams */
  decodeStream?: (body: ReadableStream<Uint8Array>) => AsyncIterable<IREvent>
  encodeStream?: (events: AsyncIterable<IREvent>) => ReadableStream<Uint8Array>
  streamContentType: string
  /** pass-through streams: does the text so far contain content? is there an error in it? */
  hasContent?: (text: string) => boolean
  errorIn?: (text: string) => string | undefined
  /** an error frame in the client's stream dialect (after the first byte) */
  errorFrame: (e: IRError) => Uint8Array
}

const te = new TextEncoder()
const json = (v: unknown) => JSON.stringify(v)

/** Rewrite only the model of a JSON body (bytes untouched when it is already right). */
function withModel(call: ModelCall, model: string): string | Uint8Array {
  if (call.body.model === model) return call.bytes
  return json({ ...call.body, model })
}

const CONTENT: Record<string, RegExp> = {
  'openai.chat': /"(content|reasoning_content|reasoning)"\s*:\s*"[^"]|"tool_calls"\s*:\s*\[\s*\{/,
  'openai.completions': /"text"\s*:\s*"[^"]/,
  'openai.responses': /response\.(output_text|function_call_arguments|reasoning_summary_text|custom_tool_call_input)\.delta|"type"\s*:\s*"function_call"/,
  // an empty content_block_start is not yet content: a stall or error right after it must stay retryable
  'anthropic.messages': /content_block_delta|"type"\s*:\s*"(tool_use|server_tool_use|mcp_tool_use|redacted_thinking)"|message_delta/,
  'gemini.stream': /"parts"\s*:/,
}
const ERROR_IN: Record<string, RegExp> = {
  'openai.chat': /^data:\s*\{\s*"error"\s*:/m,
  'openai.completions': /^data:\s*\{\s*"error"\s*:/m,
  'openai.responses': /event:\s*(error|response\.failed)/,
  'anthropic.messages': /event:\s*error/,
  'gemini.stream': /"error"\s*:\s*\{/,
}

/** The in-stream error frame a client of this endpoint understands: the dialect's one error body (as its stream
 *  encoder sends it), framed for a pass-through stream. */
export function streamErrorFrame(endpoint: EndpointId, query: URLSearchParams): (e: IRError) => Uint8Array {
  switch (endpoint) {
    case 'anthropic.messages': return (e) => sseFrame(errorBody('anthropic', e), 'error')
    case 'openai.responses': return (e) => sseFrame({ type: 'response.failed', sequence_number: 999999, response: { id: 'resp_error', object: 'response', status: 'failed', error: responseError(e), output: [] } }, 'response.failed')
    case 'gemini.stream': return query.get('alt') === 'sse' ? (e) => sseFrame(errorBody('gemini', e)) : (e) => te.encode(',' + json(errorBody('gemini', e)) + ']')
    default: return (e) => te.encode(`data: ${json(errorBody('openai', e))}\n\ndata: [DONE]\n\n`)
  }
}

export function makePlan(call: ModelCall, provider: Provider, ctx: CodecContext): Plan {
  const id = call.endpoint.id
  const stream = clientStreams(call)
  const errorFrame = streamErrorFrame(id, call.query)
  const sse = 'text/event-stream; charset=utf-8'

  // ── same dialect: bytes through ──
  if (sameDialect(id, provider.type)) {
    const base = { passthrough: true, upstreamStreams: stream, errorFrame, hasContent: (t: string) => CONTENT[id]?.test(t) ?? true, errorIn: (t: string) => (ERROR_IN[id]?.test(t) ? firstErrorMessage(t) : undefined) }
    switch (id) {
      case 'openai.chat': return { ...base, streamContentType: sse, request: (m) => ({ path: '/chat/completions', body: withModel(call, m) }) }
      case 'openai.completions': return { ...base, streamContentType: sse, request: (m) => ({ path: '/completions', body: withModel(call, m) }) }
      case 'openai.responses': return { ...base, streamContentType: sse, request: (m) => ({ path: '/responses', body: withModel(call, m) }) }
      case 'openai.embeddings': return { ...base, streamContentType: sse, request: (m) => ({ path: '/embeddings', body: withModel(call, m) }) }
      case 'anthropic.messages': return { ...base, streamContentType: sse, request: (m) => ({ path: '/v1/messages', body: withModel(call, m) }) }
      case 'anthropic.count_tokens': return { ...base, streamContentType: sse, request: (m) => ({ path: '/v1/messages/count_tokens', body: withModel(call, m) }) }
      case 'gemini.generate': return { ...base, streamContentType: sse, request: (m) => ({ path: `/v1beta/models/${encodeURIComponent(m)}:generateContent`, body: call.bytes }) }
      case 'gemini.stream': {
        const alt = call.query.get('alt') === 'sse'
        return { ...base, streamContentType: alt ? sse : 'application/json; charset=utf-8', request: (m) => ({ path: `/v1beta/models/${encodeURIComponent(m)}:streamGenerateContent${alt ? '?alt=sse' : ''}`, body: call.bytes }) }
      }
      case 'gemini.count_tokens': return { ...base, streamContentType: sse, request: (m) => ({ path: `/v1beta/models/${encodeURIComponent(m)}:countTokens`, body: call.bytes }) }
    }
  }

  // ── token counting across dialects ──
  if (id === 'anthropic.count_tokens' || id === 'gemini.count_tokens') {
    const ir: IRRequest = id === 'anthropic.count_tokens' ? anthropicClient.decodeRequest(call.body as any, ctx) : decodeGeminiCountTokensRequest(call.body, ctx)
    const answer = (n: number) => (id === 'anthropic.count_tokens' ? encodeCountTokensResponse(n) : encodeGeminiCountTokensResponse(n))
    const base = { passthrough: false, upstreamStreams: false, errorFrame, streamContentType: sse }
    if (provider.type === 'openai') return { ...base, local: () => ({ kind: 'json', body: answer(estimateTokens(ir)) }), request: () => ({ path: '', body: '' }) }
    if (provider.type === 'gemini')
      return { ...base, request: (m) => { const r = geminiCountTokensUpstream({ ...ir, model: m }, ctx); return { path: r.path, body: json(r.body) } }, decodeJson: (j) => answer(decodeGeminiCountTokens(j)) }
    return { ...base, request: (m) => { const r = anthropicCountTokensUpstream({ ...ir, model: m }, ctx); return { path: r.path, body: json(r.body) } }, decodeJson: (j) => answer(Number((j as any)?.input_tokens ?? 0)) }
  }

  // ── embeddings across dialects ──
  if (id === 'openai.embeddings') {
    if (provider.type !== 'gemini') throw new IRErrorValue(err('invalid_request', `Embeddings are not available from provider ${provider.name} (type ${provider.type}: Anthropic has no embeddings API). Route this model to an OpenAI-compatible or Gemini provider.`, { param: 'model' }))
    const req = decodeEmbeddingRequest(call.body as any)
    return {
      passthrough: false, upstreamStreams: false, errorFrame, streamContentType: sse,
      request: (m) => { const r = encodeGeminiEmbedUpstream({ ...req, model: m }); return { path: r.path, body: json(r.body) } },
      decodeJson: (j) => encodeEmbeddingResponse({ ...decodeGeminiEmbedUpstream(j, req.model, req.input), model: ctx.clientModel }, ctx),
    }
  }

  // ── generation across dialects ──
  const client = CLIENT_CODECS[id]
  if (!client) throw invalid(`${id} cannot be served by a ${provider.type} provider`)
  const upstream = UPSTREAM_CODECS[provider.type]
  const ir = client.decodeRequest(call.body, ctx)
  ir.stream = stream
  return {
    passthrough: false,
    upstreamStreams: stream,
    errorFrame,
    streamContentType: id.startsWith('gemini.') ? geminiStreamContentType(ctx) : sse,
    request: (m) => { const r = upstream.encodeRequest({ ...ir, model: m }, ctx); return { path: r.path, body: json(r.body) } },
    decodeJson: (j) => client.encodeResponse(upstream.decodeResponse(j, ctx), ctx),
    decodeStream: (body) => upstream.decodeStream(body, ctx),
    encodeStream: (events) => client.encodeStream(events, ctx),
  }
}

/** The first error message found in a (partial) pass-through stream or JSON body. */
export function firstErrorMessage(text: string): string {
  const m = text.match(/"message"\s*:\s*"((?:[^"\\]|\\.)*)"/)
  if (m) { try { return JSON.parse(`"${m[1]}"`) } catch { return m[1]! } }
  return 'the upstream reported an error in the stream'
}
