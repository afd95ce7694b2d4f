/**
 * The fake upstreams, checked with the official SDKs pointed straight at them (no agproxy involved):
 * if an SDK accepts what a fake says, the fake speaks the provider's wire format.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { ApiError, GoogleGenAI } from '@google/genai'
import { parseSSE } from '../src/ir/sse'
import { startFake, type Fake, type ProviderType } from './fakes/upstream'
import { at } from './support/at'

const until = async (cond: () => boolean, ms = 1000) => {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await Bun.sleep(5)
  return cond()
}

const fakes = {} as Record<ProviderType, Fake>
beforeAll(async () => {
  fakes.openai = await startFake('openai')
  fakes.anthropic = await startFake('anthropic')
  fakes.gemini = await startFake('gemini')
})
afterAll(async () => {
  await Promise.all(Object.values(fakes).map(f => f.stop()))
})
beforeEach(() => Object.values(fakes).forEach(f => f.reset()))

const WEATHER = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }

// ───────────── OpenAI ─────────────

describe('openai fake', () => {
  const client = () => new OpenAI({ baseURL: fakes.openai.url, apiKey: 'sk-test-1', maxRetries: 0 })

  test('chat: echo, usage and the recorded request', async () => {
    const r = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello there' },
      ],
    })
    expect(r.object).toBe('chat.completion')
    expect(r.choices[0]?.message.content).toBe('echo: hello there')
    expect(r.choices[0]?.finish_reason).toBe('stop')
    expect(r.usage!.prompt_tokens).toBeGreaterThan(0)
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens)
    const rec = fakes.openai.last()!
    expect(rec).toMatchObject({ method: 'POST', path: '/v1/chat/completions', key: 'sk-test-1', aborted: false })
    expect(rec.headers.authorization).toBe('Bearer sk-test-1')
    expect(rec.body.messages[1].content).toBe('hello there')
  })

  test('chat stream: role first, several content chunks, include_usage chunk with details, [DONE]', async () => {
    fakes.openai.enqueue({ kind: 'text', text: 'one two three four', chunks: 4, usage: { input: 50, output: 20, cached: 10, reasoning: 5 } })
    const stream = await client().chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'x' }],
    })
    const chunks = []
    for await (const c of stream) chunks.push(c)
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant')
    expect(chunks.map(c => c.choices[0]?.delta.content ?? '').join('')).toBe('one two three four')
    expect(chunks.filter(c => c.choices[0]?.delta.content).length).toBe(4)
    const last = chunks[chunks.length - 1]
    expect(last?.choices).toEqual([])
    expect(last?.usage).toMatchObject({
      prompt_tokens: 50,
      completion_tokens: 20,
      prompt_tokens_details: { cached_tokens: 10 },
      completion_tokens_details: { reasoning_tokens: 5 },
    })
  })

  test('chat stream tool calls are reassembled by the SDK helper; reasoning_content deltas', async () => {
    fakes.openai.enqueue({
      kind: 'tool_calls',
      thinking: 'need weather',
      calls: [
        { name: 'weather', args: { city: 'Paris' } },
        { id: 'call_B', name: 'weather', args: { city: 'Rome' } },
      ],
    })
    const s = client().chat.completions.stream({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ type: 'function', function: { name: 'weather', parameters: WEATHER } }],
    })
    let reasoning = ''
    s.on('chunk', c => {
      reasoning += (c.choices[0]?.delta as any)?.reasoning_content ?? ''
    })
    const done = await s.finalChatCompletion()
    const calls = at(done.choices, 0).message.tool_calls!
    expect(done.choices[0]?.finish_reason).toBe('tool_calls')
    expect(calls.map(c => c.type === 'function' && JSON.parse(c.function.arguments))).toEqual([{ city: 'Paris' }, { city: 'Rome' }])
    expect(calls[1]?.id).toBe('call_B')
    expect(calls[0]?.id).toMatch(/^call_/)
    expect(reasoning).toBe('need weather')
  })

  test('chat non-stream thinking → message.reasoning_content', async () => {
    fakes.openai.enqueue({ kind: 'text', text: 'answer', thinking: 'hmm' })
    const r: any = await client().chat.completions.create({ model: 'deepseek-reasoner', messages: [{ role: 'user', content: 'q' }] })
    expect(r.choices[0].message).toMatchObject({ content: 'answer', reasoning_content: 'hmm' })
  })

  test('responses: non-stream and streamed (reasoning, text, function call) through the SDK helper', async () => {
    const plain = await client().responses.create({ model: 'gpt-5', input: 'ping' })
    expect(plain.object).toBe('response')
    expect(plain.output_text).toBe('echo: ping')
    fakes.openai.enqueue({ kind: 'tool_calls', thinking: 'think', signature: 'enc123', text: 'calling', calls: [{ name: 'weather', args: { city: 'Oslo' } }] })
    const s = client().responses.stream({
      model: 'gpt-5',
      input: [{ role: 'user', content: 'weather?' }],
      tools: [{ type: 'function', name: 'weather', parameters: WEATHER, strict: false }],
    })
    const types = new Set<string>()
    s.on('event', e => types.add(e.type))
    const final = await s.finalResponse()
    expect(final.status).toBe('completed')
    expect(final.output.map(o => o.type)).toEqual(['reasoning', 'message', 'function_call'])
    expect(final.output_text).toBe('calling')
    const fc = final.output[2] as any
    expect(JSON.parse(fc.arguments)).toEqual({ city: 'Oslo' })
    expect((final.output[0] as any).encrypted_content).toBe('enc123')
    for (const t of [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.reasoning_summary_text.delta',
      'response.function_call_arguments.delta',
      'response.completed',
    ])
      expect(types).toContain(t)
  })

  test('embeddings (SDK default base64 and float) and models', async () => {
    const a = await client().embeddings.create({ model: 'text-embedding-3-small', input: ['abc', 'def'] })
    expect(a.data.length).toBe(2)
    expect(a.data[0]?.embedding.length).toBe(1536)
    const b = await client().embeddings.create({ model: 'text-embedding-3-small', input: 'abc', dimensions: 8, encoding_format: 'float' })
    expect(b.data[0]?.embedding.length).toBe(8)
    const c = await client().embeddings.create({ model: 'text-embedding-3-small', input: 'abc', dimensions: 8, encoding_format: 'float' })
    expect(c.data[0]?.embedding).toEqual(b.data[0]?.embedding)
    // dimensions beyond the model's size are refused, as OpenAI does (a vector of 1e308 numbers is no answer)
    const big = await client()
      .embeddings.create({ model: 'text-embedding-3-small', input: 'abc', dimensions: 1e308 })
      .catch(e => e)
    expect(big).toBeInstanceOf(OpenAI.BadRequestError)
    expect(big.param).toBe('dimensions')
    const models = await client().models.list()
    expect(models.data.map(m => m.id)).toContain('gpt-4o')
  })

  test('errors surface as the SDK error classes', async () => {
    fakes.openai.enqueue({ kind: 'error', status: 429 }, { kind: 'error', status: 500, message: 'boom' }, { kind: 'error', status: 503, inStream: true })
    const call = () => client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
    const e1 = await call().catch(e => e)
    expect(e1).toBeInstanceOf(OpenAI.RateLimitError)
    expect(e1.code).toBe('rate_limit_exceeded')
    const e2 = await call().catch(e => e)
    expect(e2).toBeInstanceOf(OpenAI.InternalServerError)
    expect(e2.message).toContain('boom')
    const e3 = await (async () => {
      for await (const _ of await client().chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] }));
    })().catch(e => e)
    expect(e3).toBeInstanceOf(OpenAI.APIError)
    expect(e3.type).toBe('server_error')
  })

  test('keys: a wrong key gets OpenAI 401 invalid_api_key', async () => {
    const f = await startFake('openai', { keys: ['sk-good'] })
    try {
      const e = await new OpenAI({ baseURL: f.url, apiKey: 'sk-wrong-key-123', maxRetries: 0 }).models.list().catch(e => e)
      expect(e).toBeInstanceOf(OpenAI.AuthenticationError)
      expect(e.code).toBe('invalid_api_key')
      const ok = await new OpenAI({ baseURL: f.url, apiKey: 'sk-good', maxRetries: 0 }).models.list()
      expect(ok.data.length).toBeGreaterThan(0)
    } finally {
      await f.stop()
    }
  })
})

// ───────────── Anthropic ─────────────

describe('anthropic fake', () => {
  const client = () => new Anthropic({ baseURL: fakes.anthropic.url, apiKey: 'ak-1', maxRetries: 0 })
  const msg = (content: string) => ({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user' as const, content }] })

  test('messages: echo, usage and the recorded headers', async () => {
    const r = await client().messages.create(msg('hi claude'), { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } })
    expect(r.type).toBe('message')
    expect(r.content).toEqual([{ type: 'text', text: 'echo: hi claude' } as any])
    expect(r.stop_reason).toBe('end_turn')
    expect(r.usage.input_tokens).toBeGreaterThan(0)
    const rec = fakes.anthropic.last()!
    expect(rec).toMatchObject({ path: '/v1/messages', key: 'ak-1' })
    expect(rec.headers['anthropic-version']).toMatch(/^\d{4}-\d\d-\d\d$/)
    expect(rec.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14')
  })

  test('stream: thinking with signature, text, tool_use args reassembled by finalMessage()', async () => {
    fakes.anthropic.enqueue({
      kind: 'tool_calls',
      thinking: 'let me see',
      signature: 'SIG',
      text: 'checking',
      calls: [{ name: 'weather', args: { city: 'Paris' } }],
    })
    const s = client().messages.stream({ ...msg('weather?'), tools: [{ name: 'weather', input_schema: WEATHER as any }] })
    const events: string[] = []
    s.on('streamEvent', e => events.push(e.type))
    const m = await s.finalMessage()
    expect(m.content.map(c => c.type)).toEqual(['thinking', 'text', 'tool_use'])
    expect(m.content[0]).toMatchObject({ thinking: 'let me see', signature: 'SIG' })
    expect(m.content[2]).toMatchObject({ name: 'weather', input: { city: 'Paris' } })
    expect(m.stop_reason).toBe('tool_use')
    expect(events[0]).toBe('message_start')
    expect(events.slice(-2)).toEqual(['message_delta', 'message_stop'])
  })

  test('raw stream: event/data framing with a ping after the first block start', async () => {
    const r = await fetch(`${fakes.anthropic.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...msg('hey'), stream: true }),
    })
    expect(r.headers.get('content-type')).toContain('text/event-stream')
    const events = []
    for await (const m of parseSSE(r.body!)) {
      expect(JSON.parse(m.data).type).toBe(m.event!)
      events.push(m.event)
    }
    expect(events.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping'])
    const bare = await fetch(`${fakes.anthropic.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'k' }, body: JSON.stringify(msg('hey')) })
    expect(bare.status).toBe(400) // anthropic-version is required
  })

  test('errors: 429 with retry-after and ratelimit headers, 529 overloaded, in-stream error', async () => {
    fakes.anthropic.enqueue(
      { kind: 'error', status: 429, retryDelaySeconds: 7 },
      { kind: 'error', status: 529 },
      { kind: 'error', status: 529, inStream: true },
    )
    const e1 = await client()
      .messages.create(msg('x'))
      .catch(e => e)
    expect(e1).toBeInstanceOf(Anthropic.RateLimitError)
    expect(e1.headers.get('retry-after')).toBe('7')
    expect(e1.headers.get('anthropic-ratelimit-requests-reset')).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(e1.error.error.type).toBe('rate_limit_error')
    const e2 = await client()
      .messages.create(msg('x'))
      .catch(e => e)
    expect(e2).toBeInstanceOf(Anthropic.InternalServerError)
    expect(e2.status).toBe(529)
    expect(e2.error.error.type).toBe('overloaded_error')
    const e3 = await client()
      .messages.stream(msg('x'))
      .finalMessage()
      .catch(e => e)
    expect(e3).toBeInstanceOf(Anthropic.APIError)
    expect(String(e3.message)).toContain('overloaded_error')
  })

  test('validation like the real API: tool_use without tool_result, missing max_tokens; keys', async () => {
    const e1 = await client()
      .messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 10,
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'w', input: {} }] },
          { role: 'user', content: 'b' },
        ],
      })
      .catch(e => e)
    expect(e1).toBeInstanceOf(Anthropic.BadRequestError)
    expect(e1.message).toContain('tool_use` ids were found without `tool_result`')
    const e2 = await client()
      .messages.create({ model: 'x', messages: [{ role: 'user', content: 'a' }] } as any)
      .catch(e => e)
    expect(e2.message).toContain('max_tokens: Field required')
    const f = await startFake('anthropic', { keys: ['good'] })
    try {
      const e3 = await new Anthropic({ baseURL: f.url, apiKey: 'bad', maxRetries: 0 }).messages.create(msg('x')).catch(e => e)
      expect(e3).toBeInstanceOf(Anthropic.AuthenticationError)
      const ok = await new Anthropic({ baseURL: f.url, authToken: 'good', maxRetries: 0 }).messages.create(msg('x'))
      expect(ok.content[0]).toMatchObject({ text: 'echo: x' })
    } finally {
      await f.stop()
    }
  })

  test('count_tokens and models', async () => {
    const n = await client().messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'a'.repeat(400) }] })
    expect(n.input_tokens).toBeWithin(100, 104) // ≈ chars / 4
    const models = await client().models.list()
    expect(models.data[0]?.type).toBe('model')
    expect(models.data.map(m => m.id)).toContain('claude-sonnet-4-6')
  })
})

// ───────────── Gemini ─────────────

describe('gemini fake', () => {
  const client = (apiKey = 'gk-1', url = fakes.gemini.url) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: url, apiVersion: 'v1beta' } })
  const tools = [{ functionDeclarations: [{ name: 'weather', parameters: WEATHER as any }] }]

  test('generateContent: echo, usage and the recorded request', async () => {
    const r = await client().models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi gemini' })
    expect(r.text).toBe('echo: hi gemini')
    expect(r.candidates![0]?.finishReason).toBe('STOP' as any)
    expect(r.usageMetadata!.totalTokenCount).toBe(r.usageMetadata!.promptTokenCount! + r.usageMetadata!.candidatesTokenCount!)
    const rec = fakes.gemini.last()!
    expect(rec).toMatchObject({ path: '/v1beta/models/gemini-2.5-flash:generateContent', key: 'gk-1' })
    expect(rec.headers['x-goog-api-key']).toBe('gk-1')
  })

  test('stream (alt=sse): thought parts, text chunks, signature at the end, final usage', async () => {
    fakes.gemini.enqueue({ kind: 'text', text: 'the answer', thinking: 'pondering', usage: { input: 10, output: 30, reasoning: 20, cached: 4 } })
    const chunks = []
    for await (const c of await client().models.generateContentStream({ model: 'gemini-2.5-pro', contents: 'q' })) chunks.push(c)
    const parts = chunks.flatMap(c => c.candidates?.[0]?.content?.parts ?? [])
    expect(
      parts
        .filter(p => p.thought)
        .map(p => p.text)
        .join(''),
    ).toBe('pondering')
    expect(
      parts
        .filter(p => !p.thought)
        .map(p => p.text)
        .join(''),
    ).toBe('the answer')
    expect(parts.some(p => p.thoughtSignature)).toBe(true)
    const last = at(chunks, chunks.length - 1)
    expect(at(last.candidates!, 0).finishReason).toBe('STOP' as any)
    expect(last.usageMetadata).toMatchObject({
      promptTokenCount: 10,
      candidatesTokenCount: 10,
      thoughtsTokenCount: 20,
      cachedContentTokenCount: 4,
      totalTokenCount: 40,
    })
    expect(fakes.gemini.last()!.query.alt).toBe('sse')
  })

  test('parallel function calls with thoughtSignature on the first part', async () => {
    fakes.gemini.enqueue({
      kind: 'tool_calls',
      calls: [
        { name: 'weather', args: { city: 'Paris' } },
        { name: 'weather', args: { city: 'Rome' } },
      ],
    })
    const r = await client().models.generateContent({ model: 'gemini-2.5-flash', contents: 'weather?', config: { tools } })
    expect(r.functionCalls!.map(c => c.args)).toEqual([{ city: 'Paris' }, { city: 'Rome' }])
    const parts = at(r.candidates!, 0).content!.parts!
    expect(parts[0]?.thoughtSignature).toBeTruthy()
    expect(parts[1]?.thoughtSignature).toBeUndefined()
  })

  test('raw stream framings: alt=sse uses \\r\\n\\r\\n, no alt is a JSON array', async () => {
    const url = (alt: string) => `${fakes.gemini.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent${alt}`
    const init = {
      method: 'POST',
      headers: { 'x-goog-api-key': 'k', 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'abc' }] }] }),
    }
    const sse = await fetch(url('?alt=sse'), init)
    expect(sse.headers.get('content-type')).toContain('text/event-stream')
    const text = await sse.text()
    expect(
      text
        .split('\r\n\r\n')
        .filter(Boolean)
        .every(f => f.startsWith('data: {')),
    ).toBe(true)
    const frames = []
    for await (const m of parseSSE(new Response(text).body!)) frames.push(JSON.parse(m.data))
    expect(frames.map(f => f.candidates[0].content.parts[0].text).join('')).toBe('echo: abc')
    const arr = await fetch(url(''), init)
    const body = await arr.text()
    expect(body.startsWith('[{')).toBe(true)
    expect(body).toContain('\n,{')
    expect(JSON.parse(body).length).toBe(frames.length)
  })

  test('errors: 429 with RetryInfo, wrong key, schema keywords Gemini rejects', async () => {
    fakes.gemini.enqueue({ kind: 'error', status: 429 })
    const e1 = await client()
      .models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' })
      .catch(e => e)
    expect(e1).toBeInstanceOf(ApiError)
    expect(e1.status).toBe(429)
    const body = JSON.parse(e1.message)
    expect(body.error.status).toBe('RESOURCE_EXHAUSTED')
    expect(body.error.details).toContainEqual({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '41s' })

    // raw fetch: the SDK itself moves JSON-Schema-looking `parameters` to `parametersJsonSchema`
    const bad = {
      type: 'object',
      $schema: 'http://json-schema.org/draft-07/schema#',
      additionalProperties: false,
      properties: { n: { type: ['number', 'null'], exclusiveMinimum: 0 } },
    }
    const r2 = await fetch(`${fakes.gemini.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': 'k' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'x' }] }], tools: [{ functionDeclarations: [{ name: 'f', parameters: bad }] }] }),
    })
    const e2 = await r2.json()
    expect([r2.status, e2.error.status]).toEqual([400, 'INVALID_ARGUMENT'])
    expect(e2.error.message).toContain(`Unknown name "additionalProperties" at 'tools[0].function_declarations[0].parameters': Cannot find field.`)
    expect(e2.error.message).toContain(`Unknown name "exclusiveMinimum" at 'tools[0].function_declarations[0].parameters.properties[0].value'`)
    expect(e2.error.message).toContain(
      `Unknown name "type" at 'tools[0].function_declarations[0].parameters.properties[0].value': Proto field is not repeating`,
    )
    expect(e2.error.message).toContain('Unknown name "$schema"')
    expect(e2.error.details[0]['@type']).toBe('type.googleapis.com/google.rpc.BadRequest')
    const viaSdk = await client().models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'x',
      config: { tools: [{ functionDeclarations: [{ name: 'f', parametersJsonSchema: bad }] }] },
    })
    expect(viaSdk.text).toBe('echo: x')

    const f = await startFake('gemini', { keys: ['good'] })
    try {
      const e3 = await client('bad', f.url)
        .models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' })
        .catch(e => e)
      expect(e3.status).toBe(400)
      expect(e3.message).toContain('API_KEY_INVALID')
      const ok = await fetch(`${f.url}/v1beta/models?key=good`)
      expect(ok.status).toBe(200)
    } finally {
      await f.stop()
    }
  })

  test('countTokens, embedContent, batchEmbedContents, models', async () => {
    const n = await client().models.countTokens({ model: 'gemini-2.5-flash', contents: 'a'.repeat(40) })
    expect(n.totalTokens).toBeWithin(10, 14)
    const e = await client().models.embedContent({ model: 'gemini-embedding-001', contents: ['one', 'two'], config: { outputDimensionality: 16 } })
    expect(e.embeddings!.length).toBe(2)
    expect(at(e.embeddings!, 0).values!.length).toBe(16)
    const single = await fetch(`${fakes.gemini.url}/v1beta/models/text-embedding-004:embedContent?key=k`, {
      method: 'POST',
      body: JSON.stringify({ content: { parts: [{ text: 'one' }] } }),
    }).then(r => r.json())
    expect(single.embedding.values.length).toBe(768)
    const names: string[] = []
    for await (const m of await client().models.list()) names.push(m.name!)
    expect(names).toContain('models/gemini-2.5-flash')
  })
})

// ───────────── behaviours, for every provider ─────────────

/** a raw streaming request for each provider */
function streamRequest(type: ProviderType, signal?: AbortSignal): Promise<Response> {
  const f = fakes[type]
  if (type === 'openai')
    return fetch(`${f.url}/chat/completions`, {
      method: 'POST',
      signal,
      headers: { authorization: 'Bearer k' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hey' }] }),
    })
  if (type === 'anthropic')
    return fetch(`${f.url}/v1/messages`, {
      method: 'POST',
      signal,
      headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'm', max_tokens: 9, stream: true, messages: [{ role: 'user', content: 'hey' }] }),
    })
  return fetch(`${f.url}/v1beta/models/m:streamGenerateContent?alt=sse`, {
    method: 'POST',
    signal,
    headers: { 'x-goog-api-key': 'k' },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hey' }] }] }),
  })
}

const contentFrames = (type: ProviderType, text: string) =>
  text
    .split(/\r?\n\r?\n/)
    .filter(f =>
      type === 'openai' ? /"content":"[^"]/.test(f) : type === 'anthropic' ? f.includes('text_delta') : f.includes('"text":"') && !f.includes('"text":""'),
    ).length

describe.each(['openai', 'anthropic', 'gemini'] as ProviderType[])('%s behaviours', type => {
  const fake = () => fakes[type]

  test('stall_before_headers: no answer until the client aborts; recorded as aborted', async () => {
    fake().enqueue({ kind: 'stall_before_headers' })
    const e = await streamRequest(type, AbortSignal.timeout(100)).catch(e => e)
    expect(e.name).toBe('TimeoutError')
    expect(await until(() => fake().last()!.aborted)).toBe(true)
  })

  test('stall_after_headers: 200 and headers, then silence', async () => {
    fake().enqueue({ kind: 'stall_after_headers' })
    const ac = new AbortController()
    const r = await streamRequest(type, ac.signal)
    expect(r.status).toBe(200)
    const reader = r.body!.getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value).trim()).toBe('')
    const more = await Promise.race([reader.read(), Bun.sleep(100).then(() => 'silent')])
    expect(more).toBe('silent')
    ac.abort()
    expect(await until(() => fake().last()!.aborted)).toBe(true)
  })

  test('reset_mid_stream: N content chunks, then the connection dies', async () => {
    fake().enqueue({ kind: 'reset_mid_stream', afterChunks: 2 })
    const r = await streamRequest(type)
    let got = ''
    const reader = r.body!.getReader()
    const err = await (async () => {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return null
        got += new TextDecoder().decode(value)
      }
    })().catch(e => e)
    expect(err).toBeTruthy()
    expect(contentFrames(type, got)).toBe(2)
    expect(fake().last()!.aborted).toBe(false)
  })

  test('garbage_sse: junk lines between frames, SDK-equivalent parser still gets the text', async () => {
    fake().enqueue({ kind: 'garbage_sse' })
    const text = await (await streamRequest(type)).text()
    expect(text).toContain(': keep-alive')
    let out = ''
    for await (const m of parseSSE(new Response(text).body!)) {
      if (m.data === '[DONE]') continue
      const d = JSON.parse(m.data)
      out += d.choices?.[0]?.delta?.content ?? d.delta?.text ?? d.candidates?.[0]?.content?.parts?.[0]?.text ?? ''
    }
    expect(out).toBe('echo: hey')
    await Bun.sleep(20)
    expect(fake().last()!.aborted).toBe(false) // a stream read to its end is not an abort
  })

  test('html_200, invalid_json, empty_stream', async () => {
    fake().enqueue({ kind: 'html_200' }, { kind: 'invalid_json' }, { kind: 'empty_stream' })
    const html = await streamRequest(type)
    expect([html.status, html.headers.get('content-type')]).toEqual([200, 'text/html; charset=UTF-8'])
    const bad = await streamRequest(type)
    expect(bad.headers.get('content-type')).toContain('application/json')
    const broken = await bad.text()
    expect(() => JSON.parse(broken)).toThrow()
    const empty = await streamRequest(type)
    expect(empty.status).toBe(200)
    expect(await empty.text()).toBe('')
  })

  test('endless: streams until the client disconnects', async () => {
    fake().enqueue({ kind: 'endless', intervalMs: 2 })
    const r = await streamRequest(type)
    const reader = r.body!.getReader()
    let got = ''
    while (contentFrames(type, got) < 8) got += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
    expect(await until(() => fake().last()!.aborted)).toBe(true)
  })

  test('slow: content chunks paced by chunkDelayMs', async () => {
    fake().enqueue({ kind: 'slow', text: 'a b c d', chunkDelayMs: 25 })
    const t0 = Date.now()
    const text = await (await streamRequest(type)).text()
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90)
    expect(contentFrames(type, text)).toBe(4)
  })

  test('handler (per key) beats the queue; setDefault; reset', async () => {
    fake().handler = rec => (rec.key === 'k' ? { kind: 'error', status: 503 } : undefined)
    fake().enqueue({ kind: 'text', text: 'queued' })
    expect((await streamRequest(type)).status).toBe(503)
    fake().handler = undefined
    fake().setDefault({ kind: 'error', status: 500 })
    expect((await streamRequest(type)).status).toBe(200) // the queued one
    expect((await streamRequest(type)).status).toBe(500) // the default
    fake().reset()
    expect(fake().requests.length).toBe(0)
    expect((await streamRequest(type)).status).toBe(200)
  })
})

test('fast mode records nothing and still answers', async () => {
  const f = await startFake('openai', { fast: true })
  try {
    const r = await new OpenAI({ baseURL: f.url, apiKey: 'k' }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }] })
    expect(r.choices[0]?.message.content).toBe('echo: q')
    expect(f.requests.length).toBe(0)
  } finally {
    await f.stop()
  }
})
