/**
 * A Gemini client's :embedContent / :batchEmbedContents body → IR embedding request.
 */
import type { IREmbeddingRequest } from '../../../ir/types'
import { invalid } from '../../../ir/types'
import { camelize } from '../camel'
import { asArray, asObject, dig, num } from '../../guards'
import type { GeminiBatchEmbedContentsBody, GeminiEmbedContentBody } from './schema'

const contentText = (c: unknown): string =>
  asArray(dig(c, 'parts'))
    .map(p => dig(p, 'text'))
    .map(t => (typeof t === 'string' ? t : ''))
    .join('')

/** a Gemini client's embedContent (batch = false) or batchEmbedContents (batch = true) body → IR */
export function decodeGeminiEmbedRequest(body: GeminiEmbedContentBody | GeminiBatchEmbedContentsBody, model: string, batch: boolean): IREmbeddingRequest {
  const b = camelize(body)
  const requests = (batch ? asArray(dig(b, 'requests')) : [b]).map(asObject)
  if (!requests.length) throw invalid('requests must not be empty', 'requests')
  const input = requests.map(r => contentText(r.content))
  const dims = num(requests.find(r => typeof r.outputDimensionality === 'number')?.outputDimensionality)
  return { model, input, ...(dims ? { dimensions: dims } : {}) }
}
