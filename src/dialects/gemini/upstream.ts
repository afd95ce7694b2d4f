/**
 * What agproxy speaks to a Gemini upstream (generativelanguage.googleapis.com or compatible):
 *   POST /v1beta/models/{model}:generateContent | :streamGenerateContent?alt=sse
 */
import type { UpstreamCodec } from '../../ir/types'
import { encodeGeminiRequest } from './encode-request'
import { decodeGeminiResponse, decodeGeminiStream } from './decode-response'

export const geminiUpstream: UpstreamCodec = {
  encodeRequest: encodeGeminiRequest,
  decodeResponse: decodeGeminiResponse,
  decodeStream: decodeGeminiStream,
}
