/**
 * IR events → Anthropic Messages SSE, one frame per event as soon as it arrives:
 *   message_start, (content_block_start, content_block_delta…, content_block_stop)…, message_delta, message_stop
 * An IR error (or a failing source) becomes an `event: error` frame that ends the stream.
 * The frames that repeat (deltas, block stops) are written from templates: the same bytes JSON.stringify makes.
 */
import type { CodecContext, IRError, IREvent, IRUsage, StreamWriter } from '../../../ir/types'
import { err, thrownError } from '../../../ir/errors'
import { sseText } from '../../../ir/sse'
import { batchesOf, writeStream } from '../../../ir/batches'
import { messageId, randomId, stopReasonToWire, usageToWire } from '../mapping'
import { errorBody } from '../errors'
import { thinkingWanted } from './encode'

type Kind = 'text' | 'thinking' | 'redacted' | 'tool'
interface Block {
  out: number
  kind: Kind
  open: boolean
}

const frame = (data: { type: string; [key: string]: unknown }) => sseText(data, data.type)

/** `event: content_block_delta` with a delta of one string field, e.g. `{"type":"text_delta","text":…}` */
const delta = (b: Block, type: string, field: string, value: string) =>
  `event: content_block_delta\ndata: {"type":"content_block_delta","index":${b.out},"delta":{"type":"${type}","${field}":${JSON.stringify(value)}}}\n\n`

/** IR events → Anthropic Messages SSE */
export function encodeAnthropicStream(events: AsyncIterable<IREvent>, ctx: CodecContext): ReadableStream<Uint8Array> {
  return writeStream(batchesOf(events), new AnthropicStreamWriter(ctx))
}

/** The frames of encodeAnthropicStream, event by event. */
export class AnthropicStreamWriter implements StreamWriter {
  done = false
  private readonly showThinking: boolean
  /** IR block index → the client's block (null: a block the client does not get) */
  private readonly blocks = new Map<number, Block | null>()
  private started = false
  private next = 0
  private sawToolCall = false
  private startUsage: Partial<IRUsage> = {}

  constructor(private readonly ctx: CodecContext) {
    this.showThinking = thinkingWanted(ctx)
  }

  event(ev: IREvent): string {
    if (this.done) return ''
    const head = !this.started && ev.type !== 'start' && ev.type !== 'error' ? this.start('') : ''
    switch (ev.type) {
      case 'start':
        return this.started ? '' : this.start(ev.id, ev.usage)
      case 'text_delta': {
        const b = this.blocks.get(ev.index)
        return b?.kind === 'text' && ev.text ? head + delta(b, 'text_delta', 'text', ev.text) : head
      }
      case 'thinking_delta': {
        const b = this.blocks.get(ev.index)
        return b?.kind === 'thinking' && ev.text ? head + delta(b, 'thinking_delta', 'thinking', ev.text) : head
      }
      case 'signature': {
        // only thinking blocks carry a signature on this wire (Gemini signatures of tool calls / text are lost)
        const b = this.blocks.get(ev.index)
        return b?.kind === 'thinking' && ev.signature ? head + delta(b, 'signature_delta', 'signature', ev.signature) : head
      }
      case 'tool_args_delta': {
        const b = this.blocks.get(ev.index)
        return b?.kind === 'tool' && ev.json ? head + delta(b, 'input_json_delta', 'partial_json', ev.json) : head
      }
      case 'block_start':
        return head + this.blockStart(ev.index, ev.block)
      case 'block_stop': {
        const b = this.blocks.get(ev.index)
        return b?.open ? head + this.stop(b) : head
      }
      case 'finish':
        return head + this.finish(ev)
      case 'error':
        return this.fail(ev.error)
    }
  }

  broken(thrown?: unknown): string {
    return this.fail(
      thrown === undefined ? err('upstream', 'upstream stream ended before the message was complete') : thrownError(thrown, 'upstream stream failed'),
    )
  }

  private start(id: string, usage?: Partial<IRUsage>): string {
    this.started = true
    this.startUsage = usage ?? {}
    return frame({
      type: 'message_start',
      message: {
        id: messageId(id),
        type: 'message',
        role: 'assistant',
        model: this.ctx.clientModel,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usageToWire(usage),
      },
    })
  }

  private blockStart(index: number, src: Extract<IREvent, { type: 'block_start' }>['block']): string {
    if ((src.type === 'thinking' || src.type === 'redacted_thinking') && !this.showThinking) {
      this.blocks.set(index, null)
      return ''
    }
    const b: Block = {
      out: this.next++,
      open: true,
      kind: src.type === 'text' ? 'text' : src.type === 'thinking' ? 'thinking' : src.type === 'redacted_thinking' ? 'redacted' : 'tool',
    }
    this.blocks.set(index, b)
    const content_block =
      src.type === 'text'
        ? { type: 'text', text: '' }
        : src.type === 'thinking'
          ? { type: 'thinking', thinking: '', signature: '' }
          : src.type === 'redacted_thinking'
            ? { type: 'redacted_thinking', data: src.data }
            : { type: 'tool_use', id: src.id || randomId('toolu_'), name: src.name, input: {} }
    if (src.type === 'tool_call') this.sawToolCall = true
    return frame({ type: 'content_block_start', index: b.out, content_block })
  }

  private stop(b: Block): string {
    b.open = false
    return `event: content_block_stop\ndata: {"type":"content_block_stop","index":${b.out}}\n\n`
  }

  private finish(ev: Extract<IREvent, { type: 'finish' }>): string {
    let text = ''
    for (const b of this.blocks.values()) if (b?.open) text += this.stop(b)
    const usage = { ...ev.usage }
    const startUsage = this.startUsage
    if (!usage.inputTokens && startUsage.inputTokens) {
      usage.inputTokens = startUsage.inputTokens
      usage.cachedInputTokens ??= startUsage.cachedInputTokens
      usage.cacheCreationInputTokens ??= startUsage.cacheCreationInputTokens
    }
    this.done = true
    return (
      text +
      frame({
        type: 'message_delta',
        delta: { stop_reason: stopReasonToWire(ev.reason, this.sawToolCall), stop_sequence: ev.stopSequence ?? null },
        usage: usageToWire(usage),
      }) +
      frame({ type: 'message_stop' })
    )
  }

  private fail(e: IRError): string {
    this.done = true
    return frame(errorBody(e))
  }
}
