/**
 * OpenAI-compatible Chat Completions SSE → IR events.
 */
import type { CodecContext, IREvent, IRUsage } from '../../../ir/types'
import { emptyUsage } from '../../../ir/collect'
import type { SSEMessage } from '../../../ir/sse'
import { sseBatches, type Batches, type SseDecoder } from '../../../ir/batches'
import { finishReasonIn, newId, reasoningOf, str, textOf, usageIn } from '../mapping'
import { errorFromWire } from '../errors'
import { err } from '../../../ir/errors'
import { asArray, asObject } from '../../guards'

interface ToolBlock {
  index: number
  id: string
}

/** SSE → IR events. One block is open at a time: starting a different kind (or another tool call) closes it. */
export async function* decodeChatUpstreamStream(body: ReadableStream<Uint8Array>, ctx: CodecContext): AsyncGenerator<IREvent> {
  for await (const batch of decodeChatUpstreamBatches(body, ctx)) yield* batch
}

/** The events of decodeChatUpstreamStream, one batch per upstream chunk. */
export function decodeChatUpstreamBatches(body: ReadableStream<Uint8Array>, ctx: CodecContext): Batches {
  return sseBatches(body, ctx.sseEventMax, new ChatChunkDecoder(ctx))
}

/** Chat completion chunks → IR events, message by message (see sseBatches). */
class ChatChunkDecoder implements SseDecoder {
  private started = false
  private nextIndex = 0
  private open: { index: number; kind: 'text' | 'thinking' | 'tool_call' } | undefined
  /** wire tool_calls[].index → IR block */
  private readonly tools = new Map<number, ToolBlock>()
  private lastTool: ToolBlock | undefined
  private finishReason: unknown
  private usage: IRUsage | undefined

  constructor(private readonly ctx: CodecContext) {}

  message(msg: SSEMessage, out: IREvent[]): 'end' | 'stop' | undefined {
    const data = msg.data.trim()
    if (data === '[DONE]') return 'end'
    if (!data) return
    let parsed: unknown
    try {
      parsed = JSON.parse(data)
    } catch {
      this.ctx.warn(`ignored a non-JSON SSE frame from upstream: ${data}`) // whole: the logger masks keys, then cuts
      return
    }
    const chunk = asObject(parsed)
    if (chunk.error || msg.event === 'error') {
      this.close(out)
      out.push({ type: 'error', error: errorFromWire(chunk.error ?? parsed) })
      return 'stop'
    }
    if (!this.started) {
      this.started = true
      out.push({ type: 'start', id: str(chunk.id) || newId('chatcmpl-'), model: str(chunk.model) || this.ctx.clientModel })
    }
    if (chunk.usage) this.usage = usageIn(chunk.usage)
    const first: unknown = asArray(chunk.choices)[0]
    if (!first) return
    const choice = asObject(first)
    const delta = asObject(choice.delta)
    const reasoning = reasoningOf(delta)
    if (reasoning) out.push({ type: 'thinking_delta', index: this.begin('thinking', out), text: reasoning })
    const text = textOf(delta.content) || str(delta.refusal)
    if (text) out.push({ type: 'text_delta', index: this.begin('text', out), text })
    if (Array.isArray(delta.tool_calls)) for (const tc of delta.tool_calls) this.toolDelta(tc, out)
    if (delta.function_call) this.toolDelta({ index: 0, function: delta.function_call }, out)
    if (choice.finish_reason) this.finishReason = choice.finish_reason
  }

  end(out: IREvent[]): void {
    if (!this.started) {
      out.push({ type: 'error', error: err('upstream', 'Upstream closed the stream without sending any data.') })
      return
    }
    this.close(out)
    out.push({ type: 'finish', reason: finishReasonIn(this.finishReason, this.tools.size > 0), usage: this.usage ?? emptyUsage() })
  }

  private close(out: IREvent[]) {
    if (this.open) out.push({ type: 'block_stop', index: this.open.index })
    this.open = undefined
  }

  /** Open a block of this kind unless one is open; returns the open block's index. */
  private begin(kind: 'text' | 'thinking', out: IREvent[]): number {
    if (this.open?.kind === kind) return this.open.index
    this.close(out)
    this.open = { index: this.nextIndex++, kind }
    out.push({ type: 'block_start', index: this.open.index, block: { type: kind } })
    return this.open.index
  }

  private toolDelta(call: unknown, out: IREvent[]) {
    const tc = asObject(call)
    const fn = asObject(tc.function)
    const wireIndex = typeof tc.index === 'number' ? tc.index : undefined
    const id = str(tc.id)
    let block = wireIndex !== undefined ? this.tools.get(wireIndex) : this.lastTool
    // a new call: unseen index, or (servers that number every call 0) a different id at a known index
    if (!block || (id && id !== block.id)) {
      this.close(out)
      block = { index: this.nextIndex++, id: id || newId('call_') }
      this.tools.set(wireIndex ?? this.tools.size, block)
      this.open = { index: block.index, kind: 'tool_call' }
      out.push({ type: 'block_start', index: block.index, block: { type: 'tool_call', id: block.id, name: str(fn.name) } })
    }
    this.lastTool = block
    const args = fn.arguments
    const json = typeof args === 'string' ? args : args != null ? JSON.stringify(args) : ''
    if (json) out.push({ type: 'tool_args_delta', index: block.index, json })
  }
}
