/** POST /v1/chat/completions: Chat Completions, as an endpoint descriptor. */
import { SSE, bodyStreams, type EndpointDescriptor } from '../../endpoint'
import { nonEmpty } from '../../frames'
import { openaiReader, openaiErrorFrame } from '../sse'
import { openaiChatClient } from '../index'

const reader = openaiReader(
  c =>
    nonEmpty(c?.delta?.content) ||
    nonEmpty(c?.delta?.reasoning_content) ||
    nonEmpty(c?.delta?.reasoning) ||
    (Array.isArray(c?.delta?.tool_calls) && c.delta.tool_calls.length > 0),
  ['"content"', '"reasoning_content"', '"reasoning"', '"tool_calls"'],
)

export const chatEndpoint: EndpointDescriptor = {
  id: 'openai.chat',
  dialect: 'openai',
  tag: 'OpenAI',
  summary: 'Chat Completions',
  route: { paths: ['/v1/chat/completions'] },
  schema: () => (require('./schema') as typeof import('./schema')).ChatCompletionBody,
  streams: bodyStreams,
  client: openaiChatClient,
  passThrough: { path: () => '/chat/completions', keepsBytes: false },
  streamContentType: () => SSE,
  frames: () => reader,
  errorFrame: () => openaiErrorFrame,
}
