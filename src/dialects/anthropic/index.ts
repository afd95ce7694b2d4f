/** The Anthropic Messages dialect, both directions. */
export { AnthropicMessagesBody, AnthropicCountTokensBody } from './schema'
export type { AnthropicMessagesBodyType, AnthropicCountTokensBodyType, AnthropicRequestWire } from './schema'
export { anthropicClient } from './client'
export { anthropicUpstream } from './upstream'
export { encodeCountTokensResponse, anthropicCountTokensUpstream, estimateTokens } from './count-tokens'
export { anthropicErrorType, anthropicErrorBody, errorFromWire as anthropicErrorFromWire } from './mapping'
