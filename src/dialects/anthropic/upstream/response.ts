/**
 * Anthropic `message` (upstream JSON answer) → IR response.
 */
import type { CodecContext, IRResponse } from '../../../ir/types'
import { IRErrorValue, err } from '../../../ir/errors'
import { asObject } from '../../guards'
import { stopReasonFromWire, usageFromWire } from '../mapping'
import { errorFromWire } from '../errors'

/** an upstream `message` → IR response */
export function decodeAnthropicResponse(body: unknown, ctx: CodecContext): IRResponse {
  if (!body || typeof body !== 'object') throw new IRErrorValue(err('upstream', 'upstream returned a non-object body'))
  const msg = asObject(body)
  if (msg.type === 'error') throw new IRErrorValue(errorFromWire(msg))
  if (!Array.isArray(msg.content)) throw new IRErrorValue(err('upstream', 'upstream message has no content array'))

  const content: IRResponse['content'] = []
  for (const b of msg.content.map(asObject)) {
    switch (b.type) {
      case 'text':
        content.push({ type: 'text', text: String(b.text ?? '') })
        break
      case 'thinking':
        content.push({ type: 'thinking', text: String(b.thinking ?? ''), ...(b.signature ? { signature: String(b.signature) } : {}) })
        break
      case 'redacted_thinking':
        content.push({ type: 'thinking', text: '', redacted: true, signature: String(b.data ?? '') })
        break
      case 'tool_use':
        content.push({ type: 'tool_call', id: String(b.id ?? ''), name: String(b.name ?? ''), arguments: JSON.stringify(b.input ?? {}) })
        break
      default:
        ctx.warn(`dropped an upstream content block of type "${b.type}"`)
    }
  }
  const usage = usageFromWire(msg.usage)
  return {
    id: String(msg.id ?? ''),
    model: String(msg.model ?? ''),
    content,
    stopReason: stopReasonFromWire(msg.stop_reason),
    ...(typeof msg.stop_sequence === 'string' ? { stopSequence: msg.stop_sequence } : {}),
    usage: { inputTokens: 0, outputTokens: 0, ...usage },
  }
}
