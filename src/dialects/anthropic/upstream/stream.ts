/**
 * Anthropic Messages SSE (upstream) → IR events.
 * Tolerates `ping`, unknown events and unknown block types (server tools: skipped, indices renumbered);
 * an `event: error` frame becomes an IR error event.
 */
import type { CodecContext, IREvent, IRStopReason, IRUsage } from '../../../ir/types'
import type { SSEMessage } from '../../../ir/sse'
import { sseBatches, type Batches, type SseDecoder } from '../../../ir/batches'
import { stopReasonFromWire, usageFromWire } from '../mapping'
import { errorFromWire } from '../errors'
import { err } from '../../../ir/errors'
import { asObject } from '../../guards'

type Kind = 'text' | 'thinking' | 'redacted' | 'tool'

/** Anthropic Messages SSE → IR events */
export async function* decodeAnthropicStream(body: ReadableStream<Uint8Array>, ctx: CodecContext): AsyncGenerator<IREvent> {
  for await (const batch of decodeAnthropicBatches(body, ctx)) yield* batch
}

/** The events of decodeAnthropicStream, one batch per upstream chunk. */
export function decodeAnthropicBatches(body: ReadableStream<Uint8Array>, ctx: CodecContext): Batches {
  return sseBatches(body, ctx.sseEventMax, new MessagesEventDecoder(ctx))
}

/** Anthropic stream events → IR events, message by message (see sseBatches). */
class MessagesEventDecoder implements SseDecoder {
  /** upstream index → IR block (null: skipped) */
  private readonly blocks = new Map<unknown, { index: number; kind: Kind; open: boolean } | null>()
  private next = 0
  private started = false
  /** raw usage fields, merged as they come: message_delta may repeat or omit some of message_start's counters */
  private readonly wireUsage: Record<string, unknown> = {}
  private usage: Partial<IRUsage> = {}
  private stop: { reason: IRStopReason; sequence?: string } | undefined

  constructor(private readonly ctx: CodecContext) {}

  message(sse: SSEMessage, out: IREvent[]): 'stop' | undefined {
    let parsed: unknown
    try {
      parsed = JSON.parse(sse.data)
    } catch {
      this.ctx.warn(`skipped an unparsable upstream SSE frame (${sse.event ?? 'no event'})`)
      return
    }
    const data = asObject(parsed)
    const type = typeof data.type === 'string' ? data.type : sse.event
    switch (type) {
      case 'message_start': {
        const m = asObject(data.message)
        this.usage = this.mergeUsage(m.usage)
        this.started = true
        out.push({ type: 'start', id: String(m.id ?? ''), model: String(m.model ?? ''), usage: { ...this.usage } })
        return
      }
      case 'content_block_start':
        this.blockStart(data, out)
        return
      case 'content_block_delta': {
        const b = this.blocks.get(data.index)
        const d = asObject(data.delta)
        if (!b) return
        if (d.type === 'text_delta' && b.kind === 'text') out.push({ type: 'text_delta', index: b.index, text: String(d.text ?? '') })
        else if (d.type === 'thinking_delta' && b.kind === 'thinking') out.push({ type: 'thinking_delta', index: b.index, text: String(d.thinking ?? '') })
        else if (d.type === 'signature_delta' && b.kind === 'thinking') out.push({ type: 'signature', index: b.index, signature: String(d.signature ?? '') })
        else if (d.type === 'input_json_delta' && b.kind === 'tool') {
          if (d.partial_json) out.push({ type: 'tool_args_delta', index: b.index, json: String(d.partial_json) })
        }
        return // citations_delta and unknown deltas: nothing the IR carries
      }
      case 'content_block_stop': {
        const b = this.blocks.get(data.index)
        if (b?.open) {
          b.open = false
          out.push({ type: 'block_stop', index: b.index })
        }
        return
      }
      case 'message_delta': {
        this.usage = this.mergeUsage(data.usage)
        const d = asObject(data.delta)
        if (d.stop_reason)
          this.stop = { reason: stopReasonFromWire(d.stop_reason), ...(typeof d.stop_sequence === 'string' ? { sequence: d.stop_sequence } : {}) }
        return
      }
      case 'message_stop':
        this.closeBlocks(out)
        out.push(finish(this.stop, this.usage))
        return 'stop'
      case 'error':
        out.push({ type: 'error', error: errorFromWire(parsed) })
        return 'stop'
      default:
        return // ping and events added after this was written
    }
  }

  /** the upstream ended without message_stop */
  end(out: IREvent[]): void {
    if (this.started && this.stop) {
      this.closeBlocks(out)
      out.push(finish(this.stop, this.usage))
    } else out.push({ type: 'error', error: err('upstream', 'upstream stream ended before the message was complete') })
  }

  private mergeUsage(u: unknown): Partial<IRUsage> {
    if (u && typeof u === 'object') for (const [k, v] of Object.entries(u)) if (v != null) this.wireUsage[k] = v
    return usageFromWire(this.wireUsage)
  }

  private blockStart(data: Record<string, unknown>, out: IREvent[]) {
    const cb = asObject(data.content_block)
    const index = this.next
    let kind: Kind
    if (cb.type === 'text') {
      kind = 'text'
      out.push({ type: 'block_start', index, block: { type: 'text' } })
    } else if (cb.type === 'thinking') {
      kind = 'thinking'
      out.push({ type: 'block_start', index, block: { type: 'thinking' } })
    } else if (cb.type === 'redacted_thinking') {
      kind = 'redacted'
      out.push({ type: 'block_start', index, block: { type: 'redacted_thinking', data: String(cb.data ?? '') } })
    } else if (cb.type === 'tool_use') {
      kind = 'tool'
      out.push({ type: 'block_start', index, block: { type: 'tool_call', id: String(cb.id ?? ''), name: String(cb.name ?? '') } })
    } else {
      this.ctx.warn(`skipped an upstream content block of type "${cb.type}"`)
      this.blocks.set(data.index, null)
      return
    }
    this.next++
    this.blocks.set(data.index, { index, kind, open: true })
    // blocks normally start empty, but carry initial content over
    if (kind === 'text' && cb.text) out.push({ type: 'text_delta', index, text: String(cb.text) })
    if (kind === 'thinking' && cb.thinking) out.push({ type: 'thinking_delta', index, text: String(cb.thinking) })
    if (kind === 'thinking' && cb.signature) out.push({ type: 'signature', index, signature: String(cb.signature) })
    if (kind === 'tool' && cb.input && typeof cb.input === 'object' && Object.keys(cb.input).length) {
      out.push({ type: 'tool_args_delta', index, json: JSON.stringify(cb.input) })
    }
  }

  /** blocks the upstream never stopped, stopped before finishing (the IR contract) */
  private closeBlocks(out: IREvent[]) {
    for (const b of this.blocks.values())
      if (b?.open) {
        b.open = false
        out.push({ type: 'block_stop', index: b.index })
      }
  }
}

function finish(stop: { reason: IRStopReason; sequence?: string } | undefined, usage: Partial<IRUsage>): IREvent {
  return {
    type: 'finish',
    reason: stop?.reason ?? 'stop',
    ...(stop?.sequence ? { stopSequence: stop.sequence } : {}),
    usage: { inputTokens: 0, outputTokens: 0, ...usage },
  }
}
