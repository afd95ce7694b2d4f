/**
 * IR embedding request → OpenAI-compatible POST {base}/embeddings, and its answer → IR.
 */
import type { IREmbeddingRequest, IREmbeddingResponse } from '../../../ir/types'
import { IRErrorValue, err } from '../../../ir/errors'
import { asObject, num } from '../../guards'
import { errorFromWire } from '../errors'

/** IR embedding request → POST {base}/embeddings (float vectors) */
export function encodeEmbeddingUpstream(req: IREmbeddingRequest): { path: string; body: Record<string, unknown> } {
  const body: Record<string, unknown> = { model: req.model, input: req.input, encoding_format: 'float' }
  if (req.dimensions !== undefined) body.dimensions = req.dimensions
  return { path: '/embeddings', body }
}

/** the embeddings answer → IR (rows in index order, base64 vectors unpacked) */
export function decodeEmbeddingUpstream(body: unknown): IREmbeddingResponse {
  const b = asObject(body)
  if (b.error) throw new IRErrorValue(errorFromWire(b.error))
  if (!Array.isArray(b.data)) throw new IRErrorValue(err('upstream', 'Upstream embeddings response has no data array.'))
  const rows = b.data.map(asObject).sort((x, y) => (num(x.index) ?? 0) - (num(y.index) ?? 0))
  const embeddings = rows.map(r =>
    typeof r.embedding === 'string' ? unpackFloat32Base64(r.embedding) : Array.isArray(r.embedding) ? r.embedding.map(Number) : [],
  )
  const u = asObject(b.usage)
  return { model: typeof b.model === 'string' ? b.model : '', embeddings, usage: { inputTokens: num(u.prompt_tokens) ?? num(u.total_tokens) ?? 0 } }
}

/** base64 float32 little-endian bytes → numbers */
export function unpackFloat32Base64(s: string): number[] {
  const buf = Buffer.from(s, 'base64')
  const out: number[] = []
  for (let i = 0; i + 4 <= buf.length; i += 4) out.push(buf.readFloatLE(i))
  return out
}
