/** POST /v1/embeddings, as an endpoint descriptor (never streams; across dialects: a special plan, src/endpoints/special.ts). */
import { SSE, type EndpointDescriptor } from '../../endpoint'
import { anyReader } from '../../frames'
import { openaiErrorFrame } from '../sse'

export const embeddingsEndpoint: EndpointDescriptor = {
  id: 'openai.embeddings',
  dialect: 'openai',
  tag: 'OpenAI',
  summary: 'Embeddings',
  route: { paths: ['/v1/embeddings'] },
  schema: () => (require('./schema') as typeof import('./schema')).EmbeddingBody,
  streams: () => false,
  passThrough: { path: () => '/embeddings', keepsBytes: false },
  streamContentType: () => SSE,
  frames: () => anyReader,
  errorFrame: () => openaiErrorFrame,
}
