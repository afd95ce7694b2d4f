/**
 * Request schema of the Gemini generateContent API as agproxy accepts it:
 *   POST /v1beta/models/{model}:generateContent | :streamGenerateContent
 * (count-tokens/ and embed/ reuse its Content). Deliberately permissive (unknown properties kept). The REST API accepts both the camelCase and the
 * proto snake_case spelling of every field, so both are listed; the decoder normalizes to camelCase.
 */
import { t, type Static, type TSchema } from 'elysia'

export const open = { additionalProperties: true } as const

/** optional and also tolerant of an explicit `null` */
export const opt = <T extends TSchema>(schema: T) => t.Optional(t.Union([schema, t.Null()]))

/** a part: text / inlineData / fileData / functionCall / functionResponse / thought… (checked by the decoder) */
export const GeminiPart = t.Object({}, open)

export const GeminiContent = t.Object(
  {
    role: opt(t.String()),
    parts: opt(t.Array(GeminiPart)),
  },
  open,
)

/** an object whose fields the decoder checks */
export const OpenObject = t.Object({}, open)

/** the systemInstruction field: a Content (REST), or a bare string (accepted for lenient clients) */
const SystemInstruction = t.Union([GeminiContent, t.String()])

export const GeminiGenerateContentBody = t.Object(
  {
    contents: t.Array(GeminiContent),
    model: opt(t.String()),
    systemInstruction: opt(SystemInstruction),
    system_instruction: opt(SystemInstruction),
    tools: opt(t.Array(OpenObject)),
    toolConfig: opt(OpenObject),
    tool_config: opt(OpenObject),
    generationConfig: opt(OpenObject),
    generation_config: opt(OpenObject),
    safetySettings: opt(t.Array(OpenObject)),
    safety_settings: opt(t.Array(OpenObject)),
    cachedContent: opt(t.String()),
    cached_content: opt(t.String()),
  },
  open,
)

export type GeminiGenerateContentBody = Static<typeof GeminiGenerateContentBody>
