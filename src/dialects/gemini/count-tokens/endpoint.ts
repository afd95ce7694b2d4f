/** POST models/{model}:countTokens, as an endpoint descriptor (across dialects: a special plan, src/endpoints/special.ts). */
import { SSE, type EndpointDescriptor } from '../../endpoint'
import { anyReader } from '../../frames'
import { generateEndpoint } from '../generate/endpoint'

export const countTokensEndpoint: EndpointDescriptor = {
  id: 'gemini.count_tokens',
  dialect: 'gemini',
  tag: 'Gemini',
  summary: 'Count tokens',
  route: { action: 'countTokens', v1Summary: 'Count tokens' },
  schema: () => (require('./schema') as typeof import('./schema')).GeminiCountTokensBody,
  streams: () => false,
  passThrough: { path: m => `/v1beta/models/${encodeURIComponent(m)}:countTokens`, keepsBytes: true },
  streamContentType: () => SSE,
  frames: () => anyReader,
  errorFrame: generateEndpoint.errorFrame,
}
