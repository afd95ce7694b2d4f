/**
 * POST /v1/images/generations (JSON) and /v1/images/edits (multipart), as endpoint descriptors. OpenAI providers get
 * them as sent (a generation's `stream: true` relays its SSE); Gemini image models serve them through generateContent
 * (a special plan, src/endpoints/special.ts).
 */
import { SSE, bodyStreams, type EndpointDescriptor } from '../../endpoint'
import { anyReader } from '../../frames'
import { openaiErrorFrame } from '../sse'

const common = {
  dialect: 'openai',
  tag: 'OpenAI',
  streamContentType: () => SSE,
  frames: () => anyReader,
  errorFrame: () => openaiErrorFrame,
} as const

export const imagesEndpoint: EndpointDescriptor = {
  ...common,
  id: 'openai.images',
  summary: 'Create images',
  route: { paths: ['/v1/images/generations'] },
  schema: () => (require('./schema') as typeof import('./schema')).ImagesBody,
  streams: bodyStreams,
  passThrough: { path: () => '/images/generations', keepsBytes: false },
}

export const imageEditsEndpoint: EndpointDescriptor = {
  ...common,
  id: 'openai.image_edits',
  summary: 'Edit images (multipart)',
  route: { paths: ['/v1/images/edits'] },
  schema: () => (require('./schema') as typeof import('./schema')).ImageEditFields,
  multipart: true,
  streams: b => b.stream === 'true',
  passThrough: { path: () => '/images/edits', keepsBytes: false },
}
