/**
 * Request schemas of the Gemini API as agproxy accepts them:
 *   POST /v1beta/models/{model}:generateContent | :streamGenerateContent | :countTokens
 *        | :embedContent | :batchEmbedContents
 * Deliberately permissive (unknown properties kept). The REST API accepts both the camelCase and the
 * proto snake_case spelling of every field, so both are listed; the decoder normalizes to camelCase.
 */
import { t, type Static, type TSchema } from 'elysia'

const open = { additionalProperties: true } as const

/** optional and also tolerant of an explicit `null` */
const opt = <T extends TSchema>(schema: T) => t.Optional(t.Union([schema, t.Null()]))

/** a part: text / inlineData / fileData / functionCall / functionResponse / thought… (checked by the decoder) */
export const GeminiPart = t.Object({}, open)

export const GeminiContent = t.Object({
  role: opt(t.String()),
  parts: opt(t.Array(GeminiPart)),
}, open)

const anyObject = t.Object({}, open)

/** the systemInstruction field: a Content (REST), or a bare string (accepted for lenient clients) */
const SystemInstruction = t.Union([GeminiContent, t.String()])

export const GeminiGenerateContentBody = t.Object({
  contents: t.Array(GeminiContent),
  model: opt(t.String()),
  systemInstruction: opt(SystemInstruction),
  system_instruction: opt(SystemInstruction),
  tools: opt(t.Array(anyObject)),
  toolConfig: opt(anyObject),
  tool_config: opt(anyObject),
  generationConfig: opt(anyObject),
  generation_config: opt(anyObject),
  safetySettings: opt(t.Array(anyObject)),
  safety_settings: opt(t.Array(anyObject)),
  cachedContent: opt(t.String()),
  cached_content: opt(t.String()),
}, open)

export type GeminiGenerateContentBody = Static<typeof GeminiGenerateContentBody>

/** countTokens: either `contents`, or a whole `generateContentRequest` (to count system + tools too) */
export const GeminiCountTokensBody = t.Object({
  contents: opt(t.Array(GeminiContent)),
  generateContentRequest: opt(anyObject),
  generate_content_request: opt(anyObject),
}, open)

export type GeminiCountTokensBody = Static<typeof GeminiCountTokensBody>

const EmbedRequest = t.Object({
  model: opt(t.String()),
  content: GeminiContent,
  taskType: opt(t.String()),
  task_type: opt(t.String()),
  title: opt(t.String()),
  outputDimensionality: opt(t.Integer()),
  output_dimensionality: opt(t.Integer()),
}, open)

export const GeminiEmbedContentBody = EmbedRequest
export type GeminiEmbedContentBody = Static<typeof GeminiEmbedContentBody>

export const GeminiBatchEmbedContentsBody = t.Object({ requests: t.Array(EmbedRequest) }, open)
export type GeminiBatchEmbedContentsBody = Static<typeof GeminiBatchEmbedContentsBody>
