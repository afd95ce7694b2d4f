import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { ApiError, GoogleGenAI } from '@google/genai'
import { Elysia } from 'elysia'
import type { CodecContext, IREvent, IRRequest, IRResponse } from '../src/ir/types'
import { IRErrorValue } from '../src/ir/types'
import { collect, replay } from '../src/ir/collect'
import { parseSSE } from '../src/ir/sse'
import {
  DUMMY_THOUGHT_SIGNATURE,
  clearSignatures,
  recallSignature,
  rememberSignature,
  rememberThoughtSignature,
  signatureCacheSize,
} from '../src/ir/signatures'
import {
  cleanSchemaForGemini,
  decodeGeminiCountTokens,
  decodeGeminiCountTokensRequest,
  decodeGeminiEmbedRequest,
  decodeGeminiEmbedUpstream,
  encodeGeminiCountTokensResponse,
  encodeGeminiEmbedResponse,
  encodeGeminiEmbedUpstream,
  geminiClient,
  geminiCountTokensUpstream,
  geminiErrorBody,
  geminiErrorFromWire,
  geminiStreamContentType,
  geminiUpstream,
} from '../src/dialects/gemini'
import { GeminiGenerateContentBody } from '../src/dialects/gemini/generate/schema'
import { GeminiCountTokensBody } from '../src/dialects/gemini/count-tokens/schema'
import { startFake, type Fake } from './fakes/upstream'
import { at } from './support/at'

// ───────────── helpers ─────────────

function ctx(opts: { raw?: any; query?: Record<string, string>; model?: string } = {}): CodecContext & { warnings: string[] } {
  const warnings: string[] = []
  return {
    clientModel: opts.model ?? 'gemini-2.5-pro',
    raw: opts.raw,
    query: opts.query,
    warnings,
    warn: m => {
      warnings.push(m)
    },
  }
}

const te = new TextEncoder()
const streamOf = (text: string, chunk = 13): ReadableStream<Uint8Array> => {
  const bytes = te.encode(text)
  let i = 0
  return new ReadableStream({
    pull(c) {
      if (i >= bytes.length) return c.close()
      c.enqueue(bytes.slice(i, i + chunk))
      i += chunk
    },
  })
}
const sseBody = (chunks: unknown[]) => chunks.map(c => `data: ${JSON.stringify(c)}\r\n\r\n`).join('')

async function* fromArray<T>(xs: T[]): AsyncGenerator<T> {
  for (const x of xs) yield x
}
async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** a tiny Gemini-speaking server: whatever `answer` returns for the decoded request */
function serveGemini(answer: (body: any, url: URL) => Response) {
  const seen: any[] = []
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const url = new URL(req.url)
      const body = await req.json()
      seen.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), body })
      return answer(body, url)
    },
  })
  const ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: `http://127.0.0.1:${server.port}`, apiVersion: 'v1beta' } })
  return { ai, seen, stop: () => server.stop(true) }
}

const streamResponse = (events: IREvent[], c: CodecContext) =>
  new Response(geminiClient.encodeStream(fromArray(events), c), { headers: { 'content-type': geminiStreamContentType(c) } })

/** every schema node of a cleaned Gemini schema (properties values, items, anyOf), with its path */
function* nodes(s: any, at = 'parameters'): Generator<[string, any]> {
  yield [at, s]
  if (s.properties) for (const [k, v] of Object.entries(s.properties)) yield* nodes(v, `${at}.properties.${k}`)
  if (s.items) yield* nodes(s.items, `${at}.items`)
  if (s.anyOf) for (const [i, v] of (s.anyOf as any[]).entries()) yield* nodes(v, `${at}.anyOf[${i}]`)
}
const GEMINI_SCHEMA_KEYS = new Set([
  'type',
  'format',
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
  'anyOf',
  'propertyOrdering',
  'items',
  'minimum',
  'maximum',
])

function assertGeminiSchema(schema: any) {
  for (const [at, n] of nodes(schema)) {
    for (const k of Object.keys(n)) expect(GEMINI_SCHEMA_KEYS.has(k) ? k : `${at}: ${k}`).toBe(k)
    if (n.type !== undefined) expect(['string', 'number', 'integer', 'boolean', 'array', 'object']).toContain(n.type)
    if (n.enum) {
      expect(n.type).toBe('string')
      expect(n.enum.every((v: unknown) => typeof v === 'string')).toBe(true)
    }
    if (n.type === 'array') expect(Object.keys(n.items ?? {}).length).toBeGreaterThan(0)
    if (n.properties) {
      expect(n.type).toBe('object')
      expect(Object.keys(n.properties).length).toBeGreaterThan(0)
    }
    if (n.required) for (const r of n.required) expect(Object.keys(n.properties ?? {})).toContain(r)
    if (n.format) expect(n.type === 'string' ? ['enum', 'date-time'] : n.type === 'number' ? ['float', 'double'] : ['int32', 'int64']).toContain(n.format)
  }
}

// ───────────── client: request schemas ─────────────

describe('gemini request schemas (Elysia)', () => {
  const app = new Elysia()
    .post('/gen', ({ body }) => geminiClient.decodeRequest(body, ctx()), { body: GeminiGenerateContentBody })
    .post('/count', ({ body }) => ({ ok: true, body }), { body: GeminiCountTokensBody })
  const post = (path: string, body: unknown) =>
    app.handle(new Request(`http://localhost${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))

  const cases: Array<[string, string, unknown, number]> = [
    ['camelCase body (Gemini CLI)', '/gen', 'GEMINI_CLI_BODY', 200],
    [
      'snake_case body with unknown fields',
      '/gen',
      {
        contents: [{ role: 'user', parts: [{ text: 'x' }] }],
        system_instruction: { parts: [{ text: 's' }] },
        generation_config: { max_output_tokens: 5 },
        future_field: 1,
      },
      200,
    ],
    ['systemInstruction as a string', '/gen', { contents: [{ parts: [{ text: 'x' }] }], systemInstruction: 'be brief' }, 200],
    ['no contents', '/gen', { generationConfig: {} }, 422],
    ['contents not an array', '/gen', { contents: 5 }, 422],
    ['a content that is not one', '/gen', { contents: [{ role: 5 }] }, 422],
    ['countTokens with contents', '/count', { contents: [{ parts: [{ text: 'x' }] }] }, 200],
    ['countTokens with generateContentRequest', '/count', { generateContentRequest: { model: 'models/m', contents: [] } }, 200],
  ]
  for (const [name, path, body, status] of cases) {
    test(name, async () => {
      const r = await post(path, body === 'GEMINI_CLI_BODY' ? GEMINI_CLI_BODY : body)
      expect(r.status).toBe(status)
    })
  }
})

// ───────────── client: decode ─────────────

/** what Gemini CLI sends on the second step of a tool loop (JSON captured from @google/genai, trimmed) */
const GEMINI_CLI_BODY = {
  contents: [
    { role: 'user', parts: [{ text: 'This is the Gemini CLI. Context: cwd=/repo' }] },
    { role: 'model', parts: [{ text: 'Got it.' }] },
    { role: 'user', parts: [{ text: 'list the files, then read README' }] },
    {
      role: 'model',
      parts: [
        { text: 'Planning the listing', thought: true, thoughtSignature: 'VGhvdWdodFNpZ0E=' },
        { functionCall: { name: 'list_directory', args: { path: '/repo' } }, thoughtSignature: 'Q2FsbFNpZzE=' },
        { functionCall: { name: 'read_file', args: { absolute_path: '/repo/README.md' } } },
      ],
    },
    {
      role: 'user',
      parts: [
        { functionResponse: { id: 'list_directory-1750000000000-a1b2', name: 'list_directory', response: { output: 'README.md\nsrc/' } } },
        { functionResponse: { id: 'read_file-1750000000001-c3d4', name: 'read_file', response: { output: '# Repo' } } },
      ],
    },
  ],
  systemInstruction: { role: 'user', parts: [{ text: 'You are an interactive CLI agent.' }] },
  tools: [
    {
      functionDeclarations: [
        {
          name: 'list_directory',
          description: 'Lists a directory.',
          parametersJsonSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
        },
        {
          name: 'read_file',
          description: 'Reads a file.',
          parameters: {
            type: 'OBJECT',
            properties: { absolute_path: { type: 'STRING', nullable: true }, limit: { type: 'INTEGER', format: 'int32' } },
            required: ['absolute_path'],
            propertyOrdering: ['absolute_path', 'limit'],
          },
        },
      ],
    },
    { googleSearch: {} },
  ],
  toolConfig: { functionCallingConfig: { mode: 'AUTO' } },
  generationConfig: { temperature: 0, topP: 1, maxOutputTokens: 8192, thinkingConfig: { includeThoughts: true, thinkingBudget: -1 } },
}

describe('gemini client: decodeRequest', () => {
  test('a Gemini CLI tool-loop request', () => {
    const c = ctx({ model: 'gemini-2.5-pro' })
    const r = geminiClient.decodeRequest(GEMINI_CLI_BODY, c)
    expect(r.model).toBe('gemini-2.5-pro')
    expect(r.stream).toBe(false)
    expect(r.system).toEqual(['You are an interactive CLI agent.'])
    expect(r.messages.map(m => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user'])
    const calls = r.messages[3]?.content
    expect(calls?.[0]).toEqual({ type: 'thinking', text: 'Planning the listing', signature: 'VGhvdWdodFNpZ0E=' })
    expect(calls?.[1]).toMatchObject({ type: 'tool_call', name: 'list_directory', arguments: '{"path":"/repo"}', signature: 'Q2FsbFNpZzE=' })
    expect(calls?.[2]).toMatchObject({ type: 'tool_call', name: 'read_file', arguments: '{"absolute_path":"/repo/README.md"}' })
    expect((at(calls ?? [], 2) as any).signature).toBeUndefined()
    const results = r.messages[4]?.content as any[]
    // the CLI's own response ids do not match the (id-less) calls: paired by name, in order
    expect(results.map(x => x.toolCallId)).toEqual([(at(calls ?? [], 1) as any).id, (at(calls ?? [], 2) as any).id])
    expect(results[0]).toMatchObject({ type: 'tool_result', name: 'list_directory', content: [{ type: 'text', text: 'README.md\nsrc/' }] })
    expect(r.tools!.map(t => t.name)).toEqual(['list_directory', 'read_file'])
    expect(r.tools![1]?.parameters).toEqual({
      type: 'object',
      properties: { absolute_path: { type: ['string', 'null'] }, limit: { type: 'integer', format: 'int32' } },
      required: ['absolute_path'],
    })
    expect(r.builtinTools).toEqual([{ kind: 'web_search', raw: { googleSearch: {} } }])
    expect(r.toolChoice).toBe('auto')
    expect(r).toMatchObject({ temperature: 0, topP: 1, maxTokens: 8192, reasoning: { includeThoughts: true } })
    expect(r.reasoning!.budgetTokens).toBeUndefined()
    // stable ids: the same history decodes to the same ids
    const again = geminiClient.decodeRequest(GEMINI_CLI_BODY, ctx())
    expect((at(again.messages, 3).content[1] as any).id).toBe((at(calls ?? [], 1) as any).id)
    expect((at(calls ?? [], 1) as any).id).toMatch(/^[a-zA-Z0-9_-]+$/)
  })

  const cases: Array<{ name: string; body: any; check: (r: IRRequest, c: ReturnType<typeof ctx>) => void }> = [
    {
      name: 'snake_case spellings; user data inside args is untouched',
      body: {
        contents: [
          {
            role: 'user',
            parts: [
              { text: 'look' },
              { inline_data: { mime_type: 'image/png', data: 'iVBORw0=' } },
              { file_data: { file_uri: 'https://x.test/a.jpg', mime_type: 'image/jpeg' } },
            ],
          },
          {
            role: 'model',
            parts: [{ function_call: { name: 'set_user', args: { first_name: 'Ada', nested_obj: { some_key: 1 } } }, thought_signature: 'U2ln' }],
          },
          { role: 'function', parts: [{ function_response: { name: 'set_user', response: { error: 'denied' } } }] },
        ],
        system_instruction: { parts: [{ text: 'sys' }] },
        tool_config: { function_calling_config: { mode: 'ANY', allowed_function_names: ['set_user'] } },
        generation_config: {
          max_output_tokens: 100,
          stop_sequences: ['END'],
          response_mime_type: 'application/json',
          response_schema: { type: 'OBJECT', properties: { ok_flag: { type: 'BOOLEAN' } } },
          thinking_config: { thinking_level: 'LOW', include_thoughts: false },
        },
      },
      check: r => {
        expect(r.system).toEqual(['sys'])
        expect(r.messages[0]?.content).toEqual([
          { type: 'text', text: 'look' },
          { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: 'iVBORw0=' } },
          { type: 'image', source: { kind: 'url', url: 'https://x.test/a.jpg' } },
        ])
        const call = r.messages[1]?.content[0] as any
        expect(JSON.parse(call.arguments)).toEqual({ first_name: 'Ada', nested_obj: { some_key: 1 } })
        expect(call.signature).toBe('U2ln')
        expect(r.messages[2]?.content[0]).toMatchObject({
          type: 'tool_result',
          toolCallId: call.id,
          isError: true,
          content: [{ type: 'text', text: 'denied' }],
        })
        expect(r.toolChoice).toEqual({ name: 'set_user' })
        expect(r).toMatchObject({ maxTokens: 100, stop: ['END'], reasoning: { effort: 'low', includeThoughts: false } })
        expect(r.responseFormat).toEqual({ type: 'json_schema', schema: { type: 'object', properties: { ok_flag: { type: 'boolean' } } } })
      },
    },
    {
      name: 'parallel calls of one tool pair with their responses in order; JSON responses kept whole',
      body: {
        contents: [
          { role: 'user', parts: [{ text: 'weather in Paris and Rome' }] },
          {
            role: 'model',
            parts: [{ functionCall: { name: 'weather', args: { city: 'Paris' } } }, { functionCall: { name: 'weather', args: { city: 'Rome' } } }],
          },
          {
            role: 'user',
            parts: [
              { functionResponse: { name: 'weather', response: { temp: 21, sky: 'clear' } } },
              { functionResponse: { name: 'weather', response: { result: 'rain' } } },
            ],
          },
          { role: 'user', parts: [{ text: 'thanks' }] },
        ],
        generationConfig: {
          responseMimeType: 'application/json',
          responseJsonSchema: { type: 'object', additionalProperties: false },
          candidateCount: 1,
          thinkingConfig: { thinkingBudget: 0 },
        },
      },
      check: r => {
        const [a, b] = at(r.messages, 1).content as any[]
        expect(a.id).not.toBe(b.id)
        const [ra, rb, text] = at(r.messages, 2).content as any[] // consecutive user turns merged
        expect([ra.toolCallId, rb.toolCallId]).toEqual([a.id, b.id])
        expect(ra.content[0].text).toBe('{"temp":21,"sky":"clear"}')
        expect(rb.content[0].text).toBe('rain')
        expect(text).toEqual({ type: 'text', text: 'thanks' })
        expect(r.responseFormat).toEqual({ type: 'json_schema', schema: { type: 'object', additionalProperties: false } })
        expect(r.reasoning).toEqual({ effort: 'none' })
        expect(r.n).toBe(1)
      },
    },
    {
      name: 'ids the client gave are used (sanitized) and pair exactly',
      body: {
        contents: [
          { role: 'user', parts: [{ text: 'go' }] },
          { role: 'model', parts: [{ functionCall: { id: 'call.1', name: 'f', args: {} } }, { functionCall: { id: 'call.2', name: 'f', args: {} } }] },
          {
            role: 'user',
            parts: [
              { functionResponse: { id: 'call.2', name: 'f', response: { output: 'two' } } },
              { functionResponse: { id: 'call.1', name: 'f', response: { output: 'one' } } },
            ],
          },
        ],
        tools: [{ functionDeclarations: [{ name: 'f' }] }, { codeExecution: {} }, { urlContext: {} }],
        toolConfig: { functionCallingConfig: { mode: 'NONE' } },
      },
      check: r => {
        expect(r.messages[2]?.content.map((p: any) => [p.toolCallId, p.content[0].text])).toEqual([
          ['call_2', 'two'],
          ['call_1', 'one'],
        ])
        expect(r.tools).toEqual([{ name: 'f', parameters: { type: 'object', properties: {} } }])
        expect(r.builtinTools!.map(b => b.kind)).toEqual(['code_execution', 'url_context'])
        expect(r.toolChoice).toBe('none')
      },
    },
    {
      name: 'unsupported media is dropped with a warning; cachedContent warns',
      body: {
        contents: [{ parts: [{ text: 'summarize' }, { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } }] }],
        cachedContent: 'cachedContents/abc',
      },
      check: (r, c) => {
        expect(r.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'summarize' }] }])
        expect(c.warnings.length).toBe(2)
      },
    },
  ]
  for (const tc of cases) {
    test(tc.name, () => {
      const c = ctx()
      tc.check(geminiClient.decodeRequest(tc.body, c), c)
    })
  }

  test('contents missing → invalid_request', () => {
    let err: unknown
    try {
      geminiClient.decodeRequest({ generationConfig: {} } as any, ctx())
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(IRErrorValue)
    expect((err as IRErrorValue).error).toMatchObject({ status: 400, kind: 'invalid_request', param: 'contents' })
  })
})

// ───────────── client: encode (checked with @google/genai) ─────────────

const IR_RESPONSE: IRResponse = {
  id: 'resp_1',
  model: 'claude-x',
  content: [
    { type: 'thinking', text: 'Let me check the weather.', signature: 'c2lnLXRoaW5r' },
    { type: 'text', text: 'Checking both cities.' },
    { type: 'tool_call', id: 'toolu_01', name: 'weather', arguments: '{"city":"Paris"}', signature: 'c2lnLWNhbGw=' },
    { type: 'tool_call', id: 'toolu_02', name: 'weather', arguments: '{"city":"Rome"}' },
  ],
  stopReason: 'tool_calls',
  usage: { inputTokens: 100, outputTokens: 50, reasoningTokens: 20, cachedInputTokens: 30 },
}

describe('gemini client: encodeResponse / encodeStream', () => {
  const wantThoughts = { generationConfig: { thinkingConfig: { includeThoughts: true } } }

  test('encodeResponse: parts, finishReason, usage; accepted by generateContent', async () => {
    const c = ctx({ raw: wantThoughts, model: 'gemini-2.5-pro' })
    const wire = geminiClient.encodeResponse(IR_RESPONSE, c) as any
    expect(wire.candidates[0].content.parts).toEqual([
      { text: 'Let me check the weather.', thought: true, thoughtSignature: 'c2lnLXRoaW5r' },
      { text: 'Checking both cities.' },
      { functionCall: { id: 'toolu_01', name: 'weather', args: { city: 'Paris' } }, thoughtSignature: 'c2lnLWNhbGw=' },
      { functionCall: { id: 'toolu_02', name: 'weather', args: { city: 'Rome' } } },
    ])
    expect(wire.usageMetadata).toEqual({
      promptTokenCount: 100,
      candidatesTokenCount: 30,
      thoughtsTokenCount: 20,
      cachedContentTokenCount: 30,
      totalTokenCount: 150,
    })
    expect(wire).toMatchObject({ modelVersion: 'gemini-2.5-pro', responseId: 'resp_1' })

    const srv = serveGemini(() => Response.json(wire))
    try {
      const r = await srv.ai.models.generateContent({ model: 'gemini-2.5-pro', contents: 'weather?' })
      expect(
        at(r.candidates!, 0)
          .content!.parts!.filter(p => p.text && !p.thought)
          .map(p => p.text),
      ).toEqual(['Checking both cities.'])
      expect(r.functionCalls!.map(f => [f.id, f.name, f.args])).toEqual([
        ['toolu_01', 'weather', { city: 'Paris' }],
        ['toolu_02', 'weather', { city: 'Rome' }],
      ])
      expect(r.candidates![0]?.finishReason).toBe('STOP' as any)
      expect(r.usageMetadata!.thoughtsTokenCount).toBe(20)
      expect(r.responseId).toBe('resp_1')
    } finally {
      srv.stop()
    }
  })

  test('unwanted thoughts are omitted unless signed (the signature needs its text); finish reasons', () => {
    const unwanted = ctx({ raw: { contents: [] } })
    const wire = geminiClient.encodeResponse({ ...IR_RESPONSE, stopReason: 'length' }, unwanted) as any
    expect(wire.candidates[0].content.parts[0]).toEqual({ text: 'Let me check the weather.', thought: true, thoughtSignature: 'c2lnLXRoaW5r' })
    const unsigned = geminiClient.encodeResponse(
      {
        ...IR_RESPONSE,
        content: [
          { type: 'thinking', text: 'secret' },
          { type: 'text', text: 'hi' },
        ],
      },
      unwanted,
    ) as any
    expect(unsigned.candidates[0].content.parts).toEqual([{ text: 'hi' }])
    expect(wire.candidates[0].finishReason).toBe('MAX_TOKENS')
    const empty = geminiClient.encodeResponse({ ...IR_RESPONSE, content: [], stopReason: 'content_filter' }, ctx()) as any
    expect(empty.candidates[0]).toMatchObject({ content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'SAFETY' })
  })

  /** a stream as an OpenAI upstream would produce it: text deltas, a tool call whose args arrive in pieces */
  const STREAM: IREvent[] = [
    { type: 'start', id: 'resp_s', model: 'gpt-x', usage: { inputTokens: 12 } },
    { type: 'block_start', index: 0, block: { type: 'thinking' } },
    { type: 'thinking_delta', index: 0, text: 'Hmm, ' },
    { type: 'thinking_delta', index: 0, text: 'weather.' },
    { type: 'signature', index: 0, signature: 'dGhpbmstc2ln' },
    { type: 'block_stop', index: 0 },
    { type: 'block_start', index: 1, block: { type: 'text' } },
    { type: 'text_delta', index: 1, text: 'Let me ' },
    { type: 'text_delta', index: 1, text: 'look.' },
    { type: 'block_stop', index: 1 },
    { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'call_abc', name: 'weather' } },
    { type: 'tool_args_delta', index: 2, json: '{"ci' },
    { type: 'tool_args_delta', index: 2, json: 'ty":"Paris"}' },
    { type: 'block_stop', index: 2 },
    { type: 'finish', reason: 'tool_calls', usage: { inputTokens: 12, outputTokens: 9, reasoningTokens: 4 } },
  ]

  test('SSE (alt=sse): accepted by generateContentStream, function call whole', async () => {
    const srv = serveGemini((_, url) =>
      streamResponse(STREAM, ctx({ raw: wantThoughts, query: Object.fromEntries(url.searchParams), model: 'gemini-2.5-flash' })),
    )
    try {
      const chunks = []
      for await (const ch of await srv.ai.models.generateContentStream({
        model: 'gemini-2.5-flash',
        contents: 'weather?',
        config: { thinkingConfig: { includeThoughts: true } },
      }))
        chunks.push(ch)
      expect(srv.seen[0].query.alt).toBe('sse')
      const parts = chunks.flatMap(ch => ch.candidates?.[0]?.content?.parts ?? [])
      expect(
        parts
          .filter(p => p.thought)
          .map(p => p.text)
          .join(''),
      ).toBe('Hmm, weather.')
      expect(parts.find(p => p.thought && p.thoughtSignature)?.thoughtSignature).toBe('dGhpbmstc2ln')
      expect(
        parts
          .filter(p => !p.thought && p.text)
          .map(p => p.text)
          .join(''),
      ).toBe('Let me look.')
      const calls = chunks.flatMap(ch => ch.functionCalls ?? [])
      expect(calls).toEqual([{ id: 'call_abc', name: 'weather', args: { city: 'Paris' } }])
      const last = at(chunks, chunks.length - 1)
      expect(at(last.candidates!, 0).finishReason).toBe('STOP' as any)
      expect(last?.usageMetadata).toMatchObject({ promptTokenCount: 12, candidatesTokenCount: 5, thoughtsTokenCount: 4, totalTokenCount: 21 })
      expect(chunks.every(ch => ch.modelVersion === 'gemini-2.5-flash' && ch.responseId === 'resp_s')).toBe(true)
      // one chunk per delta, as they arrive
      expect(chunks.length).toBe(2 + 1 + 2 + 1 + 1)
    } finally {
      srv.stop()
    }
  })

  test('JSON array mode (no alt): a streamed, valid JSON array of the same chunks', async () => {
    const c = ctx({ raw: wantThoughts })
    expect(geminiStreamContentType(c)).toBe('application/json')
    const pieces: string[] = []
    const reader = geminiClient.encodeStream(fromArray(STREAM), c).getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      pieces.push(new TextDecoder().decode(value))
    }
    expect(pieces[0]?.startsWith('[{')).toBe(true)
    expect(pieces.slice(1, -1).every(p => p.startsWith('\n,\r\n{'))).toBe(true)
    expect(pieces[pieces.length - 1]).toBe('\n]')
    const arr = JSON.parse(pieces.join(''))
    expect(arr.length).toBe(pieces.length - 1)
    expect(arr.at(-1).candidates[0].finishReason).toBe('STOP')
    expect(arr.flatMap((x: any) => x.candidates[0].content.parts).find((p: any) => p.functionCall).functionCall.args).toEqual({ city: 'Paris' })
  })

  test("an IR error becomes Google's error chunk: the SDK throws ApiError; the array stays valid JSON", async () => {
    const failing: IREvent[] = [
      at(STREAM, 0),
      at(STREAM, 6),
      at(STREAM, 7),
      { type: 'error', error: { status: 429, kind: 'rate_limit', message: 'slow down', retryAfter: 7 } },
    ]
    const srv = serveGemini((_, url) => streamResponse(failing, ctx({ query: Object.fromEntries(url.searchParams) })))
    try {
      const got: string[] = []
      const err = await (async () => {
        for await (const ch of await srv.ai.models.generateContentStream({ model: 'm', contents: 'x' })) got.push(ch.text ?? '')
      })().catch(e => e)
      expect(got).toEqual(['Let me '])
      expect(err).toBeInstanceOf(ApiError)
      expect(err.status).toBe(429)
      expect(err.message).toContain('RESOURCE_EXHAUSTED')
    } finally {
      srv.stop()
    }

    const text = await new Response(geminiClient.encodeStream(fromArray(failing), ctx())).text()
    const arr = JSON.parse(text)
    expect(arr.at(-1)).toEqual({
      error: {
        code: 429,
        message: 'slow down',
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }],
      },
    })
  })

  test('streamed thoughts: held back when unwanted and sent whole if signed; decoded back as one block', async () => {
    const sse = async (events: IREvent[], raw: any) => {
      const text = await new Response(geminiClient.encodeStream(fromArray(events), ctx({ raw, query: { alt: 'sse' } }))).text()
      const frames: any[] = []
      for await (const m of parseSSE(new Response(text).body!)) frames.push(JSON.parse(m.data))
      return frames.flatMap(f => f.candidates?.[0]?.content?.parts ?? [])
    }
    const hidden = await sse(STREAM, { contents: [] })
    expect(hidden.filter((p: any) => p.thought)).toEqual([{ text: 'Hmm, weather.', thought: true, thoughtSignature: 'dGhpbmstc2ln' }])
    const unsigned = STREAM.filter(e => e.type !== 'signature')
    expect((await sse(unsigned, { contents: [] })).filter((p: any) => p.thought)).toEqual([])
    // shown: streamed in pieces, the signature in a last empty thought part; the client sends them all back
    const shown = await sse(STREAM, wantThoughts)
    expect(shown.filter((p: any) => p.thought).length).toBe(3)
    const r = geminiClient.decodeRequest(
      {
        contents: [
          { role: 'user', parts: [{ text: 'q' }] },
          { role: 'model', parts: shown.filter((p: any) => p.text !== '' || p.thoughtSignature) },
        ],
      },
      ctx(),
    )
    expect(r.messages[1]?.content[0]).toEqual({ type: 'thinking', text: 'Hmm, weather.', signature: 'dGhpbmstc2ln' })
    expect(r.messages[1]?.content.map(p => p.type)).toEqual(['thinking', 'text', 'text', 'tool_call'])
  })

  test('a source that ends without finish → error chunk', async () => {
    const text = await new Response(geminiClient.encodeStream(fromArray(STREAM.slice(0, 8)), ctx({ query: { alt: 'sse' } }))).text()
    const frames = []
    for await (const m of parseSSE(new Response(text).body!)) frames.push(JSON.parse(m.data))
    expect(frames.at(-1).error).toMatchObject({ code: 502, status: 'INTERNAL' })
  })

  test('round trip: a Gemini client sends our response back as history', () => {
    const wire = geminiClient.encodeResponse(IR_RESPONSE, ctx({ raw: wantThoughts })) as any
    const body = {
      contents: [
        { role: 'user', parts: [{ text: 'weather?' }] },
        wire.candidates[0].content,
        {
          role: 'user',
          parts: [
            { functionResponse: { id: 'toolu_01', name: 'weather', response: { output: 'sunny' } } },
            { functionResponse: { id: 'toolu_02', name: 'weather', response: { output: 'rain' } } },
          ],
        },
      ],
    }
    const r = geminiClient.decodeRequest(body, ctx())
    expect(r.messages[1]?.content).toEqual(IR_RESPONSE.content)
    expect(r.messages[2]?.content.map((p: any) => p.toolCallId)).toEqual(['toolu_01', 'toolu_02'])
  })
})

// ───────────── upstream: encode ─────────────

const WEATHER = {
  type: 'object',
  properties: { city: { type: 'string' } },
  required: ['city'],
  additionalProperties: false,
  $schema: 'http://json-schema.org/draft-07/schema#',
}

/** an OpenAI-chat-shaped conversation after decoding: no signatures, results without names */
const IR_REQUEST: IRRequest = {
  model: 'gemini-2.5-pro',
  system: ['You are terse.', 'Use tools.'],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'weather in Paris?' }] },
    {
      role: 'user',
      content: [
        { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: 'iVBORw0=' } },
        { type: 'image', source: { kind: 'url', url: 'https://img.test/cat.webp?x=1' } },
        { type: 'image', source: { kind: 'url', url: 'data:image/gif;base64,R0lGOD==' } },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', text: 'foreign reasoning', signature: 'anthropic-sig' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_call', id: 'call_known', name: 'weather', arguments: '{"city":"Paris"}' },
        { type: 'tool_call', id: 'call_other', name: 'weather', arguments: '{"city":"Lyon"}' },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', toolCallId: 'call_known', content: [{ type: 'text', text: '{"temp": 21}' }] },
        { type: 'tool_result', toolCallId: 'call_other', content: [{ type: 'text', text: 'not found' }], isError: true },
      ],
    },
  ],
  tools: [
    { name: 'weather', description: 'Get weather', parameters: WEATHER },
    { name: 'ping', parameters: { type: 'object', properties: {}, additionalProperties: false } },
  ],
  builtinTools: [
    { kind: 'web_search', raw: { type: 'web_search' } },
    { kind: 'computer_20250124', raw: {} },
  ],
  toolChoice: { name: 'weather' },
  temperature: 0.2,
  topP: 0.9,
  maxTokens: 1000,
  stop: ['a', 'b', 'c', 'd', 'e', 'f'],
  responseFormat: { type: 'json_schema', schema: { type: 'object', properties: { answer: { type: 'string' } } } },
  reasoning: { effort: 'high', includeThoughts: true },
  stream: false,
}

describe('gemini upstream: encodeRequest', () => {
  beforeEach(() => clearSignatures())

  test('an OpenAI-shaped conversation → generateContent body', () => {
    rememberSignature('call_known', 'cmVhbC1zaWc=')
    const c = ctx()
    const { path, body } = geminiUpstream.encodeRequest(IR_REQUEST, c) as { path: string; body: any }
    expect(path).toBe('/v1beta/models/gemini-2.5-pro:generateContent')
    expect(geminiUpstream.encodeRequest({ ...IR_REQUEST, model: 'models/gemini-2.5-pro', stream: true }, ctx()).path).toBe(
      '/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
    )
    expect(body.systemInstruction).toEqual({ parts: [{ text: 'You are terse.' }, { text: 'Use tools.' }] })
    expect(body.contents.map((x: any) => x.role)).toEqual(['user', 'model', 'user'])
    expect(body.contents[0].parts).toEqual([
      { text: 'weather in Paris?' },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0=' } },
      { fileData: { fileUri: 'https://img.test/cat.webp?x=1', mimeType: 'image/webp' } },
      { inlineData: { mimeType: 'image/gif', data: 'R0lGOD==' } },
    ])
    expect(body.contents[1].parts).toEqual([
      { text: 'Checking.' }, // the foreign thinking block is not sent
      { functionCall: { name: 'weather', args: { city: 'Paris' } }, thoughtSignature: 'cmVhbC1zaWc=' },
      { functionCall: { name: 'weather', args: { city: 'Lyon' } } },
    ])
    expect(body.contents[2].parts).toEqual([
      { functionResponse: { name: 'weather', response: { temp: 21 } } },
      { functionResponse: { name: 'weather', response: { error: 'not found' } } },
    ])
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          { name: 'weather', description: 'Get weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
          { name: 'ping' },
        ],
      },
      { googleSearch: {} },
    ])
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['weather'] } })
    expect(body.generationConfig).toEqual({
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 1000,
      stopSequences: ['a', 'b', 'c', 'd', 'e'],
      responseMimeType: 'application/json',
      responseJsonSchema: { type: 'object', properties: { answer: { type: 'string' } } },
      thinkingConfig: { thinkingBudget: 24576, includeThoughts: true },
    })
    expect(c.warnings.some(w => w.includes('computer_20250124'))).toBe(true)
    expect(c.warnings.some(w => w.includes('stop sequences'))).toBe(true)
  })

  const thinkingCases: Array<[string, IRRequest['reasoning'], Record<string, unknown> | undefined]> = [
    ['gemini-3-pro-preview', { effort: 'medium' }, { thinkingLevel: 'high' }],
    ['gemini-3-pro-preview', { effort: 'minimal' }, { thinkingLevel: 'low' }],
    ['gemini-3-flash-preview', { effort: 'none' }, { thinkingLevel: 'minimal' }],
    ['gemini-3-flash-preview', { effort: 'medium', includeThoughts: true }, { thinkingLevel: 'medium', includeThoughts: true }],
    ['gemini-2.5-flash', { effort: 'none' }, { thinkingBudget: 0 }],
    ['gemini-2.5-pro', { effort: 'none' }, { thinkingBudget: 128 }],
    ['gemini-2.5-flash', { budgetTokens: 2048 }, { thinkingBudget: 2048 }],
    ['gemini-2.5-flash', { includeThoughts: true }, { includeThoughts: true }],
    ['gemini-2.5-flash', undefined, undefined],
  ]
  for (const [model, reasoning, want] of thinkingCases) {
    test(`thinkingConfig: ${model} ${JSON.stringify(reasoning)}`, () => {
      const { body } = geminiUpstream.encodeRequest(
        { model, system: [], messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }], reasoning, stream: false },
        ctx(),
      ) as any
      expect(body.generationConfig?.thinkingConfig).toEqual(want)
    })
  }

  test('tool results without a name: recovered from history, else a warning', () => {
    const c = ctx()
    const { body } = geminiUpstream.encodeRequest(
      {
        model: 'gemini-2.5-flash',
        system: [],
        stream: false,
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'x' }] },
          { role: 'assistant', content: [{ type: 'tool_call', id: 't1', name: 'lookup', arguments: '' }] },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                toolCallId: 't1',
                content: [
                  { type: 'text', text: 'plain' },
                  { type: 'image', source: { kind: 'base64', mediaType: 'image/jpeg', data: '/9j/' } },
                ],
              },
            ],
          },
          { role: 'user', content: [{ type: 'tool_result', toolCallId: 'ghost', content: [] }] },
        ],
      },
      c,
    ) as any
    expect(body.contents[1].parts[0]).toEqual({ functionCall: { name: 'lookup', args: {} } })
    expect(body.contents[2].parts).toEqual([
      { functionResponse: { name: 'lookup', response: { result: 'plain' } } },
      { functionResponse: { name: 'unknown_tool', response: { result: '' } } },
      { inlineData: { mimeType: 'image/jpeg', data: '/9j/' } },
    ])
    expect(c.warnings.length).toBe(1)
  })

  test('signatures: IR first, then remembered, then the documented dummy on the first call of a thinking turn', () => {
    rememberSignature('c2', 'cmVtZW1iZXJlZA==')
    const msgs: IRRequest['messages'] = [
      { role: 'user', content: [{ type: 'text', text: 'go' }] },
      { role: 'assistant', content: [{ type: 'tool_call', id: 'c1', name: 'a', arguments: '{}', signature: 'aXItc2ln' }] },
      { role: 'user', content: [{ type: 'tool_result', toolCallId: 'c1', content: [{ type: 'text', text: 'ok' }] }] },
      { role: 'assistant', content: [{ type: 'tool_call', id: 'c2', name: 'a', arguments: '{}' }] },
      { role: 'user', content: [{ type: 'tool_result', toolCallId: 'c2', content: [{ type: 'text', text: 'ok' }] }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_call', id: 'c3', name: 'a', arguments: '{}' },
          { type: 'tool_call', id: 'c4', name: 'a', arguments: '{}' },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', toolCallId: 'c3', content: [{ type: 'text', text: 'ok' }] },
          { type: 'tool_result', toolCallId: 'c4', content: [{ type: 'text', text: 'ok' }] },
        ],
      },
    ]
    const sigs = (model: string, reasoning?: IRRequest['reasoning']) => {
      const { body } = geminiUpstream.encodeRequest({ model, system: [], messages: msgs, reasoning, stream: false }, ctx()) as any
      return body.contents.filter((x: any) => x.role === 'model').map((x: any) => x.parts.map((p: any) => p.thoughtSignature ?? null))
    }
    expect(sigs('gemini-3-pro-preview')).toEqual([['aXItc2ln'], ['cmVtZW1iZXJlZA=='], [DUMMY_THOUGHT_SIGNATURE, null]])
    expect(sigs('gemini-2.5-flash')).toEqual([['aXItc2ln'], ['cmVtZW1iZXJlZA=='], [null, null]])
    expect(sigs('gemini-2.5-flash', { effort: 'low' })).toEqual([['aXItc2ln'], ['cmVtZW1iZXJlZA=='], [DUMMY_THOUGHT_SIGNATURE, null]])
  })

  test('thinking blocks: only Gemini-made signatures go back, as thought parts', () => {
    rememberThoughtSignature('Z2VtaW5pLXRob3VnaHQ=')
    const { body } = geminiUpstream.encodeRequest(
      {
        model: 'gemini-2.5-pro',
        system: [],
        stream: false,
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'q' }] },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', text: 'mine', signature: 'Z2VtaW5pLXRob3VnaHQ=' },
              { type: 'thinking', text: 'unsigned' },
              { type: 'thinking', text: '', signature: 'x', redacted: true },
              { type: 'text', text: 'a' },
            ],
          },
          { role: 'user', content: [{ type: 'text', text: 'q2' }] },
        ],
      },
      ctx(),
    ) as any
    expect(body.contents[1].parts).toEqual([{ text: 'mine', thought: true, thoughtSignature: 'Z2VtaW5pLXRob3VnaHQ=' }, { text: 'a' }])
  })
})

// ───────────── upstream: decode ─────────────

const chunk = (parts: unknown[], extra: Record<string, unknown> = {}, usage?: unknown) => ({
  candidates: [{ content: { role: 'model', parts }, index: 0, ...extra }],
  ...(usage ? { usageMetadata: usage } : {}),
  modelVersion: 'gemini-3-pro-preview',
  responseId: 'r-1',
})

describe('gemini upstream: decodeStream / decodeResponse', () => {
  beforeEach(() => clearSignatures())

  test('thoughts, text, a signature-only part and parallel function calls → IR events', async () => {
    const body = sseBody([
      chunk([{ text: 'Think', thought: true }], {}, { promptTokenCount: 40, totalTokenCount: 40 }),
      chunk([{ text: 'ing.', thought: true, thoughtSignature: 'dGhvdWdodA==' }]),
      chunk([{ text: 'Hello ' }]),
      chunk([{ text: 'there', thoughtSignature: 'dGV4dA==' }]),
      chunk(
        [
          { functionCall: { name: 'weather', args: { city: 'Paris' } }, thoughtSignature: 'Y2FsbA==' },
          { functionCall: { name: 'weather', args: { city: 'Rome' } } },
        ],
        { finishReason: 'STOP' },
        { promptTokenCount: 40, candidatesTokenCount: 10, thoughtsTokenCount: 25, cachedContentTokenCount: 8, totalTokenCount: 75 },
      ),
    ])
    const events = await toArray(geminiUpstream.decodeStream(streamOf(body), ctx()))
    const types = events.map(e => e.type + ('index' in e ? e.index : ''))
    expect(types).toEqual([
      'start',
      'block_start0',
      'thinking_delta0',
      'thinking_delta0',
      'signature0',
      'block_stop0',
      'block_start1',
      'text_delta1',
      'text_delta1',
      'signature1',
      'block_stop1',
      'block_start2',
      'tool_args_delta2',
      'signature2',
      'block_stop2',
      'block_start3',
      'tool_args_delta3',
      'block_stop3',
      'finish',
    ])
    expect(events[0]).toMatchObject({ type: 'start', id: 'r-1', model: 'gemini-3-pro-preview', usage: { inputTokens: 40 } })
    const res = await collect(fromArray(events))
    expect(res.content).toEqual([
      { type: 'thinking', text: 'Thinking.', signature: 'dGhvdWdodA==' },
      { type: 'text', text: 'Hello there' },
      { type: 'tool_call', id: expect.any(String), name: 'weather', arguments: '{"city":"Paris"}', signature: 'Y2FsbA==' },
      { type: 'tool_call', id: expect.any(String), name: 'weather', arguments: '{"city":"Rome"}' },
    ])
    expect(res.stopReason).toBe('tool_calls')
    expect(res.usage).toEqual({ inputTokens: 40, outputTokens: 35, reasoningTokens: 25, cachedInputTokens: 8 })
    // the call's signature is remembered under the id handed out
    expect(recallSignature((res.content[2] as any).id)).toBe('Y2FsbA==')
  })

  const finishCases: Array<[string, string]> = [
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', 'error'],
    ['STOP', 'stop'],
  ]
  for (const [wire, ir] of finishCases) {
    test(`decodeResponse: finishReason ${wire} → ${ir}`, () => {
      const res = geminiUpstream.decodeResponse(chunk([{ text: 'x' }], { finishReason: wire }, { promptTokenCount: 3, candidatesTokenCount: 1 }), ctx())
      expect(res).toMatchObject({ id: 'r-1', stopReason: ir, content: [{ type: 'text', text: 'x' }], usage: { inputTokens: 3, outputTokens: 1 } })
    })
  }

  test('decodeResponse: a blocked prompt; an error body throws', () => {
    const blocked = geminiUpstream.decodeResponse({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 5 } }, ctx())
    expect(blocked).toMatchObject({ stopReason: 'content_filter', content: [] })
    let err: any
    try {
      geminiUpstream.decodeResponse(
        {
          error: {
            code: 429,
            message: 'quota',
            status: 'RESOURCE_EXHAUSTED',
            details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '41s' }],
          },
        },
        ctx(),
      )
    } catch (e) {
      err = e
    }
    expect(err.error).toEqual({ status: 429, kind: 'rate_limit', message: 'quota', retryAfter: 41 })
  })

  test('an in-stream error chunk → IR error event; an empty stream → error', async () => {
    const events = await toArray(
      geminiUpstream.decodeStream(
        streamOf(sseBody([chunk([{ text: 'a' }]), { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }])),
        ctx(),
      ),
    )
    expect(events.at(-1)).toEqual({ type: 'error', error: { status: 503, kind: 'unavailable', message: 'The model is overloaded.' } })
    const none = await toArray(geminiUpstream.decodeStream(streamOf(''), ctx()))
    expect(none).toEqual([{ type: 'error', error: expect.objectContaining({ kind: 'upstream' }) }])
  })

  test('error bodies both ways', () => {
    expect(geminiErrorBody({ status: 400, kind: 'invalid_request', message: 'bad' })).toEqual({
      error: { code: 400, message: 'bad', status: 'INVALID_ARGUMENT' },
    })
    expect(geminiErrorBody({ status: 529, kind: 'overloaded', message: 'busy' }).error).toMatchObject({ code: 503, status: 'UNAVAILABLE' })
    expect(geminiErrorFromWire({ error: { code: 403, message: 'no', status: 'PERMISSION_DENIED' } })).toEqual({
      status: 403,
      kind: 'permission',
      message: 'no',
    })
    expect(geminiErrorFromWire('<html>', 500)).toMatchObject({ status: 500, kind: 'upstream' })
  })
})

// ───────────── against the fake Gemini upstream (validates like the real API) ─────────────

describe('gemini upstream against the fake Gemini', () => {
  let fake: Fake
  beforeAll(async () => {
    fake = await startFake('gemini')
  })
  afterAll(async () => {
    await fake.stop()
  })
  beforeEach(() => {
    fake.reset()
    clearSignatures()
  })

  const send = async (req: IRRequest) => {
    const { path, body } = geminiUpstream.encodeRequest(req, ctx())
    return fetch(fake.url + path, { method: 'POST', headers: { 'x-goog-api-key': 'k', 'content-type': 'application/json' }, body: JSON.stringify(body) })
  }

  test('signature round trip on gemini-3: call → OpenAI-style client (no signature field) → next turn accepted', async () => {
    fake.enqueue({ kind: 'tool_calls', calls: [{ name: 'weather', args: { city: 'Paris' } }], signature: 'cmVhbC1nZW1pbmktc2ln' })
    const req: IRRequest = {
      model: 'gemini-3-pro-preview',
      system: [],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'weather?' }] }],
      tools: [{ name: 'weather', parameters: WEATHER }],
      stream: true,
    }
    const r1 = await send(req)
    expect(r1.status).toBe(200)
    const res = await collect(geminiUpstream.decodeStream(r1.body!, ctx()))
    const call = res.content.find(p => p.type === 'tool_call') as any
    expect(call.signature).toBe('cmVhbC1nZW1pbmktc2ln')
    // the OpenAI chat client drops the signature; only the id comes back
    const next: IRRequest = {
      ...req,
      stream: false,
      messages: [
        ...req.messages,
        { role: 'assistant', content: [{ type: 'tool_call', id: call.id, name: call.name, arguments: call.arguments }] },
        { role: 'user', content: [{ type: 'tool_result', toolCallId: call.id, content: [{ type: 'text', text: 'sunny' }] }] },
      ],
    }
    const r2 = await send(next)
    expect(r2.status).toBe(200)
    expect(fake.last()!.body.contents[1].parts[0].thoughtSignature).toBe('cmVhbC1nZW1pbmktc2ln')
    const res2 = geminiUpstream.decodeResponse(await r2.json(), ctx())
    expect(res2.content[0]).toMatchObject({ type: 'text' })

    // forgotten (restart): the dummy keeps gemini-3 working; without it the fake (like Google) says 400
    clearSignatures()
    expect((await send(next)).status).toBe(200)
    expect(fake.last()!.body.contents[1].parts[0].thoughtSignature).toBe(DUMMY_THOUGHT_SIGNATURE)
  })

  test("nasty tool schemas pass the fake's Schema validation", async () => {
    const r = await send({
      model: 'gemini-2.5-flash',
      system: [],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }],
      tools: NASTY.map((parameters, i) => ({ name: `t${i}`, parameters })),
      stream: false,
    })
    const body = await r.json()
    expect(r.status === 200 ? 'ok' : JSON.stringify(body)).toBe('ok')
  })

  test('countTokens and embeddings against the fake', async () => {
    const req: IRRequest = {
      model: 'gemini-2.5-flash',
      system: ['sys'],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'a'.repeat(40) }] }],
      stream: false,
    }
    const up = geminiCountTokensUpstream(req)
    expect(up.path).toBe('/v1beta/models/gemini-2.5-flash:countTokens')
    expect((up.body as any).generateContentRequest).toMatchObject({ model: 'models/gemini-2.5-flash', systemInstruction: { parts: [{ text: 'sys' }] } })
    const counted = await fetch(fake.url + up.path, { method: 'POST', headers: { 'x-goog-api-key': 'k' }, body: JSON.stringify(up.body) }).then(x => x.json())
    expect(decodeGeminiCountTokens(counted)).toBeGreaterThan(9)
    expect(geminiCountTokensUpstream({ ...req, system: [] }).body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'a'.repeat(40) }] }] })

    const emb = encodeGeminiEmbedUpstream({ model: 'gemini-embedding-001', input: ['one', 'two'], dimensions: 8 })
    expect(emb.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents')
    const got = await fetch(fake.url + emb.path, { method: 'POST', headers: { 'x-goog-api-key': 'k' }, body: JSON.stringify(emb.body) }).then(x => x.json())
    const decoded = decodeGeminiEmbedUpstream(got, 'gemini-embedding-001', ['one', 'two'])
    expect(decoded.embeddings.length).toBe(2)
    expect(decoded.embeddings[0]?.length).toBe(8)
    expect(decoded.usage.inputTokens).toBe(2)
  })
})

// ───────────── count / embed (client side) ─────────────

describe('gemini countTokens and embeddings (client side)', () => {
  test('countTokens bodies', () => {
    expect(decodeGeminiCountTokensRequest({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }, ctx()).messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
    ])
    const full = decodeGeminiCountTokensRequest(
      { generate_content_request: { model: 'models/x', contents: [{ parts: [{ text: 'hi' }] }], system_instruction: { parts: [{ text: 's' }] } } },
      ctx(),
    )
    expect(full.system).toEqual(['s'])
    expect(() => decodeGeminiCountTokensRequest({}, ctx())).toThrow(IRErrorValue)
    expect(encodeGeminiCountTokensResponse(42)).toEqual({ totalTokens: 42 })
  })

  test('embedContent / batchEmbedContents', () => {
    expect(decodeGeminiEmbedRequest({ content: { parts: [{ text: 'a' }, { text: 'b' }] }, output_dimensionality: 4 }, 'm', false)).toEqual({
      model: 'm',
      input: ['ab'],
      dimensions: 4,
    })
    expect(decodeGeminiEmbedRequest({ requests: [{ content: { parts: [{ text: 'x' }] } }, { content: { parts: [{ text: 'y' }] } }] }, 'm', true).input).toEqual(
      ['x', 'y'],
    )
    const res = {
      model: 'm',
      embeddings: [
        [1, 2],
        [3, 4],
      ],
      usage: { inputTokens: 2 },
    }
    expect(encodeGeminiEmbedResponse(res, true)).toEqual({ embeddings: [{ values: [1, 2] }, { values: [3, 4] }] })
    expect(encodeGeminiEmbedResponse(res, false)).toEqual({ embedding: { values: [1, 2] } })
  })
})

// ───────────── schema cleaner ─────────────

/** shapes zod-to-json-schema / zod v4 toJSONSchema / MCP servers produce */
const NASTY: Record<string, unknown>[] = [
  {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: {
      id: { type: 'string', format: 'uuid', pattern: '^[0-9a-f-]{36}$' },
      email: {
        type: 'string',
        format: 'email',
        pattern: "^(?!\\.)(?!.*\\.\\.)([A-Za-z0-9_'+\\-\\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\\-]*\\.)+[A-Za-z]{2,}$",
      },
      when: { type: 'string', format: 'date-time' },
      count: { type: 'integer', exclusiveMinimum: 0, maximum: 9007199254740991, default: 1 },
      ratio: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
      mode: { type: 'string', const: 'fast' },
      level: { type: 'integer', enum: [1, 2, 3] },
      maybe: { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'optional name', default: null },
      maybe2: { type: ['number', 'null'] },
      either: { type: ['string', 'number'] },
      choice: {
        anyOf: [
          { type: 'string', const: 'a' },
          { type: 'string', const: 'b' },
          { type: 'string', enum: ['c'] },
        ],
      },
      tags: { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true },
      anything: { type: 'array' },
      pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false },
      meta: { type: 'object', additionalProperties: { type: 'string' }, propertyNames: { pattern: '^[a-z]+$' } },
      loose: {},
      free: { type: 'object', patternProperties: { '^x-': { type: 'string' } }, unevaluatedProperties: false },
      address: { $ref: '#/$defs/Address' },
      owner: { $ref: '#/definitions/Person', description: 'the owner' },
      tree: { $ref: '#/$defs/Node' },
      merged: { allOf: [{ $ref: '#/$defs/Address' }, { type: 'object', properties: { extra: { type: 'boolean' } }, required: ['extra'] }] },
      title: { type: 'string', title: 'Title', examples: ['x'] },
    },
    required: ['id', 'email', 'missing_prop', 'title'],
    additionalProperties: false,
    $defs: {
      Address: {
        type: 'object',
        properties: { street: { type: 'string' }, zip: { type: 'string', minLength: 5, maxLength: 10 } },
        required: ['street'],
        additionalProperties: false,
      },
      Node: { type: 'object', properties: { value: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/Node' } } } },
    },
    definitions: { Person: { type: 'object', title: 'Person', properties: { name: { type: 'string' } } } },
  },
  // zod discriminatedUnion at the root
  {
    anyOf: [
      {
        type: 'object',
        properties: { kind: { type: 'string', const: 'circle' }, r: { type: 'number' } },
        required: ['kind', 'r'],
        additionalProperties: false,
      },
      {
        type: 'object',
        properties: { kind: { type: 'string', const: 'square' }, side: { type: 'number' } },
        required: ['kind', 'side'],
        additionalProperties: false,
      },
    ],
    $schema: 'http://json-schema.org/draft-07/schema#',
  },
  // a root $ref (zod-to-json-schema with a name)
  { $ref: '#/definitions/Args', definitions: { Args: { type: 'object', properties: { q: { type: ['string', 'null'] } }, required: ['q'] } } },
  // type: ["object", "null"] with properties, and an object with conditional requirements
  {
    type: 'object',
    properties: {
      opts: { type: ['object', 'null'], properties: { a: { type: 'string' } } },
      pick: { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } }, anyOf: [{ required: ['a'] }, { required: ['b'] }] },
    },
  },
]

describe('cleanSchemaForGemini', () => {
  test("every nasty schema comes out in Gemini's subset", () => {
    for (const s of NASTY) assertGeminiSchema(cleanSchemaForGemini(s))
  })

  test('the big zod schema, field by field', () => {
    const p = cleanSchemaForGemini(NASTY[0]).properties as any
    expect(p.id).toEqual({ type: 'string', pattern: '^[0-9a-f-]{36}$' })
    expect(p.email).toEqual({ type: 'string' }) // lookahead: not RE2
    expect(p.when).toEqual({ type: 'string', format: 'date-time' })
    expect(p.count).toEqual({ type: 'integer', maximum: 9007199254740991 })
    expect(p.ratio).toEqual({ type: 'number', minimum: 0 })
    expect(p.mode).toEqual({ type: 'string', enum: ['fast'] })
    expect(p.level).toEqual({ type: 'integer', description: 'Allowed values: 1, 2, 3' })
    expect(p.maybe).toEqual({ type: 'string', description: 'optional name', nullable: true })
    expect(p.maybe2).toEqual({ type: 'number', nullable: true })
    expect(p.either).toEqual({ anyOf: [{ type: 'string' }, { type: 'number' }] })
    expect(p.choice).toEqual({ type: 'string', enum: ['a', 'b', 'c'] })
    expect(p.tags).toEqual({ type: 'array', items: { type: 'string' }, minItems: 1 })
    expect(p.anything).toEqual({ type: 'array', items: { type: 'string' } })
    expect(p.pair).toEqual({ type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'number' }] } })
    expect(p.meta).toEqual({ type: 'object' })
    expect(p.loose).toEqual({})
    expect(p.free).toEqual({ type: 'object' })
    expect(p.address).toEqual({
      type: 'object',
      properties: { street: { type: 'string' }, zip: { type: 'string', minLength: 5, maxLength: 10 } },
      required: ['street'],
    })
    expect(p.owner).toEqual({ type: 'object', description: 'the owner', properties: { name: { type: 'string' } } })
    expect(p.tree.properties.children.items).toEqual({ type: 'object' }) // the cycle is cut at its first repetition
    expect(p.merged.required).toEqual(['street', 'extra'])
    expect(Object.keys(p.merged.properties)).toEqual(['street', 'zip', 'extra'])
    expect(p.title).toEqual({ type: 'string', description: 'Title' })
    expect(cleanSchemaForGemini(NASTY[0]).required).toEqual(['id', 'email', 'title'])
  })

  test('roots: discriminated union merged into one object, $ref root, non-object root', () => {
    expect(cleanSchemaForGemini(NASTY[1])).toEqual({
      type: 'object',
      properties: { kind: { type: 'string', enum: ['circle', 'square'] }, r: { type: 'number' }, side: { type: 'number' } },
      required: ['kind'],
    })
    expect(cleanSchemaForGemini(NASTY[2])).toEqual({ type: 'object', properties: { q: { type: 'string', nullable: true } }, required: ['q'] })
    expect(cleanSchemaForGemini({ type: 'string' })).toEqual({ type: 'object' })
    expect(cleanSchemaForGemini(undefined)).toEqual({ type: 'object' })
  })

  test('nullable objects and conditional requirements', () => {
    const p = cleanSchemaForGemini(NASTY[3]).properties as any
    expect(p.opts).toEqual({ type: 'object', nullable: true, properties: { a: { type: 'string' } } })
    expect(p.pick.anyOf.map((v: any) => v.required)).toEqual([['a'], ['b']])
    expect(p.pick.anyOf[0].properties).toEqual({ a: { type: 'string' }, b: { type: 'string' } })
  })

  test('a self-referencing root does not loop', () => {
    const s = {
      type: 'object',
      properties: { self: { $ref: '#' }, other: { $ref: '#/$defs/A' } },
      $defs: { A: { $ref: '#/$defs/B' }, B: { $ref: '#/$defs/A' } },
    }
    const out = cleanSchemaForGemini(s) as any
    assertGeminiSchema(out)
    expect(out.properties.other).toEqual({ type: 'object' })
  })
})

// ───────────── signatures ─────────────

describe('signature cache', () => {
  test('bounded LRU', () => {
    clearSignatures()
    for (let i = 0; i < 10_050; i++) rememberSignature(`id${i}`, `s${i}`)
    expect(signatureCacheSize()).toBe(10_000)
    expect(recallSignature('id0')).toBeUndefined()
    expect(recallSignature('id10049')).toBe('s10049')
    expect(recallSignature('id50')).toBe('s50')
    rememberSignature('new', 'n') // evicts the least recently used (id51), not the just-read id50
    expect(recallSignature('id50')).toBe('s50')
    expect(recallSignature('id51')).toBeUndefined()
    clearSignatures()
  })

  test('replay → encodeStream keeps function call signatures', async () => {
    const text = await new Response(geminiClient.encodeStream(replay(IR_RESPONSE), ctx({ query: { alt: 'sse' } }))).text()
    const frames = []
    for await (const m of parseSSE(new Response(text).body!)) frames.push(JSON.parse(m.data))
    const parts = frames.flatMap(f => f.candidates[0].content.parts)
    expect(parts.find((p: any) => p.functionCall?.id === 'toolu_01').thoughtSignature).toBe('c2lnLWNhbGw=')
  })
})
