/**
 * Request schema of POST /v1/chat/completions. Deliberately tolerant: optional fields accept `null`
 * (many SDKs send explicit nulls), unknown fields pass through (`additionalProperties: true`), and
 * message details are checked by the decoder, which can name the exact field path in its 400.
 */
import { t, type Static } from 'elysia'

const opt = <T extends Parameters<typeof t.Optional>[0]>(s: T) => t.Optional(t.Union([s, t.Null()]))
const loose = { additionalProperties: true } as const

const StringArray = t.Array(t.String())

export const ChatMessage = t.Object(
  {
    role: t.String({ description: 'system | developer | user | assistant | tool | function' }),
    content: t.Optional(t.Union([t.String(), t.Array(t.Object({ type: t.String() }, loose)), t.Null()])),
    name: opt(t.String()),
    tool_calls: opt(
      t.Array(
        t.Object(
          {
            id: t.Optional(t.String()),
            type: t.Optional(t.String()),
            function: t.Object({ name: t.String(), arguments: t.Optional(t.Unknown()) }, loose),
          },
          loose,
        ),
      ),
    ),
    tool_call_id: opt(t.String()),
    function_call: opt(t.Object({ name: t.String(), arguments: t.Optional(t.String()) }, loose)),
    reasoning_content: opt(t.String()),
  },
  loose,
)

export const ChatTool = t.Object(
  {
    type: t.String({ description: '"function"; other types are treated as built-in tools' }),
    function: t.Optional(
      t.Object(
        {
          name: t.String(),
          description: t.Optional(t.String()),
          parameters: t.Optional(t.Record(t.String(), t.Unknown())),
          strict: opt(t.Boolean()),
        },
        loose,
      ),
    ),
  },
  loose,
)

export const ChatCompletionBody = t.Object(
  {
    model: t.String(),
    messages: t.Array(ChatMessage),
    stream: opt(t.Boolean()),
    stream_options: opt(t.Object({ include_usage: t.Optional(t.Boolean()) }, loose)),
    temperature: opt(t.Number()),
    top_p: opt(t.Number()),
    max_tokens: opt(t.Integer()),
    max_completion_tokens: opt(t.Integer()),
    stop: opt(t.Union([t.String(), StringArray])),
    tools: opt(t.Array(ChatTool)),
    tool_choice: opt(t.Union([t.String(), t.Object({ type: t.String() }, loose)])),
    parallel_tool_calls: opt(t.Boolean()),
    functions: opt(t.Array(t.Object({ name: t.String() }, loose))),
    function_call: opt(t.Union([t.String(), t.Object({ name: t.String() }, loose)])),
    response_format: opt(t.Object({ type: t.String() }, loose)),
    reasoning_effort: opt(t.String({ description: 'none | minimal | low | medium | high | xhigh' })),
    user: opt(t.String()),
    prompt_cache_key: opt(t.String()),
    safety_identifier: opt(t.String()),
    n: opt(t.Integer()),
    seed: opt(t.Integer()),
    presence_penalty: opt(t.Number()),
    frequency_penalty: opt(t.Number()),
    logit_bias: opt(t.Record(t.String(), t.Number())),
    logprobs: opt(t.Boolean()),
    top_logprobs: opt(t.Integer()),
    metadata: opt(t.Record(t.String(), t.Unknown())),
    store: opt(t.Boolean()),
    service_tier: opt(t.String()),
    modalities: opt(StringArray),
  },
  { ...loose, description: 'OpenAI Chat Completions request' },
)

export type ChatCompletionRequestBody = Static<typeof ChatCompletionBody>
export type ChatMessageWire = Static<typeof ChatMessage>
