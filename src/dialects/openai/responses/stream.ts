/**
 * IR events → the Responses API named-event SSE stream, flushed as events arrive:
 *
 *   response.created, response.in_progress,
 *   per block — message:   output_item.added, content_part.added, output_text.delta…, output_text.done,
 *                          content_part.done, output_item.done
 *             — reasoning: output_item.added, reasoning_summary_part.added, reasoning_summary_text.delta…,
 *                          reasoning_summary_text.done, reasoning_summary_part.done, output_item.done
 *             — function:  output_item.added, function_call_arguments.delta…, function_call_arguments.done,
 *                          output_item.done   (custom tools: custom_tool_call_input.delta/.done)
 *   response.completed | response.incomplete | response.failed (with the full response object).
 *
 * Every event carries `type` and a `sequence_number` counting from 0. Blocks may interleave (each keeps
 * its own output_index).
 */
import type { CodecContext, IRError, IREvent, IRResponse, IRUsage } from '../../../ir/types'
import { err, thrownError } from '../../../ir/errors'
import { sseFrame, streamFrom } from '../../../ir/sse'
import {
  callItem,
  customInput,
  encryptedOf,
  itemId,
  messageItem,
  outputText,
  reasoningItem,
  responseObject,
  statusOf,
  wantsEncryptedReasoning,
  type OutputItem,
  type ResponseState,
} from './output'
import type { ResponsesRequestBody } from './schema'
import { rawBody } from '../../guards'
import { responseError } from '../errors'
import { nowSeconds } from '../mapping'
import { toolRefs, type WireToolRef } from './tools'

interface Block {
  kind: 'text' | 'thinking' | 'call'
  outputIndex: number
  itemId: string
  /** text, reasoning text, or arguments JSON */
  text: string
  open: boolean
  summaryOpen?: boolean
  signature?: string
  redacted?: boolean
  callId?: string
  name?: string
  ref?: WireToolRef
}

export interface StreamHooks {
  /** called once the response reached completed/incomplete, with its id and assistant content as IR */
  done?(responseId: string, content: IRResponse['content']): void
}

class ResponsesStreamEncoder {
  private seq = 0
  private started = false
  private finished = false
  private readonly state: ResponseState
  private readonly blocks = new Map<number, Block>()
  private readonly order: Block[] = []
  private usage: Partial<IRUsage> = {}
  private readonly refs: Map<string, WireToolRef>
  private readonly include: boolean

  constructor(
    private readonly ctx: CodecContext,
    private readonly hooks: StreamHooks,
  ) {
    this.state = { id: itemId('resp'), createdAt: nowSeconds(), status: 'in_progress', output: [] }
    this.refs = toolRefs(rawBody<ResponsesRequestBody>(ctx.raw).tools)
    this.include = wantsEncryptedReasoning(ctx.raw)
  }

  get done(): boolean {
    return this.finished
  }

  private frame(type: string, fields: Record<string, unknown>): Uint8Array {
    return sseFrame({ type, ...fields, sequence_number: this.seq++ }, type)
  }

  private response() {
    return responseObject(this.state, this.ctx)
  }

  *on(ev: IREvent): Generator<Uint8Array> {
    if (this.finished) return
    if (!this.started) {
      this.started = true
      yield this.frame('response.created', { response: this.response() })
      yield this.frame('response.in_progress', { response: this.response() })
    }
    switch (ev.type) {
      case 'start':
        if (ev.usage) this.usage = { ...this.usage, ...ev.usage }
        break
      case 'block_start':
        yield* this.blockStart(ev.index, ev.block)
        break
      case 'text_delta': {
        const b = this.blocks.get(ev.index)
        if (b?.kind !== 'text' || !b.open || !ev.text) break
        b.text += ev.text
        yield this.frame('response.output_text.delta', { item_id: b.itemId, output_index: b.outputIndex, content_index: 0, delta: ev.text, logprobs: [] })
        break
      }
      case 'thinking_delta': {
        const b = this.blocks.get(ev.index)
        if (b?.kind !== 'thinking' || !b.open || !ev.text) break
        if (!b.summaryOpen) {
          b.summaryOpen = true
          yield this.frame('response.reasoning_summary_part.added', {
            item_id: b.itemId,
            output_index: b.outputIndex,
            summary_index: 0,
            part: { type: 'summary_text', text: '' },
          })
        }
        b.text += ev.text
        yield this.frame('response.reasoning_summary_text.delta', { item_id: b.itemId, output_index: b.outputIndex, summary_index: 0, delta: ev.text })
        break
      }
      case 'signature': {
        const b = this.blocks.get(ev.index)
        if (b && b.kind !== 'text') b.signature = ev.signature
        break
      }
      case 'tool_args_delta': {
        const b = this.blocks.get(ev.index)
        if (b?.kind !== 'call' || !b.open || !ev.json) break
        b.text += ev.json
        // a custom tool's raw input is only known once its JSON wrapper is complete
        if (!b.ref?.custom) yield this.frame('response.function_call_arguments.delta', { item_id: b.itemId, output_index: b.outputIndex, delta: ev.json })
        break
      }
      case 'block_stop': {
        const b = this.blocks.get(ev.index)
        if (b?.open) yield* this.blockStop(b)
        break
      }
      case 'finish':
        yield* this.finish(ev.reason, ev.usage)
        break
      case 'error':
        yield* this.fail(ev.error)
        break
    }
  }

  private *blockStart(index: number, block: Extract<IREvent, { type: 'block_start' }>['block']): Generator<Uint8Array> {
    const outputIndex = this.order.length
    let b: Block
    let item: OutputItem
    if (block.type === 'text') {
      b = { kind: 'text', outputIndex, itemId: itemId('msg'), text: '', open: true }
      item = messageItem(b.itemId, undefined, 'in_progress')
    } else if (block.type === 'thinking' || block.type === 'redacted_thinking') {
      b = { kind: 'thinking', outputIndex, itemId: itemId('rs'), text: '', open: true }
      if (block.type === 'redacted_thinking') {
        b.redacted = true
        b.signature = block.data
      }
      item = reasoningItem(b.itemId, '', undefined, false)
    } else {
      const ref = this.refs.get(block.name)
      b = { kind: 'call', outputIndex, itemId: itemId(ref?.custom ? 'ctc' : 'fc'), text: '', open: true, callId: block.id, name: block.name, ref }
      item = callItem(b.itemId, block.id, block.name, '', ref, 'in_progress')
    }
    this.blocks.set(index, b)
    this.order.push(b)
    this.state.output.push(item)
    yield this.frame('response.output_item.added', { output_index: outputIndex, item })
    if (b.kind === 'text') {
      yield this.frame('response.content_part.added', { item_id: b.itemId, output_index: outputIndex, content_index: 0, part: outputText('') })
    }
  }

  private *blockStop(b: Block): Generator<Uint8Array> {
    b.open = false
    const at = { item_id: b.itemId, output_index: b.outputIndex }
    let item: OutputItem
    if (b.kind === 'text') {
      yield this.frame('response.output_text.done', { ...at, content_index: 0, text: b.text, logprobs: [] })
      yield this.frame('response.content_part.done', { ...at, content_index: 0, part: outputText(b.text) })
      item = messageItem(b.itemId, b.text)
    } else if (b.kind === 'thinking') {
      if (b.summaryOpen) {
        yield this.frame('response.reasoning_summary_text.done', { ...at, summary_index: 0, text: b.text })
        yield this.frame('response.reasoning_summary_part.done', { ...at, summary_index: 0, part: { type: 'summary_text', text: b.text } })
      }
      item = reasoningItem(b.itemId, b.text, encryptedOf(b.signature, b.redacted), this.include)
    } else {
      if (!b.text) b.text = '{}'
      item = callItem(b.itemId, b.callId ?? '', b.name ?? '', b.text, b.ref)
      if (b.ref?.custom) {
        if (item.input) yield this.frame('response.custom_tool_call_input.delta', { ...at, delta: item.input })
        yield this.frame('response.custom_tool_call_input.done', { ...at, input: item.input })
      } else {
        yield this.frame('response.function_call_arguments.done', { ...at, name: item.name, arguments: b.text })
      }
    }
    this.state.output[b.outputIndex] = item
    yield this.frame('response.output_item.done', { output_index: b.outputIndex, item })
  }

  private *finish(reason: Parameters<typeof statusOf>[0], usage: IRUsage): Generator<Uint8Array> {
    for (const b of this.order) if (b.open) yield* this.blockStop(b)
    const merged: IRUsage = { ...usage }
    for (const k of Object.keys(this.usage) as Array<keyof IRUsage>) {
      if (!merged[k] && this.usage[k]) merged[k] = this.usage[k] as number
    }
    const { status, incomplete_details } = statusOf(reason)
    if (status === 'failed') {
      yield* this.fail(err('upstream', 'the upstream model stopped with an error'), merged)
      return
    }
    this.finished = true
    Object.assign(this.state, { status, incompleteDetails: incomplete_details, usage: merged })
    yield this.frame(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: this.response() })
    this.hooks.done?.(this.state.id, this.irContent())
  }

  *fail(error: IRError, usage?: IRUsage): Generator<Uint8Array> {
    if (this.finished) return
    if (!this.started) {
      yield* this.on({ type: 'start', id: '', model: '' })
    }
    this.finished = true
    for (const b of this.order) {
      const item = this.state.output[b.outputIndex]
      if (b.open && item) item.status = 'incomplete'
    }
    Object.assign(this.state, { status: 'failed', error: responseError(error), ...(usage ? { usage } : {}) })
    yield this.frame('response.failed', { response: this.response() })
  }

  private irContent(): IRResponse['content'] {
    return this.order.map(b =>
      b.kind === 'text'
        ? { type: 'text' as const, text: b.text }
        : b.kind === 'thinking'
          ? {
              type: 'thinking' as const,
              text: b.text,
              ...(b.signature !== undefined ? { signature: b.signature } : {}),
              ...(b.redacted ? { redacted: true } : {}),
            }
          : {
              type: 'tool_call' as const,
              id: b.callId ?? '',
              name: b.name ?? '',
              arguments: b.ref?.custom ? JSON.stringify({ input: customInput(b.text) }) : b.text,
              ...(b.signature ? { signature: b.signature } : {}),
            },
    )
  }
}

/** IR events → the Responses named-event SSE; `hooks.done` runs once the response completed */
export function encodeResponsesStream(events: AsyncIterable<IREvent>, ctx: CodecContext, hooks: StreamHooks = {}): ReadableStream<Uint8Array> {
  async function* frames(): AsyncGenerator<Uint8Array> {
    const enc = new ResponsesStreamEncoder(ctx, hooks)
    try {
      for await (const ev of events) {
        yield* enc.on(ev)
        if (enc.done) break
      }
      if (!enc.done) yield* enc.fail(err('upstream', 'the upstream stream ended before the response was complete'))
    } catch (e) {
      yield* enc.fail(thrownError(e))
    }
  }
  return streamFrom(frames())
}
