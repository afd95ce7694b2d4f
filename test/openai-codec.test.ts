/**
 * OpenAI Chat Completions / legacy Completions / Embeddings codecs, both directions.
 * Client-side streams are checked with the official `openai` SDK reading from a tiny Bun.serve.
 */
import { describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import type { CodecContext, IREvent, IRRequest, IRResponse } from '../src/ir/types'
import { IRErrorValue } from '../src/ir/types'
import { collect, replay } from '../src/ir/collect'
import {
  openaiChatClient,
  openaiChatUpstream,
  createOpenAIChatUpstream,
  openaiCompletionsClient,
  decodeEmbeddingRequest,
  decodeEmbeddingUpstream,
  encodeEmbeddingResponse,
  encodeEmbeddingUpstream,
  packFloat32Base64,
} from '../src/dialects/openai'

// ───────────── helpers ─────────────

type TestCtx = CodecContext & { warnings: string[] }
const mkCtx = (raw?: any, clientModel = 'client-model'): TestCtx => {
  const warnings: string[] = []
  return { clientModel, warn: m => warnings.push(m), raw, warnings }
}

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='

async function* fromArray(events: IREvent[], gapMs = 0): AsyncGenerator<IREvent> {
  for (const e of events) {
    if (gapMs) await Bun.sleep(gapMs)
    yield e
  }
}

async function readAll(s: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(s).text()
}

/** SSE text → the JSON (or raw) payload of each data frame */
const frames = (sse: string): any[] =>
  sse
    .split('\n\n')
    .filter(Boolean)
    .map(f => {
      const d = f.replace(/^data: /, '')
      return d === '[DONE]' ? d : JSON.parse(d)
    })

/** A byte stream delivering `text` in pieces of `size` bytes (to split frames anywhere). */
function bytesOf(text: string, size = 7): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  let at = 0
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close()
      c.enqueue(bytes.slice(at, at + size))
      at += size
    },
  })
}

async function events(it: AsyncIterable<IREvent>): Promise<IREvent[]> {
  const out: IREvent[] = []
  for await (const e of it) out.push(e)
  return out
}

/** The IR stream contract: start, then blocks 0,1,2… each start → deltas → stop (one open at a time), then finish or error. */
function assertWellFormed(evs: IREvent[]) {
  let open: number | undefined
  let next = 0
  evs.forEach((e, i) => {
    if (i === 0 && e.type !== 'error') expect(e.type).toBe('start')
    if (e.type === 'block_start') {
      expect(open).toBeUndefined()
      expect(e.index).toBe(next++)
      open = e.index
    } else if (e.type === 'block_stop') {
      expect(e.index).toBe(open!)
      open = undefined
    } else if (e.type === 'text_delta' || e.type === 'thinking_delta' || e.type === 'tool_args_delta') expect(e.index).toBe(open!)
    else if (e.type === 'finish' || e.type === 'error') {
      expect(open).toBeUndefined()
      expect(i).toBe(evs.length - 1)
    }
  })
  expect(['finish', 'error']).toContain(evs.at(-1)!.type)
}

async function withServer(fetch: (req: Request) => Response | Promise<Response>, fn: (client: OpenAI) => Promise<void>) {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch })
  try {
    await fn(new OpenAI({ apiKey: 'sk-test', baseURL: `http://127.0.0.1:${server.port}/v1`, maxRetries: 0 }))
  } finally {
    server.stop(true)
  }
}

/** A server that answers chat / completions requests by encoding `make()` with the client codec. */
const sseServer =
  (encode: (evs: AsyncIterable<IREvent>, ctx: CodecContext) => ReadableStream<Uint8Array>, make: () => AsyncIterable<IREvent>) => async (req: Request) => {
    const body = await req.json()
    return new Response(encode(make(), mkCtx(body, body.model)), { headers: { 'content-type': 'text/event-stream' } })
  }

const errOf = (f: () => unknown): IRErrorValue => {
  try {
    f()
  } catch (e) {
    if (e instanceof IRErrorValue) return e
    throw e
  }
  throw new Error('expected an IRErrorValue')
}

// ───────────── client: decodeRequest ─────────────

const clineRequest = {
  model: 'gpt-4o',
  stream: true,
  stream_options: { include_usage: true },
  temperature: 0,
  messages: [
    { role: 'system', content: 'You are Cline, a highly skilled software engineer.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: '<task>\nFix the failing test\n</task>' },
        { type: 'text', text: '<environment_details>\n# Current Working Directory\n/repo\n</environment_details>' },
      ],
    },
    {
      role: 'assistant',
      content: 'Let me look at both files.',
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/a.ts"}' } },
        { id: 'call_2', type: 'function', function: { name: 'read_file', arguments: '{"path":"test/a.test.ts"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'export const a = 1' },
    { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'expect(a).toBe(2)' }] },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Here is a screenshot' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}`, detail: 'high' } },
      ],
    },
  ],
  tools: [
    {
      type: 'function',
      function: {
        name: 'read_file',
        description: 'Read a file',
        parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
        strict: false,
      },
    },
  ],
  tool_choice: 'auto',
  parallel_tool_calls: true,
}

const cherryRequest = {
  model: 'deepseek-reasoner',
  messages: [
    { role: 'developer', content: 'Answer briefly.' },
    { role: 'system', content: [{ type: 'text', text: 'Use Markdown.' }] },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this picture?' },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
      ],
    },
    { role: 'assistant', content: 'A cat.', reasoning_content: 'The image shows a cat.' },
    { role: 'user', content: 'And its colour?' },
  ],
  reasoning_effort: 'high',
  max_tokens: 100,
  max_completion_tokens: 200,
  stop: 'END',
  response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
  prompt_cache_key: 'conv-42',
  user: 'u-1',
  n: 1,
  seed: 7,
}

const legacyFunctionsRequest = {
  model: 'gpt-3.5-turbo',
  messages: [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    { role: 'function', name: 'get_weather', content: '{"temp":21}' },
  ],
  functions: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
  function_call: { name: 'get_weather' },
}

describe('openaiChatClient.decodeRequest', () => {
  test('Cline style: system, text parts, parallel tool calls, merged tool results, data: image', () => {
    const ctx = mkCtx()
    const ir = openaiChatClient.decodeRequest(clineRequest as any, ctx)
    expect(ir).toEqual({
      model: 'gpt-4o',
      system: ['You are Cline, a highly skilled software engineer.'],
      stream: true,
      temperature: 0,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: '<task>\nFix the failing test\n</task>' },
            { type: 'text', text: '<environment_details>\n# Current Working Directory\n/repo\n</environment_details>' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me look at both files.' },
            { type: 'tool_call', id: 'call_1', name: 'read_file', arguments: '{"path":"src/a.ts"}' },
            { type: 'tool_call', id: 'call_2', name: 'read_file', arguments: '{"path":"test/a.test.ts"}' },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', toolCallId: 'call_1', name: 'read_file', content: [{ type: 'text', text: 'export const a = 1' }] },
            { type: 'tool_result', toolCallId: 'call_2', name: 'read_file', content: [{ type: 'text', text: 'expect(a).toBe(2)' }] },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Here is a screenshot' },
            { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: PNG } },
          ],
        },
      ],
      tools: [{ name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } }],
      toolChoice: 'auto',
      parallelToolCalls: true,
    })
    expect(ctx.warnings).toEqual([])
  })

  test('Cherry Studio style: developer + system in order, URL image, echoed reasoning, options', () => {
    const ctx = mkCtx()
    const ir = openaiChatClient.decodeRequest(cherryRequest as any, ctx)
    expect(ir.system).toEqual(['Answer briefly.', 'Use Markdown.'])
    expect(ir.messages[0]!.content[1]).toEqual({ type: 'image', source: { kind: 'url', url: 'https://example.com/cat.jpg' } })
    expect(ir.messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'thinking', text: 'The image shows a cat.' },
        { type: 'text', text: 'A cat.' },
      ],
    })
    expect(ir.messages[2]).toEqual({ role: 'user', content: [{ type: 'text', text: 'And its colour?' }] })
    expect(ir.reasoning).toEqual({ effort: 'high', includeThoughts: true })
    expect(ir.maxTokens).toBe(200)
    expect(ir.stop).toEqual(['END'])
    expect(ir.responseFormat).toEqual({ type: 'json_schema', schema: { type: 'object' }, name: 'answer', strict: true })
    expect(ir.user).toBe('conv-42')
    expect(ir.stream).toBe(false)
    expect(ctx.warnings).toEqual(['seed is not supported across providers; ignored'])
  })

  test('legacy functions / function_call / function role', () => {
    const ir = openaiChatClient.decodeRequest(legacyFunctionsRequest as any, mkCtx())
    const call = ir.messages[1]!.content[0] as any
    expect(call).toMatchObject({ type: 'tool_call', name: 'get_weather', arguments: '{"city":"Paris"}' })
    expect(ir.messages[2]!.content[0]).toEqual({
      type: 'tool_result',
      toolCallId: call.id,
      name: 'get_weather',
      content: [{ type: 'text', text: '{"temp":21}' }],
    })
    expect(ir.tools).toEqual([{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }])
    expect(ir.toolChoice).toEqual({ name: 'get_weather' })
  })

  test.each([
    ['json_object', { response_format: { type: 'json_object' } }, { responseFormat: { type: 'json' } }],
    ['tool_choice function', { tool_choice: { type: 'function', function: { name: 'x' } } }, { toolChoice: { name: 'x' } }],
    ['tool_choice required', { tool_choice: 'required' }, { toolChoice: 'required' }],
    ['stop array', { stop: ['a', 'b'] }, { stop: ['a', 'b'] }],
    ['reasoning_effort none', { reasoning_effort: 'none' }, { reasoning: { effort: 'none', includeThoughts: false } }],
    ['openrouter reasoning', { reasoning: { max_tokens: 2000, exclude: true } }, { reasoning: { budgetTokens: 2000, includeThoughts: false } }],
    ['builtin tool', { tools: [{ type: 'web_search' }] }, { builtinTools: [{ kind: 'web_search', raw: { type: 'web_search' } }] }],
    ['nulls are tolerated', { temperature: null, stop: null, max_tokens: null, tools: null, tool_choice: null }, { stream: false }],
    ['user falls back to user', { user: 'alice' }, { user: 'alice' }],
    [
      'data: URL without base64',
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'data:image/svg+xml,%3Csvg%2F%3E' }] }] },
      { messages: [{ role: 'user', content: [{ type: 'image', source: { kind: 'base64', mediaType: 'image/svg+xml', data: btoa('<svg/>') } }] }] },
    ],
  ])('%s', (_name, extra, expected) => {
    const ir = openaiChatClient.decodeRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra } as any, mkCtx())
    expect(ir).toMatchObject(expected as object)
  })

  test.each([
    [
      'input_audio',
      {
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: 'a' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'x' },
              { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
            ],
          },
        ],
      },
      'messages[2].content[1]',
      /audio/,
    ],
    ['n > 1', { n: 2 }, 'n', /n=1/],
    ['tool message without id', { messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id', /tool_call_id/],
    ['unknown role', { messages: [{ role: 'critic', content: 'x' }] }, 'messages[0].role', /critic/],
    [
      'ftp image',
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] },
      'messages[0].content[0].image_url.url',
      /http/,
    ],
    ['file part', { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'f' } }] }] }, 'messages[0].content[0]', /file/],
    [
      'tool call without name',
      { messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { arguments: '{}' } }] }] },
      'messages[0].tool_calls[0].function.name',
      /name/,
    ],
    ['bad tool_choice', { tool_choice: 'sometimes' }, 'tool_choice', /tool_choice/],
    ['bad response_format', { response_format: { type: 'yaml' } }, 'response_format.type', /json_schema/],
  ])('400: %s', (_name, extra, param, message) => {
    const e = errOf(() => openaiChatClient.decodeRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra } as any, mkCtx()))
    expect(e.error).toMatchObject({ status: 400, kind: 'invalid_request', param })
    expect(e.error.message).toMatch(message)
  })
})

// ───────────── client: encodeResponse ─────────────

const usage = { inputTokens: 100, outputTokens: 40, cachedInputTokens: 20, reasoningTokens: 10 }
const wireUsage = {
  prompt_tokens: 100,
  completion_tokens: 40,
  total_tokens: 140,
  prompt_tokens_details: { cached_tokens: 20 },
  completion_tokens_details: { reasoning_tokens: 10 },
}

describe('openaiChatClient.encodeResponse', () => {
  const res = (content: IRResponse['content'], stopReason: IRResponse['stopReason']): IRResponse => ({
    id: 'msg_01',
    model: 'claude-x',
    content,
    stopReason,
    usage,
  })

  test.each([
    ['text', res([{ type: 'text', text: 'Hello' }], 'stop'), { role: 'assistant', content: 'Hello', refusal: null }, 'stop'],
    ['max tokens', res([{ type: 'text', text: 'Hel' }], 'length'), { role: 'assistant', content: 'Hel', refusal: null }, 'length'],
    ['stop sequence', res([{ type: 'text', text: 'a' }], 'stop_sequence'), { role: 'assistant', content: 'a', refusal: null }, 'stop'],
    ['refusal', res([{ type: 'text', text: 'No.' }], 'refusal'), { role: 'assistant', content: 'No.', refusal: null }, 'content_filter'],
    [
      'thinking + tool calls only',
      res(
        [
          { type: 'thinking', text: 'Need the file.', signature: 'sig' },
          { type: 'tool_call', id: 'toolu_1', name: 'read_file', arguments: '{"path":"a"}' },
          { type: 'tool_call', id: 'toolu_2', name: 'ls', arguments: '' },
        ],
        'stop',
      ),
      {
        role: 'assistant',
        content: null,
        refusal: null,
        reasoning_content: 'Need the file.',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'ls', arguments: '{}' } },
        ],
      },
      'tool_calls',
    ],
    ['empty', res([], 'stop'), { role: 'assistant', content: '', refusal: null }, 'stop'],
  ])('%s', (_name, ir, message, finish) => {
    const out = openaiChatClient.encodeResponse(ir, mkCtx()) as any
    expect(out).toMatchObject({ object: 'chat.completion', model: 'client-model', usage: wireUsage })
    expect(out.id).toMatch(/^chatcmpl-/)
    expect(out.created).toBeNumber()
    expect(out.choices).toEqual([{ index: 0, message, logprobs: null, finish_reason: finish }])
  })
})

// ───────────── client: encodeStream ─────────────

const agentTurn: IREvent[] = [
  { type: 'start', id: 'msg_01', model: 'claude-x', usage: { inputTokens: 100, outputTokens: 0 } },
  { type: 'block_start', index: 0, block: { type: 'thinking' } },
  { type: 'thinking_delta', index: 0, text: 'Let me ' },
  { type: 'thinking_delta', index: 0, text: 'check.' },
  { type: 'signature', index: 0, signature: 'sig' },
  { type: 'block_stop', index: 0 },
  { type: 'block_start', index: 1, block: { type: 'text' } },
  { type: 'text_delta', index: 1, text: "I'll read " },
  { type: 'text_delta', index: 1, text: 'both files.' },
  { type: 'block_stop', index: 1 },
  { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'toolu_a', name: 'read_file' } },
  { type: 'tool_args_delta', index: 2, json: '{"path":' },
  { type: 'tool_args_delta', index: 2, json: '"a.ts"}' },
  { type: 'block_stop', index: 2 },
  { type: 'block_start', index: 3, block: { type: 'tool_call', id: 'toolu_b', name: 'read_file' } },
  { type: 'tool_args_delta', index: 3, json: '{"path":"b.ts"}' },
  { type: 'block_stop', index: 3 },
  { type: 'finish', reason: 'tool_calls', usage },
]

describe('openaiChatClient.encodeStream', () => {
  test('wire frames: role first, reasoning_content, tool indexes counted per call, usage chunk, [DONE]', async () => {
    const sse = await readAll(openaiChatClient.encodeStream(fromArray(agentTurn), mkCtx({ stream_options: { include_usage: true } })))
    const fs = frames(sse)
    const deltas = fs.slice(0, -2).map(f => f.choices[0].delta)
    expect(deltas[0]).toEqual({ role: 'assistant', content: '' })
    expect(deltas.map(d => d.reasoning_content ?? '').join('')).toBe('Let me check.')
    expect(deltas.map(d => d.content ?? '').join('')).toBe("I'll read both files.")
    expect(deltas.filter(d => d.tool_calls).map(d => d.tool_calls[0])).toEqual([
      { index: 0, id: 'toolu_a', type: 'function', function: { name: 'read_file', arguments: '' } },
      { index: 0, function: { arguments: '{"path":' } },
      { index: 0, function: { arguments: '"a.ts"}' } },
      { index: 1, id: 'toolu_b', type: 'function', function: { name: 'read_file', arguments: '' } },
      { index: 1, function: { arguments: '{"path":"b.ts"}' } },
    ])
    expect(fs.at(-3).choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' })
    expect(fs.at(-2)).toMatchObject({ object: 'chat.completion.chunk', choices: [], usage: wireUsage })
    expect(fs.at(-1)).toBe('[DONE]')
    for (const f of fs.slice(0, -1)) expect(f).toMatchObject({ object: 'chat.completion.chunk', model: 'client-model', id: fs[0].id })
  })

  test('no usage chunk unless include_usage', async () => {
    const fs = frames(await readAll(openaiChatClient.encodeStream(fromArray(agentTurn), mkCtx({}))))
    expect(fs.at(-2).choices[0].finish_reason).toBe('tool_calls')
    expect(fs.some(f => f.usage)).toBe(false)
  })

  test('frames are flushed as events arrive', async () => {
    let release!: () => void
    const gate = new Promise<void>(r => (release = r))
    async function* slow(): AsyncGenerator<IREvent> {
      yield { type: 'start', id: 'x', model: 'm' }
      yield { type: 'block_start', index: 0, block: { type: 'text' } }
      yield { type: 'text_delta', index: 0, text: 'early' }
      await gate
      yield { type: 'block_stop', index: 0 }
      yield { type: 'finish', reason: 'stop', usage }
    }
    const reader = openaiChatClient.encodeStream(slow(), mkCtx()).getReader()
    const td = new TextDecoder()
    let seen = ''
    while (!seen.includes('early')) seen += td.decode((await reader.read()).value)
    release()
    while (true) {
      const { value, done } = await reader.read()
      if (done) break
      seen += td.decode(value)
    }
    expect(seen.endsWith('data: [DONE]\n\n')).toBe(true)
  })

  test('the official SDK reassembles content, tool_calls and usage', async () => {
    await withServer(
      sseServer(openaiChatClient.encodeStream, () => fromArray(agentTurn, 1)),
      async client => {
        const stream = client.chat.completions.stream({
          model: 'my-alias',
          messages: [{ role: 'user', content: 'fix it' }],
          stream_options: { include_usage: true },
        })
        const argDeltas: string[] = []
        stream.on('tool_calls.function.arguments.delta', e => argDeltas.push(e.arguments_delta))
        const final = await stream.finalChatCompletion()
        expect(final.model).toBe('my-alias')
        expect(final.choices[0]!.finish_reason).toBe('tool_calls')
        expect(final.choices[0]!.message.content).toBe("I'll read both files.")
        expect(final.choices[0]!.message.tool_calls).toEqual([
          { id: 'toolu_a', type: 'function', function: { name: 'read_file', arguments: '{"path":"a.ts"}' } },
          { id: 'toolu_b', type: 'function', function: { name: 'read_file', arguments: '{"path":"b.ts"}' } },
        ] as any)
        expect(argDeltas.filter(Boolean)).toEqual(['{"path":', '"a.ts"}', '{"path":"b.ts"}'])
        expect(final.usage).toMatchObject(wireUsage)
      },
    )
  })

  test('an IR error event becomes an error frame + [DONE]; the SDK throws it', async () => {
    const failing: IREvent[] = [
      { type: 'start', id: 'x', model: 'm' },
      { type: 'block_start', index: 0, block: { type: 'text' } },
      { type: 'text_delta', index: 0, text: 'partial' },
      { type: 'error', error: { status: 529, kind: 'overloaded', message: 'Upstream is overloaded' } },
    ]
    const fs = frames(await readAll(openaiChatClient.encodeStream(fromArray(failing), mkCtx())))
    expect(fs.at(-2)).toEqual({ error: { message: 'Upstream is overloaded', type: 'server_error', param: null, code: 'overloaded' } })
    expect(fs.at(-1)).toBe('[DONE]')

    await withServer(
      sseServer(openaiChatClient.encodeStream, () => fromArray(failing)),
      async client => {
        const stream = client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'x' }] })
        await expect(stream.finalChatCompletion()).rejects.toThrow('Upstream is overloaded')
      },
    )
  })

  test('a thrown iterator or a truncated event stream also ends with an error frame', async () => {
    async function* throws(): AsyncGenerator<IREvent> {
      yield { type: 'start', id: 'x', model: 'm' }
      throw new Error('socket hang up')
    }
    const a = frames(await readAll(openaiChatClient.encodeStream(throws(), mkCtx())))
    expect(a.at(-2).error.message).toBe('socket hang up')
    const b = frames(await readAll(openaiChatClient.encodeStream(fromArray(agentTurn.slice(0, 5)), mkCtx())))
    expect(b.at(-2).error.type).toBe('server_error')
    expect(b.at(-1)).toBe('[DONE]')
  })
})

// ───────────── upstream: encodeRequest ─────────────

describe('openaiChatUpstream.encodeRequest', () => {
  const ir: IRRequest = {
    model: 'deepseek-chat',
    system: ['Be terse.', 'Use tools.'],
    stream: true,
    maxTokens: 512,
    temperature: 0.2,
    topK: 40,
    stop: ['END'],
    tools: [{ name: 'screenshot', description: 'Take a screenshot', parameters: { type: 'object', properties: {} } }],
    builtinTools: [{ kind: 'web_search', raw: {} }],
    toolChoice: { name: 'screenshot' },
    parallelToolCalls: false,
    responseFormat: { type: 'json' },
    reasoning: { budgetTokens: 8000, includeThoughts: true },
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Show me the page' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', text: 'I should take a screenshot.', signature: 'sig' },
          { type: 'thinking', text: '', redacted: true, signature: 'opaque' },
          { type: 'tool_call', id: 'call_1', name: 'screenshot', arguments: '{}' },
        ],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            toolCallId: 'call_1',
            content: [
              { type: 'text', text: 'Captured.' },
              { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: PNG } },
            ],
          },
          { type: 'text', text: 'What do you see?' },
        ],
      },
    ],
  }

  test('maps the IR to a /chat/completions body', () => {
    const ctx = mkCtx()
    const { path, body } = openaiChatUpstream.encodeRequest(ir, ctx) as any
    expect(path).toBe('/chat/completions')
    expect(body).toEqual({
      model: 'deepseek-chat',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 512,
      temperature: 0.2,
      stop: ['END'],
      tools: [{ type: 'function', function: { name: 'screenshot', description: 'Take a screenshot', parameters: { type: 'object', properties: {} } } }],
      tool_choice: { type: 'function', function: { name: 'screenshot' } },
      parallel_tool_calls: false,
      response_format: { type: 'json_object' },
      reasoning_effort: 'medium',
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'system', content: 'Use tools.' },
        { role: 'user', content: 'Show me the page' },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'I should take a screenshot.',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'screenshot', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'Captured.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Image output of tool call call_1:' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: 'text', text: 'What do you see?' },
          ],
        },
      ],
    })
    expect(ctx.warnings.join('\n')).toMatch(/top_k/)
    expect(ctx.warnings.join('\n')).toMatch(/web_search/)
  })

  test('reasoningContent: drop, reasoning models, json_schema, error results', () => {
    const codec = createOpenAIChatUpstream({ reasoningContent: 'drop' })
    const { body } = codec.encodeRequest(
      {
        ...ir,
        model: 'openai/o4-mini',
        stream: false,
        tools: undefined,
        toolChoice: undefined,
        reasoning: { effort: 'low' },
        responseFormat: { type: 'json_schema', schema: { type: 'object' } },
        messages: [
          ir.messages[1]!,
          { role: 'user', content: [{ type: 'tool_result', toolCallId: 'call_1', content: [{ type: 'text', text: 'ENOENT' }], isError: true }] },
        ],
      },
      mkCtx(),
    ) as any
    expect(body.stream).toBeUndefined()
    expect(body.max_completion_tokens).toBe(512)
    expect(body.tools).toBeUndefined()
    expect(body.parallel_tool_calls).toBeUndefined()
    expect(body.reasoning_effort).toBe('low')
    expect(body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema: { type: 'object' } } })
    expect(body.messages.slice(2)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'screenshot', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'Error: ENOENT' },
    ])
  })
})

// ───────────── upstream: decodeResponse ─────────────

describe('openaiChatUpstream.decodeResponse', () => {
  test.each([
    [
      'OpenAI tool calls',
      {
        id: 'chatcmpl-abc',
        object: 'chat.completion',
        created: 1741570283,
        model: 'gpt-4o-2024-08-06',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: null,
              refusal: null,
              annotations: [],
              tool_calls: [{ id: 'call_x', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
            },
            logprobs: null,
            finish_reason: 'tool_calls',
          },
        ],
        usage: {
          prompt_tokens: 82,
          completion_tokens: 17,
          total_tokens: 99,
          prompt_tokens_details: { cached_tokens: 64, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
        },
        service_tier: 'default',
        system_fingerprint: 'fp_1',
      },
      {
        id: 'chatcmpl-abc',
        model: 'gpt-4o-2024-08-06',
        stopReason: 'tool_calls',
        content: [{ type: 'tool_call', id: 'call_x', name: 'get_weather', arguments: '{"city":"Paris"}' }],
        usage: { inputTokens: 82, outputTokens: 17, cachedInputTokens: 64 },
      },
    ],
    [
      'DeepSeek reasoner',
      {
        id: '930c60df',
        object: 'chat.completion',
        created: 1,
        model: 'deepseek-reasoner',
        choices: [
          { index: 0, message: { role: 'assistant', content: 'Hello!', reasoning_content: 'User greets me.' }, logprobs: null, finish_reason: 'length' },
        ],
        usage: {
          prompt_tokens: 13,
          completion_tokens: 50,
          total_tokens: 63,
          prompt_cache_hit_tokens: 8,
          prompt_cache_miss_tokens: 5,
          completion_tokens_details: { reasoning_tokens: 40 },
        },
      },
      {
        id: '930c60df',
        model: 'deepseek-reasoner',
        stopReason: 'length',
        content: [
          { type: 'thinking', text: 'User greets me.' },
          { type: 'text', text: 'Hello!' },
        ],
        usage: { inputTokens: 13, outputTokens: 50, cachedInputTokens: 8, reasoningTokens: 40 },
      },
    ],
    [
      'vLLM reasoning, tool calls with finish stop',
      {
        id: 'chatcmpl-v',
        model: 'qwen3',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: '',
              reasoning: 'Hmm',
              tool_calls: [{ id: 'chatcmpl-tool-1', type: 'function', function: { name: 'ls', arguments: '' } }],
            },
            finish_reason: 'stop',
          },
        ],
      },
      {
        id: 'chatcmpl-v',
        model: 'qwen3',
        stopReason: 'tool_calls',
        content: [
          { type: 'thinking', text: 'Hmm' },
          { type: 'tool_call', id: 'chatcmpl-tool-1', name: 'ls', arguments: '{}' },
        ],
        usage: { inputTokens: 0, outputTokens: 0 },
      },
    ],
  ])('%s', (_name, wire, expected) => {
    expect(openaiChatUpstream.decodeResponse(wire, mkCtx())).toEqual(expected as IRResponse)
  })

  test('an error body becomes an IR error', () => {
    const e = errOf(() =>
      openaiChatUpstream.decodeResponse({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }, mkCtx()),
    )
    expect(e.error).toMatchObject({ status: 429, kind: 'rate_limit', message: 'Rate limit reached' })
  })
})

// ───────────── upstream: decodeStream ─────────────

const sseData = (o: object) => `data: ${JSON.stringify(o)}\n\n`
const chunk = (id: string, model: string, delta: object, finish: string | null = null, extra: object = {}) =>
  sseData({ id, object: 'chat.completion.chunk', created: 1741570283, model, ...extra, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })

const openaiToolStream = [
  chunk(
    'chatcmpl-1',
    'gpt-4o',
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }],
      refusal: null,
    },
    null,
    { service_tier: 'default', system_fingerprint: 'fp_1', usage: null },
  ),
  chunk('chatcmpl-1', 'gpt-4o', { tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }, null, { usage: null }),
  ': keep-alive\n\n',
  chunk('chatcmpl-1', 'gpt-4o', { tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] }, null, { usage: null }),
  chunk('chatcmpl-1', 'gpt-4o', { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '' } }] }, null, {
    usage: null,
  }),
  chunk('chatcmpl-1', 'gpt-4o', { tool_calls: [{ index: 1, function: { arguments: '{"city":"Rome"}' } }] }, null, { usage: null }),
  chunk('chatcmpl-1', 'gpt-4o', {}, 'tool_calls', { usage: null }),
  sseData({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1741570283,
    model: 'gpt-4o',
    choices: [],
    usage: {
      prompt_tokens: 80,
      completion_tokens: 30,
      total_tokens: 110,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
  }),
  'data: [DONE]\n\n',
].join('')

const deepseekStream = [
  chunk('a1b2', 'deepseek-reasoner', { role: 'assistant', content: null, reasoning_content: '' }, null, { system_fingerprint: 'fp_ds' }),
  chunk('a1b2', 'deepseek-reasoner', { content: null, reasoning_content: 'The user ' }),
  ': keep-alive\n\n',
  chunk('a1b2', 'deepseek-reasoner', { content: null, reasoning_content: 'says hi.' }),
  chunk('a1b2', 'deepseek-reasoner', { content: 'Hello', reasoning_content: null }),
  chunk('a1b2', 'deepseek-reasoner', { content: '! 👋', reasoning_content: null }),
  chunk('a1b2', 'deepseek-reasoner', { content: '', reasoning_content: null }, 'stop', {
    usage: {
      prompt_tokens: 13,
      completion_tokens: 20,
      total_tokens: 33,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 12 },
      prompt_cache_hit_tokens: 0,
      prompt_cache_miss_tokens: 13,
    },
  }),
  'data: [DONE]\n\n',
].join('')

describe('openaiChatUpstream.decodeStream', () => {
  test.each([
    [
      'OpenAI parallel tool calls, keep-alive, usage chunk',
      openaiToolStream,
      {
        id: 'chatcmpl-1',
        model: 'gpt-4o',
        stopReason: 'tool_calls',
        content: [
          { type: 'tool_call', id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'tool_call', id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
        ],
        usage: { inputTokens: 80, outputTokens: 30 },
      },
    ],
    [
      'DeepSeek reasoning_content',
      deepseekStream,
      {
        id: 'a1b2',
        model: 'deepseek-reasoner',
        stopReason: 'stop',
        content: [
          { type: 'thinking', text: 'The user says hi.' },
          { type: 'text', text: 'Hello! 👋' },
        ],
        usage: { inputTokens: 13, outputTokens: 20, reasoningTokens: 12 },
      },
    ],
    [
      'vLLM `reasoning`, then text, then a tool call; no [DONE]',
      [
        chunk('c', 'qwen3', { role: 'assistant', content: '' }),
        chunk('c', 'qwen3', { reasoning: 'Think' }),
        chunk('c', 'qwen3', { content: 'Calling.' }),
        chunk('c', 'qwen3', { tool_calls: [{ index: 0, id: 'chatcmpl-tool-9', type: 'function', function: { name: 'ls', arguments: '{}' } }] }),
        chunk('c', 'qwen3', {}, 'tool_calls'),
      ].join(''),
      {
        id: 'c',
        model: 'qwen3',
        stopReason: 'tool_calls',
        content: [
          { type: 'thinking', text: 'Think' },
          { type: 'text', text: 'Calling.' },
          { type: 'tool_call', id: 'chatcmpl-tool-9', name: 'ls', arguments: '{}' },
        ],
        usage: { inputTokens: 0, outputTokens: 0 },
      },
    ],
    [
      'every call at index 0 (distinct ids), CRLF line ends',
      [
        chunk('d', 'llama', { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'a', arguments: '{"x":1}' } }] }),
        chunk('d', 'llama', { tool_calls: [{ index: 0, id: 'call_2', type: 'function', function: { name: 'b', arguments: '{"y":' } }] }),
        chunk('d', 'llama', { tool_calls: [{ index: 0, function: { arguments: '2}' } }] }),
        chunk('d', 'llama', {}, 'stop'),
        'data: [DONE]\n\n',
      ]
        .join('')
        .replace(/\n/g, '\r\n'),
      {
        id: 'd',
        model: 'llama',
        stopReason: 'tool_calls',
        content: [
          { type: 'tool_call', id: 'call_1', name: 'a', arguments: '{"x":1}' },
          { type: 'tool_call', id: 'call_2', name: 'b', arguments: '{"y":2}' },
        ],
        usage: { inputTokens: 0, outputTokens: 0 },
      },
    ],
  ])('%s', async (_name, wire, expected) => {
    for (const size of [1, 7, 4096]) {
      const evs = await events(openaiChatUpstream.decodeStream(bytesOf(wire, size), mkCtx()))
      assertWellFormed(evs)
      expect(await collect(fromArray(evs))).toEqual(expected as IRResponse)
    }
  })

  test.each([
    [
      'OpenAI error frame mid-stream',
      [
        chunk('e', 'gpt-4o', { role: 'assistant', content: 'Hel' }),
        'data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}\n\n',
        'data: [DONE]\n\n',
      ].join(''),
      { status: 502, kind: 'upstream', message: 'The server had an error while processing your request.' },
    ],
    [
      'OpenRouter error chunk',
      chunk('e', 'x', { content: '' }, 'error', { error: { code: 429, message: 'Provider rate limited' } }),
      { status: 429, kind: 'rate_limit', message: 'Provider rate limited' },
    ],
    [
      'error before anything else',
      'data: {"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}\n\n',
      { status: 400, kind: 'invalid_request', message: 'bad key' },
    ],
    ['empty body', ': ping\n\n', { status: 502, kind: 'upstream' }],
  ])('%s → IR error event', async (_name, wire, error) => {
    const evs = await events(openaiChatUpstream.decodeStream(bytesOf(wire), mkCtx()))
    assertWellFormed(evs)
    expect(evs.at(-1)).toMatchObject({ type: 'error', error })
  })

  test('stopping early cancels the upstream body', async () => {
    let cancelled = false
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(chunk('z', 'm', { content: 'hi' })))
      },
      cancel() {
        cancelled = true
      },
    })
    for await (const e of openaiChatUpstream.decodeStream(body, mkCtx())) if (e.type === 'text_delta') break
    expect(cancelled).toBe(true)
  })

  test('DeepSeek upstream → IR → Chat client stream → official SDK', async () => {
    await withServer(
      sseServer(openaiChatClient.encodeStream, () => openaiChatUpstream.decodeStream(bytesOf(deepseekStream, 5), mkCtx())),
      async client => {
        const final = await client.chat.completions
          .stream({ model: 'alias', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } })
          .finalChatCompletion()
        expect(final.choices[0]!.message.content).toBe('Hello! 👋')
        expect(final.choices[0]!.finish_reason).toBe('stop')
        expect(final.usage).toMatchObject({ prompt_tokens: 13, completion_tokens: 20, completion_tokens_details: { reasoning_tokens: 12 } })
      },
    )
  })
})

// ───────────── legacy completions ─────────────

describe('openaiCompletionsClient', () => {
  test.each([
    ['string prompt', { prompt: 'Once upon a time' }, 'Once upon a time', []],
    ['array prompt', { prompt: ['a', 'b'] }, 'a\nb', [/joined/]],
    ['suffix ignored', { prompt: 'def f(', suffix: '\n  return x' }, 'def f(', [/suffix/]],
  ])('decode: %s', (_name, extra, text, warns) => {
    const ctx = mkCtx()
    const ir = openaiCompletionsClient.decodeRequest({ model: 'gpt-3.5-turbo-instruct', max_tokens: 16, stop: '\n', ...extra } as any, ctx)
    expect(ir).toEqual({
      model: 'gpt-3.5-turbo-instruct',
      system: [],
      stream: false,
      maxTokens: 16,
      stop: ['\n'],
      messages: [{ role: 'user', content: [{ type: 'text', text }] }],
    })
    expect(ctx.warnings.length).toBe(warns.length)
    warns.forEach((w, i) => expect(ctx.warnings[i]).toMatch(w))
  })

  test('token prompts → 400', () => {
    expect(errOf(() => openaiCompletionsClient.decodeRequest({ model: 'm', prompt: [1, 2, 3] } as any, mkCtx())).error).toMatchObject({
      status: 400,
      param: 'prompt',
    })
  })

  test('encodeResponse → text_completion', () => {
    const out = openaiCompletionsClient.encodeResponse(
      {
        id: 'x',
        model: 'm',
        content: [
          { type: 'thinking', text: 'hmm' },
          { type: 'text', text: ' there was' },
        ],
        stopReason: 'length',
        usage,
      },
      mkCtx(),
    ) as any
    expect(out).toMatchObject({
      object: 'text_completion',
      model: 'client-model',
      choices: [{ text: ' there was', index: 0, logprobs: null, finish_reason: 'length' }],
      usage: { prompt_tokens: 100, completion_tokens: 40, total_tokens: 140 },
    })
    expect(out.id).toMatch(/^cmpl-/)
  })

  test('encodeStream → text_completion chunks read by the official SDK', async () => {
    const turn: IREvent[] = [
      { type: 'start', id: 'x', model: 'm' },
      { type: 'block_start', index: 0, block: { type: 'text' } },
      { type: 'text_delta', index: 0, text: ' there' },
      { type: 'text_delta', index: 0, text: ' was' },
      { type: 'block_stop', index: 0 },
      { type: 'finish', reason: 'stop', usage },
    ]
    await withServer(
      sseServer(openaiCompletionsClient.encodeStream, () => fromArray(turn)),
      async client => {
        const stream = await client.completions.create({ model: 'instruct', prompt: 'Once', stream: true, stream_options: { include_usage: true } })
        let text = ''
        let finish: string | null = null
        let u: any
        for await (const c of stream) {
          expect(c.object).toBe('text_completion')
          if (c.choices[0]) {
            text += c.choices[0].text
            finish = c.choices[0].finish_reason ?? finish
          }
          if (c.usage) u = c.usage
        }
        expect(text).toBe(' there was')
        expect(finish).toBe('stop')
        expect(u).toMatchObject({ prompt_tokens: 100, completion_tokens: 40 })
      },
    )
  })
})

// ───────────── embeddings ─────────────

describe('embeddings', () => {
  test.each([
    ['string', { input: 'hello' }, ['hello']],
    ['array', { input: ['a', 'b'], dimensions: 256, user: 'u' }, ['a', 'b']],
  ])('decode: %s', (_name, extra, input) => {
    const req = decodeEmbeddingRequest({ model: 'text-embedding-3-small', ...extra } as any)
    expect(req).toMatchObject({ model: 'text-embedding-3-small', input })
  })

  test.each([
    ['token array', [1, 2, 3]],
    ['token arrays', [[1, 2], [3]]],
    ['empty', []],
  ])('400: %s', (_name, input) => {
    const e = errOf(() => decodeEmbeddingRequest({ model: 'm', input } as any))
    expect(e.error).toMatchObject({ status: 400, param: 'input' })
  })

  const res = {
    model: 'up',
    embeddings: [
      [0.5, -1.25, 3],
      [0, 1, 2],
    ],
    usage: { inputTokens: 9 },
  }

  test('encode float and base64 (float32 LE)', () => {
    expect(encodeEmbeddingResponse(res, mkCtx({}, 'alias'))).toEqual({
      object: 'list',
      model: 'alias',
      usage: { prompt_tokens: 9, total_tokens: 9 },
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -1.25, 3] },
        { object: 'embedding', index: 1, embedding: [0, 1, 2] },
      ],
    })
    const b64 = encodeEmbeddingResponse(res, mkCtx({ encoding_format: 'base64' })).data[0]!.embedding as string
    expect(Array.from(new Float32Array(Buffer.from(b64, 'base64').buffer.slice(0)))).toEqual([0.5, -1.25, 3])
    expect(b64).toBe(Buffer.from(new Float32Array([0.5, -1.25, 3]).buffer).toString('base64'))
  })

  test('the official SDK (which asks for base64 by default) decodes our vectors', async () => {
    await withServer(
      async req => {
        const body = await req.json()
        return Response.json(encodeEmbeddingResponse(res, mkCtx(body, body.model)))
      },
      async client => {
        const out = await client.embeddings.create({ model: 'alias', input: ['a', 'b'] })
        expect(out.data.map(d => d.embedding)).toEqual(res.embeddings)
        expect(out.usage).toEqual({ prompt_tokens: 9, total_tokens: 9 })
      },
    )
  })

  test('upstream encode / decode (float, base64, out-of-order rows)', () => {
    expect(encodeEmbeddingUpstream({ model: 'text-embedding-3-small', input: ['a'], dimensions: 64 })).toEqual({
      path: '/embeddings',
      body: { model: 'text-embedding-3-small', input: ['a'], encoding_format: 'float', dimensions: 64 },
    })
    expect(
      decodeEmbeddingUpstream({
        object: 'list',
        model: 'text-embedding-3-small',
        data: [
          { object: 'embedding', index: 1, embedding: packFloat32Base64([1, 2]) },
          { object: 'embedding', index: 0, embedding: [0.25, 0.5] },
        ],
        usage: { prompt_tokens: 4, total_tokens: 4 },
      }),
    ).toEqual({
      model: 'text-embedding-3-small',
      embeddings: [
        [0.25, 0.5],
        [1, 2],
      ],
      usage: { inputTokens: 4 },
    })
    expect(errOf(() => decodeEmbeddingUpstream({ error: { message: 'nope', type: 'invalid_request_error' } })).error.status).toBe(400)
  })
})

// ───────────── round trip ─────────────

test('client request → IR → upstream body keeps the conversation intact (Cline)', () => {
  const ir = openaiChatClient.decodeRequest(clineRequest as any, mkCtx())
  const { body } = openaiChatUpstream.encodeRequest({ ...ir, model: 'gpt-4o' }, mkCtx()) as any
  expect(body.messages).toEqual([
    clineRequest.messages[0],
    { role: 'user', content: '<task>\nFix the failing test\n</task>\n<environment_details>\n# Current Working Directory\n/repo\n</environment_details>' },
    { role: 'assistant', content: 'Let me look at both files.', tool_calls: clineRequest.messages[2]!.tool_calls },
    { role: 'tool', tool_call_id: 'call_1', content: 'export const a = 1' },
    { role: 'tool', tool_call_id: 'call_2', content: 'expect(a).toBe(2)' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Here is a screenshot' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
      ],
    },
  ])
  expect(body.tool_choice).toBe('auto')
  expect(body.parallel_tool_calls).toBe(true)
})

test('replay → encodeStream gives the same message as encodeResponse', async () => {
  const res: IRResponse = {
    id: 'chatcmpl-same',
    model: 'm',
    stopReason: 'tool_calls',
    usage,
    content: [
      { type: 'text', text: 'ok' },
      { type: 'tool_call', id: 'c1', name: 'f', arguments: '{"a":1}' },
    ],
  }
  const fs = frames(await readAll(openaiChatClient.encodeStream(replay(res), mkCtx())))
  expect(fs[0].id).toBe('chatcmpl-same')
  const whole = openaiChatClient.encodeResponse(res, mkCtx()) as any
  expect(whole.id).toBe('chatcmpl-same')
  expect(whole.choices[0].message.tool_calls[0].function.arguments).toBe('{"a":1}')
})

// ───────────── schemas ─────────────

describe('request schemas (Elysia)', async () => {
  const { Elysia } = await import('elysia')
  const { ChatCompletionBody } = await import('../src/dialects/openai/chat/schema')
  const { CompletionBody } = await import('../src/dialects/openai/completions/schema')
  const { EmbeddingBody } = await import('../src/dialects/openai/embeddings/schema')
  const app = new Elysia()
    .post('/chat', () => 'ok', { body: ChatCompletionBody })
    .post('/completions', () => 'ok', { body: CompletionBody })
    .post('/embeddings', () => 'ok', { body: EmbeddingBody })
  const post = (path: string, body: unknown) =>
    app
      .handle(new Request(`http://localhost${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))
      .then(r => r.status)

  test.each([
    ['/chat', clineRequest, 200],
    ['/chat', cherryRequest, 200],
    ['/chat', legacyFunctionsRequest, 200],
    ['/chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: null, stop: null, stream_options: null, vendor_extra: { a: 1 } }, 200],
    ['/chat', { messages: [] }, 422],
    ['/chat', { model: 'm' }, 422],
    ['/chat', { model: 'm', messages: [], stop: 3 }, 422],
    ['/completions', { model: 'm', prompt: 'x', suffix: null }, 200],
    ['/completions', { model: 'm', prompt: [[1, 2]] }, 200],
    ['/completions', { model: 'm' }, 422],
    ['/embeddings', { model: 'm', input: ['a'], encoding_format: 'base64' }, 200],
    ['/embeddings', { model: 'm', input: 'a', encoding_format: 'hex' }, 422],
  ])('%s %j → %d', async (path, body, status) => {
    expect(await post(path, body)).toBe(status)
  })
})
