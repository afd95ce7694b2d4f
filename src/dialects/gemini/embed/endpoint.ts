/**
 * POST models/{model}:embedContent and :batchEmbedContents (the @google/genai SDK's `models.embedContent`), as endpoint
 * descriptors. Same dialect: the body goes through with each request's `model` set to the routed one; across dialects:
 * a special plan (src/endpoints/special.ts).
 */
import { SSE, type EndpointDescriptor } from '../../endpoint'
import { anyReader } from '../../frames'
import { generateEndpoint } from '../generate/endpoint'

const path = (action: string) => (model: string) => `/v1beta/models/${encodeURIComponent(model)}:${action}`
/** Google checks that a request's `model` is the one in the path: it names the routed model */
const named = (r: Record<string, unknown>, model: string) => ('model' in r ? { ...r, model: `models/${model}` } : r)

const common = {
  dialect: 'gemini',
  tag: 'Gemini',
  streams: () => false,
  streamContentType: () => SSE,
  frames: () => anyReader,
  errorFrame: generateEndpoint.errorFrame,
} as const

export const embedContentEndpoint: EndpointDescriptor = {
  ...common,
  id: 'gemini.embed',
  summary: 'Embed content',
  route: { action: 'embedContent', v1Summary: 'Embed content' },
  schema: () => (require('./schema') as typeof import('./schema')).GeminiEmbedContentBody,
  passThrough: { path: path('embedContent'), keepsBytes: false, rewrite: named },
}

export const batchEmbedContentsEndpoint: EndpointDescriptor = {
  ...common,
  id: 'gemini.batch_embed',
  summary: 'Embed contents in a batch',
  route: { action: 'batchEmbedContents', v1Summary: 'Embed contents in a batch' },
  schema: () => (require('./schema') as typeof import('./schema')).GeminiBatchEmbedContentsBody,
  passThrough: {
    path: path('batchEmbedContents'),
    keepsBytes: false,
    rewrite: (b, model) => ({ ...b, requests: (b.requests as Record<string, unknown>[]).map(r => named(r, model)) }),
  },
}
