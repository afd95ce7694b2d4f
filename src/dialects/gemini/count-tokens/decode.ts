/**
 * A Gemini client's countTokens body (`{contents}` or `{generateContentRequest}`) → IR request.
 */
import type { CodecContext, IRRequest } from '../../../ir/types'
import { invalid } from '../../../ir/types'
import { camelize } from '../camel'
import { decodeGenerateContent } from '../generate/decode'
import { asObject } from '../../guards'
import type { GeminiCountTokensBody } from './schema'

/** a Gemini client's countTokens body ({contents} or {generateContentRequest}) → IR request */
export function decodeGeminiCountTokensRequest(body: GeminiCountTokensBody, ctx: CodecContext): IRRequest {
  const b = asObject(camelize(body))
  const inner = b.generateContentRequest
  if (inner && typeof inner === 'object') return decodeGenerateContent(inner, ctx)
  if (Array.isArray(b.contents)) return decodeGenerateContent({ contents: b.contents }, ctx)
  throw invalid('countTokens needs contents or generateContentRequest', 'contents')
}
