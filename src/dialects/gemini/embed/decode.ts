/**
 * A Gemini client's :embedContent / :batchEmbedContents body → IR embedding request.
 */
import type { IREmbeddingRequest } from '../../../ir/types'
import { invalid } from '../../../ir/types'
import { camelize } from '../camel'

const contentText = (c: any): string =>
  (Array.isArray(c?.parts) ? c.parts : []).map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('')

/** a Gemini client's embedContent (batch = false) or batchEmbedContents (batch = true) body → IR */
export function decodeGeminiEmbedRequest(body: unknown, model: string, batch: boolean): IREmbeddingRequest {
  const b = camelize(body)
  const requests: any[] = batch ? (Array.isArray(b?.requests) ? b.requests : []) : [b]
  if (!requests.length) throw invalid('requests must not be empty', 'requests')
  const input = requests.map(r => contentText(r?.content))
  const dims = requests.find(r => typeof r?.outputDimensionality === 'number')?.outputDimensionality
  return { model, input, ...(dims ? { dimensions: dims } : {}) }
}
