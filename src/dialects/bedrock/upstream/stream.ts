/**
 * Bedrock ConverseStream (an `application/vnd.amazon.eventstream` body) → IR events. Events arrive as
 * messageStart, contentBlockStart (tool use only), contentBlockDelta (text, toolUse input, reasoningContent),
 * contentBlockStop, messageStop {stopReason}, metadata {usage}; text and reasoning blocks start with their first
 * delta. An `exception` message becomes an IR error event; a bad CRC ends the stream with an upstream error.
 */
import type { CodecContext, IREvent, IRStopReason, IRUsage } from '../../../ir/types'
import { err } from '../../../ir/errors'
import { parseEventStream } from '../../../ir/eventstream'
import { asObject } from '../../guards'
import { randomId } from '../../anthropic/mapping'
import { exceptionFromBedrock, stopReasonFromConverse, usageFromConverse } from '../mapping'

type Kind = 'text' | 'thinking' | 'tool'
const td = new TextDecoder()

/** ConverseStream bytes → IR events */
export async function* decodeConverseStream(body: ReadableStream<Uint8Array>, ctx: CodecContext): AsyncGenerator<IREvent> {
  const blocks = new Map<number, { index: number; kind: Kind; open: boolean }>() // upstream contentBlockIndex → IR block
  let next = 0
  let started = false
  let stop: IRStopReason | undefined
  let usage: IRUsage | undefined
  function* open(at: number, kind: Kind, tool?: { id: string; name: string }): Generator<IREvent, number> {
    const b = blocks.get(at)
    if (b?.open) return b.index
    const index = next++
    blocks.set(at, { index, kind, open: true })
    yield { type: 'block_start', index, block: kind === 'tool' && tool ? { type: 'tool_call', ...tool } : { type: kind === 'tool' ? 'text' : kind } }
    return index
  }
  function* close(at?: number): Generator<IREvent> {
    for (const [k, b] of blocks)
      if (b.open && (at === undefined || k === at)) {
        b.open = false
        yield { type: 'block_stop', index: b.index }
      }
  }
  const finish = (): IREvent => ({ type: 'finish', reason: stop ?? 'stop', usage: usage ?? { inputTokens: 0, outputTokens: 0 } })

  try {
    for await (const m of parseEventStream(body, ctx.sseEventMax)) {
      let data: Record<string, unknown> = {}
      try {
        data = asObject(JSON.parse(td.decode(m.payload)))
      } catch {
        ctx.warn(`skipped an unparsable upstream event (${m.headers[':event-type'] ?? 'no event type'})`)
        continue
      }
      if (m.headers[':message-type'] === 'exception' || m.headers[':message-type'] === 'error') {
        yield { type: 'error', error: exceptionFromBedrock(m.headers[':exception-type'] ?? m.headers[':error-code'] ?? '', data) }
        return
      }
      if (!started) {
        started = true
        yield { type: 'start', id: randomId('msg_bdrk_'), model: ctx.clientModel }
      }
      const at = Number(data.contentBlockIndex ?? 0)
      switch (m.headers[':event-type']) {
        case 'contentBlockStart': {
          const tool = asObject(asObject(data.start).toolUse)
          if (tool.name !== undefined) yield* open(at, 'tool', { id: String(tool.toolUseId ?? ''), name: String(tool.name) })
          break
        }
        case 'contentBlockDelta': {
          const d = asObject(data.delta)
          if (typeof d.text === 'string') {
            const index = yield* open(at, 'text')
            if (d.text) yield { type: 'text_delta', index, text: d.text }
          } else if (d.toolUse) {
            const index = yield* open(at, 'tool', { id: '', name: '' })
            const input = asObject(d.toolUse).input
            if (typeof input === 'string' && input) yield { type: 'tool_args_delta', index, json: input }
          } else if (d.reasoningContent) {
            const r = asObject(d.reasoningContent)
            if (typeof r.redactedContent === 'string') {
              yield* close(at)
              const index = next++
              blocks.set(at, { index, kind: 'thinking', open: true })
              yield { type: 'block_start', index, block: { type: 'redacted_thinking', data: r.redactedContent } }
              break
            }
            const index = yield* open(at, 'thinking')
            if (typeof r.text === 'string' && r.text) yield { type: 'thinking_delta', index, text: r.text }
            if (typeof r.signature === 'string' && r.signature) yield { type: 'signature', index, signature: r.signature }
          }
          break
        }
        case 'contentBlockStop':
          yield* close(at)
          break
        case 'messageStop':
          stop = stopReasonFromConverse(data.stopReason)
          break
        case 'metadata':
          usage = usageFromConverse(data.usage)
          break
        default:
          break // messageStart and events added after this was written
      }
    }
    if (stop) {
      yield* close()
      yield finish()
    } else yield { type: 'error', error: err('upstream', 'upstream stream ended before the message was complete') }
  } finally {
    await body.cancel().catch(() => {})
  }
}
