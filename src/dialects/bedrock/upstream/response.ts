/**
 * Bedrock Converse answer (upstream JSON) → IR response.
 */
import type { CodecContext, IRResponse } from '../../../ir/types'
import { IRErrorValue, err } from '../../../ir/errors'
import { asArray, asObject, dig } from '../../guards'
import { randomId } from '../../anthropic/mapping'
import { stopReasonFromConverse, usageFromConverse } from '../mapping'

/** a Converse answer `{output: {message}, stopReason, usage}` → IR response */
export function decodeConverseResponse(body: unknown, ctx: CodecContext): IRResponse {
  const message = dig(body, 'output', 'message')
  if (!message || typeof message !== 'object') throw new IRErrorValue(err('upstream', 'upstream Converse answer has no output.message'))
  const content: IRResponse['content'] = []
  for (const b of asArray(asObject(message).content).map(asObject)) {
    if (typeof b.text === 'string') content.push({ type: 'text', text: b.text })
    else if (b.toolUse) {
      const t = asObject(b.toolUse)
      content.push({ type: 'tool_call', id: String(t.toolUseId ?? ''), name: String(t.name ?? ''), arguments: JSON.stringify(t.input ?? {}) })
    } else if (b.reasoningContent) {
      const r = asObject(b.reasoningContent)
      if (typeof r.redactedContent === 'string') content.push({ type: 'thinking', text: '', redacted: true, signature: r.redactedContent })
      else {
        const t = asObject(r.reasoningText)
        content.push({ type: 'thinking', text: String(t.text ?? ''), ...(t.signature ? { signature: String(t.signature) } : {}) })
      }
    } else ctx.warn(`dropped an upstream content block of type "${Object.keys(b)[0]}"`)
  }
  const b = asObject(body)
  return { id: randomId('msg_bdrk_'), model: ctx.clientModel, content, stopReason: stopReasonFromConverse(b.stopReason), usage: usageFromConverse(b.usage) }
}
