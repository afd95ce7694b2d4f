/**
 * IR events → legacy OpenAI Completions SSE (`text_completion` chunks, then `data: [DONE]`).
 */
import type { CodecContext, IREvent } from '../../../ir/types'
import { sseFrame, streamFrom } from '../../../ir/sse'
import { doneFrame, finishReasonOut, nowSeconds, truncatedStream, usageOut, withPrefix, type OpenAIFinishReason } from '../mapping'
import { thrownError } from '../../../ir/errors'
import { errorFrame } from '../errors'
import { rawBody } from '../../guards'
import type { CompletionRequestBody } from './schema'

/** IR events → text_completion SSE */
export function encodeCompletionStream(events: AsyncIterable<IREvent>, ctx: CodecContext): ReadableStream<Uint8Array> {
  return streamFrom(completionFrames(events, ctx))
}

async function* completionFrames(events: AsyncIterable<IREvent>, ctx: CodecContext): AsyncGenerator<Uint8Array> {
  const includeUsage = rawBody<CompletionRequestBody>(ctx.raw).stream_options?.include_usage === true
  const created = nowSeconds()
  let id = withPrefix('cmpl-', undefined)
  let idFixed = false
  const frame = (choices: unknown[], extra?: object) => sseFrame({ id, object: 'text_completion', created, model: ctx.clientModel, choices, ...extra })
  const chunk = (text: string, finish_reason: OpenAIFinishReason | null = null) => frame([{ text, index: 0, logprobs: null, finish_reason }])
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
    yield errorFrame(thrownError(e))
    yield doneFrame()
    return
  }
  yield errorFrame(truncatedStream())
  yield doneFrame()
}
