/**
 * Gemini generateContent request body → IR request (a Gemini client such as Gemini CLI or @google/genai).
 *
 * The model comes from the URL (ctx.clientModel); `stream` from the endpoint (the caller sets it).
 * Gemini functionCall / functionResponse parts often carry no id: calls get a deterministic id, and each
 * functionResponse is paired with the earliest unanswered call of the same name (by id when both have one).
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
  IRThinking,
  IRTool,
  IRToolChoice,
} from '../../../ir/types'
import { invalid } from '../../../ir/types'
import { camelize } from '../camel'
import { levelToEffort, safeId, stableCallId } from '../mapping'
import { geminiSchemaToJsonSchema, normalizeJsonSchemaTypes } from '../schema-json'
import { asObject, dig, isObject } from '../../guards'
import type { GeminiGenerateContentBody } from './schema'

/** POST …:generateContent / :streamGenerateContent body → IR request. */
export const decodeGeminiRequest = (body: GeminiGenerateContentBody, ctx: CodecContext): IRRequest => decodeGenerateContent(body, ctx)

/** Anything shaped like a generateContent request (also countTokens' generateContentRequest) → IR request. It is
 *  camelized first (the REST API takes snake_case too), so every field is read as `unknown` and checked here. */
export function decodeGenerateContent(body: unknown, ctx: CodecContext): IRRequest {
  const b = camelize(body)
  if (!isObject(b) || !Array.isArray(b.contents)) throw invalid('contents must be an array of Content objects', 'contents')

  const req: IRRequest = {
    model: ctx.clientModel,
    system: decodeSystem(b.systemInstruction),
    messages: decodeContents(b.contents, ctx),
    stream: false,
  }
  if (b.cachedContent) ctx.warn('cachedContent cannot be used with this upstream; ignored')

  const { tools, builtinTools } = decodeTools(b.tools)
  if (tools.length) req.tools = tools
  if (builtinTools.length) req.builtinTools = builtinTools
  const choice = decodeToolChoice(dig(b, 'toolConfig', 'functionCallingConfig'), ctx)
  if (choice) req.toolChoice = choice

  const g = isObject(b.generationConfig) ? b.generationConfig : {}
  if (typeof g.temperature === 'number') req.temperature = g.temperature
  if (typeof g.topP === 'number') req.topP = g.topP
  if (typeof g.topK === 'number') req.topK = g.topK
  if (typeof g.maxOutputTokens === 'number') req.maxTokens = g.maxOutputTokens
  if (Array.isArray(g.stopSequences) && g.stopSequences.length) req.stop = g.stopSequences.map(String)
  if (typeof g.candidateCount === 'number') req.n = g.candidateCount
  const format = decodeResponseFormat(g)
  if (format) req.responseFormat = format
  const reasoning = decodeThinking(g.thinkingConfig)
  if (reasoning) req.reasoning = reasoning
  return req
}

function decodeSystem(si: unknown): string[] {
  if (typeof si === 'string') return si ? [si] : []
  if (!isObject(si) || !Array.isArray(si.parts)) return []
  return si.parts.map(p => dig(p, 'text')).filter((t): t is string => typeof t === 'string' && t !== '')
}

// ───────────── contents ─────────────

interface Pending {
  id: string
  name: string
}

function decodeContents(contents: unknown[], ctx: CodecContext): IRMessage[] {
  const messages: IRMessage[] = []
  const pending: Pending[] = []
  const seen = new Map<string, number>() // name+args → occurrences, for stable ids

  for (const c of contents) {
    if (!isObject(c)) continue
    const role: IRMessage['role'] = c.role === 'model' ? 'assistant' : 'user'
    const parts: IRPart[] = []
    for (const p of Array.isArray(c.parts) ? c.parts : []) {
      if (!isObject(p)) continue
      if (role === 'assistant' && p.functionCall) {
        const fc = asObject(p.functionCall)
        const name = String(fc.name ?? '')
        const args = JSON.stringify(isObject(fc.args) ? fc.args : {})
        const key = `${name}\u0000${args}`
        const n = (seen.get(key) ?? 0) + 1
        seen.set(key, n)
        const id = fc.id ? safeId(String(fc.id)) : stableCallId(name, args, n)
        pending.push({ id, name })
        parts.push({ type: 'tool_call', id, name, arguments: args, ...(p.thoughtSignature ? { signature: String(p.thoughtSignature) } : {}) })
      } else if (p.functionResponse) {
        parts.push(...decodeFunctionResponse(asObject(p.functionResponse), pending, ctx))
      } else if (typeof p.text === 'string') {
        const text = p.text
        if (role === 'assistant' && p.thought === true) {
          // streamed thoughts arrive as many parts, the signature on the last: one IR thinking block. A client's
          // history may keep one content per streamed chunk (@google/genai Chat does), so continue across them.
          const tail = messages[messages.length - 1]
          const prev = parts[parts.length - 1] ?? (tail?.role === role ? tail.content[tail.content.length - 1] : undefined)
          let block: IRThinking
          if (prev?.type === 'thinking' && !prev.signature) {
            prev.text += text
            block = prev
          } else parts.push((block = { type: 'thinking', text }))
          if (p.thoughtSignature) block.signature = String(p.thoughtSignature)
        } else if (p.thought === true) {
        } else if (text !== '') {
          parts.push({ type: 'text', text })
        }
      } else if (p.inlineData || p.fileData) {
        const img = decodeMedia(p, ctx)
        if (img) parts.push(img)
      } else if (p.executableCode || p.codeExecutionResult) {
        const code = p.executableCode
        const text = code
          ? `\`\`\`${String(dig(code, 'language') ?? '').toLowerCase()}\n${String(dig(code, 'code') ?? '')}\n\`\`\``
          : String(dig(p.codeExecutionResult, 'output') ?? '')
        if (text) parts.push({ type: 'text', text })
      }
    }
    if (!parts.length) continue
    const last = messages[messages.length - 1]
    if (last && last.role === role) last.content.push(...parts)
    else messages.push({ role, content: parts })
  }
  return messages
}

function decodeFunctionResponse(fr: Record<string, unknown>, pending: Pending[], ctx: CodecContext): IRPart[] {
  const name = String(fr.name ?? '')
  const wantId = fr.id ? safeId(String(fr.id)) : undefined
  let at = wantId ? pending.findIndex(p => p.id === wantId) : -1
  if (at < 0) at = pending.findIndex(p => p.name === name)
  let id: string
  const found = at >= 0 ? pending.splice(at, 1)[0] : undefined
  if (found) id = found.id
  else {
    id = wantId ?? stableCallId(`result:${name}`, JSON.stringify(fr.response ?? {}), 1)
    ctx.warn(`functionResponse "${name}" has no matching functionCall`)
  }
  const content: Array<IRText | IRImage> = []
  let isError = false
  const r = fr.response
  if (isObject(r)) {
    const keys = Object.keys(r)
    const only = keys.length === 1 ? Object.values(r)[0] : undefined
    if ((keys[0] === 'output' || keys[0] === 'result' || keys[0] === 'content') && typeof only === 'string') {
      content.push({ type: 'text', text: only })
    } else if ('error' in r && keys.length === 1) {
      isError = true
      content.push({ type: 'text', text: typeof r.error === 'string' ? r.error : JSON.stringify(r.error) })
    } else {
      content.push({ type: 'text', text: JSON.stringify(r) })
    }
  } else if (r !== undefined) {
    content.push({ type: 'text', text: typeof r === 'string' ? r : JSON.stringify(r) })
  }
  // multimodal function responses: functionResponse.parts[] of inlineData / fileData
  for (const p of Array.isArray(fr.parts) ? fr.parts : []) {
    const img = isObject(p) ? decodeMedia(p, ctx) : undefined
    if (img) content.push(img)
  }
  return [{ type: 'tool_result', toolCallId: id, name, content, ...(isError ? { isError } : {}) }]
}

function decodeMedia(p: Record<string, unknown>, ctx: CodecContext): IRImage | undefined {
  if (isObject(p.inlineData)) {
    const mime = String(p.inlineData.mimeType ?? '')
    if (mime.startsWith('image/') && typeof p.inlineData.data === 'string') {
      return { type: 'image', source: { kind: 'base64', mediaType: mime, data: p.inlineData.data } }
    }
    ctx.warn(`inlineData of type ${mime || 'unknown'} is not supported by this upstream; dropped`)
    return undefined
  }
  if (isObject(p.fileData) && typeof p.fileData.fileUri === 'string') {
    const mime = String(p.fileData.mimeType ?? '')
    if (!mime || mime.startsWith('image/')) return { type: 'image', source: { kind: 'url', url: p.fileData.fileUri } }
    ctx.warn(`fileData of type ${mime} is not supported by this upstream; dropped`)
  }
  return undefined
}

// ───────────── tools ─────────────

const BUILTIN_KIND: Record<string, string> = {
  googleSearch: 'web_search',
  googleSearchRetrieval: 'web_search',
  codeExecution: 'code_execution',
  urlContext: 'url_context',
  computerUse: 'computer_use',
  fileSearch: 'file_search',
  googleMaps: 'google_maps',
}

function decodeTools(raw: unknown): { tools: IRTool[]; builtinTools: IRBuiltinTool[] } {
  const tools: IRTool[] = []
  const builtinTools: IRBuiltinTool[] = []
  for (const tool of Array.isArray(raw) ? raw : []) {
    if (!isObject(tool)) continue
    for (const [key, value] of Object.entries(tool)) {
      if (key === 'functionDeclarations') {
        for (const fd of Array.isArray(value) ? value : []) {
          if (!isObject(fd) || !fd.name) continue
          const parameters = isObject(fd.parametersJsonSchema)
            ? (normalizeJsonSchemaTypes(fd.parametersJsonSchema) as Record<string, unknown>)
            : isObject(fd.parameters)
              ? geminiSchemaToJsonSchema(fd.parameters)
              : { type: 'object', properties: {} }
          tools.push({ name: String(fd.name), ...(fd.description ? { description: String(fd.description) } : {}), parameters })
        }
      } else if (value !== undefined && value !== null) {
        builtinTools.push({ kind: BUILTIN_KIND[key] ?? key.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`), raw: { [key]: value } })
      }
    }
  }
  return { tools, builtinTools }
}

function decodeToolChoice(fcc: unknown, ctx: CodecContext): IRToolChoice | undefined {
  if (!isObject(fcc)) return undefined
  const mode = String(fcc.mode ?? '').toUpperCase()
  const allowed: string[] = Array.isArray(fcc.allowedFunctionNames) ? fcc.allowedFunctionNames.map(String) : []
  if (mode === 'NONE') return 'none'
  if (mode === 'ANY') {
    // biome-ignore lint/style/noNonNullAssertion: length checked
    if (allowed.length === 1) return { name: allowed[0]! }
    if (allowed.length > 1) ctx.warn('allowedFunctionNames with several names is not supported; any tool may be called')
    return 'required'
  }
  if (mode === 'AUTO' || mode === 'VALIDATED') {
    if (allowed.length) ctx.warn('allowedFunctionNames is only honoured with mode ANY; ignored')
    return 'auto'
  }
  return undefined
}

// ───────────── generation config ─────────────

function decodeResponseFormat(g: Record<string, unknown>): IRResponseFormat | undefined {
  const mime = String(g.responseMimeType ?? '')
  if (isObject(g.responseJsonSchema)) return { type: 'json_schema', schema: normalizeJsonSchemaTypes(g.responseJsonSchema) as Record<string, unknown> }
  if (isObject(g.responseSchema) && mime === 'application/json') return { type: 'json_schema', schema: geminiSchemaToJsonSchema(g.responseSchema) }
  if (mime === 'application/json') return { type: 'json' }
  return undefined
}

function decodeThinking(tc: unknown): IRReasoning | undefined {
  if (!isObject(tc)) return undefined
  const r: IRReasoning = {}
  if (typeof tc.thinkingBudget === 'number') {
    if (tc.thinkingBudget === 0) r.effort = 'none'
    else if (tc.thinkingBudget > 0) r.budgetTokens = tc.thinkingBudget
    // -1: dynamic thinking, the upstream's default
  }
  const effort = levelToEffort(tc.thinkingLevel)
  if (effort) r.effort = effort
  if (typeof tc.includeThoughts === 'boolean') r.includeThoughts = tc.includeThoughts
  return Object.keys(r).length ? r : undefined
}
