/**
 * The Anthropic dialect, as the rest of agproxy sees it: the client codec of POST /v1/messages (also decoding
 * /v1/messages/count_tokens bodies), the request body types (the schemas are built at their first use), the upstream codec for Anthropic-type providers
 * (POST {base}/v1/messages, with signed thinking carried across clients that drop it), token counting,
 * and its error body.
 */
import type { ClientCodec, UpstreamCodec } from '../../ir/types'
import type { AnthropicRequestWire } from './messages/schema'
import { decodeAnthropicRequest } from './messages/decode'
import { encodeAnthropicResponse } from './messages/encode'
import { AnthropicStreamWriter, encodeAnthropicStream } from './messages/stream'
import { encodeAnthropicRequest } from './upstream/request'
import { decodeAnthropicResponse } from './upstream/response'
import { decodeAnthropicBatches, decodeAnthropicStream } from './upstream/stream'
import { rememberFromBatches, rememberFromResponse, rememberFromStream, restoreThinking } from './upstream/thinking-memory'
import { memoryOf } from '../../ir/signatures'

export type { AnthropicMessagesBodyType, AnthropicRequestWire } from './messages/schema'
export type { AnthropicCountTokensBodyType } from './count-tokens/schema'
export { encodeCountTokensResponse } from './count-tokens/encode'
export { estimateTokens } from './count-tokens/estimate'
export { anthropicCountTokensUpstream } from './upstream/count-tokens'
export { errorBody as anthropicErrorBody, errorStatus as anthropicErrorStatus, errorFromWire as anthropicErrorFromWire } from './errors'

/** POST /v1/messages (and the body of /v1/messages/count_tokens) */
export const anthropicClient: ClientCodec<AnthropicRequestWire> = {
  decodeRequest: decodeAnthropicRequest,
  encodeResponse: encodeAnthropicResponse,
  encodeStream: encodeAnthropicStream,
  streamWriter: ctx => new AnthropicStreamWriter(ctx),
}

/** An Anthropic-type provider: signed thinking seen in answers is remembered by tool call, and put back in
 *  front of the tool call when a client sends the turn back without it. */
export const anthropicUpstream: UpstreamCodec = {
  encodeRequest: (req, ctx) => encodeAnthropicRequest({ ...req, messages: restoreThinking(req.messages, memoryOf(ctx)) }, ctx),
  decodeResponse: (body, ctx) => rememberFromResponse(decodeAnthropicResponse(body, ctx), memoryOf(ctx)),
  decodeStream: (body, ctx) => rememberFromStream(decodeAnthropicStream(body, ctx), memoryOf(ctx)),
  decodeBatches: (body, ctx) => rememberFromBatches(decodeAnthropicBatches(body, ctx), memoryOf(ctx)),
}
