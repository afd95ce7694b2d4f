/**
 * What agproxy speaks to a Gemini client (POST /v1beta/models/{model}:generateContent and
 * :streamGenerateContent). The caller sets `stream` from the endpoint and passes `?alt` in ctx.query.
 */
import type { ClientCodec } from '../../ir/types'
import { decodeGeminiRequest } from './decode-request'
import { encodeGeminiResponse } from './encode-response'
import { encodeGeminiStream } from './encode-stream'

export const geminiClient: ClientCodec = {
  decodeRequest: decodeGeminiRequest,
  encodeResponse: encodeGeminiResponse,
  encodeStream: encodeGeminiStream,
}

export { geminiStreamContentType } from './encode-stream'
export { geminiErrorBody, geminiErrorToIR } from './mapping'
