/**
 * Request schema of POST /v1/embeddings. Text input only crosses providers; the decoder says so.
 */
import { t, type Static } from 'elysia'

export const EmbeddingBody = t.Object(
  {
    model: t.String(),
    input: t.Union([t.String(), t.Array(t.String()), t.Array(t.Number()), t.Array(t.Array(t.Number()))]),
    encoding_format: t.Optional(t.Union([t.Literal('float'), t.Literal('base64'), t.Null()])),
    dimensions: t.Optional(t.Union([t.Integer({ minimum: 1 }), t.Null()])),
    user: t.Optional(t.Union([t.String(), t.Null()])),
  },
  { additionalProperties: true, description: 'OpenAI Embeddings request' },
)

export type EmbeddingRequestBody = Static<typeof EmbeddingBody>
