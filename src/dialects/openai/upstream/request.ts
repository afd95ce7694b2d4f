/**
 * IR request → OpenAI Chat Completions request (what agproxy sends to an OpenAI-compatible provider).
 * Only fields every OpenAI-compatible server knows are sent; the provider base URL already ends in /v1.
 */
import type { CodecContext, IRImage, IRMessage, IRReasoning, IRRequest } from '../../../ir/types'

export interface ChatUpstreamOptions {
  /** How earlier thinking goes back upstream: as `reasoning_content` on the assistant message (DeepSeek needs it
   *  in tool loops; the default), or dropped (servers that reject unknown message fields, e.g. Cerebras, Bedrock). */
  reasoningContent?: 'echo' | 'drop'
}

type WirePart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } }

/** IR request → POST {base}/chat/completions body */
export function encodeChatUpstreamRequest(req: IRRequest, ctx: CodecContext, opts: ChatUpstreamOptions = {}): { path: string; body: Record<string, unknown> } {
  const body: Record<string, unknown> = { model: req.model, messages: encodeMessages(req, opts.reasoningContent !== 'drop') }
  if (req.stream) {
    body.stream = true
    body.stream_options = { include_usage: true }
  }
  if (req.maxTokens !== undefined) body[usesMaxCompletionTokens(req.model) ? 'max_completion_tokens' : 'max_tokens'] = req.maxTokens
  if (req.temperature !== undefined) body.temperature = req.temperature
  if (req.topP !== undefined) body.top_p = req.topP
  if (req.topK !== undefined) ctx.warn('top_k is not part of the OpenAI API; dropped')
  if (req.stop?.length) body.stop = req.stop

  if (req.tools?.length) {
    body.tools = req.tools.map(t => ({
      type: 'function',
      function: { name: t.name, ...(t.description !== undefined && { description: t.description }), parameters: t.parameters },
    }))
    if (req.toolChoice !== undefined)
      body.tool_choice = typeof req.toolChoice === 'string' ? req.toolChoice : { type: 'function', function: { name: req.toolChoice.name } }
    if (req.parallelToolCalls !== undefined) body.parallel_tool_calls = req.parallelToolCalls
  } else if (req.toolChoice === 'none' || req.toolChoice === undefined) {
    // nothing to say: no tools means no tool calls
  } else {
    ctx.warn('tool_choice without function tools; dropped')
  }
  for (const b of req.builtinTools ?? []) ctx.warn(`built-in tool ${b.kind} is not supported by OpenAI-compatible chat providers; dropped`)

  const rf = req.responseFormat
  if (rf?.type === 'json') body.response_format = { type: 'json_object' }
  else if (rf?.type === 'json_schema')
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: rf.name ?? 'response', schema: rf.schema, ...(rf.strict !== undefined && { strict: rf.strict }) },
    }

  const effort = effortOf(req.reasoning)
  if (effort) body.reasoning_effort = effort
  return { path: '/chat/completions', body }
}

/** OpenAI reasoning models (o1, o3, o4-mini, gpt-5…) reject `max_tokens`; everything else knows it best. */
const usesMaxCompletionTokens = (model: string): boolean => /^(o\d|gpt-5)/i.test(model.split('/').pop() ?? model)

/** IR reasoning → `reasoning_effort`: the effort as given, or the nearest effort for a token budget. */
export function effortOf(r: IRReasoning | undefined): string | undefined {
  if (!r) return undefined
  if (r.effort) return r.effort
  const b = r.budgetTokens
  if (b === undefined || b < 0) return undefined // Gemini -1 = dynamic: leave it to the server
  if (b === 0) return 'none'
  if (b < 4096) return 'low'
  if (b < 16384) return 'medium'
  return 'high'
}

const imageUrl = (img: IRImage): WirePart => ({
  type: 'image_url',
  image_url: { url: img.source.kind === 'url' ? img.source.url : `data:${img.source.mediaType};base64,${img.source.data}` },
})

/** A single text part travels as a plain string (the form every compatible server accepts). */
function userContent(parts: WirePart[]): string | WirePart[] {
  return parts.every(p => p.type === 'text') ? parts.map(p => (p as { text: string }).text).join('\n') : parts
}

function encodeMessages(req: IRRequest, echoReasoning: boolean): unknown[] {
  const out: unknown[] = req.system.filter(s => s).map(content => ({ role: 'system', content }))
  for (const m of req.messages) {
    if (m.role === 'assistant') out.push(assistantMessage(m, echoReasoning))
    else out.push(...userMessages(m))
  }
  return out
}

function assistantMessage(m: IRMessage, echoReasoning: boolean) {
  let text = ''
  let reasoning = ''
  const toolCalls: unknown[] = []
  for (const p of m.content) {
    if (p.type === 'text') text += p.text
    else if (p.type === 'thinking') {
      if (!p.redacted) reasoning += p.text
    } else if (p.type === 'tool_call') toolCalls.push({ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments || '{}' } })
  }
  const msg: Record<string, unknown> = { role: 'assistant', content: text || (toolCalls.length ? null : '') }
  if (toolCalls.length) msg.tool_calls = toolCalls
  if (echoReasoning && reasoning) msg.reasoning_content = reasoning
  return msg
}

/** A user turn: its tool results first (one `tool` message each, right after the assistant's calls), then
 *  the user's own content. Images inside tool results cannot ride a `tool` message, so they follow in the
 *  user message, introduced by a line naming the call. */
function userMessages(m: IRMessage): unknown[] {
  const out: unknown[] = []
  const carried: WirePart[] = []
  const own: WirePart[] = []
  for (const p of m.content) {
    if (p.type === 'tool_result') {
      const text = p.content
        .filter(c => c.type === 'text')
        .map(c => c.text)
        .join('\n')
      const images = p.content.filter((c): c is IRImage => c.type === 'image')
      const content = (p.isError ? 'Error: ' : '') + (text || (images.length ? '(image output below)' : ''))
      out.push({ role: 'tool', tool_call_id: p.toolCallId, content })
      if (images.length) carried.push({ type: 'text', text: `Image output of tool call ${p.toolCallId}:` }, ...images.map(imageUrl))
    } else if (p.type === 'text') own.push({ type: 'text', text: p.text })
    else if (p.type === 'image') own.push(imageUrl(p))
  }
  const parts = [...carried, ...own]
  if (parts.length || !out.length) out.push({ role: 'user', content: userContent(parts) })
  return out
}
