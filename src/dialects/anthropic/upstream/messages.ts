/**
 * IR messages → Anthropic `messages`, shaped the way the Messages API insists on:
 * - no empty or whitespace-only text blocks, no empty messages
 * - consecutive same-role messages merged; tool_result blocks first in a user turn
 * - every tool_use answered by a tool_result in the next user turn, and no tool_result without its tool_use
 * - thinking blocks only with their signature (Anthropic rejects unsigned ones)
 * - tool ids limited to [A-Za-z0-9_-]; no trailing whitespace at the end of a final assistant turn
 */
import type { CodecContext, IRImage, IRMessage, IRText } from '../../../ir/types'
import { parseToolInput } from '../mapping'

type TextBlock = { type: 'text'; text: string }
type ImageBlock = { type: 'image'; source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string } }
type ToolResultBlock = { type: 'tool_result'; tool_use_id: string; content?: Array<TextBlock | ImageBlock>; is_error?: boolean }
/** a content block agproxy sends upstream */
export type Block =
  | TextBlock
  | ImageBlock
  | ToolResultBlock
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
export interface AnthropicWireMessage {
  role: 'user' | 'assistant'
  content: Block[]
}

const hasText = (s: string) => /\S/.test(s)

/** stable rewrite of tool ids Anthropic would reject (charset), the same for a call and its result */
function idFixer() {
  const seen = new Map<string, string>()
  let n = 0
  return (id: string): string => {
    if (/^[A-Za-z0-9_-]+$/.test(id)) return id
    let fixed = seen.get(id)
    if (!fixed) {
      fixed = id ? id.replace(/[^A-Za-z0-9_-]/g, '_') : `toolu_agproxy_${n++}`
      seen.set(id, fixed)
    }
    return fixed
  }
}

/** an IR image → an image block (data: URLs inlined as base64) */
export function imageBlock(img: IRImage): ImageBlock {
  const s = img.source
  if (s.kind === 'base64') return { type: 'image', source: { type: 'base64', media_type: s.mediaType, data: s.data } }
  const [, mediaType, data] = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(s.url) ?? []
  if (mediaType !== undefined && data !== undefined) return { type: 'image', source: { type: 'base64', media_type: mediaType, data } }
  return { type: 'image', source: { type: 'url', url: s.url } }
}

function resultContent(parts: Array<IRText | IRImage>): Array<TextBlock | ImageBlock> {
  const out: Array<TextBlock | ImageBlock> = []
  for (const p of parts) {
    if (p.type === 'image') out.push(imageBlock(p))
    else if (hasText(p.text)) out.push({ type: 'text', text: p.text })
  }
  return out
}

function convert(m: IRMessage, fixId: (id: string) => string, ctx: CodecContext, dropped: { unsigned: number }): AnthropicWireMessage {
  const content: Block[] = []
  for (const p of m.content) {
    switch (p.type) {
      case 'text':
        if (hasText(p.text)) content.push({ type: 'text', text: p.text })
        break
      case 'image':
        if (m.role === 'user') content.push(imageBlock(p))
        else ctx.warn('dropped an image in an assistant message (Anthropic accepts images from the user only)')
        break
      case 'thinking':
        if (m.role !== 'assistant') break
        if (p.redacted) {
          if (p.signature) content.push({ type: 'redacted_thinking', data: p.signature })
        } else if (p.signature) content.push({ type: 'thinking', thinking: p.text, signature: p.signature })
        else dropped.unsigned++
        break
      case 'tool_call': {
        if (m.role !== 'assistant') break
        const input = parseToolInput(p.arguments)
        if (!input.ok) ctx.warn(`tool call ${p.name}: arguments are not a JSON object`)
        content.push({ type: 'tool_use', id: fixId(p.id), name: p.name, input: input.value })
        break
      }
      case 'tool_result': {
        if (m.role !== 'user') break
        const block: ToolResultBlock = { type: 'tool_result', tool_use_id: fixId(p.toolCallId) }
        const c = resultContent(p.content)
        if (c.length) block.content = c
        if (p.isError) block.is_error = true
        content.push(block)
        break
      }
    }
  }
  return { role: m.role, content }
}

const toolUseIds = (m: AnthropicWireMessage | undefined) => (m?.role === 'assistant' ? m.content.flatMap(b => (b.type === 'tool_use' ? [b.id] : [])) : [])

/** give every tool_use a result in the next user turn; turn results without a call into text */
function pairToolResults(messages: AnthropicWireMessage[], ctx: CodecContext): AnthropicWireMessage[] {
  const out: AnthropicWireMessage[] = []
  for (let i = 0; i < messages.length; i++) {
    // biome-ignore lint/style/noNonNullAssertion: i < messages.length
    const m = messages[i]!
    if (m.role === 'assistant') {
      out.push(m)
      const ids = toolUseIds(m)
      if (ids.length && messages[i + 1]?.role !== 'user') messages.splice(i + 1, 0, { role: 'user', content: [] })
      continue
    }
    const calls = toolUseIds(out.at(-1))
    const results: ToolResultBlock[] = []
    const rest: Block[] = []
    for (const b of m.content) {
      if (b.type !== 'tool_result') rest.push(b)
      else if (calls.includes(b.tool_use_id) && !results.some(r => r.tool_use_id === b.tool_use_id)) results.push(b)
      else {
        ctx.warn(`tool result ${b.tool_use_id} has no matching tool call; sent as text`)
        const text = (b.content ?? []).flatMap(c => (c.type === 'text' ? [c.text] : [])).join('\n')
        rest.push({ type: 'text', text: `[tool result ${b.tool_use_id}${b.is_error ? ' (error)' : ''}]\n${text}` })
      }
    }
    for (const id of calls) {
      if (results.some(r => r.tool_use_id === id)) continue
      ctx.warn(`tool call ${id} has no result; sent an empty error result`)
      results.push({ type: 'tool_result', tool_use_id: id, is_error: true, content: [{ type: 'text', text: 'No result was provided for this tool call.' }] })
    }
    // results must come first, in the order of the calls
    results.sort((a, b) => calls.indexOf(a.tool_use_id) - calls.indexOf(b.tool_use_id))
    out.push({ role: 'user', content: [...results, ...rest] })
  }
  return out
}

/** IR messages → `messages`, shaped as the Messages API insists (see above) */
export function encodeAnthropicMessages(messages: IRMessage[], ctx: CodecContext): AnthropicWireMessage[] {
  const fixId = idFixer()
  const dropped = { unsigned: 0 }
  const merged: AnthropicWireMessage[] = []
  for (const m of messages) {
    const w = convert(m, fixId, ctx, dropped)
    if (!w.content.length) continue
    const last = merged.at(-1)
    if (last?.role === w.role) last.content.push(...w.content)
    else merged.push(w)
  }
  if (dropped.unsigned) ctx.warn(`dropped ${dropped.unsigned} thinking block(s) without a signature (Anthropic rejects unsigned thinking)`)

  const out = pairToolResults(merged, ctx)
  // a final assistant turn (prefill) may not end with whitespace
  const last = out.at(-1)
  const tail = last?.role === 'assistant' ? last.content.at(-1) : undefined
  if (tail?.type === 'text') tail.text = tail.text.replace(/\s+$/, '')
  return out
}
