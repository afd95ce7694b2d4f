/**
 * OpenAI-compatible Chat Completions JSON answer → IR response.
 * Reasoning arrives as `reasoning_content` (DeepSeek, older vLLM) or `reasoning` (vLLM ≥ 0.10, OpenRouter, Ollama).
 */
import type { CodecContext, IRResponse, IRStopReason } from '../../../ir/types'
import { IRErrorValue, err } from '../../../ir/errors'
import { emptyUsage } from '../../../ir/collect'
import { finishReasonIn, newId, reasoningOf, str, textOf, usageIn } from '../mapping'
import { errorFromWire } from '../errors'
import { asArray, asObject } from '../../guards'

/** a chat.completion answer → IR response */
export function decodeChatUpstreamResponse(body: unknown, ctx: CodecContext): IRResponse {
  if (body === null || typeof body !== 'object') throw new IRErrorValue(err('upstream', 'Upstream returned a non-JSON-object body.'))
  const b = asObject(body)
  if (b.error) throw new IRErrorValue(errorFromWire(b.error))
  const choice = asObject(asArray(b.choices)[0])
  const msg = asObject(choice.message)
  const content: IRResponse['content'] = []
  const reasoning = reasoningOf(msg)
  if (reasoning) content.push({ type: 'thinking', text: reasoning })
  const text = textOf(msg.content) || str(msg.refusal)
  if (text) content.push({ type: 'text', text })
  for (const tc of asArray(msg.tool_calls).map(asObject)) {
    const fn = asObject(tc.function)
    const args = typeof fn.arguments === 'string' ? fn.arguments : fn.arguments != null ? JSON.stringify(fn.arguments) : ''
    content.push({ type: 'tool_call', id: str(tc.id) || newId('call_'), name: str(fn.name), arguments: args.trim() ? args : '{}' })
  }
  const legacy = asObject(msg.function_call)
  if (legacy.name) {
    const args = str(legacy.arguments)
    content.push({ type: 'tool_call', id: newId('call_'), name: str(legacy.name), arguments: args.trim() ? args : '{}' })
  }
  const hasTools = content.some(p => p.type === 'tool_call')
  const stopReason: IRStopReason = msg.refusal && !textOf(msg.content) ? 'refusal' : finishReasonIn(choice.finish_reason, hasTools)
  return {
    id: str(b.id) || newId('chatcmpl-'),
    model: str(b.model) || ctx.clientModel,
    content,
    stopReason,
    usage: b.usage ? usageIn(b.usage) : emptyUsage(),
  }
}
