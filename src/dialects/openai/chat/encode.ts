/**
 * IR response → OpenAI Chat Completions `chat.completion` object (what agproxy answers a Chat client).
 * Thinking is shown as `reasoning_content` (the DeepSeek convention most Chat clients render).
 */
import type { CodecContext, IRResponse } from '../../../ir/types'
import { finishReasonOut, nowSeconds, usageOut, withPrefix, type OpenAIFinishReason, type OpenAIUsage } from '../mapping'

export interface ChatToolCall {
  id: string
  type: 'function'
  function: { name: string; arguments: string }
}

export interface ChatCompletion {
  id: string
  object: 'chat.completion'
  created: number
  model: string
  choices: Array<{
    index: 0
    message: { role: 'assistant'; content: string | null; refusal: null; tool_calls?: ChatToolCall[]; reasoning_content?: string }
    logprobs: null
    finish_reason: OpenAIFinishReason
  }>
  usage: OpenAIUsage
}

/** IR response → a chat.completion object */
export function encodeChatResponse(res: IRResponse, ctx: CodecContext): ChatCompletion {
  let text = ''
  let thinking = ''
  const toolCalls: ChatToolCall[] = []
  for (const p of res.content) {
    if (p.type === 'text') text += p.text
    else if (p.type === 'thinking') {
      if (!p.redacted) thinking += p.text
    } else toolCalls.push({ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments || '{}' } })
  }
  const message: ChatCompletion['choices'][0]['message'] = {
    role: 'assistant',
    content: text || (toolCalls.length ? null : ''),
    refusal: null,
  }
  if (toolCalls.length) message.tool_calls = toolCalls
  if (thinking) message.reasoning_content = thinking
  return {
    id: withPrefix('chatcmpl-', res.id),
    object: 'chat.completion',
    created: nowSeconds(),
    model: ctx.clientModel,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOut(res.stopReason, toolCalls.length > 0) }],
    usage: usageOut(res.usage),
  }
}
