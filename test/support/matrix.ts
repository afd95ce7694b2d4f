/**
 * Harness of the 3×3 translation matrix (client dialect × provider type): one fake upstream per provider
 * type behind one real agproxy, model aliases that route to each, a provider-neutral view of what an
 * upstream received (`upstreamView`), and the table that generates the cells.
 *
 * Model aliases: `plain-<type>` → an ordinary model; `think-<type>` → a thinking model (gemini-3 for
 * Gemini, whose fake rejects a current-turn functionCall without thoughtSignature).
 */
import { describe, test, afterAll, expect } from 'bun:test'
import { startFake, type Fake, type ProviderType, type Recorded } from '../fakes/upstream'
import { startAgproxy, type TestServer } from './agproxy'
import { makeServiceAccount } from '../fakes/vertex'

export type { ProviderType } from '../fakes/upstream'
/** The upstreams every cell row runs against: the three wires, azure (the openai wire on Azure's paths and auth),
 *  vertex with its Gemini models (the gemini wire) and its Claude models (vertex-claude: the anthropic wire), and
 *  bedrock (Converse with SigV4, serving Claude: it keeps Anthropic's rules, so its cells expect what Anthropic's do). */
export type MatrixUpstream = ProviderType | 'azure' | 'vertex' | 'vertex-claude' | 'bedrock'
export const PROVIDERS: MatrixUpstream[] = ['openai', 'anthropic', 'gemini', 'azure', 'vertex', 'vertex-claude', 'bedrock']
const WIRE: Record<MatrixUpstream, ProviderType> = {
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'gemini',
  azure: 'openai',
  vertex: 'gemini',
  'vertex-claude': 'anthropic',
  bedrock: 'anthropic',
}
/** the wire (bedrock: the family of rules) an upstream speaks */
export const wireOf = (p: MatrixUpstream): ProviderType => WIRE[p]
/** bedrock's test credentials: access key id, secret, session token (signed with SigV4, verified by the fake) */
export const BEDROCK_KEY = 'AKIAFAKEBEDROCK0001:fakeSecretKey/abc+XYZ0123456789:FwoGZXIvYXdzFAKEsessionToken'

export const UPSTREAM_MODEL: Record<MatrixUpstream, { plain: string; think: string }> = {
  openai: { plain: 'gpt-4o', think: 'o4-mini' },
  azure: { plain: 'gpt-4o', think: 'o4-mini' },
  anthropic: { plain: 'claude-sonnet-4-6', think: 'claude-opus-4-7' },
  gemini: { plain: 'gemini-2.5-flash', think: 'gemini-3-pro-preview' },
  vertex: { plain: 'gemini-2.5-flash', think: 'gemini-3-pro-preview' },
  'vertex-claude': { plain: 'claude-sonnet-4-6', think: 'claude-opus-4-7' },
  bedrock: { plain: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', think: 'us.anthropic.claude-opus-4-1-20250805-v1:0' },
}
export const PROVIDER_NAME: Record<MatrixUpstream, string> = {
  openai: 'oa',
  anthropic: 'an',
  gemini: 'ge',
  azure: 'az',
  vertex: 'vx',
  'vertex-claude': 'vc',
  bedrock: 'br',
}
const keyOf = (p: MatrixUpstream) => (p === 'bedrock' ? BEDROCK_KEY : `k-${PROVIDER_NAME[p]}`)

export type ModelKind = 'plain' | 'think'
export const alias = (p: MatrixUpstream, kind: ModelKind = 'plain') => `${kind}-${p}`

export interface Env {
  srv: TestServer
  fakes: Record<MatrixUpstream, Fake>
  /** counts hits on the image server: image URLs must be passed on, never fetched */
  imageHits: () => number
  imageUrl: string
  stop(): Promise<void>
}

export async function startMatrix(): Promise<Env> {
  const sa = await makeServiceAccount('agproxy-test@matrix-project.iam.gserviceaccount.com', 'matrix-project')
  const fakes = {
    openai: await startFake('openai', { keys: ['k-oa'] }),
    anthropic: await startFake('anthropic', { keys: ['k-an'] }),
    gemini: await startFake('gemini', { keys: ['k-ge'] }),
    azure: await startFake('azure', { keys: ['k-az'] }),
    vertex: await startFake('vertex', { vertexAccounts: { [sa.json.client_email!]: sa.publicKey } }),
    'vertex-claude': await startFake('vertex', { vertexAccounts: { [sa.json.client_email!]: sa.publicKey } }),
    bedrock: await startFake('bedrock', { keys: [BEDROCK_KEY] }),
  }
  const models: Record<string, string> = {}
  for (const p of PROVIDERS) for (const kind of ['plain', 'think'] as const) models[alias(p, kind)] = `${PROVIDER_NAME[p]}/${UPSTREAM_MODEL[p][kind]}`
  const providerOf = (p: MatrixUpstream) =>
    p === 'vertex' || p === 'vertex-claude'
      ? {
          name: PROVIDER_NAME[p],
          type: 'vertex',
          base_url: fakes[p].url,
          location: 'us-east5',
          credentials: { ...sa.json, token_uri: `${fakes[p].url}/token` },
        }
      : { name: PROVIDER_NAME[p], type: p, base_url: fakes[p].url, api_keys: [keyOf(p)], ...(p === 'bedrock' && { region: 'eu-west-1' }) }
  const srv = await startAgproxy({
    providers: PROVIDERS.map(providerOf),
    models,
    retry: { max_attempts: 1, max_wait: 0 },
  })
  let hits = 0
  const images = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: () => {
      hits++
      return new Response(PNG_BYTES, { headers: { 'content-type': 'image/png' } })
    },
  })
  return {
    srv,
    fakes,
    imageHits: () => hits,
    imageUrl: `http://127.0.0.1:${images.port}/cat.png`,
    async stop() {
      await srv.stop(0)
      images.stop(true)
      await Promise.all(Object.values(fakes).map(f => f.stop()))
    },
  }
}

// ───────────── shared inputs ─────────────

/** a 1×1 PNG */
export const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
const PNG_BYTES = Buffer.from(PNG_B64, 'base64')

/** JSON Schema as zod / MCP servers produce it: $schema, additionalProperties and propertyNames are not
 *  part of Gemini's Schema (the fake Gemini rejects them, like the real API). */
export const WEATHER_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  properties: {
    city: { type: 'string', description: 'City name' },
    unit: { type: 'string', enum: ['c', 'f'] },
    labels: { type: 'object', propertyNames: { pattern: '^[a-z]+$' }, additionalProperties: { type: 'string' } },
  },
  required: ['city'],
}
export const TIME_SCHEMA = { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] }
export const TOOLS = [
  { name: 'get_weather', description: 'Current weather of a city', parameters: WEATHER_SCHEMA },
  { name: 'get_time', description: 'Current time in a time zone', parameters: TIME_SCHEMA },
]
/** the parallel calls the fakes answer with, and the results the clients send back */
export const CALLS = [
  { id: 'call_w1', name: 'get_weather', args: { city: 'Paris', unit: 'c' } },
  { id: 'call_t2', name: 'get_time', args: { tz: 'Europe/Paris' } },
]
export const RESULTS: Record<string, Record<string, unknown>> = {
  get_weather: { temp_c: 21, sky: 'sunny' },
  get_time: { time: '12:00' },
}
export const ANSWER_SCHEMA = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false }

/** JSON Schema keywords Gemini's Schema lacks, anywhere in a value */
export function forbiddenGeminiKeys(v: unknown, at = ''): string[] {
  if (!v || typeof v !== 'object') return []
  if (Array.isArray(v)) return v.flatMap((x, i) => forbiddenGeminiKeys(x, `${at}[${i}]`))
  return Object.entries(v).flatMap(([k, x]) => [
    ...(['$schema', 'additionalProperties', 'propertyNames', '$defs', 'const'].includes(k) ? [`${at}.${k}`] : []),
    ...(k === 'properties' && x && typeof x === 'object'
      ? Object.entries(x).flatMap(([n, s]) => forbiddenGeminiKeys(s, `${at}.properties.${n}`))
      : forbiddenGeminiKeys(x, `${at}.${k}`)),
  ])
}

// ───────────── what an upstream received, provider-neutral ─────────────

export type UpPart =
  | { text: string }
  | { image: { data?: string; mediaType?: string; url?: string } }
  | { thinking: string; signature?: string }
  | { call: { id?: string; name: string; args: any; signature?: string } }
  | { result: { id?: string; name?: string; value: any; isError?: boolean } }

export interface UpMessage {
  role: 'user' | 'assistant'
  parts: UpPart[]
}

export interface UpView {
  path: string
  model: string
  stream: boolean
  system: string[]
  /** consecutive same-role messages merged (OpenAI `tool` messages count as user turns) */
  messages: UpMessage[]
  tools: { name: string; description?: string; parameters: any }[]
  /** 'auto' | 'required' | 'none' | 'tool:<name>' */
  toolChoice?: string
  temperature?: number
  topP?: number
  topK?: number
  maxTokens?: number
  stop?: string[]
  /** JSON output asked for natively (response_format / responseMimeType); schema when given */
  json?: { schema?: any }
  /** reasoning asked for natively: effort (OpenAI), budget (Anthropic/Gemini), level (Gemini 3) */
  reasoning?: { effort?: string; budget?: number; level?: string; includeThoughts?: boolean }
  raw: any
}

const tryJson = (s: unknown): any => {
  if (typeof s !== 'string') return s
  try {
    return JSON.parse(s)
  } catch {
    return s
  }
}
const dataUrl = (url: string) => {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url)
  return m ? { data: m[2], mediaType: m[1] } : { url }
}

function merged(list: UpMessage[]): UpMessage[] {
  const out: UpMessage[] = []
  for (const m of list) {
    const last = out.at(-1)
    if (last?.role === m.role) last.parts.push(...m.parts)
    else out.push({ role: m.role, parts: [...m.parts] })
  }
  return out
}

function chatView(b: any): Omit<UpView, 'path' | 'raw'> {
  const system: string[] = []
  const list: UpMessage[] = []
  const textParts = (c: any): UpPart[] =>
    typeof c === 'string'
      ? c
        ? [{ text: c }]
        : []
      : Array.isArray(c)
        ? c.map((p: any) => (p.type === 'image_url' ? { image: dataUrl(p.image_url.url) } : { text: p.text }))
        : []
  for (const m of b.messages ?? []) {
    if (m.role === 'system' || m.role === 'developer') system.push(typeof m.content === 'string' ? m.content : m.content.map((p: any) => p.text).join('\n'))
    else if (m.role === 'user') list.push({ role: 'user', parts: textParts(m.content) })
    else if (m.role === 'tool') list.push({ role: 'user', parts: [{ result: { id: m.tool_call_id, value: tryJson(m.content) } }] })
    else if (m.role === 'assistant') {
      const parts: UpPart[] = []
      const r = m.reasoning_content ?? m.reasoning
      if (r) parts.push({ thinking: r })
      parts.push(...textParts(m.content))
      for (const tc of m.tool_calls ?? []) parts.push({ call: { id: tc.id, name: tc.function.name, args: tryJson(tc.function.arguments) } })
      list.push({ role: 'assistant', parts })
    }
  }
  const tc = b.tool_choice
  const rf = b.response_format
  return {
    model: b.model,
    stream: b.stream === true,
    system,
    messages: merged(list),
    tools: (b.tools ?? []).map((t: any) => ({ name: t.function.name, description: t.function.description, parameters: t.function.parameters })),
    toolChoice: typeof tc === 'string' ? tc : tc?.function?.name ? `tool:${tc.function.name}` : undefined,
    temperature: b.temperature,
    topP: b.top_p,
    topK: b.top_k,
    maxTokens: b.max_completion_tokens ?? b.max_tokens,
    stop: typeof b.stop === 'string' ? [b.stop] : b.stop,
    json: rf && rf.type !== 'text' ? { schema: rf.json_schema?.schema } : undefined,
    reasoning: b.reasoning_effort ? { effort: b.reasoning_effort } : undefined,
  }
}

function responsesView(b: any): Omit<UpView, 'path' | 'raw'> {
  const system: string[] = b.instructions ? [b.instructions] : []
  const list: UpMessage[] = []
  const parts = (c: any): UpPart[] =>
    typeof c === 'string'
      ? [{ text: c }]
      : (c ?? []).map((p: any) =>
          p.type === 'input_image' ? { image: dataUrl(typeof p.image_url === 'string' ? p.image_url : p.image_url.url) } : { text: p.text },
        )
  const items = typeof b.input === 'string' ? [{ type: 'message', role: 'user', content: b.input }] : (b.input ?? [])
  for (const it of items) {
    const type = it.type ?? 'message'
    if (type === 'message' && (it.role === 'system' || it.role === 'developer'))
      system.push(
        parts(it.content)
          .map((p: any) => p.text)
          .join('\n'),
      )
    else if (type === 'message') list.push({ role: it.role === 'assistant' ? 'assistant' : 'user', parts: parts(it.content) })
    else if (type === 'function_call') list.push({ role: 'assistant', parts: [{ call: { id: it.call_id, name: it.name, args: tryJson(it.arguments) } }] })
    else if (type === 'function_call_output') list.push({ role: 'user', parts: [{ result: { id: it.call_id, value: tryJson(it.output) } }] })
    else if (type === 'reasoning')
      list.push({
        role: 'assistant',
        parts: [{ thinking: (it.summary ?? []).map((s: any) => s.text).join(''), ...(it.encrypted_content ? { signature: it.encrypted_content } : {}) }],
      })
  }
  const tc = b.tool_choice
  const f = b.text?.format
  return {
    model: b.model,
    stream: b.stream === true,
    system,
    messages: merged(list),
    tools: (b.tools ?? []).filter((t: any) => t.type === 'function').map((t: any) => ({ name: t.name, description: t.description, parameters: t.parameters })),
    toolChoice: typeof tc === 'string' ? tc : tc?.name ? `tool:${tc.name}` : undefined,
    temperature: b.temperature,
    topP: b.top_p,
    maxTokens: b.max_output_tokens,
    json: f && f.type !== 'text' ? { schema: f.schema } : undefined,
    reasoning: b.reasoning ? { effort: b.reasoning.effort } : undefined,
  }
}

function anthropicView(b: any): Omit<UpView, 'path' | 'raw'> {
  const system = typeof b.system === 'string' ? [b.system] : (b.system ?? []).map((s: any) => s.text)
  const blocks = (c: any): any[] => (typeof c === 'string' ? [{ type: 'text', text: c }] : (c ?? []))
  const list: UpMessage[] = (b.messages ?? []).map((m: any) => ({
    role: m.role,
    parts: blocks(m.content).map((c: any): UpPart => {
      switch (c.type) {
        case 'text':
          return { text: c.text }
        case 'image':
          return { image: c.source.type === 'url' ? { url: c.source.url } : { data: c.source.data, mediaType: c.source.media_type } }
        case 'thinking':
          return { thinking: c.thinking, signature: c.signature }
        case 'redacted_thinking':
          return { thinking: '', signature: c.data }
        case 'tool_use':
          return { call: { id: c.id, name: c.name, args: c.input } }
        case 'tool_result': {
          const text = blocks(c.content)
            .filter((x: any) => x.type === 'text')
            .map((x: any) => x.text)
            .join('')
          return { result: { id: c.tool_use_id, value: tryJson(text), ...(c.is_error ? { isError: true } : {}) } }
        }
        default:
          return { text: `<${c.type}>` }
      }
    }),
  }))
  const tc = b.tool_choice
  return {
    model: b.model,
    stream: b.stream === true,
    system,
    messages: merged(list),
    tools: (b.tools ?? []).map((t: any) => ({ name: t.name, description: t.description, parameters: t.input_schema })),
    toolChoice: !tc ? undefined : tc.type === 'any' ? 'required' : tc.type === 'tool' ? `tool:${tc.name}` : tc.type,
    temperature: b.temperature,
    topP: b.top_p,
    topK: b.top_k,
    maxTokens: b.max_tokens,
    stop: b.stop_sequences,
    json: b.output_config?.format ? { schema: b.output_config.format.schema } : undefined,
    reasoning: b.thinking?.type === 'enabled' ? { budget: b.thinking.budget_tokens } : undefined,
  }
}

function geminiView(b: any, path: string): Omit<UpView, 'path' | 'raw'> {
  const si = b.systemInstruction ?? b.system_instruction
  const system = (si?.parts ?? []).map((p: any) => p.text)
  const list: UpMessage[] = (b.contents ?? []).map((c: any) => ({
    role: c.role === 'model' ? 'assistant' : 'user',
    parts: (c.parts ?? []).map((p: any): UpPart => {
      if (p.functionCall)
        return {
          call: {
            ...(p.functionCall.id ? { id: p.functionCall.id } : {}),
            name: p.functionCall.name,
            args: p.functionCall.args ?? {},
            ...(p.thoughtSignature ? { signature: p.thoughtSignature } : {}),
          },
        }
      if (p.functionResponse)
        return {
          result: { ...(p.functionResponse.id ? { id: p.functionResponse.id } : {}), name: p.functionResponse.name, value: p.functionResponse.response },
        }
      if (p.thought) return { thinking: p.text ?? '', ...(p.thoughtSignature ? { signature: p.thoughtSignature } : {}) }
      if (p.inlineData) return { image: { data: p.inlineData.data, mediaType: p.inlineData.mimeType } }
      if (p.fileData) return { image: { url: p.fileData.fileUri, mediaType: p.fileData.mimeType } }
      return { text: p.text }
    }),
  }))
  const g = b.generationConfig ?? {}
  const fcc = b.toolConfig?.functionCallingConfig
  const mode = String(fcc?.mode ?? '').toUpperCase()
  const tc = g.thinkingConfig
  return {
    model: decodeURIComponent(path).match(/models\/([^:]+):/)?.[1] ?? '',
    stream: path.includes(':streamGenerateContent'),
    system,
    messages: merged(list),
    tools: (b.tools ?? [])
      .flatMap((t: any) => t.functionDeclarations ?? [])
      .map((f: any) => ({ name: f.name, description: f.description, parameters: f.parameters ?? f.parametersJsonSchema })),
    toolChoice: !fcc
      ? undefined
      : mode === 'ANY' && fcc.allowedFunctionNames?.length === 1
        ? `tool:${fcc.allowedFunctionNames[0]}`
        : mode === 'ANY'
          ? 'required'
          : mode.toLowerCase(),
    temperature: g.temperature,
    topP: g.topP,
    topK: g.topK,
    maxTokens: g.maxOutputTokens,
    stop: g.stopSequences,
    json: g.responseMimeType === 'application/json' ? { schema: g.responseJsonSchema ?? g.responseSchema } : undefined,
    reasoning: tc
      ? {
          ...(tc.thinkingBudget !== undefined ? { budget: tc.thinkingBudget } : {}),
          ...(tc.thinkingLevel ? { level: tc.thinkingLevel } : {}),
          ...(tc.includeThoughts !== undefined ? { includeThoughts: tc.includeThoughts } : {}),
        }
      : undefined,
  }
}

/** Claude on Vertex: the model is in the path (`…/publishers/anthropic/models/{m}:rawPredict`), the stream flag in the body. */
const vertexClaudeBody = (b: any, path: string) => {
  const m = decodeURIComponent(path).match(/\/publishers\/anthropic\/models\/([^:/]+):/)
  return m ? { ...b, model: m[1] } : b
}

function converseView(b: any): Omit<UpView, 'path' | 'raw'> {
  const part = (c: any): UpPart => {
    if (c.toolUse) return { call: { id: c.toolUse.toolUseId, name: c.toolUse.name, args: c.toolUse.input } }
    if (c.toolResult) {
      const text = (c.toolResult.content ?? []).map((x: any) => x.text ?? '').join('')
      return { result: { id: c.toolResult.toolUseId, value: tryJson(text), ...(c.toolResult.status === 'error' ? { isError: true } : {}) } }
    }
    if (c.reasoningContent) return { thinking: c.reasoningContent.reasoningText?.text ?? '', signature: c.reasoningContent.reasoningText?.signature }
    if (c.image) return { image: { data: c.image.source?.bytes, mediaType: `image/${c.image.format}` } }
    return { text: c.text }
  }
  const list: UpMessage[] = (b.messages ?? []).map((m: any) => ({ role: m.role, parts: (m.content ?? []).map(part) }))
  const tc = b.toolConfig?.toolChoice
  const inf = b.inferenceConfig ?? {}
  const extra = b.additionalModelRequestFields ?? {}
  return {
    model: '',
    stream: false,
    system: (b.system ?? []).map((s: any) => s.text),
    messages: merged(list),
    tools: (b.toolConfig?.tools ?? []).map((t: any) => ({
      name: t.toolSpec.name,
      description: t.toolSpec.description,
      parameters: t.toolSpec.inputSchema.json,
    })),
    toolChoice: !tc ? undefined : tc.any ? 'required' : tc.tool ? `tool:${tc.tool.name}` : 'auto',
    temperature: inf.temperature,
    topP: inf.topP,
    topK: extra.top_k,
    maxTokens: inf.maxTokens,
    stop: inf.stopSequences,
    reasoning: extra.thinking?.type === 'enabled' ? { budget: extra.thinking.budget_tokens } : undefined,
  }
}

/** A recorded upstream request, read into the provider-neutral view. */
export function upstreamView(type: ProviderType | 'bedrock', rec: Recorded | undefined): UpView {
  if (!rec) throw new Error(`the ${type} upstream received no request`)
  const b = rec.body ?? {}
  const view =
    type === 'bedrock'
      ? converseView(b)
      : type === 'gemini'
        ? geminiView(b, rec.path + (rec.query.alt ? `?alt=${rec.query.alt}` : ''))
        : type === 'anthropic'
          ? anthropicView(vertexClaudeBody(b, rec.path))
          : rec.path.endsWith('/responses')
            ? responsesView(b)
            : chatView(b)
  // Bedrock: the model and whether it streams are in the path (/model/{id}/converse-stream, /invoke-with-response-stream)
  const bedrock = /^\/model\/([^/]+)\/([a-z-]+)$/.exec(rec.path)
  const inPath = bedrock && { model: decodeURIComponent(bedrock[1] ?? ''), stream: !!bedrock[2]?.endsWith('-stream') }
  return { ...view, ...inPath, path: rec.path, raw: b }
}

/** the text of a view's message (text parts joined) */
export const textOf = (m: UpMessage | undefined) =>
  (m?.parts ?? [])
    .filter((p): p is { text: string } => 'text' in p)
    .map(p => p.text)
    .join('')
export const callsOf = (m: UpMessage | undefined) => (m?.parts ?? []).filter((p): p is Extract<UpPart, { call: any }> => 'call' in p).map(p => p.call)
export const resultsOf = (m: UpMessage | undefined) => (m?.parts ?? []).filter((p): p is Extract<UpPart, { result: any }> => 'result' in p).map(p => p.result)
export const thinkingOf = (m: UpMessage | undefined) => (m?.parts ?? []).filter((p): p is Extract<UpPart, { thinking: string }> => 'thinking' in p)
export const imagesOf = (m: UpMessage | undefined) => (m?.parts ?? []).filter((p): p is Extract<UpPart, { image: any }> => 'image' in p).map(p => p.image)

// ───────────── the cells ─────────────

export interface Cell {
  client: ProviderType
  /** the wire the upstream speaks (azure: openai; vertex: gemini; vertex-claude: anthropic) */
  provider: ProviderType
  /** the upstream's type as configured */
  upstream: MatrixUpstream
  stream: boolean
  /** client dialect == provider type: bytes pass through */
  same: boolean
  fake: Fake
  env: Env
  model(kind?: ModelKind): string
  upstreamModel(kind?: ModelKind): string
  /** what the upstream received on its i-th generation request of this cell (default: the last) */
  up(i?: number): UpView
  /** number of generation requests the upstream received in this cell */
  calls(): number
}

export type Scenario = (cell: Cell) => Promise<void>

const isGeneration = (r: Recorded) =>
  /chat\/completions|\/responses|\/messages$|:generateContent|:streamGenerateContent|models\/claude-[^/]*:(stream)?rawPredict|\/converse|\/invoke/i.test(r.path)

/** Generate client × provider × scenario × stream-flag cells for one client dialect. */
export function matrix(
  client: ProviderType,
  env: Env,
  scenarios: Record<string, Scenario>,
  opts: { label?: string; providers?: MatrixUpstream[]; streams?: boolean[] } = {},
): void {
  for (const upstream of opts.providers ?? PROVIDERS) {
    const provider = wireOf(upstream)
    describe(`${opts.label ?? `${client} client`} → ${upstream} provider`, () => {
      for (const [name, run] of Object.entries(scenarios)) {
        for (const stream of opts.streams ?? [false, true]) {
          test(`${name} · ${stream ? 'stream' : 'non-stream'}`, async () => {
            const fake = env.fakes[upstream]
            fake.reset()
            const gen = () => fake.requests.filter(isGeneration)
            await run({
              client,
              provider,
              upstream,
              stream,
              same: client === provider,
              fake,
              env,
              model: (kind = 'plain') => alias(upstream, kind),
              upstreamModel: (kind = 'plain') => UPSTREAM_MODEL[upstream][kind],
              up: (i?: number) => {
                const all = gen()
                const rec = i === undefined ? all.at(-1) : all[i]
                return upstreamView(rec?.path.includes('/converse') ? 'bedrock' : provider, rec)
              },
              calls: () => gen().length,
            })
          })
        }
      }
    })
  }
}

/** the headers agproxy adds to every answer it got from a provider */
export function expectAgproxyHeaders(cell: Cell, get: (name: string) => string | null | undefined, kind: ModelKind = 'plain') {
  expect(get('x-agproxy-provider')).toBe(PROVIDER_NAME[cell.upstream])
  expect(get('x-agproxy-model')).toBe(cell.upstreamModel(kind))
}

/** Bedrock's Converse takes images as bytes or s3:// locations: an image URL is refused before any upstream call (a 400 in
 *  the client's dialect that says to inline it), and never fetched by agproxy. */
export async function expectImageUrlRefused(cell: Cell, run: () => Promise<unknown>) {
  const e: any = await run().then(
    () => undefined,
    e => e,
  )
  expect(e?.status).toBe(400)
  expect(String(e?.message)).toContain('send the image inline as base64')
  expect(cell.calls()).toBe(0)
  expect(cell.env.imageHits()).toBe(0)
}

/** stop everything once this file's tests are done */
export function cleanup(env: Env): void {
  afterAll(() => env.stop())
}

/**
 * The second upstream request of a tool round trip: user, assistant with both calls, user with both results,
 * paired by id (`ids`, what the client saw) — or, for a Gemini upstream, which has no ids, by name.
 */
export function expectToolRoundTripUpstream(cell: Cell, ids: string[] | undefined) {
  const up2 = cell.up(1)
  expect(up2.messages.map(m => m.role)).toEqual(['user', 'assistant', 'user'])
  const calls = callsOf(up2.messages[1])
  expect(calls.map(c => [c.name, c.args])).toEqual(CALLS.map(c => [c.name, c.args]))
  const results = resultsOf(up2.messages[2])
  expect(results.map(r => r.value)).toEqual([RESULTS.get_weather, RESULTS.get_time])
  if (cell.provider === 'gemini') expect(results.map(r => r.name)).toEqual(['get_weather', 'get_time'])
  else if (ids) {
    expect(calls.map(c => c.id)).toEqual(ids)
    expect(results.map(r => r.id)).toEqual(ids)
  }
}
