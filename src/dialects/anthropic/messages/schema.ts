/**
 * Request schema of the Anthropic Messages API as agproxy accepts it (POST /v1/messages; count-tokens/schema.ts
 * reuses its fields). Deliberately permissive: every object keeps unknown properties, because
 * clients such as Claude Code send fields (beta features, cache_control, context_management, …) that
 * agproxy does not know and must not reject. Semantic checks happen in the decoder.
 */
import { t, type Static, type TSchema } from 'elysia'

const open = { additionalProperties: true } as const

/** optional and also tolerant of an explicit `null` */
const opt = <T extends TSchema>(schema: T) => t.Optional(t.Union([schema, t.Null()]))

/** a content block of whichever type: text, image, document, tool_use, tool_result, thinking, … (checked by the decoder) */
export const AnthropicContentBlock = t.Object({ type: t.String() }, open)

export const AnthropicTextBlock = t.Object({ type: t.String(), text: t.String() }, open)

export const AnthropicMessage = t.Object(
  {
    // 'system' entries inside `messages` come from a recent Claude Code beta; the decoder moves them to the system prompt
    role: t.Union([t.Literal('user'), t.Literal('assistant'), t.Literal('system')]),
    content: t.Union([t.String(), t.Array(AnthropicContentBlock)]),
  },
  open,
)

/** a custom tool ({name, description, input_schema}) or a server tool ({type: 'web_search_20250305', name, …}) */
export const AnthropicTool = t.Object(
  {
    name: t.Optional(t.String()),
    type: opt(t.String()),
    description: opt(t.String()),
    input_schema: opt(t.Object({}, open)),
  },
  open,
)

export const AnthropicToolChoice = t.Object(
  {
    type: t.String(),
    name: opt(t.String()),
    disable_parallel_tool_use: opt(t.Boolean()),
  },
  open,
)

export const AnthropicThinking = t.Object(
  {
    type: t.String(),
    budget_tokens: opt(t.Integer()),
    display: opt(t.String()),
  },
  open,
)

/** the fields a messages body and a count_tokens body share */
export const AnthropicRequestFields = {
  model: t.String(),
  messages: t.Array(AnthropicMessage),
  system: opt(t.Union([t.String(), t.Array(AnthropicTextBlock)])),
  tools: opt(t.Array(AnthropicTool)),
  tool_choice: opt(AnthropicToolChoice),
  thinking: opt(AnthropicThinking),
  output_config: opt(t.Object({ effort: opt(t.String()), format: opt(t.Object({}, open)) }, open)),
  metadata: opt(t.Object({ user_id: opt(t.String()) }, open)),
}

export const AnthropicMessagesBody = t.Object(
  {
    ...AnthropicRequestFields,
    max_tokens: t.Integer({ minimum: 1 }),
    stream: opt(t.Boolean()),
    temperature: opt(t.Number()),
    top_p: opt(t.Number()),
    top_k: opt(t.Integer()),
    stop_sequences: opt(t.Array(t.String())),
  },
  open,
)

export type AnthropicMessagesBodyType = Static<typeof AnthropicMessagesBody>
/** what the decoder accepts: a messages body or a count_tokens body (no max_tokens) */
export type AnthropicRequestWire = Omit<AnthropicMessagesBodyType, 'max_tokens'> & Partial<Pick<AnthropicMessagesBodyType, 'max_tokens'>>
