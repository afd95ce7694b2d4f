import { at } from '../support/at'
/**
 * Gemini wire for the fake upstream: /v1beta/models/{model}:generateContent | :streamGenerateContent
 * (alt=sse → `data: {…}\r\n\r\n` frames, else a streamed JSON array) | :countTokens | :embedContent |
 * :batchEmbedContents, GET /v1beta/models. Like the real API it rejects unknown request fields, JSON Schema
 * keywords its Schema proto lacks (in functionDeclarations[].parameters), function-response turns that do not
 * match the call turn, and (gemini-3 models) function calls of the current turn without thoughtSignature.
 */
import {
  PNG_1X1,
  charsIn,
  errorResponse,
  fakeSignature,
  json,
  tokens,
  vectorFor,
  type ErrorBehaviour,
  type ErrorReply,
  type Frame,
  type ModelCall,
  type Reply,
  type Wire,
  type WireCtx,
} from './upstream'

const JSON_TYPE = 'application/json; charset=UTF-8'
const HEADERS = { server: 'scaffolding on HTTPServer2', vary: 'Origin, X-Origin, Referer' }

const BAD_REQUEST: [string, string] = ['INVALID_ARGUMENT', 'Request contains an invalid argument.']
const SERVER_ERROR: [string, string] = [
  'INTERNAL',
  'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
]
const STATUS: Record<number, [string, string]> = {
  400: BAD_REQUEST,
  401: ['UNAUTHENTICATED', 'Request had invalid authentication credentials.'],
  403: ['PERMISSION_DENIED', 'The caller does not have permission'],
  404: ['NOT_FOUND', 'Requested entity was not found.'],
  409: ['ABORTED', 'The operation was aborted.'],
  429: [
    'RESOURCE_EXHAUSTED',
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: ' +
      'https://ai.google.dev/gemini-api/docs/rate-limits.',
  ],
  499: ['CANCELLED', 'The operation was cancelled.'],
  500: SERVER_ERROR,
  501: ['NOT_IMPLEMENTED', 'Method not implemented.'],
  503: ['UNAVAILABLE', 'The model is overloaded. Please try again later.'],
  504: ['DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.'],
}

/** Google's error body for a status; 429 carries QuotaFailure, Help and RetryInfo details */
export function geminiError(status: number, message?: string, retryDelaySeconds?: number, model = 'gemini-2.5-flash', details?: unknown[]): ErrorReply {
  const [name, text] = STATUS[status] ?? (status >= 500 ? SERVER_ERROR : BAD_REQUEST)
  let msg = message ?? text
  if (status === 429 && !details) {
    const delay = retryDelaySeconds ?? 41
    if (!message)
      msg +=
        ` \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: ${model}\nPlease ` +
        `retry in ${delay}s.`
    details = [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [
          {
            quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
            quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
            quotaDimensions: { location: 'global', model },
            quotaValue: '10',
          },
        ],
      },
      {
        '@type': 'type.googleapis.com/google.rpc.Help',
        links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }],
      },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${delay}s` },
    ]
  }
  return {
    status,
    headers: { ...HEADERS, 'content-type': JSON_TYPE },
    body: { error: { code: status, message: msg, status: name, ...(details ? { details } : {}) } },
  }
}

const invalid = (message: string, details?: unknown[]) => geminiError(400, message, undefined, undefined, details)
const fieldViolations = (msgs: { field: string; description: string }[]) =>
  invalid(msgs.map(m => m.description).join('\n'), [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: msgs }])

// ───────────── request validation ─────────────

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
const snake = (k: string) => k.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`)

const TOP = new Set(['contents', 'tools', 'toolConfig', 'safetySettings', 'systemInstruction', 'generationConfig', 'cachedContent', 'labels', 'model'])
const GEN_CONFIG = new Set([
  'stopSequences',
  'responseMimeType',
  'responseSchema',
  'responseJsonSchema',
  'responseModalities',
  'candidateCount',
  'maxOutputTokens',
  'temperature',
  'topP',
  'topK',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
  'responseLogprobs',
  'logprobs',
  'enableEnhancedCivicAnswers',
  'speechConfig',
  'thinkingConfig',
  'imageConfig',
  'mediaResolution',
])
const THINKING = new Set(['includeThoughts', 'thinkingBudget', 'thinkingLevel'])
/** fields of the Schema proto; anything else in `parameters` is an unknown name */
const SCHEMA = new Set([
  'type',
  'format',
  'title',
  'description',
  'nullable',
  'enum',
  'maxItems',
  'minItems',
  'properties',
  'required',
  'minProperties',
  'maxProperties',
  'minLength',
  'maxLength',
  'pattern',
  'example',
  'anyOf',
  'propertyOrdering',
  'default',
  'items',
  'minimum',
  'maximum',
])
const TYPES = new Set(['TYPE_UNSPECIFIED', 'STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL'])

type Violation = { field: string; description: string }
const unknown = (name: string, at?: string): Violation => ({
  field: at ?? name,
  description: `Invalid JSON payload received. Unknown name "${name}"${at ? ` at '${at}'` : ''}: Cannot find field.`,
})

function unknownKeys(obj: unknown, known: Set<string>, at: string | undefined, out: Violation[]) {
  if (!obj || typeof obj !== 'object') return
  for (const k of Object.keys(obj)) if (!known.has(camel(k))) out.push(unknown(k, at))
}

function checkSchema(s: any, at: string, out: Violation[]) {
  if (!s || typeof s !== 'object') return
  for (const [k, v] of Object.entries(s)) {
    const key = camel(k)
    if (!SCHEMA.has(key)) {
      out.push(unknown(k, at))
      continue
    }
    if (key === 'type') {
      if (Array.isArray(v))
        out.push({
          field: `${at}.type`,
          description: `Invalid JSON payload received. Unknown name "type" at '${at}': Proto field is not repeating, cannot start list.`,
        })
      else if (typeof v !== 'string' || !TYPES.has(v.toUpperCase()))
        out.push({
          field: `${at}.type`,
          description: `Invalid value at '${at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), ${JSON.stringify(v)}`,
        })
    }
    if (key === 'properties' && v && typeof v === 'object') Object.values(v).forEach((p, i) => checkSchema(p, `${at}.properties[${i}].value`, out))
    if (key === 'items') checkSchema(v, `${at}.items`, out)
    if (key === 'anyOf' && Array.isArray(v)) v.forEach((p, i) => checkSchema(p, `${at}.any_of[${i}]`, out))
  }
}

const partsOf = (c: any): any[] => (Array.isArray(c?.parts) ? c.parts : [])
const has = (c: any, kind: string) => partsOf(c).filter(p => p?.[kind] || p?.[snake(kind)])

function validate(body: any, model: string): ErrorReply | undefined {
  if (!body || typeof body !== 'object') return invalid('Invalid JSON payload received. Expected an object.')
  const out: Violation[] = []
  unknownKeys(body, TOP, undefined, out)
  const gen = body.generationConfig ?? body.generation_config
  unknownKeys(gen, GEN_CONFIG, 'generation_config', out)
  unknownKeys(gen?.thinkingConfig ?? gen?.thinking_config, THINKING, 'generation_config.thinking_config', out)
  ;(Array.isArray(body.tools) ? body.tools : []).forEach((t: any, i: number) =>
    (t?.functionDeclarations ?? t?.function_declarations ?? []).forEach((f: any, j: number) =>
      checkSchema(f?.parameters, `tools[${i}].function_declarations[${j}].parameters`, out),
    ),
  )
  if (out.length) return fieldViolations(out)

  const contents: any[] = Array.isArray(body.contents) ? body.contents : []
  if (!contents.length) return invalid('* GenerateContentRequest.contents: contents is not specified\n')
  for (const [i, c] of contents.entries()) {
    const responses = has(c, 'functionResponse').length
    if (!responses) continue
    const calls = has(contents[i - 1], 'functionCall').length
    if (!calls) return invalid('Please ensure that function response turn comes immediately after a function call turn.')
    if (calls !== responses)
      return invalid('Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.')
  }
  if (/gemini-3/.test(model)) {
    // signatures are checked for the current turn: everything after the last user turn with text
    let start = 0
    contents.forEach((c, i) => {
      if (c?.role !== 'model' && has(c, 'text').length) start = i
    })
    for (let i = start; i < contents.length; i++) {
      const first = has(contents[i], 'functionCall')[0]
      if (contents[i]?.role === 'model' && first && !(first.thoughtSignature ?? first.thought_signature)) {
        const name = (first.functionCall ?? first.function_call)?.name
        return invalid(
          `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature ` +
            `may lead to degraded model performance. Additional data, function call \`default_api:${name}\` , position ${i + 1}. Please refer to ` +
            `https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`,
        )
      }
    }
  }
}

function lastUserText(contents: any[]): string {
  const c = [...(contents ?? [])].reverse().find(x => x?.role !== 'model')
  const text = has(c, 'text')
    .map(p => p.text)
    .join('')
  return (
    text ||
    has(c, 'functionResponse')
      .map(p => JSON.stringify((p.functionResponse ?? p.function_response)?.response ?? {}))
      .join('')
  )
}

const promptChars = (body: any) => charsIn(body.contents) + charsIn(body.systemInstruction ?? body.system_instruction) + charsIn(body.tools)

// ───────────── generateContent ─────────────

function usageMetadata(r: Reply, final: boolean) {
  const u = r.usage
  const prompt = { promptTokenCount: u.input, promptTokensDetails: [{ modality: 'TEXT', tokenCount: u.input }] }
  if (!final) return { ...prompt, totalTokenCount: u.input }
  return {
    promptTokenCount: u.input,
    candidatesTokenCount: Math.max(0, u.output - u.reasoning),
    totalTokenCount: u.input + u.output,
    ...(u.cached ? { cachedContentTokenCount: u.cached, cacheTokensDetails: [{ modality: 'TEXT', tokenCount: u.cached }] } : {}),
    promptTokensDetails: prompt.promptTokensDetails,
    ...(u.reasoning ? { thoughtsTokenCount: u.reasoning } : {}),
  }
}

const finishReason = (r: Reply) => (r.finish === 'length' ? 'MAX_TOKENS' : 'STOP')
const signature = (r: Reply) => r.signature ?? fakeSignature(r.nonce)
/** thoughtSignature goes on the first functionCall part, else on the text when the model thought */
const textSignature = (r: Reply) => (!r.calls.length && (r.thinking.length || r.signature) ? { thoughtSignature: signature(r) } : {})
const callParts = (r: Reply) =>
  r.calls.map((c, i) => ({ functionCall: { name: c.name, args: JSON.parse(c.args) }, ...(i === 0 ? { thoughtSignature: signature(r) } : {}) }))

/** One generateContent call: its JSON answer and its stream frames, SSE or JSON array (also pre-rendered for the bench: fixed.ts). */
export function generateCall(body: any, model: string, stream: boolean, sse: boolean, pretty: boolean): ModelCall {
  const chunk = (r: Reply, parts: unknown[], final: boolean, index?: number) => ({
    candidates: [{ content: { parts, role: 'model' }, ...(final ? { finishReason: finishReason(r) } : {}), ...(index !== undefined ? { index } : {}) }],
    usageMetadata: usageMetadata(r, final),
    modelVersion: r.model,
    responseId: r.nonce,
  })
  let first = true
  const frame = (o: unknown, content = true): Frame => {
    if (sse) return { data: `data: ${JSON.stringify(o)}\r\n\r\n`, content }
    const data = `${first ? '[' : '\n,'}${JSON.stringify(o, null, pretty ? 2 : undefined)}`
    first = false
    return { data, content }
  }
  const error = (b: ErrorBehaviour) => {
    const e = geminiError(b.status, b.message, b.retryDelaySeconds, model)
    return stream && !sse ? { ...e, body: [e.body] } : e
  }
  return {
    model,
    stream,
    sse,
    contentType: sse ? 'text/event-stream' : JSON_TYPE,
    jsonType: JSON_TYPE,
    pretty,
    echo: lastUserText(body.contents),
    promptChars: promptChars(body),
    headers: { ...HEADERS },
    json: r => {
      const text = [...r.text].join('')
      const parts: unknown[] = []
      if (r.thinking.length) parts.push({ text: r.thinking.join(''), thought: true })
      if (text || !r.calls.length) parts.push({ text, ...textSignature(r) })
      parts.push(...callParts(r))
      return chunk(r, parts, true, 0)
    },
    *frames(r): Iterable<Frame> {
      first = true
      for (const t of r.thinking) yield frame(chunk(r, [{ text: t, thought: true }], false))
      for (const t of r.text) yield frame(chunk(r, [{ text: t }], false))
      if (r.calls.length) yield frame(chunk(r, callParts(r), true))
      else yield frame(chunk(r, [{ text: '', ...textSignature(r) }], true), false)
      if (!sse) yield { data: '\n]' }
    },
    error,
    streamError: b => {
      const e = error(b).body
      return sse ? `data: ${JSON.stringify(e)}\r\n\r\n` : JSON.stringify(e)
    },
  }
}

// ───────────── image output (gemini-*-image models) ─────────────

const asksImage = (body: any) => {
  const modalities = body?.generationConfig?.responseModalities
  return Array.isArray(modalities) && modalities.some((m: unknown) => String(m).toUpperCase() === 'IMAGE')
}
const noImage = () => invalid('Model does not support the requested response modalities: image')

/** an image model's answer: per candidate a line of text and one PNG (the text says how many images it was given) */
function imageAnswer(body: any, model: string) {
  const given = (body.contents ?? []).flatMap((c: any) => c.parts ?? []).filter((p: any) => p.inlineData ?? p.inline_data).length
  const n = Number(body.generationConfig?.candidateCount ?? 1)
  const candidates = Array.from({ length: n }, (_, index) => ({
    content: { role: 'model', parts: [{ text: `Here is your image (from ${given} images).` }, { inlineData: { mimeType: 'image/png', data: PNG_1X1 } }] },
    finishReason: 'STOP',
    index,
  }))
  return { candidates, usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 1290 * n, totalTokenCount: 12 + 1290 * n }, modelVersion: model }
}

// ───────────── models, tokens, embeddings ─────────────

const GEN = ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent']
const MODELS = [
  { id: 'gemini-2.5-pro', display: 'Gemini 2.5 Pro', methods: GEN, thinking: true },
  { id: 'gemini-2.5-flash', display: 'Gemini 2.5 Flash', methods: GEN, thinking: true },
  { id: 'gemini-2.5-flash-lite', display: 'Gemini 2.5 Flash-Lite', methods: GEN, thinking: true },
  { id: 'gemini-3-pro-preview', display: 'Gemini 3 Pro Preview', methods: GEN, thinking: true },
  {
    id: 'gemini-embedding-001',
    display: 'Gemini Embedding 001',
    methods: ['embedContent', 'countTextTokens', 'countTokens', 'asyncBatchEmbedContent'],
    thinking: false,
  },
  { id: 'text-embedding-004', display: 'Text Embedding 004', methods: ['embedContent'], thinking: false },
]
const modelInfo = (m: (typeof MODELS)[number]) => ({
  name: `models/${m.id}`,
  version: '001',
  displayName: m.display,
  description: `Fake ${m.display}`,
  inputTokenLimit: m.thinking ? 1048576 : 2048,
  outputTokenLimit: m.thinking ? 65536 : 1,
  supportedGenerationMethods: m.methods,
  ...(m.thinking ? { temperature: 1, topP: 0.95, topK: 64, maxTemperature: 2, thinking: true } : {}),
})

const embed = (content: any, model: string, dims?: number) => ({
  values: vectorFor(
    has(content, 'text')
      .map(p => p.text)
      .join(' '),
    dims ?? (model.includes('gemini-embedding') ? 3072 : 768),
  ),
})

const notFound404 = () =>
  new Response(
    '<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1</title>\n  <p><b>404.</b> <ins>That’s an error.</ins>\n  ' +
      '<p>The requested URL was not found on this server.  <ins>That’s all we know.</ins>\n',
    { status: 404, headers: { 'content-type': 'text/html; charset=UTF-8' } },
  )

// ───────────── routing ─────────────

export const geminiWire: Wire = {
  base: '',
  keyOf: (req, url) => req.headers.get('x-goog-api-key') ?? url.searchParams.get('key') ?? undefined,
  authError: key =>
    key === undefined
      ? geminiError(
          403,
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to " +
            'call this API.',
        )
      : geminiError(400, 'API key not valid. Please pass a valid API key.', undefined, undefined, [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'API_KEY_INVALID',
            domain: 'googleapis.com',
            metadata: { service: 'generativelanguage.googleapis.com' },
          },
          { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
        ]),
  handle(ctx: WireCtx) {
    const { rec, body, url } = ctx
    const path = decodeURIComponent(rec.path)
    const ok = (o: unknown) => json(200, o, { ...HEADERS, 'content-type': JSON_TYPE }, !ctx.fast)
    const err = (model: string) => (b: ErrorBehaviour) => geminiError(b.status, b.message, b.retryDelaySeconds, model)
    if (rec.method === 'GET') {
      if (/^\/v1(beta|alpha)?\/models\/?$/.test(path)) return ctx.serve(err(''), () => ok({ models: MODELS.map(modelInfo) }))
      const one = path.match(/^\/v1(?:beta|alpha)?\/models\/([^:/]+)$/)
      if (one) {
        const m = MODELS.find(x => x.id === one[1])
        return ctx.serve(err(at(one, 1)), () =>
          m
            ? ok(modelInfo(m))
            : errorResponse(
                geminiError(
                  404,
                  `models/${one[1]} is not found for API version v1beta, or is not supported for get. Call ListModels to see the list of available models ` +
                    `and their supported methods.`,
                ),
              ),
        )
      }
      return notFound404()
    }
    const m = path.match(/^\/v1(?:beta|alpha)?\/models\/([^:/]+):(\w+)$/)
    if (rec.method !== 'POST' || !m) return notFound404()
    const [, model = '', method] = m
    if (body !== undefined && typeof body !== 'object')
      return errorResponse(invalid(`Invalid JSON payload received. Unexpected token.\n${String(body).slice(0, 40)}\n^`))
    switch (method) {
      case 'generateContent':
      case 'streamGenerateContent': {
        const bad = validate(body, model)
        if (bad) return errorResponse(bad)
        const stream = method === 'streamGenerateContent'
        if (!stream && asksImage(body)) return ctx.serve(err(model), () => (model.includes('-image') ? ok(imageAnswer(body, model)) : errorResponse(noImage())))
        return ctx.play(generateCall(body, model, stream, stream && url.searchParams.get('alt') === 'sse', !ctx.fast))
      }
      case 'countTokens': {
        const req = body?.generateContentRequest ?? body ?? {}
        const n = tokens(promptChars(req))
        return ctx.serve(err(model), () => ok({ totalTokens: n, promptTokensDetails: [{ modality: 'TEXT', tokenCount: n }] }))
      }
      case 'embedContent':
        return ctx.serve(err(model), () => ok({ embedding: embed(body?.content, model, body?.outputDimensionality) }))
      case 'batchEmbedContents':
        return ctx.serve(err(model), () => ok({ embeddings: (body?.requests ?? []).map((q: any) => embed(q.content, model, q.outputDimensionality)) }))
    }
    return errorResponse(geminiError(404, `Method not found: ${method}`))
  },
}
