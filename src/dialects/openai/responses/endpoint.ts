/** POST /v1/responses: the Responses API (Codex CLI), as an endpoint descriptor. */
import { sseFrame } from '../../../ir/sse'
import type { IRError } from '../../../ir/types'
import { SSE, bodyStreams, type EndpointDescriptor } from '../../endpoint'
import { sseReader, namedOr, nameOf, type FrameReader } from '../../frames'
import { responseError } from '../errors'
import { openaiResponsesClient } from '../index'

const END = new Set(['response.completed', 'response.incomplete', 'response.failed', 'error'])
const CONTENT = new Set([
  'response.output_text.delta',
  'response.function_call_arguments.delta',
  'response.reasoning_summary_text.delta',
  'response.custom_tool_call_input.delta',
])

/** response.completed / incomplete / failed and `error` end it; deltas and a function call are content. */
const reader: FrameReader = sseReader({
  mayEnd: t => namedOr(t, n => END.has(n), ['response.completed', 'response.incomplete', 'response.failed', '"error"']),
  // response.created / in_progress (they echo the instructions) are not parsed
  mayScan: t => t.includes('.delta') || t.includes('function_call') || t.includes('error') || t.includes('response.failed'),
  terminal: (e, j) => END.has(nameOf(e, j)),
  content: (e, j) => CONTENT.has(nameOf(e, j)) || (nameOf(e, j) === 'response.output_item.added' && j?.item?.type === 'function_call'),
  error: (e, j) => nameOf(e, j) === 'error' || nameOf(e, j) === 'response.failed',
})

/** A failed response, as the stream's last event. */
const errorFrame = (e: IRError): Uint8Array =>
  sseFrame(
    {
      type: 'response.failed',
      sequence_number: 999999,
      response: { id: 'resp_error', object: 'response', status: 'failed', error: responseError(e), output: [] },
    },
    'response.failed',
  )

export const responsesEndpoint: EndpointDescriptor = {
  id: 'openai.responses',
  dialect: 'openai',
  tag: 'OpenAI',
  summary: 'Responses API (Codex CLI)',
  route: { paths: ['/v1/responses'] },
  schema: () => (require('./schema') as typeof import('./schema')).ResponsesBody,
  streams: bodyStreams,
  client: openaiResponsesClient,
  passThrough: { path: () => '/responses', keepsBytes: false },
  streamContentType: () => SSE,
  frames: () => reader,
  errorFrame: () => errorFrame,
}
