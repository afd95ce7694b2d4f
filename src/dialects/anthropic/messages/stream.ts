/**
 * IR events → Anthropic Messages SSE, one frame per event as soon as it arrives:
 *   message_start, (content_block_start, content_block_delta…, content_block_stop)…, message_delta, message_stop
 * An IR error (or a failing source) becomes an `event: error` frame that ends the stream.
 */
import type { CodecContext, IRError, IREvent, IRUsage } from '../../../ir/types'
import { err, thrownError } from '../../../ir/errors'
import { sseFrame, streamFrom } from '../../../ir/sse'
import { messageId, randomId, stopReasonToWire, usageToWire } from '../mapping'
import { errorBody } from '../errors'
import { thinkingWanted } from './encode'

type Kind = 'text' | 'thinking' | 'redacted' | 'tool'
interface Block {
  out: number
  kind: Kind
  open: boolean
}

const frame = (data: { type: string; [key: string]: unknown }) => sseFrame(data, data.type)

/** IR events → Anthropic Messages SSE */
export function encodeAnthropicStream(events: AsyncIterable<IREvent>, ctx: CodecContext): ReadableStream<Uint8Array> {
  return streamFrom(anthropicFrames(events, ctx))
}

/** the frames of encodeAnthropicStream, one per event as it arrives */
export async function* anthropicFrames(events: AsyncIterable<IREvent>, ctx: CodecContext): AsyncGenerator<Uint8Array> {
  const showThinking = thinkingWanted(ctx)
  const blocks = new Map<number, Block | null>() // null: a block the client does not get
  let started = false
  let next = 0
  let sawToolCall = false
  let startUsage: Partial<IRUsage> = {}

  const start = (id: string, usage?: Partial<IRUsage>) => {
    started = true
    startUsage = usage ?? {}
    return frame({
      type: 'message_start',
      message: {
        id: messageId(id),
        type: 'message',
        role: 'assistant',
        model: ctx.clientModel,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usageToWire(usage),
      },
    })
  }
  const stop = (b: Block) => {
    b.open = false
    return frame({ type: 'content_block_stop', index: b.out })
  }
  const delta = (b: Block, d: Record<string, unknown>) => frame({ type: 'content_block_delta', index: b.out, delta: d })
  const errorFrame = (e: IRError) => frame(errorBody(e))

  try {
    for await (const ev of events) {
      if (!started && ev.type !== 'start' && ev.type !== 'error') yield start('')
      switch (ev.type) {
        case 'start':
          if (!started) yield start(ev.id, ev.usage)
          break
        case 'block_start': {
          const src = ev.block
          if ((src.type === 'thinking' || src.type === 'redacted_thinking') && !showThinking) {
            blocks.set(ev.index, null)
            break
          }
          const b: Block = {
            out: next++,
            open: true,
            kind: src.type === 'text' ? 'text' : src.type === 'thinking' ? 'thinking' : src.type === 'redacted_thinking' ? 'redacted' : 'tool',
          }
          blocks.set(ev.index, b)
          const content_block =
            src.type === 'text'
              ? { type: 'text', text: '' }
              : src.type === 'thinking'
                ? { type: 'thinking', thinking: '', signature: '' }
                : src.type === 'redacted_thinking'
                  ? { type: 'redacted_thinking', data: src.data }
                  : { type: 'tool_use', id: src.id || randomId('toolu_'), name: src.name, input: {} }
          if (src.type === 'tool_call') sawToolCall = true
          yield frame({ type: 'content_block_start', index: b.out, content_block })
          break
        }
        case 'text_delta': {
          const b = blocks.get(ev.index)
          if (b?.kind === 'text' && ev.text) yield delta(b, { type: 'text_delta', text: ev.text })
          break
        }
        case 'thinking_delta': {
          const b = blocks.get(ev.index)
          if (b?.kind === 'thinking' && ev.text) yield delta(b, { type: 'thinking_delta', thinking: ev.text })
          break
        }
        case 'signature': {
          // only thinking blocks carry a signature on this wire (Gemini signatures of tool calls / text are lost)
          const b = blocks.get(ev.index)
          if (b?.kind === 'thinking' && ev.signature) yield delta(b, { type: 'signature_delta', signature: ev.signature })
          break
        }
        case 'tool_args_delta': {
          const b = blocks.get(ev.index)
          if (b?.kind === 'tool' && ev.json) yield delta(b, { type: 'input_json_delta', partial_json: ev.json })
          break
        }
        case 'block_stop': {
          const b = blocks.get(ev.index)
          if (b?.open) yield stop(b)
          break
        }
        case 'finish': {
          for (const b of blocks.values()) if (b?.open) yield stop(b)
          const usage = { ...ev.usage }
          if (!usage.inputTokens && startUsage.inputTokens) {
            usage.inputTokens = startUsage.inputTokens
            usage.cachedInputTokens ??= startUsage.cachedInputTokens
            usage.cacheCreationInputTokens ??= startUsage.cacheCreationInputTokens
          }
          yield frame({
            type: 'message_delta',
            delta: { stop_reason: stopReasonToWire(ev.reason, sawToolCall), stop_sequence: ev.stopSequence ?? null },
            usage: usageToWire(usage),
          })
          yield frame({ type: 'message_stop' })
          return
        }
        case 'error':
          yield errorFrame(ev.error)
          return
      }
    }
  } catch (e) {
    yield errorFrame(thrownError(e, 'upstream stream failed'))
    return
  }
  yield errorFrame(err('upstream', 'upstream stream ended before the message was complete'))
}
