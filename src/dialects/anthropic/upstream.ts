/**
 * What agproxy speaks to an Anthropic-type provider (POST {base}/v1/messages).
 */
import type { UpstreamCodec } from '../../ir/types'
import { encodeAnthropicRequest } from './upstream-request'
import { decodeAnthropicResponse } from './upstream-response'
import { decodeAnthropicStream } from './upstream-stream'

export const anthropicUpstream: UpstreamCodec = {
  encodeRequest: encodeAnthropicRequest,
  decodeResponse: decodeAnthropicResponse,
  decodeStream: decodeAnthropicStream,
}
