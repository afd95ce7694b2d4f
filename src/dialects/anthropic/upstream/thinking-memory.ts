/**
 * Signed thinking across clients that cannot carry it. When Anthropic answers with signed thinking and
 * then a tool call, the thinking is remembered by the tool call's id; when that tool call comes back
 * (from an OpenAI chat client, say) without its signed thinking, the thinking is put back in front of it,
 * so extended thinking stays on across tool turns instead of being switched off. Remembered in `m`, the app's
 * CodecMemory (CodecContext.memory).
 */
import type { CodecMemory, IREvent, IRMessage, IRResponse, IRThinking } from '../../../ir/types'
import { recallThinking, rememberThinking, type SignedThinking } from '../../../ir/signatures'
import { seenBatches, type Batches } from '../../../ir/batches'

const signed = (p: IRThinking): SignedThinking | undefined => (p.signature ? { text: p.text, signature: p.signature, redacted: p.redacted } : undefined)

/** After a whole response: remember the signed thinking in front of each tool call. */
export function rememberFromResponse(res: IRResponse, m: CodecMemory): IRResponse {
  const thinking: SignedThinking[] = []
  for (const p of res.content) {
    if (p.type === 'thinking') {
      const s = signed(p)
      if (s) thinking.push(s)
    } else if (p.type === 'tool_call') rememberThinking(p.id, thinking, m)
  }
  return res
}

/** Pass stream events through, remembering the signed thinking seen before each tool call. */
export async function* rememberFromStream(events: AsyncIterable<IREvent>, m: CodecMemory): AsyncGenerator<IREvent> {
  const seen = thinkingRecorder(m)
  for await (const ev of events) {
    seen(ev)
    yield ev
  }
}

/** The same for batches of events. */
export function rememberFromBatches(batches: AsyncIterable<IREvent[]>, m: CodecMemory): Batches {
  const seen = thinkingRecorder(m)
  return seenBatches(batches, batch => {
    for (const ev of batch) seen(ev)
  })
}

/** Told each event of one stream in order: remembers the signed thinking in front of each tool call. */
function thinkingRecorder(m: CodecMemory): (ev: IREvent) => void {
  const blocks = new Map<number, SignedThinking>()
  const order: number[] = []
  return ev => {
    if (ev.type === 'block_start' && (ev.block.type === 'thinking' || ev.block.type === 'redacted_thinking')) {
      blocks.set(ev.index, ev.block.type === 'redacted_thinking' ? { text: '', signature: ev.block.data, redacted: true } : { text: '', signature: '' })
      order.push(ev.index)
    } else if (ev.type === 'thinking_delta') {
      const b = blocks.get(ev.index)
      if (b) b.text += ev.text
    } else if (ev.type === 'signature') {
      const b = blocks.get(ev.index)
      if (b) b.signature = ev.signature
    } else if (ev.type === 'block_start' && ev.block.type === 'tool_call')
      rememberThinking(
        ev.block.id,
        order.map(i => blocks.get(i)).filter((b): b is SignedThinking => !!b?.signature),
        m,
      )
  }
}

/** Before encoding: an assistant turn with tool calls but no signed thinking gets its remembered thinking back. */
export function restoreThinking(messages: IRMessage[], m: CodecMemory): IRMessage[] {
  return messages.map(msg => restoreOne(msg, m))
}

/** One message, with its remembered thinking back in front of its first tool call (if it lost it). */
function restoreOne(m: IRMessage, memory: CodecMemory): IRMessage {
  if (m.role !== 'assistant') return m
  const firstCall = m.content.find(p => p.type === 'tool_call')
  if (!firstCall || firstCall.type !== 'tool_call') return m
  if (m.content.some(p => p.type === 'thinking' && p.signature)) return m
  const remembered = recallThinking(firstCall.id, memory)
  if (!remembered?.length) return m
  const thinking: IRThinking[] = remembered.map(b => ({ type: 'thinking', text: b.text, signature: b.signature, redacted: b.redacted }))
  return { ...m, content: [...thinking, ...m.content.filter(p => p.type !== 'thinking')] }
}
