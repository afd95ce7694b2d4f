/**
 * OpenAI Chat Completions dialect, both directions:
 * - `openaiChatClient`: what agproxy speaks to clients on POST /v1/chat/completions
 * - `openaiChatUpstream`: what agproxy speaks to OpenAI-compatible providers (POST {base}/chat/completions)
 */
import type { ClientCodec, UpstreamCodec } from '../../ir/types'
import type { ChatCompletionRequestBody } from './chat-schema'
import { decodeChatRequest } from './chat-decode'
import { encodeChatResponse, encodeChatStream } from './chat-encode'
import { encodeChatUpstreamRequest, type ChatUpstreamOptions } from './chat-upstream-request'
import { decodeChatUpstreamResponse, decodeChatUpstreamStream } from './chat-upstream-response'

export { ChatCompletionBody, type ChatCompletionRequestBody } from './chat-schema'
export type { ChatUpstreamOptions } from './chat-upstream-request'

export const openaiChatClient: ClientCodec<ChatCompletionRequestBody> = {
  decodeRequest: decodeChatRequest,
  encodeResponse: encodeChatResponse,
  encodeStream: encodeChatStream,
}

/** An upstream codec with per-provider options (e.g. `{ reasoningContent: 'drop' }` for servers that reject it). */
export function createOpenAIChatUpstream(opts: ChatUpstreamOptions = {}): UpstreamCodec {
  return {
    encodeRequest: (req, ctx) => encodeChatUpstreamRequest(req, ctx, opts),
    decodeResponse: decodeChatUpstreamResponse,
    decodeStream: decodeChatUpstreamStream,
  }
}

export const openaiChatUpstream: UpstreamCodec = createOpenAIChatUpstream()
