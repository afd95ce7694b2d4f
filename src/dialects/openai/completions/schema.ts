/**
 * Request schema of POST /v1/completions (legacy OpenAI Completions). Tolerant like the Chat schema:
 * optional fields accept `null` and unknown fields pass through.
 */
import { t, type Static } from 'elysia'

const opt = <T extends Parameters<typeof t.Optional>[0]>(s: T) => t.Optional(t.Union([s, t.Null()]))

export const CompletionBody = t.Object(
  {
    model: t.String(),
    prompt: t.Union([t.String(), t.Array(t.String()), t.Array(t.Number()), t.Array(t.Array(t.Number()))]),
    suffix: opt(t.String()),
    stream: opt(t.Boolean()),
    stream_options: opt(t.Object({ include_usage: t.Optional(t.Boolean()) }, { additionalProperties: true })),
    max_tokens: opt(t.Integer()),
    temperature: opt(t.Number()),
    top_p: opt(t.Number()),
    stop: opt(t.Union([t.String(), t.Array(t.String())])),
    n: opt(t.Integer()),
    best_of: opt(t.Integer()),
    echo: opt(t.Boolean()),
    logprobs: opt(t.Integer()),
    presence_penalty: opt(t.Number()),
    frequency_penalty: opt(t.Number()),
    logit_bias: opt(t.Record(t.String(), t.Number())),
    seed: opt(t.Integer()),
    user: opt(t.String()),
  },
  { additionalProperties: true, description: 'OpenAI legacy Completions request' },
)

export type CompletionRequestBody = Static<typeof CompletionBody>
