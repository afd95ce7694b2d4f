/**
 * Legacy OpenAI Completions (POST /v1/completions), client side only: the prompt becomes one user
 * message, and the answer goes back as `text_completion` objects / chunks.
 */
import { t, type Static } from 'elysia'
import type { ClientCodec, CodecContext, IREvent, IRRequest, IRResponse } from '../../ir/types'
import { invalid } from '../../ir/types'
import { sseFrame, streamFrom } from '../../ir/sse'
import {
  doneFrame, errorFrame, finishReasonOut, irErrorOf, nowSeconds, truncatedStream, usageOut, withPrefix,
  type OpenAIFinishReason,
} from './wire'

const opt = <T extends Parameters<typeof t.Optional>[0]>(s: T) => t.Optional(t.Union([s, t.Null()]))

export const CompletionBody = t.Object({
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
}, { additionalProperties: true, description: 'OpenAI legacy Completions request' })

export type CompletionRequestBody = Static<typeof CompletionBody>

function decodeCompletionRequest(body: CompletionRequestBody, ctx: CodecContext): IRRequest {
  const b = body as any
  if (b.n != null && b.n !== 1) throw invalid('Only n=1 is supported: request one choice per call.', 'n')
  let prompt: string
  if (typeof b.prompt === 'string') prompt = b.prompt
  else if (Array.isArray(b.prompt) && b.prompt.every((p: unknown) => typeof p === 'string')) {
    if (b.prompt.length === 0) throw invalid('prompt must not be empty.', 'prompt')
    if (b.prompt.length > 1) ctx.warn('several prompts were joined into one (batch prompts are not supported)')
    prompt = b.prompt.join('\n')
  } else throw invalid('Token-array prompts are not supported across providers; send the prompt as text.', 'prompt')

  if (b.suffix) ctx.warn('suffix (fill-in-the-middle) is not supported across providers; ignored')
  if (b.echo) ctx.warn('echo is not supported; ignored')
  if (b.best_of != null && b.best_of !== 1) ctx.warn('best_of is not supported; ignored')
  for (const f of ['logprobs', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'seed'])
    if (b[f] != null) ctx.warn(`${f} is not supported across providers; ignored`)

  const req: IRRequest = { model: b.model, system: [], messages: [{ role: 'user', content: [{ type: 'text', text: prompt }] }], stream: b.stream === true }
  if (typeof b.max_tokens === 'number') req.maxTokens = b.max_tokens
  if (typeof b.temperature === 'number') req.temperature = b.temperature
  if (typeof b.top_p === 'number') req.topP = b.top_p
  const stop = typeof b.stop === 'string' ? [b.stop] : Array.isArray(b.stop) ? b.stop : []
  if (stop.length) req.stop = stop
  if (typeof b.user === 'string' && b.user) req.user = b.user
  return req
}

function encodeCompletionResponse(res: IRResponse, ctx: CodecContext) {
  const text = res.content.map(p => (p.type === 'text' ? p.text : '')).join('')
  return {
    id: withPrefix('cmpl-', res.id),
    object: 'text_completion' as const,
    created: nowSeconds(),
    model: ctx.clientModel,
    choices: [{ text, index: 0, logprobs: null, finish_reason: finishReasonOut(res.stopReason, false) }],
    usage: usageOut(res.usage),
  }
}

async function* completionFrames(events: AsyncIterable<IREvent>, ctx: CodecContext): AsyncGenerator<Uint8Array> {
  const includeUsage = ctx.raw?.stream_options?.include_usage === true
  const created = nowSeconds()
  let id = withPrefix('cmpl-', undefined)
  let idFixed = false
  const frame = (choices: unknown[], extra?: object) =>
    sseFrame({ id, object: 'text_completion', created, model: ctx.clientModel, choices, ...extra })
  const chunk = (text: string, finish_reason: OpenAIFinishReason | null = null) =>
    frame([{ text, index: 0, logprobs: null, finish_reason }])
  try {
    for await (const ev of events) {
      if (!idFixed && ev.type === 'start') id = withPrefix('cmpl-', ev.id)
      idFixed = true
      switch (ev.type) {
        case 'text_delta':
          if (ev.text) yield chunk(ev.text)
          break
        case 'finish':
          yield chunk('', finishReasonOut(ev.reason, false))
          if (includeUsage) yield frame([], { usage: usageOut(ev.usage) })
          yield doneFrame()
          return
        case 'error':
          yield errorFrame(ev.error)
          yield doneFrame()
          return
      }
    }
  } catch (e) {
    yield errorFrame(irErrorOf(e))
    yield doneFrame()
    return
  }
  yield errorFrame(truncatedStream())
  yield doneFrame()
}

export const openaiCompletionsClient: ClientCodec<CompletionRequestBody> = {
  decodeRequest: decodeCompletionRequest,
  encodeResponse: encodeCompletionResponse,
  encodeStream: (events, ctx) => streamFrom(completionFrames(events, ctx)),
}
