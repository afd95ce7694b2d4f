/**
 * IR embeddings → the OpenAI `list` answer (float arrays, or packed base64 when the client asked for it).
 */
import type { CodecContext, IREmbeddingResponse } from '../../../ir/types'
import { rawBody } from '../../guards'
import type { EmbeddingRequestBody } from './schema'

/** float32 little-endian bytes, base64 — what OpenAI returns for `encoding_format: "base64"`. */
export function packFloat32Base64(v: readonly number[]): string {
  const buf = Buffer.alloc(v.length * 4)
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4))
  return buf.toString('base64')
}

/** IR → OpenAI list; `ctx.raw.encoding_format === 'base64'` selects packed vectors. */
export function encodeEmbeddingResponse(res: IREmbeddingResponse, ctx: CodecContext) {
  const base64 = rawBody<EmbeddingRequestBody>(ctx.raw).encoding_format === 'base64'
  return {
    object: 'list' as const,
    data: res.embeddings.map((e, index) => ({ object: 'embedding' as const, index, embedding: base64 ? packFloat32Base64(e) : e })),
    model: ctx.clientModel,
    usage: { prompt_tokens: res.usage.inputTokens, total_tokens: res.usage.inputTokens },
  }
}
