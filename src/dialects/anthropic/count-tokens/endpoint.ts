/** POST /v1/messages/count_tokens, as an endpoint descriptor (across dialects: a special plan, src/endpoints/special.ts). */
import { SSE, type EndpointDescriptor } from '../../endpoint'
import { anyReader } from '../../frames'
import { anthropicErrorFrame } from '../messages/endpoint'

export const countTokensEndpoint: EndpointDescriptor = {
  id: 'anthropic.count_tokens',
  dialect: 'anthropic',
  tag: 'Anthropic',
  summary: 'Count tokens of a Messages request',
  route: { paths: ['/v1/messages/count_tokens'] },
  schema: () => (require('./schema') as typeof import('./schema')).AnthropicCountTokensBody,
  streams: () => false,
  passThrough: { path: () => '/v1/messages/count_tokens', keepsBytes: false },
  streamContentType: () => SSE,
  frames: () => anyReader,
  errorFrame: () => anthropicErrorFrame,
}
