/**
 * Request schema of POST /v1beta/models/{model}:countTokens.
 */
import { t, type Static } from 'elysia'
import { GeminiContent, OpenObject, open, opt } from '../generate/schema'

/** countTokens: either `contents`, or a whole `generateContentRequest` (to count system + tools too) */
export const GeminiCountTokensBody = t.Object(
  {
    contents: opt(t.Array(GeminiContent)),
    generateContentRequest: opt(OpenObject),
    generate_content_request: opt(OpenObject),
  },
  open,
)

export type GeminiCountTokensBody = Static<typeof GeminiCountTokensBody>
