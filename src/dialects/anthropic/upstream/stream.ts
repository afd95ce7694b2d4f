/**
 * Anthropic Messages SSE (upstream) → IR events.
 * Tolerates `ping`, unknown events and unknown block types (server tools: skipped, indices renumbered);
 * an `event: error` frame becomes an IR error event.
 */
import type { CodecContext, IREvent, IRStopReason, IRUsage } from '../../../ir/types'
import { parseSSE } from '../../../ir/sse'
import { stopReasonFromWire, usageFromWire } from '../mapping'
import { errorFromWire } from '../errors'
import { err } from '../../../ir/errors'
import { asObject } from '../../guards'

type Kind = 'text' | 'thinking' | 'redacted' | 'tool'

/** Anthropic Messages SSE → IR events */
export async function* decodeAnthropicStream(body: ReadableStream<Uint8Array>, ctx: CodecContext): AsyncGenerator<IREvent> {
  const blocks = new Map<unknown, { index: number; kind: Kind; open: boolean } | null>() // upstream index → IR block (null: skipped)
  let next = 0
  let started = false
  // raw usage fields, merged as they come: message_delta may repeat or omit some of message_start's counters
  const wireUsage: Record<string, unknown> = {}
  const mergeUsage = (u: unknown): Partial<IRUsage> => {
    if (u && typeof u === 'object') for (const [k, v] of Object.entries(u)) if (v != null) wireUsage[k] = v
    return usageFromWire(wireUsage)
  }
  let usage: Partial<IRUsage> = {}
  let stop: { reason: IRStopReason; sequence?: string } | undefined
  /** blocks the upstream never stopped, stopped before finishing (the IR contract) */
  function* closeBlocks(): Generator<IREvent> {
    for (const b of blocks.values())
      if (b?.open) {
        b.open = false
        yield { type: 'block_stop', index: b.index }
      }
  }

  try {
    for await (const sse of parseSSE(body, ctx.sseEventMax)) {
      let parsed: unknown
      try {
        parsed = JSON.parse(sse.data)
      } catch {
        ctx.warn(`skipped an unparsable upstream SSE frame (${sse.event ?? 'no event'})`)
        continue
      }
      const data = asObject(parsed)
      const type = typeof data.type === 'string' ? data.type : sse.event
      switch (type) {
        case 'message_start': {
          const m = asObject(data.message)
          usage = mergeUsage(m.usage)
          started = true
          yield { type: 'start', id: String(m.id ?? ''), model: String(m.model ?? ''), usage: { ...usage } }
          break
        }
        case 'content_block_start': {
          const cb = asObject(data.content_block)
          const index = next
          let kind: Kind
          if (cb.type === 'text') {
            kind = 'text'
            yield { type: 'block_start', index, block: { type: 'text' } }
          } else if (cb.type === 'thinking') {
            kind = 'thinking'
            yield { type: 'block_start', index, block: { type: 'thinking' } }
          } else if (cb.type === 'redacted_thinking') {
            kind = 'redacted'
            yield { type: 'block_start', index, block: { type: 'redacted_thinking', data: String(cb.data ?? '') } }
          } else if (cb.type === 'tool_use') {
            kind = 'tool'
            yield { type: 'block_start', index, block: { type: 'tool_call', id: String(cb.id ?? ''), name: String(cb.name ?? '') } }
          } else {
            ctx.warn(`skipped an upstream content block of type "${cb.type}"`)
            blocks.set(data.index, null)
            break
          }
          next++
          blocks.set(data.index, { index, kind, open: true })
          // blocks normally start empty, but carry initial content over
          if (kind === 'text' && cb.text) yield { type: 'text_delta', index, text: String(cb.text) }
          if (kind === 'thinking' && cb.thinking) yield { type: 'thinking_delta', index, text: String(cb.thinking) }
          if (kind === 'thinking' && cb.signature) yield { type: 'signature', index, signature: String(cb.signature) }
          if (kind === 'tool' && cb.input && typeof cb.input === 'object' && Object.keys(cb.input).length) {
            yield { type: 'tool_args_delta', index, json: JSON.stringify(cb.input) }
          }
          break
        }
        case 'content_block_delta': {
          const b = blocks.get(data.index)
          const d = asObject(data.delta)
          if (!b) break
          if (d.type === 'text_delta' && b.kind === 'text') yield { type: 'text_delta', index: b.index, text: String(d.text ?? '') }
          else if (d.type === 'thinking_delta' && b.kind === 'thinking') yield { type: 'thinking_delta', index: b.index, text: String(d.thinking ?? '') }
          else if (d.type === 'signature_delta' && b.kind === 'thinking') yield { type: 'signature', index: b.index, signature: String(d.signature ?? '') }
          else if (d.type === 'input_json_delta' && b.kind === 'tool') {
            if (d.partial_json) yield { type: 'tool_args_delta', index: b.index, json: String(d.partial_json) }
          }
          break // citations_delta and unknown deltas: nothing the IR carries
        }
        case 'content_block_stop': {
          const b = blocks.get(data.index)
          if (b?.open) {
            b.open = false
            yield { type: 'block_stop', index: b.index }
          }
          break
        }
        case 'message_delta': {
          usage = mergeUsage(data.usage)
          const d = asObject(data.delta)
          if (d.stop_reason) stop = { reason: stopReasonFromWire(d.stop_reason), ...(typeof d.stop_sequence === 'string' ? { sequence: d.stop_sequence } : {}) }
          break
        }
        case 'message_stop':
          yield* closeBlocks()
          yield finish(stop, usage)
          return
        case 'error':
          yield { type: 'error', error: errorFromWire(parsed) }
          return
        default:
          break // ping and events added after this was written
      }
    }
    // the upstream ended without message_stop
    if (started && stop) {
      yield* closeBlocks()
      yield finish(stop, usage)
    } else yield { type: 'error', error: err('upstream', 'upstream stream ended before the message was complete') }
  } finally {
    // release the upstream connection (matters when stopped early: client gone, error frame)
    await body.cancel().catch(() => {})
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
