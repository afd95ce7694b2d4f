/**
 * IR events → OpenAI Chat Completions SSE (`chat.completion.chunk` frames, then `data: [DONE]`).
 * Thinking streams as `reasoning_content` deltas; an IR error becomes an in-stream error frame.
 */
import type { CodecContext, IREvent } from '../../../ir/types'
import { sseFrame, streamFrom } from '../../../ir/sse'
import { doneFrame, finishReasonOut, nowSeconds, truncatedStream, usageOut, withPrefix, type OpenAIFinishReason } from '../mapping'
import { thrownError } from '../../../ir/errors'
import { errorFrame } from '../errors'
import { rawBody } from '../../guards'
import type { ChatCompletionRequestBody } from './schema'

/** IR events → chat.completion.chunk SSE */
export function encodeChatStream(events: AsyncIterable<IREvent>, ctx: CodecContext): ReadableStream<Uint8Array> {
  return streamFrom(chatFrames(events, ctx))
}

async function* chatFrames(events: AsyncIterable<IREvent>, ctx: CodecContext): AsyncGenerator<Uint8Array> {
  const includeUsage = rawBody<ChatCompletionRequestBody>(ctx.raw).stream_options?.include_usage === true
  const created = nowSeconds()
  let id = withPrefix('chatcmpl-', undefined)
  let opened = false
  /** IR block index → OpenAI tool_calls[].index (counted over tool calls only) */
  const toolIndex = new Map<number, number>()

  const frame = (choices: unknown[], extra?: object) => sseFrame({ id, object: 'chat.completion.chunk', created, model: ctx.clientModel, choices, ...extra })
  const chunk = (delta: object, finish_reason: OpenAIFinishReason | null = null) => frame([{ index: 0, delta, logprobs: null, finish_reason }])

  try {
    for await (const ev of events) {
      if (ev.type === 'error') {
        yield errorFrame(ev.error)
        yield doneFrame()
        return
      }
      if (!opened) {
        if (ev.type === 'start') id = withPrefix('chatcmpl-', ev.id)
        opened = true
        yield chunk({ role: 'assistant', content: '' })
      }
      switch (ev.type) {
        case 'block_start':
          if (ev.block.type === 'tool_call') {
            const k = toolIndex.size
            toolIndex.set(ev.index, k)
            yield chunk({ tool_calls: [{ index: k, id: ev.block.id, type: 'function', function: { name: ev.block.name, arguments: '' } }] })
          }
          break
        case 'text_delta':
          if (ev.text) yield chunk({ content: ev.text })
          break
        case 'thinking_delta':
          if (ev.text) yield chunk({ reasoning_content: ev.text })
          break
        case 'tool_args_delta': {
          const k = toolIndex.get(ev.index)
          if (k !== undefined && ev.json) yield chunk({ tool_calls: [{ index: k, function: { arguments: ev.json } }] })
          break
        }
        case 'finish':
          yield chunk({}, finishReasonOut(ev.reason, toolIndex.size > 0))
          if (includeUsage) yield frame([], { usage: usageOut(ev.usage) })
          yield doneFrame()
          return
        // start, signature, block_stop: nothing to say on this wire
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
