/**
 * IR response → Anthropic `message` object (non-streaming answer to an Anthropic client).
 */
import type { CodecContext, IRResponse } from '../../../ir/types'
import { messageId, parseToolInput, randomId, stopReasonToWire, usageToWire } from '../mapping'
import { rawBody } from '../../guards'
import type { AnthropicRequestWire } from './schema'

/** A client that explicitly disabled thinking gets no thinking blocks (some upstreams reason anyway). */
export const thinkingWanted = (ctx: CodecContext): boolean => rawBody<AnthropicRequestWire>(ctx.raw).thinking?.type !== 'disabled'

/** IR response → an Anthropic `message` */
export function encodeAnthropicResponse(res: IRResponse, ctx: CodecContext) {
  const showThinking = thinkingWanted(ctx)
  const content: Record<string, unknown>[] = []
  for (const p of res.content) {
    if (p.type === 'text') content.push({ type: 'text', text: p.text })
    else if (p.type === 'thinking') {
      if (!showThinking) continue
      if (p.redacted) content.push({ type: 'redacted_thinking', data: p.signature ?? '' })
      else content.push({ type: 'thinking', thinking: p.text, signature: p.signature ?? '' })
    } else {
      const input = parseToolInput(p.arguments)
      if (!input.ok) ctx.warn(`tool call ${p.name}: arguments are not a JSON object`)
      content.push({ type: 'tool_use', id: p.id || randomId('toolu_'), name: p.name, input: input.value })
    }
  }
  return {
    id: messageId(res.id),
    type: 'message',
    role: 'assistant',
    model: ctx.clientModel,
    content,
    stop_reason: stopReasonToWire(
      res.stopReason,
      res.content.some(p => p.type === 'tool_call'),
    ),
    stop_sequence: res.stopSequence ?? null,
    usage: usageToWire(res.usage),
  }
}
