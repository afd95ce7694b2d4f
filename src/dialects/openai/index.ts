/**
 * The OpenAI dialect, as the rest of agproxy sees it: the client codecs of its four inbound APIs
 * (Chat Completions, legacy Completions, Responses, Embeddings), their request body types (the schemas are in each
 * endpoint's schema.ts, built at their first use: src/dialects/endpoint.ts), the upstream
 * codec for OpenAI-compatible providers (POST {base}/chat/completions, /embeddings), and its error body.
 */
import type { ClientCodec, UpstreamCodec } from '../../ir/types'
import type { ChatCompletionRequestBody } from './chat/schema'
import { decodeChatRequest } from './chat/decode'
import { encodeChatResponse } from './chat/encode'
import { ChatStreamWriter, encodeChatStream } from './chat/stream'
import type { CompletionRequestBody } from './completions/schema'
import { decodeCompletionRequest } from './completions/decode'
import { encodeCompletionResponse } from './completions/encode'
import { encodeCompletionStream } from './completions/stream'
import type { ResponsesRequestBody } from './responses/schema'
import { decodeResponsesRequest } from './responses/decode'
import { encodeResponsesResponse, remember } from './responses/encode'
import { encodeResponsesStream } from './responses/stream'
import { encodeChatUpstreamRequest, type ChatUpstreamOptions } from './upstream/request'
import { decodeChatUpstreamResponse } from './upstream/response'
import { decodeChatUpstreamStream, decodeChatUpstreamBatches } from './upstream/stream'

export type { ChatCompletionRequestBody } from './chat/schema'
export type { CompletionRequestBody } from './completions/schema'
export type { ResponsesRequestBody } from './responses/schema'
export type { EmbeddingRequestBody } from './embeddings/schema'
export type { ChatUpstreamOptions } from './upstream/request'
export { decodeEmbeddingRequest } from './embeddings/decode'
export { encodeEmbeddingResponse, packFloat32Base64 } from './embeddings/encode'
export { encodeEmbeddingUpstream, decodeEmbeddingUpstream, unpackFloat32Base64 } from './upstream/embeddings'
export { decodeImagesRequest } from './images/decode'
export { encodeImagesResponse } from './images/encode'
export { errorBody as openaiErrorBody, errorStatus as openaiErrorStatus, errorFromWire as openaiErrorFromWire, responseError } from './errors'

/** POST /v1/chat/completions */
export const openaiChatClient: ClientCodec<ChatCompletionRequestBody> = {
  decodeRequest: decodeChatRequest,
  encodeResponse: encodeChatResponse,
  encodeStream: encodeChatStream,
  streamWriter: ctx => new ChatStreamWriter(ctx),
}

/** POST /v1/completions (legacy) */
export const openaiCompletionsClient: ClientCodec<CompletionRequestBody> = {
  decodeRequest: decodeCompletionRequest,
  encodeResponse: encodeCompletionResponse,
  encodeStream: encodeCompletionStream,
}

/** POST /v1/responses; a finished response is remembered for previous_response_id (unless store:false) */
export const openaiResponsesClient: ClientCodec<ResponsesRequestBody> = {
  decodeRequest: decodeResponsesRequest,
  encodeResponse: encodeResponsesResponse,
  encodeStream: (events, ctx) => encodeResponsesStream(events, ctx, { done: (id, content) => remember(id, content, ctx) }),
}

/** An upstream codec with per-provider options (e.g. `{ reasoningContent: 'drop' }` for servers that reject it). */
export function createOpenAIChatUpstream(opts: ChatUpstreamOptions = {}): UpstreamCodec {
  return {
    encodeRequest: (req, ctx) => encodeChatUpstreamRequest(req, ctx, opts),
    decodeResponse: decodeChatUpstreamResponse,
    decodeStream: decodeChatUpstreamStream,
    decodeBatches: decodeChatUpstreamBatches,
  }
}

export const openaiChatUpstream: UpstreamCodec = createOpenAIChatUpstream()
