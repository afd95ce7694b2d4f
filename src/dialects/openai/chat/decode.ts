/**
 * OpenAI Chat Completions request (as a client sends it) → IR request.
 * Semantic problems become 400s (`invalid()`) naming the exact field, e.g. `messages[2].content[1]`.
 */
import type {
  CodecContext,
  IRBuiltinTool,
  IRImage,
  IRMessage,
  IRPart,
  IRReasoning,
  IRRequest,
  IRResponseFormat,
  IRText,
  IRTool,
  IRToolChoice,
  IRToolResult,
} from '../../../ir/types'
import { invalid } from '../../../ir/types'
import type { ChatCompletionRequestBody, ChatMessageWire } from './schema'
import { newId } from '../mapping'
import { asArray, asObject, field, isObject, str } from '../../guards'

const EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const
type Effort = (typeof EFFORTS)[number]

const IGNORED = ['presence_penalty', 'frequency_penalty', 'logit_bias', 'logprobs', 'top_logprobs', 'seed'] as const

/** POST /v1/chat/completions body → IR request */
export function decodeChatRequest(b: ChatCompletionRequestBody, ctx: CodecContext): IRRequest {
  if (b.n != null && b.n !== 1) throw invalid('Only n=1 is supported: request one choice per call.', 'n')
  const audio = field(b, 'audio')
  if ((Array.isArray(b.modalities) && b.modalities.includes('audio')) || audio != null)
    throw invalid('Audio output is not supported; request text output only.', audio != null ? 'audio' : 'modalities')
  for (const f of IGNORED) if (b[f] != null && b[f] !== false) ctx.warn(`${f} is not supported across providers; ignored`)

  const { system, messages } = decodeMessages(b.messages)
  const req: IRRequest = { model: b.model, system, messages, stream: b.stream === true }

  const { tools, builtinTools } = decodeTools(b)
  if (tools.length) req.tools = tools
  if (builtinTools.length) req.builtinTools = builtinTools
  const toolChoice = decodeToolChoice(b, ctx)
  if (toolChoice !== undefined) req.toolChoice = toolChoice
  if (typeof b.parallel_tool_calls === 'boolean') req.parallelToolCalls = b.parallel_tool_calls

  const maxTokens = b.max_completion_tokens ?? b.max_tokens
  if (typeof maxTokens === 'number') req.maxTokens = maxTokens
  if (typeof b.temperature === 'number') req.temperature = b.temperature
  if (typeof b.top_p === 'number') req.topP = b.top_p
  const topK = field(b, 'top_k')
  if (typeof topK === 'number') req.topK = topK
  const stop = typeof b.stop === 'string' ? [b.stop] : Array.isArray(b.stop) ? b.stop.filter((s: unknown) => typeof s === 'string') : []
  if (stop.length) req.stop = stop

  const responseFormat = decodeResponseFormat(b.response_format)
  if (responseFormat) req.responseFormat = responseFormat
  const reasoning = decodeReasoning(b, ctx)
  if (reasoning) req.reasoning = reasoning

  const user = b.prompt_cache_key ?? b.user ?? b.safety_identifier
  if (typeof user === 'string' && user) req.user = user
  if (b.n === 1) req.n = 1
  return req
}

// ───────────── messages ─────────────

function decodeMessages(list: readonly ChatMessageWire[]): { system: string[]; messages: IRMessage[] } {
  const system: string[] = []
  const messages: IRMessage[] = []
  const toolNames = new Map<string, string>() // tool call id → tool name (tool messages carry only the id)
  const legacyCalls = new Map<string, string>() // function name → id minted for its latest legacy function_call
  let toolTurn: IRMessage | undefined // the user turn collecting consecutive tool results

  list.forEach((m, i) => {
    const at = `messages[${i}]`
    if (m === null || typeof m !== 'object') throw invalid(`${at} must be an object.`, at)
    if (m.role !== 'tool' && m.role !== 'function') toolTurn = undefined
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(textOnly(m.content, at))
        break
      case 'user':
        messages.push({ role: 'user', content: userParts(m.content, at) })
        break
      case 'assistant': {
        const msg = assistantMessage(m, at, toolNames, legacyCalls)
        if (msg) messages.push(msg)
        break
      }
      case 'tool':
      case 'function': {
        const part = toolResult(m, at, toolNames, legacyCalls)
        if (!toolTurn) messages.push((toolTurn = { role: 'user', content: [] }))
        toolTurn.content.push(part)
        break
      }
      default:
        throw invalid(`Unsupported role ${JSON.stringify(m.role)} at ${at}.role: expected system, developer, user, assistant or tool.`, `${at}.role`)
    }
  })
  return { system, messages }
}

/** system/developer content: a string or text parts only. */
function textOnly(content: unknown, at: string): string {
  if (content == null) return ''
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) throw invalid(`${at}.content must be a string or an array of parts.`, `${at}.content`)
  return content
    .map((p: unknown, j) => {
      const text = asObject(p).type === 'text' ? asObject(p).text : undefined
      if (typeof text !== 'string') throw invalid(`${at}.content[${j}]: only text parts are allowed in this message.`, `${at}.content[${j}]`)
      return text
    })
    .join('\n')
}

function userParts(content: unknown, at: string): Array<IRText | IRImage> {
  if (typeof content === 'string') return [{ type: 'text', text: content }]
  if (!Array.isArray(content)) throw invalid(`${at}.content must be a string or an array of content parts.`, `${at}.content`)
  return content.map((p, j) => contentPart(p, `${at}.content[${j}]`))
}

function contentPart(part: unknown, at: string): IRText | IRImage {
  const p = asObject(part)
  switch (p.type) {
    case 'text':
      if (typeof p.text !== 'string') throw invalid(`${at}.text must be a string.`, `${at}.text`)
      return { type: 'text', text: p.text }
    case 'image_url':
      return { type: 'image', source: imageSource(typeof p.image_url === 'string' ? p.image_url : asObject(p.image_url).url, at) }
    case 'input_audio':
      throw invalid(`${at}: audio input (input_audio) is not supported across providers; send text or images.`, at)
    case 'file':
      throw invalid(`${at}: file inputs are not supported across providers; send text or images.`, at)
  }
  throw invalid(`${at}: unsupported content part type ${JSON.stringify(p.type)}.`, at)
}

/** data: URLs become inline base64 images; http(s) URLs stay URLs. */
export function imageSource(url: unknown, at: string): IRImage['source'] {
  if (typeof url !== 'string' || !url) throw invalid(`${at}.image_url.url is required.`, `${at}.image_url.url`)
  if (url.startsWith('data:')) {
    const m = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(url)
    if (!m) throw invalid(`${at}.image_url.url is not a valid data: URL.`, `${at}.image_url.url`)
    const [, type, params = '', payload = ''] = m
    const mediaType = type || 'application/octet-stream'
    const isBase64 = params.split(';').includes('base64')
    let data: string
    try {
      data = isBase64 ? payload.replace(/\s+/g, '') : Buffer.from(decodeURIComponent(payload), 'utf8').toString('base64')
    } catch {
      throw invalid(`${at}.image_url.url is not a valid data: URL.`, `${at}.image_url.url`)
    }
    return { kind: 'base64', mediaType, data }
  }
  if (/^https?:\/\//i.test(url)) return { kind: 'url', url }
  throw invalid(`${at}.image_url.url must be an http(s) or data: URL.`, `${at}.image_url.url`)
}

const jsonArgs = (a: unknown): string => (typeof a === 'string' ? (a.trim() === '' ? '{}' : a) : a == null ? '{}' : JSON.stringify(a))

function assistantMessage(m: ChatMessageWire, at: string, toolNames: Map<string, string>, legacyCalls: Map<string, string>): IRMessage | undefined {
  const content: IRPart[] = []
  const reasoning = str(m.reasoning_content) ?? str(field(m, 'reasoning')) ?? ''
  if (reasoning) content.push({ type: 'thinking', text: reasoning })

  if (typeof m.content === 'string') {
    if (m.content) content.push({ type: 'text', text: m.content })
  } else if (Array.isArray(m.content)) {
    m.content.forEach((part: unknown, j: number) => {
      const p = asObject(part)
      const text = p.type === 'text' ? p.text : p.type === 'refusal' ? p.refusal : undefined
      if (typeof text !== 'string') throw invalid(`${at}.content[${j}]: assistant content parts must be text or refusal.`, `${at}.content[${j}]`)
      if (text) content.push({ type: 'text', text })
    })
  } else if (m.content != null) {
    throw invalid(`${at}.content must be a string, an array of text parts or null.`, `${at}.content`)
  }

  if (m.tool_calls != null && !Array.isArray(m.tool_calls)) throw invalid(`${at}.tool_calls must be an array.`, `${at}.tool_calls`)
  asArray(m.tool_calls).forEach((call: unknown, j: number) => {
    const p = `${at}.tool_calls[${j}]`
    const tc = asObject(call)
    if (tc.type != null && tc.type !== 'function') throw invalid(`${p}.type: only function tool calls are supported.`, `${p}.type`)
    const fn = asObject(tc.function)
    const name = fn.name
    if (typeof name !== 'string' || !name) throw invalid(`${p}.function.name is required.`, `${p}.function.name`)
    const id = typeof tc.id === 'string' && tc.id ? tc.id : newId('call_')
    toolNames.set(id, name)
    content.push({ type: 'tool_call', id, name, arguments: jsonArgs(fn.arguments) })
  })

  const legacy = m.function_call
  if (legacy?.name) {
    const id = newId('call_')
    legacyCalls.set(legacy.name, id)
    toolNames.set(id, legacy.name)
    content.push({ type: 'tool_call', id, name: legacy.name, arguments: jsonArgs(legacy.arguments) })
  }
  return content.length ? { role: 'assistant', content } : undefined
}

function toolResult(m: ChatMessageWire, at: string, toolNames: Map<string, string>, legacyCalls: Map<string, string>): IRToolResult {
  let id: string
  let name: string | undefined
  if (m.role === 'tool') {
    if (typeof m.tool_call_id !== 'string' || !m.tool_call_id) throw invalid(`${at}.tool_call_id is required for tool messages.`, `${at}.tool_call_id`)
    id = m.tool_call_id
    name = toolNames.get(id) ?? (typeof m.name === 'string' && m.name ? m.name : undefined)
  } else {
    if (typeof m.name !== 'string' || !m.name) throw invalid(`${at}.name is required for function messages.`, `${at}.name`)
    name = m.name
    id = legacyCalls.get(m.name) ?? newId('call_')
  }
  const content: Array<IRText | IRImage> =
    m.content == null
      ? []
      : typeof m.content === 'string'
        ? [{ type: 'text', text: m.content }]
        : Array.isArray(m.content)
          ? m.content.map((p: unknown, j: number) => contentPart(p, `${at}.content[${j}]`))
          : [{ type: 'text', text: JSON.stringify(m.content) }]
  const part: IRToolResult = { type: 'tool_result', toolCallId: id, content }
  if (name) part.name = name
  return part
}

// ───────────── tools and options ─────────────

const EMPTY_SCHEMA = { type: 'object', properties: {} }

function decodeTools(b: ChatCompletionRequestBody): { tools: IRTool[]; builtinTools: IRBuiltinTool[] } {
  const tools: IRTool[] = []
  const builtinTools: IRBuiltinTool[] = []
  const fn = (def: unknown, at: string) => {
    const f = asObject(def)
    if (typeof f.name !== 'string' || !f.name) throw invalid(`${at}.name is required.`, `${at}.name`)
    const tool: IRTool = {
      name: f.name,
      parameters: f.parameters && typeof f.parameters === 'object' ? (f.parameters as Record<string, unknown>) : EMPTY_SCHEMA,
    }
    if (typeof f.description === 'string') tool.description = f.description
    tools.push(tool)
  }
  asArray(b.tools).forEach((entry: unknown, i: number) => {
    const tool = asObject(entry)
    if (tool.type === 'function') fn(tool.function, `tools[${i}].function`)
    else builtinTools.push({ kind: String(tool.type), raw: entry })
  })
  asArray(b.functions).forEach((f: unknown, i: number) => fn(f, `functions[${i}]`))
  return { tools, builtinTools }
}

const MODES = ['auto', 'none', 'required'] as const

function decodeToolChoice(b: ChatCompletionRequestBody, ctx: CodecContext): IRToolChoice | undefined {
  const choice: unknown = b.tool_choice
  if (choice == null) {
    const fc: unknown = b.function_call // legacy
    if (fc === 'auto' || fc === 'none') return fc
    const name = asObject(fc).name
    if (typeof name === 'string') return { name }
    return undefined
  }
  if (typeof choice === 'string') {
    if ((MODES as readonly string[]).includes(choice)) return choice as IRToolChoice
    throw invalid(`tool_choice must be one of auto, none, required or a function choice; got ${JSON.stringify(choice)}.`, 'tool_choice')
  }
  const tc = asObject(choice)
  const fnName = asObject(tc.function).name
  const customName = asObject(tc.custom).name
  if (tc.type === 'function' && typeof fnName === 'string') return { name: fnName }
  if (tc.type === 'custom' && typeof customName === 'string') return { name: customName }
  if (tc.type === 'allowed_tools') {
    ctx.warn('tool_choice allowed_tools: the tool subset is not enforced across providers; using its mode')
    return asObject(tc.allowed_tools).mode === 'required' ? 'required' : 'auto'
  }
  throw invalid('tool_choice object must be {"type":"function","function":{"name":…}}.', 'tool_choice')
}

function decodeResponseFormat(rf: ChatCompletionRequestBody['response_format']): IRResponseFormat | undefined {
  if (rf == null) return undefined
  switch (rf.type) {
    case 'text':
      return { type: 'text' }
    case 'json_object':
      return { type: 'json' }
    case 'json_schema': {
      const js = asObject(field(rf, 'json_schema'))
      if (!js.schema || typeof js.schema !== 'object') return { type: 'json' }
      const f: IRResponseFormat = { type: 'json_schema', schema: js.schema as Record<string, unknown> }
      if (typeof js.name === 'string') f.name = js.name
      if (typeof js.strict === 'boolean') f.strict = js.strict
      return f
    }
  }
  throw invalid(`response_format.type must be text, json_object or json_schema; got ${JSON.stringify(rf.type)}.`, 'response_format.type')
}

const asEffort = (e: unknown): Effort | undefined => (e === 'max' ? 'xhigh' : (EFFORTS as readonly unknown[]).includes(e) ? (e as Effort) : undefined)

/** `reasoning_effort`, plus the OpenRouter-style `reasoning: {effort, max_tokens, exclude, enabled}` some clients send. */
function decodeReasoning(b: ChatCompletionRequestBody, ctx: CodecContext): IRReasoning | undefined {
  const r: IRReasoning = {}
  if (b.reasoning_effort != null) {
    const e = asEffort(b.reasoning_effort)
    if (e) r.effort = e
    else ctx.warn(`reasoning_effort ${JSON.stringify(b.reasoning_effort)} is not recognised; ignored`)
  }
  const o = field(b, 'reasoning')
  if (isObject(o)) {
    const e = asEffort(o.effort)
    if (e && !r.effort) r.effort = e
    if (typeof o.max_tokens === 'number') r.budgetTokens = o.max_tokens
    if (o.enabled === false) r.effort = 'none'
    if (o.exclude === true) r.includeThoughts = false
  }
  if (r.effort === undefined && r.budgetTokens === undefined) return undefined
  if (r.includeThoughts === undefined) r.includeThoughts = r.effort !== 'none'
  return r
}
