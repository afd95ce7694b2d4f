/**
 * The Plan for a call to a provider, read off the endpoint's descriptor: same dialect → pass-through (bytes through,
 * only the model rewritten); the endpoint's special plan when it has one (token counting, embeddings); else
 * translated generation through the IR with the descriptor's client codec and the provider type's upstream codec.
 */
import type { ClientCodec, CodecContext, IRError, UpstreamCodec } from '../ir/types'
import { batchesOf, eventsOf, writtenSource } from '../ir/batches'
import { invalid } from '../ir/errors'
import { ENDPOINTS, RESPONSES_APIS, type EndpointId, type ModelCall, type Plan } from '../endpoints'
import type { PlanTarget, Upstream } from '../endpoints/plan'
import { wireOf, type WireType } from '../providers/registry'
import { anthropicUpstream } from '../dialects/anthropic'
import { geminiUpstream } from '../dialects/gemini'
import { openaiChatUpstream } from '../dialects/openai'
import { setFormField } from '../dialects/multipart'
import { bedrockUpstream, invokeRequest, invokeStreamToSSE, isClaude } from '../dialects/bedrock'

export type { Plan } from '../endpoints'

export const UPSTREAM_CODECS: Record<WireType, UpstreamCodec> = {
  openai: openaiChatUpstream,
  anthropic: anthropicUpstream,
  gemini: geminiUpstream,
  bedrock: bedrockUpstream,
}

/** The in-stream error frame a client of this endpoint understands (its descriptor's). */
export const streamErrorFrame = (endpoint: EndpointId, query: URLSearchParams): ((e: IRError) => Uint8Array) => ENDPOINTS[endpoint].errorFrame(query)

/** Same dialect: bytes through; only the model is rewritten, unless it is in the path (the body keeps its bytes). */
function passThroughPlan(call: ModelCall, errorFrame: Upstream['errorFrame']): Plan {
  const e = call.endpoint
  const rewrite = e.passThrough.rewrite
  const body = (m: string) =>
    e.passThrough.keepsBytes || (!rewrite && call.body.model === m) ? call.bytes : JSON.stringify(rewrite ? rewrite(call.body, m) : { ...call.body, model: m })
  return {
    kind: 'pass-through',
    upstreamStreams: e.streams(call.body),
    errorFrame,
    streamContentType: e.streamContentType(call.query),
    frames: e.frames(call.query),
    request: e.multipart ? multipartBody(call) : m => ({ path: e.passThrough.path(m, call.query), body: body(m) }),
  }
}

/** A multipart body as sent, with its content type (boundary); only the `model` field is rewritten, in place. */
function multipartBody(call: ModelCall): Upstream['request'] {
  const contentType = call.request.headers.get('content-type') ?? ''
  return m => ({
    path: call.endpoint.passThrough.path(m, call.query),
    body: call.body.model === m ? call.bytes : setFormField(call.bytes, call.parts ?? [], 'model', m),
    contentType,
  })
}

/** Claude on Bedrock for an Anthropic client: InvokeModel with the client's own body (only the envelope changes), its
 *  event stream re-framed as Anthropic SSE; relayed like a pass-through. */
function bedrockInvokePlan(call: ModelCall, ctx: CodecContext, errorFrame: Upstream['errorFrame']): Plan {
  const e = call.endpoint
  const stream = e.streams(call.body)
  return {
    kind: 'pass-through',
    upstreamStreams: stream,
    errorFrame,
    streamContentType: e.streamContentType(call.query),
    frames: e.frames(call.query),
    request: m => invokeRequest(call.body, m, stream, call.request.headers.get('anthropic-beta')),
    reframe: body => invokeStreamToSSE(body, errorFrame, ctx.sseEventMax),
  }
}

/** Generation across dialects, through the IR. */
function translatedPlan(call: ModelCall, provider: PlanTarget, ctx: CodecContext, errorFrame: Upstream['errorFrame']): Plan {
  const client = call.endpoint.client
  if (!client) throw invalid(`${call.endpoint.id} cannot be served by a ${provider.type} provider`)
  const upstream = UPSTREAM_CODECS[wireOf(provider.type)]
  const ir = client.decodeRequest(call.body, ctx)
  ir.stream = call.endpoint.streams(call.body)
  return {
    kind: 'translated',
    errorFrame,
    streamContentType: call.endpoint.streamContentType(call.query, ctx),
    request: m => {
      const r = upstream.encodeRequest({ ...ir, model: m }, ctx)
      return { path: r.path, body: JSON.stringify(r.body) }
    },
    decodeJson: j => client.encodeResponse(upstream.decodeResponse(j, ctx), ctx),
    stream: ir.stream ? streamCodecs(client, upstream, ctx) : undefined,
  }
}

/** A translated stream's codecs, in batches: the codecs' own batch forms where they have them, else adapters. */
function streamCodecs(client: ClientCodec, upstream: UpstreamCodec, ctx: CodecContext): NonNullable<Extract<Plan, { kind: 'translated' }>['stream']> {
  return {
    decode: body => upstream.decodeBatches?.(body, ctx) ?? batchesOf(upstream.decodeStream(body, ctx)),
    encode: batches => (client.streamWriter ? writtenSource(batches, client.streamWriter(ctx)) : client.encodeStream(eventsOf(batches), ctx).getReader()),
  }
}

/** The plan for a call to a provider. Throws IRErrorValue when the request cannot be served by it.
 *  `ctx`: the codec context, made only for a plan that needs one (a pass-through needs none).
 *  `responsesViaChat`: a Responses call to an openai-wire provider goes translated, through Chat Completions (compaction
 *  and input token counts by their special plans: a summary through Chat Completions, a local estimate).
 *  `model`: the provider's model, when known (Anthropic Messages to Claude on Bedrock go through InvokeModel). */
export function makePlan(call: ModelCall, provider: PlanTarget, ctx: () => CodecContext, responsesViaChat = false, model = ''): Plan {
  const errorFrame = call.endpoint.errorFrame(call.query)
  if (provider.type === 'bedrock' && call.endpoint.id === 'anthropic.messages' && isClaude(model)) return bedrockInvokePlan(call, ctx(), errorFrame)
  const viaChat = responsesViaChat && RESPONSES_APIS.has(call.endpoint.id)
  if (call.endpoint.dialect === wireOf(provider.type) && !viaChat) return passThroughPlan(call, errorFrame)
  const context = ctx()
  return call.endpoint.special?.(call, provider, context) ?? translatedPlan(call, provider, context, errorFrame)
}
