/**
 * OpenAI-compatible Chat Completions JSON answer → IR response.
 * Reasoning arrives as `reasoning_content` (DeepSeek, older vLLM) or `reasoning` (vLLM ≥ 0.10, OpenRouter, Ollama).
 */
import type { CodecContext, IRResponse, IRStopReason } from '../../../ir/types'
import { IRErrorValue } from '../../../ir/types'
import { emptyUsage } from '../../../ir/collect'
import { finishReasonIn, newId, reasoningOf, str, textOf, usageIn } from '../mapping'
import { errorFromWire } from '../errors'

export function decodeChatUpstreamResponse(body: unknown, ctx: CodecContext): IRResponse {
  const b = body as any
  if (b === null || typeof b !== 'object') throw new IRErrorValue({ status: 502, kind: 'upstream', message: 'Upstream returned a non-JSON-object body.' })
  if (b.error) throw new IRErrorValue(errorFromWire(b.error))
  const choice = Array.isArray(b.choices) ? b.choices[0] : undefined
  const msg = choice?.message ?? {}
  const content: IRResponse['content'] = []
  const reasoning = reasoningOf(msg)
  if (reasoning) content.push({ type: 'thinking', text: reasoning })
  const text = textOf(msg.content) || str(msg.refusal)
  if (text) content.push({ type: 'text', text })
  for (const tc of Array.isArray(msg.tool_calls) ? msg.tool_calls : []) {
    const fn = tc?.function ?? {}
    const args = typeof fn.arguments === 'string' ? fn.arguments : fn.arguments != null ? JSON.stringify(fn.arguments) : ''
    content.push({ type: 'tool_call', id: str(tc?.id) || newId('call_'), name: str(fn.name), arguments: args.trim() ? args : '{}' })
  }
  if (msg.function_call?.name) {
    const args = str(msg.function_call.arguments)
    content.push({ type: 'tool_call', id: newId('call_'), name: msg.function_call.name, arguments: args.trim() ? args : '{}' })
  }
  const hasTools = content.some(p => p.type === 'tool_call')
  const stopReason: IRStopReason = msg.refusal && !textOf(msg.content) ? 'refusal' : finishReasonIn(choice?.finish_reason, hasTools)
  return {
    id: str(b.id) || newId('chatcmpl-'),
    model: str(b.model) || ctx.clientModel,
    content,
    stopReason,
    usage: b.usage ? usageIn(b.usage) : emptyUsage(),
  }
}
