/**
 * Bridges between whole responses and event streams, so each codec writes only what its wire has:
 * - `collect`: IR events → IR response (a streaming upstream answering a non-streaming client)
 * - `replay`:  IR response → IR events (a non-streaming upstream answering a streaming client)
 */
import type { IREvent, IRResponse, IRUsage, IRError } from './types'
import { IRErrorValue } from './types'

export const emptyUsage = (): IRUsage => ({ inputTokens: 0, outputTokens: 0 })

export async function collect(events: AsyncIterable<IREvent>): Promise<IRResponse> {
  const res: IRResponse = { id: '', model: '', content: [], stopReason: 'stop', usage: emptyUsage() }
  const blocks = new Map<number, IRResponse['content'][number]>()
  for await (const ev of events) {
    switch (ev.type) {
      case 'start':
        res.id = ev.id
        res.model = ev.model
        if (ev.usage) res.usage = { ...res.usage, ...ev.usage }
        break
      case 'block_start': {
        const b = ev.block
        const part: IRResponse['content'][number] =
          b.type === 'text'
            ? { type: 'text', text: '' }
            : b.type === 'thinking'
              ? { type: 'thinking', text: '' }
              : b.type === 'redacted_thinking'
                ? { type: 'thinking', text: '', redacted: true, signature: b.data }
                : { type: 'tool_call', id: b.id, name: b.name, arguments: '' }
        blocks.set(ev.index, part)
        res.content.push(part)
        break
      }
      case 'text_delta': {
        const p = blocks.get(ev.index)
        if (p?.type === 'text') p.text += ev.text
        break
      }
      case 'thinking_delta': {
        const p = blocks.get(ev.index)
        if (p?.type === 'thinking') p.text += ev.text
        break
      }
      case 'signature': {
        const p = blocks.get(ev.index)
        if (p && p.type !== 'text') p.signature = ev.signature
        break
      }
      case 'tool_args_delta': {
        const p = blocks.get(ev.index)
        if (p?.type === 'tool_call') p.arguments += ev.json
        break
      }
      case 'block_stop':
        break
      case 'finish':
        res.stopReason = ev.reason
        if (ev.stopSequence) res.stopSequence = ev.stopSequence
        res.usage = { ...res.usage, ...ev.usage }
        break
      case 'error':
        throw new IRErrorValue(ev.error)
    }
  }
  for (const p of res.content) if (p.type === 'tool_call' && p.arguments === '') p.arguments = '{}'
  return res
}

export async function* replay(res: IRResponse): AsyncGenerator<IREvent> {
  yield { type: 'start', id: res.id, model: res.model, usage: { inputTokens: res.usage.inputTokens, outputTokens: 0 } }
  let index = 0
  for (const p of res.content) {
    if (p.type === 'text') {
      yield { type: 'block_start', index, block: { type: 'text' } }
      if (p.text) yield { type: 'text_delta', index, text: p.text }
    } else if (p.type === 'thinking') {
      if (p.redacted) yield { type: 'block_start', index, block: { type: 'redacted_thinking', data: p.signature ?? '' } }
      else {
        yield { type: 'block_start', index, block: { type: 'thinking' } }
        if (p.text) yield { type: 'thinking_delta', index, text: p.text }
        if (p.signature) yield { type: 'signature', index, signature: p.signature }
      }
    } else {
      yield { type: 'block_start', index, block: { type: 'tool_call', id: p.id, name: p.name } }
      if (p.arguments) yield { type: 'tool_args_delta', index, json: p.arguments }
      if (p.signature) yield { type: 'signature', index, signature: p.signature }
    }
    yield { type: 'block_stop', index }
    index++
  }
  yield { type: 'finish', reason: res.stopReason, stopSequence: res.stopSequence, usage: res.usage }
}

/** Turn an error value into an error event (for streams already started). */
export const errorEvent = (error: IRError): IREvent => ({ type: 'error', error })
