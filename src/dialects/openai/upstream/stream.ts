/**
 * OpenAI-compatible Chat Completions SSE → IR events.
 */
import type { CodecContext, IREvent, IRUsage } from '../../../ir/types'
import { emptyUsage } from '../../../ir/collect'
import { parseSSE } from '../../../ir/sse'
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
  let started = false
  let nextIndex = 0
  let open: { index: number; kind: 'text' | 'thinking' | 'tool_call' } | undefined
  const tools = new Map<number, ToolBlock>() // wire tool_calls[].index → IR block
  let lastTool: ToolBlock | undefined
  let finishReason: unknown
  let usage: IRUsage | undefined

  function* close(): Generator<IREvent> {
    if (open) yield { type: 'block_stop', index: open.index }
    open = undefined
  }
  /** Open a block of this kind unless one is open; returns the open block's index. */
  function* begin(kind: 'text' | 'thinking'): Generator<IREvent, number> {
    if (open?.kind === kind) return open.index
    yield* close()
    open = { index: nextIndex++, kind }
    yield { type: 'block_start', index: open.index, block: { type: kind } }
    return open.index
  }
  function* toolDelta(call: unknown): Generator<IREvent> {
    const tc = asObject(call)
    const fn = asObject(tc.function)
    const wireIndex = typeof tc.index === 'number' ? tc.index : undefined
    const id = str(tc.id)
    let block = wireIndex !== undefined ? tools.get(wireIndex) : lastTool
    // a new call: unseen index, or (servers that number every call 0) a different id at a known index
    if (!block || (id && id !== block.id)) {
      yield* close()
      block = { index: nextIndex++, id: id || newId('call_') }
      tools.set(wireIndex ?? tools.size, block)
      open = { index: block.index, kind: 'tool_call' }
      yield { type: 'block_start', index: block.index, block: { type: 'tool_call', id: block.id, name: str(fn.name) } }
    }
    lastTool = block
    const args = fn.arguments
    const json = typeof args === 'string' ? args : args != null ? JSON.stringify(args) : ''
    if (json) yield { type: 'tool_args_delta', index: block.index, json }
  }

  try {
    for await (const msg of parseSSE(body, ctx.sseEventMax)) {
      const data = msg.data.trim()
      if (data === '[DONE]') break
      if (!data) continue
      let parsed: unknown
      try {
        parsed = JSON.parse(data)
      } catch {
        ctx.warn(`ignored a non-JSON SSE frame from upstream: ${data}`) // whole: the logger masks keys, then cuts
        continue
      }
      const chunk = asObject(parsed)
      if (chunk.error || msg.event === 'error') {
        yield* close()
        yield { type: 'error', error: errorFromWire(chunk.error ?? parsed) }
        return
      }
      if (!started) {
        started = true
        yield { type: 'start', id: str(chunk.id) || newId('chatcmpl-'), model: str(chunk.model) || ctx.clientModel }
      }
      if (chunk.usage) usage = usageIn(chunk.usage)
      const first: unknown = asArray(chunk.choices)[0]
      if (!first) continue
      const choice = asObject(first)
      const delta = asObject(choice.delta)
      const reasoning = reasoningOf(delta)
      if (reasoning) {
        const index = yield* begin('thinking')
        yield { type: 'thinking_delta', index, text: reasoning }
      }
      const text = textOf(delta.content) || str(delta.refusal)
      if (text) {
        const index = yield* begin('text')
        yield { type: 'text_delta', index, text }
      }
      if (Array.isArray(delta.tool_calls)) for (const tc of delta.tool_calls) yield* toolDelta(tc)
      if (delta.function_call) yield* toolDelta({ index: 0, function: delta.function_call })
      if (choice.finish_reason) finishReason = choice.finish_reason
    }
    if (!started) {
      yield { type: 'error', error: err('upstream', 'Upstream closed the stream without sending any data.') }
      return
    }
    yield* close()
    yield { type: 'finish', reason: finishReasonIn(finishReason, tools.size > 0), usage: usage ?? emptyUsage() }
  } finally {
    // release the upstream request if we stopped before its end ([DONE], an error frame, or the client went away)
    await body.cancel().catch(() => {})
  }
}
