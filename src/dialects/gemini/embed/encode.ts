/**
 * IR embeddings → the :embedContent (`{embedding}`) or :batchEmbedContents (`{embeddings}`) answer.
 */
import type { IREmbeddingResponse } from '../../../ir/types'

/** IR embeddings → `{embedding}` (embedContent) or `{embeddings}` (batchEmbedContents) */
export function encodeGeminiEmbedResponse(res: IREmbeddingResponse, batch: boolean): unknown {
  const items = res.embeddings.map(values => ({ values }))
  return batch ? { embeddings: items } : { embedding: items[0] ?? { values: [] } }
}
