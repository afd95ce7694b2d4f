/**
 * What agproxy speaks to an Anthropic-type provider (POST {base}/v1/messages).
 */
import type { UpstreamCodec } from '../../ir/types'
import { encodeAnthropicRequest } from './upstream-request'
import { decodeAnthropicResponse } from './upstream-response'
import { decodeAnthropicStream } from './upstream-stream'
import { rememberFromResponse, rememberFromStream, restoreThinking } from './thinking-memory'

export const anthropicUpstream: UpstreamCodec = {
  encodeRequest: (req, ctx) => encodeAnthropicRequest({ ...req, messages: restoreThinking(req.messages) }, ctx),
  decodeResponse: (body, ctx) => rememberFromResponse(decodeAnthropicResponse(body, ctx)),
  decodeStream: (body, ctx) => rememberFromStream(decodeAnthropicStream(body, ctx)),
}
