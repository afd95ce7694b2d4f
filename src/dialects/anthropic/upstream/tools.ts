/**
 * IR tools / tool choice → Anthropic `tools` and `tool_choice`.
 */
import type { CodecContext, IRRequest } from '../../../ir/types'
import { asObject, dig, isObject } from '../../guards'

type Json = Record<string, unknown>

/** Gemini-style upper-case type names → JSON Schema ones, recursively */
function lowerTypes(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(lowerTypes)
  if (!node || typeof node !== 'object') return node
  const out: Json = {}
  for (const [k, v] of Object.entries(node)) {
    out[k] =
      k === 'type' && typeof v === 'string'
        ? v.toLowerCase()
        : k === 'type' && Array.isArray(v)
          ? v.map(x => (typeof x === 'string' ? x.toLowerCase() : x))
          : lowerTypes(v)
  }
  return out
}

/** Anthropic wants an object schema at the top of input_schema */
export function inputSchema(parameters: Record<string, unknown> | undefined): Json {
  const schema = (lowerTypes(parameters ?? {}) ?? {}) as Json
  if (schema.type === 'object') return schema
  if (schema.type === undefined) return { type: 'object', ...(schema.properties ? {} : { properties: {} }), ...schema }
  // a non-object schema: wrap it as the single property `value`
  return { type: 'object', properties: { value: schema }, required: ['value'] }
}

/** Anthropic server tools look like {type: 'web_search_20250305', name: 'web_search', …} */
const isAnthropicServerTool = (raw: unknown): raw is Json =>
  isObject(raw) && typeof raw.type === 'string' && /_\d{8}$/.test(raw.type) && typeof raw.name === 'string'

function builtinTool(kind: string, raw: unknown, ctx: CodecContext): Json | undefined {
  if (isAnthropicServerTool(raw)) return raw
  if (/^web_search/.test(kind)) {
    const tool: Json = { type: 'web_search_20250305', name: 'web_search' }
    // OpenAI Responses web_search options that Anthropic's tool shares
    const domains = dig(raw, 'filters', 'allowed_domains')
    if (Array.isArray(domains)) tool.allowed_domains = domains
    if (dig(raw, 'user_location', 'type') === 'approximate') tool.user_location = asObject(raw).user_location
    return tool
  }
  ctx.warn(`dropped built-in tool "${kind}" (no Anthropic equivalent)`)
  return undefined
}

/** IR tools, built-in tools and tool choice → `tools` and `tool_choice` */
export function encodeAnthropicTools(req: IRRequest, ctx: CodecContext): { tools?: Json[]; tool_choice?: Json } {
  const tools: Json[] = []
  for (const t of req.tools ?? []) {
    tools.push({ name: t.name, ...(t.description ? { description: t.description } : {}), input_schema: inputSchema(t.parameters) })
  }
  for (const b of req.builtinTools ?? []) {
    const tool = builtinTool(b.kind, b.raw, ctx)
    if (tool) tools.push(tool)
  }
  if (!tools.length) {
    if (req.toolChoice && req.toolChoice !== 'none' && req.toolChoice !== 'auto') ctx.warn('dropped tool_choice: the request has no tools')
    return {}
  }
  const tc = req.toolChoice
  let choice: Json | undefined =
    tc === 'auto' ? { type: 'auto' } : tc === 'none' ? { type: 'none' } : tc === 'required' ? { type: 'any' } : tc ? { type: 'tool', name: tc.name } : undefined
  if (req.parallelToolCalls === false && choice?.type !== 'none') choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true }
  return { tools, ...(choice ? { tool_choice: choice } : {}) }
}
