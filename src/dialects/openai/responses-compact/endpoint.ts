/**
 * POST /v1/responses/compact (Codex remote compaction: `{model, input, instructions, …}` → `{output: [items]}`), as an
 * endpoint descriptor. Unary (never streams); served by OpenAI providers as sent (across dialects: a special plan).
 */
import { SSE, type EndpointDescriptor } from '../../endpoint'
import { anyReader } from '../../frames'
import { openaiErrorFrame } from '../sse'

export const responsesCompactEndpoint: EndpointDescriptor = {
  id: 'openai.responses_compact',
  dialect: 'openai',
  tag: 'OpenAI',
  summary: 'Compact a Responses conversation (Codex remote compaction)',
  route: { paths: ['/v1/responses/compact'] },
  schema: () => (require('../responses/schema') as typeof import('../responses/schema')).ResponsesBody,
  streams: () => false,
  passThrough: { path: () => '/responses/compact', keepsBytes: false },
  streamContentType: () => SSE,
  frames: () => anyReader,
  errorFrame: () => openaiErrorFrame,
}
