/**
 * The Bedrock wire, as the rest of agproxy sees it: the Converse / ConverseStream upstream codec of `type: bedrock`
 * providers (signed thinking remembered by tool call, as for Anthropic providers: Claude on Bedrock needs it back).
 */
import type { UpstreamCodec } from '../../ir/types'
import { memoryOf } from '../../ir/signatures'
import { rememberFromResponse, rememberFromStream, restoreThinking } from '../anthropic/upstream/thinking-memory'
import { encodeConverseRequest } from './upstream/request'
import { decodeConverseResponse } from './upstream/response'
import { decodeConverseStream } from './upstream/stream'

export { exceptionFromBedrock } from './mapping'
export { isClaude, modelPath } from './upstream/request'
export { BEDROCK_ANTHROPIC_VERSION, invokeRequest, invokeStreamToSSE } from './upstream/invoke'

/** A Bedrock provider through Converse / ConverseStream. */
export const bedrockUpstream: UpstreamCodec = {
  encodeRequest: (req, ctx) => encodeConverseRequest({ ...req, messages: restoreThinking(req.messages, memoryOf(ctx)) }, ctx),
  decodeResponse: (body, ctx) => rememberFromResponse(decodeConverseResponse(body, ctx), memoryOf(ctx)),
  decodeStream: (body, ctx) => rememberFromStream(decodeConverseStream(body, ctx), memoryOf(ctx)),
}
