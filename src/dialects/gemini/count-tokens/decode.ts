/**
 * A Gemini client's countTokens body (`{contents}` or `{generateContentRequest}`) → IR request.
 */
import type { CodecContext, IRRequest } from '../../../ir/types'
import { invalid } from '../../../ir/types'
import { camelize } from '../camel'
import { decodeGeminiRequest } from '../generate/decode'

/** a Gemini client's countTokens body ({contents} or {generateContentRequest}) → IR request */
export function decodeGeminiCountTokensRequest(body: unknown, ctx: CodecContext): IRRequest {
  const b = camelize(body)
  const inner = b?.generateContentRequest
  if (inner && typeof inner === 'object') return decodeGeminiRequest(inner, ctx)
  if (Array.isArray(b?.contents)) return decodeGeminiRequest({ contents: b.contents }, ctx)
  throw invalid('countTokens needs contents or generateContentRequest', 'contents')
}
