/**
 * Anthropic Messages request (wire) → IR request. Used for POST /v1/messages and /v1/messages/count_tokens.
 */
import type { CodecContext, IRBuiltinTool, IRImage, IRMessage, IRPart, IRReasoning, IRRequest, IRText, IRTool, IRToolChoice } from '../../../ir/types'
import { invalid } from '../../../ir/types'
import type { AnthropicRequestWire } from './schema'
import { asObject, isObject, str } from '../../guards'

/** a content block: schemas check only its `type`, the decoder the rest */
type Block = Record<string, unknown>

const blocksOf = (content: unknown): Block[] =>
  typeof content === 'string' ? (content ? [{ type: 'text', text: content }] : []) : Array.isArray(content) ? content.filter(isObject) : []

function image(b: Block, ctx: CodecContext): IRImage | undefined {
  const s = asObject(b.source)
  if (s.type === 'base64' && typeof s.data === 'string') {
    return { type: 'image', source: { kind: 'base64', mediaType: str(s.media_type) ?? 'image/png', data: s.data } }
  }
  if (s.type === 'url' && typeof s.url === 'string') return { type: 'image', source: { kind: 'url', url: s.url } }
  ctx.warn(`dropped an image with source type "${s.type}" (only base64 and url images are supported)`)
  return undefined
}

/** document blocks: only text can cross dialects (plain text source, or a content source of text blocks) */
function documentText(b: Block, ctx: CodecContext): IRText | undefined {
  const s = asObject(b.source)
  let text: string | undefined
  if (s.type === 'text' && typeof s.data === 'string') text = s.data
  else if (s.type === 'content')
    text = blocksOf(s.content)
      .filter(c => c.type === 'text')
      .map(c => String(c.text ?? ''))
      .join('\n')
  if (text === undefined) {
    ctx.warn(`dropped a document with source type "${s.type}" (only text documents are supported)`)
    return undefined
  }
  const header = [b.title, b.context].filter(x => typeof x === 'string' && x).join('\n')
  return { type: 'text', text: header ? `${header}\n\n${text}` : text }
}

/** text/image/document/search_result blocks → IR text and image parts (user content and tool results) */
function userish(b: Block, ctx: CodecContext): IRText | IRImage | undefined {
  switch (b.type) {
    case 'text':
      return { type: 'text', text: String(b.text ?? '') }
    case 'image':
      return image(b, ctx)
    case 'document':
      return documentText(b, ctx)
    case 'search_result': {
      const body = blocksOf(b.content)
        .filter(c => c.type === 'text')
        .map(c => String(c.text ?? ''))
        .join('\n')
      return { type: 'text', text: [b.title, b.source, body].filter(Boolean).join('\n') }
    }
    default:
      ctx.warn(`dropped a content block of type "${b.type}"`)
      return undefined
  }
}

function decodeMessage(role: 'user' | 'assistant', content: unknown, names: Map<string, string>, ctx: CodecContext): IRMessage {
  const parts: IRPart[] = []
  for (const b of blocksOf(content)) {
    if (role === 'assistant') {
      switch (b.type) {
        case 'text':
          parts.push({ type: 'text', text: String(b.text ?? '') })
          break
        case 'thinking':
          parts.push({ type: 'thinking', text: String(b.thinking ?? ''), ...(b.signature ? { signature: String(b.signature) } : {}) })
          break
        case 'redacted_thinking':
          parts.push({ type: 'thinking', text: '', redacted: true, signature: String(b.data ?? '') })
          break
        case 'tool_use': {
          const id = String(b.id ?? '')
          names.set(id, String(b.name ?? ''))
          parts.push({ type: 'tool_call', id, name: String(b.name ?? ''), arguments: JSON.stringify(isObject(b.input) ? b.input : {}) })
          break
        }
        default:
          ctx.warn(`dropped an assistant content block of type "${b.type}"`)
      }
    } else if (b.type === 'tool_result') {
      const id = String(b.tool_use_id ?? '')
      const content = blocksOf(b.content)
        .map(c => userish(c, ctx))
        .filter((p): p is IRText | IRImage => !!p)
      parts.push({
        type: 'tool_result',
        toolCallId: id,
        content,
        ...(names.has(id) ? { name: names.get(id) } : {}),
        ...(b.is_error === true ? { isError: true } : {}),
      })
    } else {
      const p = userish(b, ctx)
      if (p) parts.push(p)
    }
  }
  return { role, content: parts }
}

function systemText(content: unknown, ctx: CodecContext): string[] {
  if (typeof content === 'string') return content ? [content] : []
  const out: string[] = []
  for (const b of blocksOf(content)) {
    if (b.type === 'text' && typeof b.text === 'string') {
      if (b.text) out.push(b.text)
    } else ctx.warn(`dropped a system block of type "${b.type}"`)
  }
  return out
}

/** dated server tool types → the canonical IR kind shared by all dialects ('web_search_20250305' → 'web_search') */
const builtinKind = (type: string) => type.replace(/_\d{8}$/, '')

function decodeTools(tools: AnthropicRequestWire['tools']): { tools?: IRTool[]; builtinTools?: IRBuiltinTool[] } {
  if (!tools?.length) return {}
  const custom: IRTool[] = []
  const builtin: IRBuiltinTool[] = []
  tools.forEach((tool, i) => {
    if (!isObject(tool)) throw invalid(`tools.${i}: must be an object`, `tools.${i}`)
    if (tool.type && tool.type !== 'custom') {
      builtin.push({ kind: builtinKind(String(tool.type)), raw: tool })
      return
    }
    if (typeof tool.name !== 'string' || !tool.name) throw invalid(`tools.${i}.name: Field required`, `tools.${i}.name`)
    custom.push({
      name: tool.name,
      ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
      parameters: isObject(tool.input_schema) ? tool.input_schema : { type: 'object', properties: {} },
    })
  })
  return { ...(custom.length ? { tools: custom } : {}), ...(builtin.length ? { builtinTools: builtin } : {}) }
}

function decodeToolChoice(tc: AnthropicRequestWire['tool_choice']): { toolChoice?: IRToolChoice; parallelToolCalls?: boolean } {
  if (!tc) return {}
  const parallel = tc.disable_parallel_tool_use === true ? { parallelToolCalls: false } : {}
  switch (tc.type) {
    case 'auto':
      return { toolChoice: 'auto', ...parallel }
    case 'any':
      return { toolChoice: 'required', ...parallel }
    case 'none':
      return { toolChoice: 'none' }
    case 'tool':
      if (typeof tc.name !== 'string' || !tc.name) throw invalid('tool_choice.name: Field required', 'tool_choice.name')
      return { toolChoice: { name: tc.name }, ...parallel }
    default:
      throw invalid(`tool_choice.type: unknown value "${tc.type}"`, 'tool_choice.type')
  }
}

const efforts: Record<string, IRReasoning['effort']> = { low: 'low', medium: 'medium', high: 'high', xhigh: 'xhigh', max: 'xhigh' }

function decodeReasoning(body: AnthropicRequestWire, ctx: CodecContext): IRReasoning | undefined {
  const th = body.thinking
  const effort = efforts[String(body.output_config?.effort ?? '')]
  const shown = th?.display === 'omitted' ? { includeThoughts: false } : { includeThoughts: true }
  switch (th?.type) {
    case undefined:
      return effort ? { effort } : undefined
    case 'disabled':
      return { effort: 'none' }
    case 'enabled':
      if (typeof th.budget_tokens !== 'number') throw invalid('thinking.budget_tokens: Field required', 'thinking.budget_tokens')
      return { budgetTokens: th.budget_tokens, ...shown, ...(effort ? { effort } : {}) }
    case 'adaptive':
    case 'between_tools':
      return { ...shown, ...(effort ? { effort } : {}) }
    default:
      ctx.warn(`ignored thinking of unknown type "${th?.type}"`)
      return effort ? { effort } : undefined
  }
}

/** POST /v1/messages (or count_tokens) body → IR request */
export function decodeAnthropicRequest(body: AnthropicRequestWire, ctx: CodecContext): IRRequest {
  const system = systemText(body.system, ctx)
  const messages: IRMessage[] = []
  const names = new Map<string, string>()
  for (const m of body.messages ?? []) {
    if (m.role === 'system') system.push(...systemText(m.content, ctx))
    else messages.push(decodeMessage(m.role, m.content, names, ctx))
  }
  if (!messages.length) throw invalid('messages: at least one message is required', 'messages')

  const req: IRRequest = {
    model: body.model,
    system,
    messages,
    stream: body.stream === true,
    ...decodeTools(body.tools),
    ...decodeToolChoice(body.tool_choice),
  }
  if (typeof body.max_tokens === 'number') req.maxTokens = body.max_tokens
  if (typeof body.temperature === 'number') req.temperature = body.temperature
  if (typeof body.top_p === 'number') req.topP = body.top_p
  if (typeof body.top_k === 'number') req.topK = body.top_k
  if (body.stop_sequences?.length) req.stop = [...body.stop_sequences]
  const reasoning = decodeReasoning(body, ctx)
  if (reasoning) req.reasoning = reasoning
  const format = asObject(body.output_config?.format)
  if (format.type === 'json_schema' && isObject(format.schema)) req.responseFormat = { type: 'json_schema', schema: format.schema }
  if (typeof body.metadata?.user_id === 'string' && body.metadata.user_id) req.user = body.metadata.user_id
  return req
}
