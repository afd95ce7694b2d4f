/**
 * OpenAI Embeddings (POST /v1/embeddings), both directions. Text input only: token arrays are
 * tokenizer-specific and no other provider accepts them.
 */
import { t, type Static } from 'elysia'
import type { CodecContext, IREmbeddingRequest, IREmbeddingResponse } from '../../ir/types'
import { IRErrorValue, invalid } from '../../ir/types'
import { irErrorFromWire } from './wire'

export const EmbeddingBody = t.Object({
  model: t.String(),
  input: t.Union([t.String(), t.Array(t.String()), t.Array(t.Number()), t.Array(t.Array(t.Number()))]),
  encoding_format: t.Optional(t.Union([t.Literal('float'), t.Literal('base64'), t.Null()])),
  dimensions: t.Optional(t.Union([t.Integer({ minimum: 1 }), t.Null()])),
  user: t.Optional(t.Union([t.String(), t.Null()])),
}, { additionalProperties: true, description: 'OpenAI Embeddings request' })

export type EmbeddingRequestBody = Static<typeof EmbeddingBody>

export function decodeEmbeddingRequest(body: EmbeddingRequestBody): IREmbeddingRequest {
  const b = body as any
  let input: string[]
  if (typeof b.input === 'string') input = [b.input]
  else if (Array.isArray(b.input) && b.input.every((s: unknown) => typeof s === 'string')) input = b.input
  else throw invalid('Token-array input is not supported: only text input (a string or an array of strings) works across providers.', 'input')
  if (input.length === 0) throw invalid('input must not be empty.', 'input')
  const req: IREmbeddingRequest = { model: b.model, input }
  if (typeof b.dimensions === 'number') req.dimensions = b.dimensions
  if (typeof b.user === 'string' && b.user) req.user = b.user
  return req
}

/** float32 little-endian bytes, base64 — what OpenAI returns for `encoding_format: "base64"`. */
export function packFloat32Base64(v: readonly number[]): string {
  const buf = Buffer.alloc(v.length * 4)
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4))
  return buf.toString('base64')
}

export function unpackFloat32Base64(s: string): number[] {
  const buf = Buffer.from(s, 'base64')
  const out: number[] = []
  for (let i = 0; i + 4 <= buf.length; i += 4) out.push(buf.readFloatLE(i))
  return out
}

/** IR → OpenAI list; `ctx.raw.encoding_format === 'base64'` selects packed vectors. */
export function encodeEmbeddingResponse(res: IREmbeddingResponse, ctx: CodecContext) {
  const base64 = ctx.raw?.encoding_format === 'base64'
  return {
    object: 'list' as const,
    data: res.embeddings.map((e, index) => ({ object: 'embedding' as const, index, embedding: base64 ? packFloat32Base64(e) : e })),
    model: ctx.clientModel,
    usage: { prompt_tokens: res.usage.inputTokens, total_tokens: res.usage.inputTokens },
  }
}

export function encodeEmbeddingUpstream(req: IREmbeddingRequest): { path: string; body: Record<string, unknown> } {
  const body: Record<string, unknown> = { model: req.model, input: req.input, encoding_format: 'float' }
  if (req.dimensions !== undefined) body.dimensions = req.dimensions
  return { path: '/embeddings', body }
}

export function decodeEmbeddingUpstream(body: unknown): IREmbeddingResponse {
  const b = body as any
  if (b?.error) throw new IRErrorValue(irErrorFromWire(b.error))
  if (!Array.isArray(b?.data)) throw new IRErrorValue({ status: 502, kind: 'upstream', message: 'Upstream embeddings response has no data array.' })
  const rows = [...b.data].sort((x: any, y: any) => (x?.index ?? 0) - (y?.index ?? 0))
  const embeddings = rows.map((r: any) =>
    typeof r?.embedding === 'string' ? unpackFloat32Base64(r.embedding) : Array.isArray(r?.embedding) ? r.embedding.map(Number) : [])
  const u = b.usage ?? {}
  return { model: typeof b.model === 'string' ? b.model : '', embeddings, usage: { inputTokens: u.prompt_tokens ?? u.total_tokens ?? 0 } }
}
