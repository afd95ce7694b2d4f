/** POST /v1/messages: Anthropic Messages (Claude Code), as an endpoint descriptor. */
import { sseFrame } from '../../../ir/sse'
import type { IRError } from '../../../ir/types'
import { SSE, bodyStreams, type EndpointDescriptor } from '../../endpoint'
import { sseReader, namedOr, nameOf, nonEmpty, type FrameReader } from '../../frames'
import { errorBody } from '../errors'
import { anthropicClient } from '../index'

const BLOCKS = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use', 'redacted_thinking'])

/** message_stop, a message_delta with a stop_reason, or `error` end it. An empty text/thinking block start is not yet
 *  content (a stall or error right after it stays retryable); a delta, a tool-use block or message_delta is. */
export const anthropicReader: FrameReader = sseReader({
  mayEnd: t => namedOr(t, n => n === 'message_stop' || n === 'message_delta' || n === 'error', ['message_stop', '"stop_reason"', '"error"']),
  // message_start (it can be large), ping and an empty block start are not parsed
  mayScan: t =>
    t.includes('content_block_delta') ||
    t.includes('message_delta') ||
    (t.includes('content_block_start') && (t.includes('tool_use') || t.includes('redacted_thinking'))) ||
    t.includes('error'),
  terminal: (e, j) => nameOf(e, j) === 'message_stop' || (nameOf(e, j) === 'message_delta' && nonEmpty(j?.delta?.stop_reason)),
  content: (e, j) => {
    const name = nameOf(e, j)
    return name === 'content_block_delta' || name === 'message_delta' || (name === 'content_block_start' && BLOCKS.has(j?.content_block?.type))
  },
  error: (e, j) => nameOf(e, j) === 'error',
})

/** `event: error` with the dialect's error body. */
export const anthropicErrorFrame = (e: IRError): Uint8Array => sseFrame(errorBody(e), 'error')

export const messagesEndpoint: EndpointDescriptor = {
  id: 'anthropic.messages',
  dialect: 'anthropic',
  tag: 'Anthropic',
  summary: 'Messages (Claude Code)',
  route: { paths: ['/v1/messages'] },
  schema: () => (require('./schema') as typeof import('./schema')).AnthropicMessagesBody,
  streams: bodyStreams,
  client: anthropicClient,
  passThrough: { path: () => '/v1/messages', keepsBytes: false },
  streamContentType: () => SSE,
  frames: () => anthropicReader,
  errorFrame: () => anthropicErrorFrame,
}
