/**
 * IR response → legacy OpenAI `text_completion` object.
 */
import type { CodecContext, IRResponse } from '../../../ir/types'
import { finishReasonOut, nowSeconds, usageOut, withPrefix } from '../mapping'

/** IR response → a text_completion object */
export function encodeCompletionResponse(res: IRResponse, ctx: CodecContext) {
  const text = res.content.map(p => (p.type === 'text' ? p.text : '')).join('')
  return {
    id: withPrefix('cmpl-', res.id),
    object: 'text_completion' as const,
    created: nowSeconds(),
    model: ctx.clientModel,
    choices: [{ text, index: 0, logprobs: null, finish_reason: finishReasonOut(res.stopReason, false) }],
    usage: usageOut(res.usage),
  }
}
