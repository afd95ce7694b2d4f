/**
 * Request schemas of POST /v1/images/generations (JSON) and /v1/images/edits (multipart/form-data: its text fields,
 * the files are relayed as sent). Tolerant: unknown fields pass through to OpenAI providers.
 */
import { t, type Static } from 'elysia'

const opt = <T extends Parameters<typeof t.Optional>[0]>(s: T) => t.Optional(t.Union([s, t.Null()]))
const loose = { additionalProperties: true } as const
const FORMAT = { description: 'url | b64_json (Gemini providers: url is a data: URL)' }

export const ImagesBody = t.Object(
  {
    model: t.String(),
    prompt: t.String(),
    n: opt(t.Integer({ minimum: 1, maximum: 10 })),
    size: opt(t.String({ description: 'e.g. 1024x1024, 1536x1024, auto' })),
    quality: opt(t.String()),
    response_format: opt(t.String(FORMAT)),
    output_format: opt(t.String()),
    background: opt(t.String()),
    style: opt(t.String()),
    stream: opt(t.Boolean()),
    user: opt(t.String()),
  },
  { ...loose, description: 'OpenAI Images generation request' },
)
export type ImagesRequestBody = Static<typeof ImagesBody>

/** the text fields of a multipart edit (every form field arrives as a string) */
export const ImageEditFields = t.Object(
  { model: t.String(), prompt: t.String(), n: t.Optional(t.String()), size: t.Optional(t.String()), response_format: t.Optional(t.String(FORMAT)) },
  { ...loose, description: 'OpenAI Images edit request (multipart/form-data; image[] and mask are files)' },
)
