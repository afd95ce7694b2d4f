/**
 * IR request → Gemini generateContent body (agproxy talking to a Gemini upstream).
 *
 * Consecutive same-role turns are merged; tool results become functionResponse parts named after the
 * tool (recovered from the history's tool_call when the IR lacks it); images become inlineData
 * (base64, data: URLs) or fileData (other URLs; never fetched). Every functionCall carries its
 * thoughtSignature: the IR's, else the one remembered when Gemini produced the call, else — on the first
 * call of a turn when the request thinks — Google's documented dummy value.
 */
import type { CodecContext, IRImage, IRMessage, IRRequest, IRToolResult } from '../../../ir/types'
import { DUMMY_THOUGHT_SIGNATURE, isGeminiThoughtSignature, memoryOf, recallSignature } from '../../../ir/signatures'
import { thinkingFields, usesThinking, type Effort } from '../mapping'
import { cleanSchemaForGemini, isEmptyParameters } from '../schema-clean'

type Part = Record<string, unknown>
interface Content {
  role: 'user' | 'model'
  parts: Part[]
}

/** upstream model ids are sent without the `models/` prefix in the path */
export const modelPath = (model: string): string => model.replace(/^models\//, '')
/** the model as one segment of the URL path (a name with `?`, `#`, `%`, `/` or a space must not change the URL) */
export const modelSegment = (model: string): string => encodeURIComponent(modelPath(model))

/** IR request → POST /v1beta/models/{model}:generateContent (or :streamGenerateContent?alt=sse) and its body */
export function encodeGeminiRequest(req: IRRequest, ctx: CodecContext): { path: string; body: Record<string, unknown> } {
  const path = `/v1beta/models/${modelSegment(req.model)}:${req.stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`
  return { path, body: encodeGeminiBody(req, ctx) }
}

/** the generateContent body alone (also used for countTokens' generateContentRequest) */
export function encodeGeminiBody(req: IRRequest, ctx: CodecContext): Record<string, unknown> {
  const model = modelPath(req.model)
  const effort = req.reasoning?.effort as Effort | undefined
  const thinking = usesThinking(model, effort, req.reasoning?.budgetTokens)
  const body: Record<string, unknown> = { contents: encodeContents(req.messages, thinking, ctx) }

  const system = req.system.filter(s => s !== '')
  if (system.length) body.systemInstruction = { parts: system.map(text => ({ text })) }

  const tools = encodeTools(req, ctx)
  if (tools.length) body.tools = tools
  const fcc = encodeToolChoice(req)
  if (fcc) body.toolConfig = { functionCallingConfig: fcc }

  const g: Record<string, unknown> = {}
  if (req.temperature !== undefined) g.temperature = req.temperature
  if (req.topP !== undefined) g.topP = req.topP
  if (req.topK !== undefined) g.topK = req.topK
  if (req.maxTokens !== undefined) g.maxOutputTokens = req.maxTokens
  if (req.stop?.length) {
    if (req.stop.length > 5) ctx.warn('Gemini accepts at most 5 stop sequences; the rest were dropped')
    g.stopSequences = req.stop.slice(0, 5)
  }
  if (req.n && req.n > 1) ctx.warn('only one candidate is supported; n ignored')
  const rf = req.responseFormat
  if (rf?.type === 'json') g.responseMimeType = 'application/json'
  else if (rf?.type === 'json_schema') {
    g.responseMimeType = 'application/json'
    g.responseJsonSchema = rf.schema
  }
  if (req.reasoning) {
    const tc: Record<string, unknown> = thinkingFields(model, effort, req.reasoning.budgetTokens)
    if (req.reasoning.includeThoughts) tc.includeThoughts = true
    if (Object.keys(tc).length) g.thinkingConfig = tc
  }
  if (Object.keys(g).length) body.generationConfig = g
  return body
}

// ───────────── contents ─────────────

function encodeContents(messages: IRMessage[], thinking: boolean, ctx: CodecContext): Content[] {
  const names = new Map<string, string>() // tool call id → name, from the history
  for (const m of messages) for (const p of m.content) if (p.type === 'tool_call') names.set(p.id, p.name)

  const contents: Content[] = []
  for (const m of messages) {
    const role = m.role === 'assistant' ? 'model' : 'user'
    const parts: Part[] = []
    const media: Part[] = [] // images returned by tools go after the function responses
    for (const p of m.content) {
      switch (p.type) {
        case 'text':
          if (p.text !== '') parts.push({ text: p.text })
          break
        case 'image':
          parts.push(imagePart(p))
          break
        case 'thinking':
          // only Gemini's own thoughts can go back (another provider's signature would be rejected)
          if (!p.redacted && isGeminiThoughtSignature(p.signature, memoryOf(ctx))) parts.push({ text: p.text, thought: true, thoughtSignature: p.signature })
          break
        case 'tool_call': {
          const signature = p.signature ?? recallSignature(p.id, memoryOf(ctx))
          parts.push({ functionCall: { name: p.name, args: parseArgs(p.arguments) }, ...(signature ? { thoughtSignature: signature } : {}) })
          break
        }
        case 'tool_result':
          parts.push(functionResponsePart(p, names, ctx))
          for (const c of p.content) if (c.type === 'image') media.push(imagePart(c))
          break
      }
    }
    parts.push(...media)
    if (!parts.length) continue
    const last = contents[contents.length - 1]
    if (last && last.role === role) last.parts.push(...parts)
    else contents.push({ role, parts })
  }
  // function responses lead their turn (images returned by tools, user text after them)
  for (const c of contents) {
    if (c.role === 'user' && c.parts.some(p => p.functionResponse)) {
      c.parts = [...c.parts.filter(p => p.functionResponse), ...c.parts.filter(p => !p.functionResponse)]
    }
  }
  if (thinking) {
    for (const c of contents) {
      if (c.role !== 'model') continue
      const first = c.parts.find(p => p.functionCall)
      if (first && !first.thoughtSignature) first.thoughtSignature = DUMMY_THOUGHT_SIGNATURE
    }
  }
  return contents
}

function parseArgs(json: string): Record<string, unknown> {
  try {
    const v = JSON.parse(json || '{}')
    return v && typeof v === 'object' && !Array.isArray(v) ? v : { value: v }
  } catch {
    return { arguments: json }
  }
}

function functionResponsePart(p: IRToolResult, names: Map<string, string>, ctx: CodecContext): Part {
  let name = p.name || names.get(p.toolCallId)
  if (!name) {
    ctx.warn(`tool result ${p.toolCallId} has no matching tool call; sent as "unknown_tool"`)
    name = 'unknown_tool'
  }
  const text = p.content
    .filter(c => c.type === 'text')
    .map(c => (c as { text: string }).text)
    .join('\n')
  let response: Record<string, unknown>
  const parsed = tryParseObject(text)
  if (parsed && !p.isError) response = parsed
  else response = p.isError ? { error: text } : { result: text }
  return { functionResponse: { name, response } }
}

function tryParseObject(text: string): Record<string, unknown> | undefined {
  const t = text.trim()
  if (!t.startsWith('{')) return undefined
  try {
    const v = JSON.parse(t)
    return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined
  } catch {
    return undefined
  }
}

const MIME_BY_EXT: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  bmp: 'image/bmp',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
}

function imagePart(img: IRImage): Part {
  const s = img.source
  if (s.kind === 'base64') return { inlineData: { mimeType: s.mediaType, data: s.data } }
  const data = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(s.url)
  if (data) return { inlineData: { mimeType: data[1], data: data[2] } }
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(s.url)?.[1]?.toLowerCase()
  return { fileData: { fileUri: s.url, mimeType: (ext && MIME_BY_EXT[ext]) || 'image/jpeg' } }
}

// ───────────── tools ─────────────

const SEARCH = /web_search|google_search|googlesearch/i

function encodeTools(req: IRRequest, ctx: CodecContext): Part[] {
  const tools: Part[] = []
  if (req.tools?.length) {
    tools.push({
      functionDeclarations: req.tools.map(t => {
        const params = cleanSchemaForGemini(t.parameters)
        return {
          name: t.name,
          ...(t.description ? { description: t.description } : {}),
          ...(isEmptyParameters(params) ? {} : { parameters: params }),
        }
      }),
    })
  }
  let search = false
  for (const b of req.builtinTools ?? []) {
    const raw = b.raw as Record<string, unknown> | undefined
    const geminiKey = raw && typeof raw === 'object' ? Object.keys(raw).find(k => /^(googleSearch|codeExecution|urlContext)$/.test(k)) : undefined
    if (raw && geminiKey && geminiKey !== 'googleSearch') tools.push({ [geminiKey]: raw[geminiKey] ?? {} })
    else if (geminiKey || SEARCH.test(b.kind)) search = true
    else ctx.warn(`built-in tool "${b.kind}" is not available on Gemini; dropped`)
  }
  if (search) tools.push({ googleSearch: {} })
  return tools
}

function encodeToolChoice(req: IRRequest): Record<string, unknown> | undefined {
  const c = req.toolChoice
  if (!c || !req.tools?.length) return undefined
  if (c === 'auto') return { mode: 'AUTO' }
  if (c === 'none') return { mode: 'NONE' }
  if (c === 'required') return { mode: 'ANY' }
  return { mode: 'ANY', allowedFunctionNames: [c.name] }
}
