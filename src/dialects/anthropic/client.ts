/**
 * What agproxy speaks to an Anthropic-dialect client (POST /v1/messages).
 */
import type { ClientCodec } from '../../ir/types'
import type { AnthropicRequestWire } from './schema'
import { decodeAnthropicRequest } from './decode-request'
import { encodeAnthropicResponse } from './encode-response'
import { encodeAnthropicStream } from './encode-stream'

export const anthropicClient: ClientCodec<AnthropicRequestWire> = {
  decodeRequest: decodeAnthropicRequest,
  encodeResponse: encodeAnthropicResponse,
  encodeStream: encodeAnthropicStream,
}
