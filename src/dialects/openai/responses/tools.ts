/**
 * Responses API tools ⇄ IR tools, both directions.
 *
 * - `function` → IR tool.
 * - `namespace` (Codex puts MCP servers' tools there) → each inner function flattened to an IR tool
 *   named `<namespace>__<name>`; the model's calls are mapped back to `{ name, namespace }`.
 * - `custom` (freeform tools, e.g. Codex `apply_patch`) → an IR function taking one string `input`;
 *   calls are mapped back to `custom_tool_call` items carrying the raw input.
 * - `web_search*` → builtin 'web_search'; every other type → builtin with its type (upstream encoders
 *   map what they can and drop the rest with a warning).
 */
import type { CodecContext, IRBuiltinTool, IRTool, IRToolChoice } from '../../../ir/types'
import { asObject, nonEmpty } from '../../guards'

type WireTool = Record<string, unknown>

/** How an IR tool name is spelled on the Responses wire. */
export interface WireToolRef {
  name: string
  namespace?: string
  custom?: boolean
}

/** The IR name of a (possibly namespaced) tool. */
export function flatName(namespace: unknown, name: string): string {
  if (typeof namespace !== 'string' || !namespace) return name
  return namespace.endsWith('_') ? namespace + name : `${namespace}__${name}`
}

const EMPTY_PARAMS = { type: 'object', properties: {} }

function customTool(tool: WireTool, name: string): IRTool {
  const fmt = asObject(tool.format)
  let hint = 'Freeform tool: pass the raw text input in the `input` string.'
  if (fmt.type === 'grammar' && typeof fmt.definition === 'string') {
    hint += ` The input must follow this ${fmt.syntax ?? ''} grammar:\n${fmt.definition}`
  }
  return {
    name,
    description: [tool.description, hint].filter(Boolean).join('\n\n'),
    parameters: {
      type: 'object',
      properties: { input: { type: 'string', description: 'the raw input of the tool' } },
      required: ['input'],
      additionalProperties: false,
    },
  }
}

function functionTool(tool: WireTool, name: string): IRTool {
  const params = tool.parameters && typeof tool.parameters === 'object' ? (tool.parameters as Record<string, unknown>) : EMPTY_PARAMS
  const description = nonEmpty(tool.description)
  return { name, ...(description ? { description } : {}), parameters: params }
}

/** Visit every callable (function/custom) tool, with its IR name and wire identity. */
function eachCallable(rawTools: unknown, visit: (tool: WireTool, ref: WireToolRef, irName: string) => void): void {
  if (!Array.isArray(rawTools)) return
  for (const tool of rawTools.map(asObject)) {
    if (tool.type === 'function' && typeof tool.name === 'string') visit(tool, { name: tool.name }, tool.name)
    else if (tool.type === 'custom' && typeof tool.name === 'string') visit(tool, { name: tool.name, custom: true }, tool.name)
    else if (tool.type === 'namespace' && typeof tool.name === 'string' && Array.isArray(tool.tools)) {
      for (const inner of tool.tools.map(asObject)) {
        if (typeof inner.name !== 'string') continue
        const ref: WireToolRef = { name: inner.name, namespace: tool.name, ...(inner.type === 'custom' ? { custom: true } : {}) }
        visit(inner, ref, flatName(tool.name, inner.name))
      }
    }
  }
}

/** IR tool name → wire identity, for the tools of a request (used when encoding the model's calls). */
export function toolRefs(rawTools: unknown): Map<string, WireToolRef> {
  const refs = new Map<string, WireToolRef>()
  eachCallable(rawTools, (_tool, ref, irName) => refs.set(irName, ref))
  return refs
}

const isWebSearch = (type: string) => type === 'web_search' || type.startsWith('web_search_')

/** Responses `tools` → IR tools and built-in tools */
export function decodeTools(rawTools: unknown, ctx: CodecContext): { tools?: IRTool[]; builtinTools?: IRBuiltinTool[] } {
  if (!Array.isArray(rawTools)) return {}
  const tools: IRTool[] = []
  const builtinTools: IRBuiltinTool[] = []
  eachCallable(rawTools, (tool, ref, irName) => tools.push(ref.custom ? customTool(tool, irName) : functionTool(tool, irName)))
  for (const tool of rawTools) {
    const type = String(asObject(tool).type ?? '')
    if (type === 'function' || type === 'custom' || type === 'namespace') continue
    builtinTools.push({ kind: isWebSearch(type) ? 'web_search' : type || 'unknown', raw: tool })
  }
  for (const tool of rawTools.map(asObject)) {
    if ((tool.type === 'function' || tool.type === 'custom' || tool.type === 'namespace') && typeof tool.name !== 'string') {
      ctx.warn(`responses: dropped a ${tool.type} tool without a name`)
    }
  }
  return { ...(tools.length ? { tools } : {}), ...(builtinTools.length ? { builtinTools } : {}) }
}

/** Responses `tool_choice` → IR (unsupported shapes fall back to auto, with a warning) */
export function decodeToolChoice(choice: unknown, ctx: CodecContext): IRToolChoice | undefined {
  if (choice == null) return undefined
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice
  const c = asObject(choice)
  if ((c.type === 'function' || c.type === 'custom') && typeof c.name === 'string') return { name: flatName(c.namespace, c.name) }
  if (c.type === 'allowed_tools') {
    ctx.warn('responses: tool_choice allowed_tools is approximated by its mode (all tools stay available)')
    return c.mode === 'required' ? 'required' : 'auto'
  }
  ctx.warn(`responses: tool_choice ${JSON.stringify(choice)} is not supported by this backend; using auto`)
  return 'auto'
}
