/** POST /v1/completions: legacy text completions, as an endpoint descriptor. */
import { SSE, bodyStreams, type EndpointDescriptor } from '../../endpoint'
import { nonEmpty } from '../../frames'
import { openaiReader, openaiErrorFrame } from '../sse'
import { openaiCompletionsClient } from '../index'

const reader = openaiReader(c => nonEmpty(c?.text), ['"text"'])

export const completionsEndpoint: EndpointDescriptor = {
  id: 'openai.completions',
  dialect: 'openai',
  tag: 'OpenAI',
  summary: 'Legacy text completions',
  route: { paths: ['/v1/completions'] },
  schema: () => (require('./schema') as typeof import('./schema')).CompletionBody,
  streams: bodyStreams,
  client: openaiCompletionsClient,
  passThrough: { path: () => '/completions', keepsBytes: false },
  streamContentType: () => SSE,
  frames: () => reader,
  errorFrame: () => openaiErrorFrame,
}
