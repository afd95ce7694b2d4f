/**
 * Request schema of POST /v1/messages/count_tokens: the messages fields without the generation-only ones
 * (max_tokens, stream, sampling). The messages decoder reads it.
 */
import { t, type Static } from 'elysia'
import { AnthropicRequestFields } from '../messages/schema'

export const AnthropicCountTokensBody = t.Object(AnthropicRequestFields, { additionalProperties: true })

export type AnthropicCountTokensBodyType = Static<typeof AnthropicCountTokensBody>
