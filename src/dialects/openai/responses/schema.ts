/**
 * Request schema of POST /v1/responses (OpenAI Responses API, as Codex CLI and `openai.responses.*` send it).
 * Deliberately tolerant: optional fields accept `null`, unknown fields pass through, and input items and
 * tools are left loose here; the decoder checks them and names the exact field in its 400.
 */
import { t, type Static } from 'elysia'

const opt = <T extends Parameters<typeof t.Optional>[0]>(s: T) => t.Optional(t.Union([s, t.Null()]))
const loose = { additionalProperties: true } as const

const Item = t.Object({ type: t.Optional(t.String()) }, loose)

export const ResponsesBody = t.Object(
  {
    model: t.String(),
    input: opt(t.Union([t.String(), t.Array(Item)], { description: 'a user prompt, or a list of input items' })),
    instructions: opt(t.String()),
    tools: opt(t.Array(t.Object({ type: t.String() }, loose))),
    tool_choice: opt(t.Union([t.String(), t.Object({ type: t.String() }, loose)])),
    parallel_tool_calls: opt(t.Boolean()),
    stream: opt(t.Boolean()),
    stream_options: opt(t.Object({}, loose)),
    store: opt(t.Boolean()),
    background: opt(t.Boolean()),
    include: opt(t.Array(t.String())),
    reasoning: opt(
      t.Object(
        {
          effort: opt(t.String({ description: 'none | minimal | low | medium | high | xhigh' })),
          summary: opt(t.String({ description: 'auto | concise | detailed' })),
          generate_summary: opt(t.String()),
        },
        loose,
      ),
    ),
    text: opt(
      t.Object(
        {
          format: opt(t.Object({ type: t.String() }, loose)),
          verbosity: opt(t.String()),
        },
        loose,
      ),
    ),
    max_output_tokens: opt(t.Integer()),
    max_tool_calls: opt(t.Integer()),
    temperature: opt(t.Number()),
    top_p: opt(t.Number()),
    top_logprobs: opt(t.Integer()),
    truncation: opt(t.String()),
    previous_response_id: opt(t.String()),
    conversation: opt(t.Any()),
    prompt: opt(t.Any()),
    prompt_cache_key: opt(t.String()),
    prompt_cache_retention: opt(t.String()),
    safety_identifier: opt(t.String()),
    user: opt(t.String()),
    metadata: opt(t.Record(t.String(), t.Any())),
    service_tier: opt(t.String()),
  },
  { ...loose, description: 'OpenAI Responses API request' },
)

export type ResponsesRequestBody = Static<typeof ResponsesBody>
