/**
 * OpenAI Embeddings request → IR. Text input only: token arrays are tokenizer-specific and no other
 * provider accepts them.
 */
import type { IREmbeddingRequest } from '../../../ir/types'
import { invalid } from '../../../ir/types'
import type { EmbeddingRequestBody } from './schema'
import { isStringArray } from '../../guards'

/** POST /v1/embeddings body → IR (text input only) */
export function decodeEmbeddingRequest(b: EmbeddingRequestBody): IREmbeddingRequest {
  let input: string[]
  if (typeof b.input === 'string') input = [b.input]
  else if (isStringArray(b.input)) input = b.input
  else throw invalid('Token-array input is not supported: only text input (a string or an array of strings) works across providers.', 'input')
  if (input.length === 0) throw invalid('input must not be empty.', 'input')
  const req: IREmbeddingRequest = { model: b.model, input }
  if (typeof b.dimensions === 'number') req.dimensions = b.dimensions
  if (typeof b.user === 'string' && b.user) req.user = b.user
  return req
}
