/**
 * Request schemas of POST /v1beta/models/{model}:embedContent and :batchEmbedContents.
 */
import { t, type Static } from 'elysia'
import { GeminiContent, open, opt } from '../generate/schema'

const EmbedRequest = t.Object(
  {
    model: opt(t.String()),
    content: GeminiContent,
    taskType: opt(t.String()),
    task_type: opt(t.String()),
    title: opt(t.String()),
    outputDimensionality: opt(t.Integer()),
    output_dimensionality: opt(t.Integer()),
  },
  open,
)

export const GeminiEmbedContentBody = EmbedRequest
export type GeminiEmbedContentBody = Static<typeof GeminiEmbedContentBody>

export const GeminiBatchEmbedContentsBody = t.Object({ requests: t.Array(EmbedRequest) }, open)
export type GeminiBatchEmbedContentsBody = Static<typeof GeminiBatchEmbedContentsBody>
