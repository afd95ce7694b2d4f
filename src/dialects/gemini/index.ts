/**
 * The Gemini dialect, as the rest of agproxy sees it: the client codec of generateContent /
 * streamGenerateContent, countTokens and embeddings both ways, the request body types (the schemas are built at their
 * first use), the upstream codec for
 * Gemini-type providers (POST {base}/v1beta/models/{model}:generateContent | :streamGenerateContent?alt=sse),
 * and its error body.
 */
import type { ClientCodec, UpstreamCodec } from '../../ir/types'
import { decodeGeminiRequest } from './generate/decode'
import type { GeminiGenerateContentBody } from './generate/schema'
import { encodeGeminiResponse } from './generate/encode'
import { GeminiStreamWriter, encodeGeminiStream } from './generate/stream'
import { encodeGeminiRequest } from './upstream/request'
import { decodeGeminiResponse } from './upstream/response'
import { decodeGeminiBatches, decodeGeminiStream } from './upstream/stream'

export type { GeminiGenerateContentBody } from './generate/schema'
export type { GeminiCountTokensBody } from './count-tokens/schema'
export type { GeminiEmbedContentBody, GeminiBatchEmbedContentsBody } from './embed/schema'
export { geminiStreamContentType } from './generate/stream'
export { decodeGeminiCountTokensRequest } from './count-tokens/decode'
export { encodeGeminiCountTokensResponse } from './count-tokens/encode'
export { decodeGeminiEmbedRequest } from './embed/decode'
export { encodeGeminiEmbedResponse } from './embed/encode'
export { geminiCountTokensUpstream, decodeGeminiCountTokens } from './upstream/count-tokens'
export { encodeGeminiEmbedUpstream, decodeGeminiEmbedUpstream } from './upstream/embed'
export { encodeGeminiImagesUpstream, decodeGeminiImagesUpstream } from './upstream/images'
export { cleanSchemaForGemini } from './schema-clean'
export { errorBody as geminiErrorBody, errorStatus as geminiErrorStatus, errorFromWire as geminiErrorFromWire } from './errors'

/** POST /v1beta/models/{model}:generateContent and :streamGenerateContent. The caller sets `stream` from the
 *  endpoint and passes `?alt` in ctx.query. */
export const geminiClient: ClientCodec<GeminiGenerateContentBody> = {
  decodeRequest: decodeGeminiRequest,
  encodeResponse: encodeGeminiResponse,
  encodeStream: encodeGeminiStream,
  streamWriter: ctx => new GeminiStreamWriter(ctx),
}

/** A Gemini-type provider (generativelanguage.googleapis.com or compatible). */
export const geminiUpstream: UpstreamCodec = {
  encodeRequest: encodeGeminiRequest,
  decodeResponse: decodeGeminiResponse,
  decodeStream: decodeGeminiStream,
  decodeBatches: decodeGeminiBatches,
}
