import { describe, expect, test, afterAll } from 'bun:test'
import { Elysia } from 'elysia'
import Anthropic from '@anthropic-ai/sdk'
import type { CodecContext, IREvent, IRRequest, IRResponse } from '../src/ir/types'
import { IRErrorValue } from '../src/ir/types'
import { collect, replay } from '../src/ir/collect'
import { parseSSE } from '../src/ir/sse'
import { at } from './support/at'
import { AnthropicMessagesBody } from '../src/dialects/anthropic/messages/schema'
import { AnthropicCountTokensBody } from '../src/dialects/anthropic/count-tokens/schema'
import { anthropicClient, anthropicUpstream, anthropicCountTokensUpstream, encodeCountTokensResponse, estimateTokens } from '../src/dialects/anthropic'

// ───────────── helpers ─────────────

function ctx(raw?: any, clientModel = 'claude-sonnet-4-5'): CodecContext & { warnings: string[] } {
  const warnings: string[] = []
  return {
    clientModel,
    raw,
    warnings,
    warn: (m: string) => {
      warnings.push(m)
    },
  }
}

const streamOf = (text: string, chunk = 7): ReadableStream<Uint8Array> => {
  const bytes = new TextEncoder().encode(text)
  let i = 0
  return new ReadableStream({
    pull(c) {
      if (i >= bytes.length) return c.close()
      c.enqueue(bytes.slice(i, i + chunk))
      i += chunk
    },
  })
}

async function* fromArray<T>(xs: T[]): AsyncGenerator<T> {
  for (const x of xs) yield x
}

async function sseEvents(stream: ReadableStream<Uint8Array>) {
  const out: { event?: string; data: any }[] = []
  for await (const m of parseSSE(stream)) out.push({ event: m.event, data: JSON.parse(m.data) })
  return out
}

async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

const baseReq = (over: Partial<IRRequest> = {}): IRRequest => ({
  model: 'claude-sonnet-4-5',
  system: [],
  messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
  stream: false,
  ...over,
})

// A request the way Claude Code sends it (trimmed).
const claudeCodeBody = {
  model: 'claude-sonnet-4-5-20250929',
  max_tokens: 32000,
  stream: true,
  temperature: 1,
  system: [
    { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } },
    { type: 'text', text: 'You are an interactive CLI tool that helps users with software engineering tasks.', cache_control: { type: 'ephemeral' } },
  ],
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: '<system-reminder>Context follows.</system-reminder>' },
        { type: 'text', text: 'list the files', cache_control: { type: 'ephemeral' } },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'I should run ls.', signature: 'EqQBCkYIBxgCKkBsig' },
        { type: 'text', text: "I'll list them." },
        { type: 'tool_use', id: 'toolu_01A', name: 'Bash', input: { command: 'ls', description: 'List files' } },
      ],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A', content: 'a.ts\nb.ts', cache_control: { type: 'ephemeral' } }] },
  ],
  tools: [
    {
      name: 'Bash',
      description: 'Run a command',
      input_schema: {
        type: 'object',
        properties: { command: { type: 'string' } },
        required: ['command'],
        additionalProperties: false,
        $schema: 'http://json-schema.org/draft-07/schema#',
      },
    },
    { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
  ],
  tool_choice: { type: 'auto' },
  thinking: { type: 'enabled', budget_tokens: 31999 },
  metadata: { user_id: 'user_abc_account__session_123' },
  context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
}

// ───────────── schema ─────────────

describe('schemas', () => {
  const app = new Elysia()
    .post('/v1/messages', ({ body }) => body, { body: AnthropicMessagesBody })
    .post('/v1/messages/count_tokens', ({ body }) => body, { body: AnthropicCountTokensBody })
  const post = (path: string, body: unknown) =>
    app.handle(new Request(`http://localhost${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))

  test.each([
    ['Claude Code request, unknown fields kept', '/v1/messages', claudeCodeBody, 200],
    [
      'role:system inside messages',
      '/v1/messages',
      {
        model: 'm',
        max_tokens: 10,
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hi' },
        ],
      },
      200,
    ],
    [
      'null optional fields',
      '/v1/messages',
      { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], temperature: null, metadata: { user_id: null } },
      200,
    ],
    ['missing max_tokens', '/v1/messages', { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, 422],
    ['non-integer max_tokens', '/v1/messages', { model: 'm', max_tokens: 1.5, messages: [] }, 422],
    ['unknown role', '/v1/messages', { model: 'm', max_tokens: 5, messages: [{ role: 'tool', content: 'x' }] }, 422],
    [
      'count_tokens without max_tokens',
      '/v1/messages/count_tokens',
      { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: claudeCodeBody.tools },
      200,
    ],
  ])('%s', async (_name, path, body, status) => {
    const res = await post(path, body)
    expect(res.status).toBe(status)
    if (status === 200) expect(await res.json()).toEqual(body as any)
  })
})

// ───────────── client: decode ─────────────

describe('anthropicClient.decodeRequest', () => {
  test('realistic Claude Code request', () => {
    const c = ctx()
    const ir = anthropicClient.decodeRequest(claudeCodeBody as any, c)
    expect(ir.model).toBe('claude-sonnet-4-5-20250929')
    expect(ir.system).toEqual([at(claudeCodeBody.system, 0).text, at(claudeCodeBody.system, 1).text])
    expect(ir.stream).toBe(true)
    expect(ir.maxTokens).toBe(32000)
    expect(ir.temperature).toBe(1)
    expect(ir.user).toBe('user_abc_account__session_123')
    expect(ir.reasoning).toEqual({ budgetTokens: 31999, includeThoughts: true })
    expect(ir.toolChoice).toBe('auto')
    expect(ir.tools).toEqual([{ name: 'Bash', description: 'Run a command', parameters: claudeCodeBody.tools[0]?.input_schema as any }])
    expect(ir.builtinTools).toEqual([{ kind: 'web_search', raw: claudeCodeBody.tools[1] }])
    expect(ir.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: '<system-reminder>Context follows.</system-reminder>' },
          { type: 'text', text: 'list the files' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', text: 'I should run ls.', signature: 'EqQBCkYIBxgCKkBsig' },
          { type: 'text', text: "I'll list them." },
          { type: 'tool_call', id: 'toolu_01A', name: 'Bash', arguments: '{"command":"ls","description":"List files"}' },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', toolCallId: 'toolu_01A', name: 'Bash', content: [{ type: 'text', text: 'a.ts\nb.ts' }] }] },
    ])
    expect(c.warnings).toEqual([])
  })

  const cases: Array<[string, any, (ir: IRRequest, warnings: string[]) => void]> = [
    [
      'role:system entries inside messages move to the system prompt',
      {
        system: 'top',
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'system', content: [{ type: 'text', text: 'mid' }] },
          { role: 'assistant', content: 'yo' },
        ],
      },
      ir => {
        expect(ir.system).toEqual(['top', 'mid'])
        expect(ir.messages.map(m => m.role)).toEqual(['user', 'assistant'])
      },
    ],
    [
      'images (base64 and url) and a text document',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'doc body' }, title: 'Notes' },
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBER' } },
            ],
          },
        ],
      },
      (ir, warnings) => {
        expect(ir.messages[0]?.content).toEqual([
          { type: 'image', source: { kind: 'base64', mediaType: 'image/jpeg', data: '/9j/4AAQ' } },
          { type: 'image', source: { kind: 'url', url: 'https://example.com/cat.png' } },
          { type: 'text', text: 'Notes\n\ndoc body' },
        ])
        expect(warnings.length).toBe(1)
      },
    ],
    [
      'tool_result with blocks and is_error; redacted thinking',
      {
        messages: [
          { role: 'user', content: 'go' },
          {
            role: 'assistant',
            content: [
              { type: 'redacted_thinking', data: 'ENCRYPTED' },
              { type: 'tool_use', id: 'toolu_1', name: 'Read', input: {} },
            ],
          },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 'toolu_1',
                is_error: true,
                content: [
                  { type: 'text', text: 'ENOENT' },
                  { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } },
                ],
              },
            ],
          },
        ],
      },
      ir => {
        expect(ir.messages[1]?.content).toEqual([
          { type: 'thinking', text: '', redacted: true, signature: 'ENCRYPTED' },
          { type: 'tool_call', id: 'toolu_1', name: 'Read', arguments: '{}' },
        ])
        expect(ir.messages[2]?.content).toEqual([
          {
            type: 'tool_result',
            toolCallId: 'toolu_1',
            name: 'Read',
            isError: true,
            content: [
              { type: 'text', text: 'ENOENT' },
              { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: 'iVBOR' } },
            ],
          },
        ])
      },
    ],
    [
      'tool_choice any + disable_parallel_tool_use',
      { tool_choice: { type: 'any', disable_parallel_tool_use: true } },
      ir => {
        expect(ir.toolChoice).toBe('required')
        expect(ir.parallelToolCalls).toBe(false)
      },
    ],
    ['tool_choice tool', { tool_choice: { type: 'tool', name: 'Bash' } }, ir => expect(ir.toolChoice).toEqual({ name: 'Bash' })],
    ['tool_choice none', { tool_choice: { type: 'none' } }, ir => expect(ir.toolChoice).toBe('none')],
    [
      'adaptive thinking with effort',
      { thinking: { type: 'adaptive' }, output_config: { effort: 'max' } },
      ir => expect(ir.reasoning).toEqual({ includeThoughts: true, effort: 'xhigh' }),
    ],
    ['thinking disabled', { thinking: { type: 'disabled' } }, ir => expect(ir.reasoning).toEqual({ effort: 'none' })],
    [
      'stop sequences, sampling, json_schema output format',
      { stop_sequences: ['END'], top_p: 0.9, top_k: 40, output_config: { format: { type: 'json_schema', schema: { type: 'object' } } } },
      ir => {
        expect(ir.stop).toEqual(['END'])
        expect(ir.topP).toBe(0.9)
        expect(ir.topK).toBe(40)
        expect(ir.responseFormat).toEqual({ type: 'json_schema', schema: { type: 'object' } })
      },
    ],
  ]
  test.each(cases)('%s', (_name, over, check) => {
    const c = ctx()
    const ir = anthropicClient.decodeRequest({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], ...over }, c)
    check(ir, c.warnings)
  })

  test.each([
    ['no messages', { messages: [] }],
    ['only system messages', { messages: [{ role: 'system', content: 'x' }] }],
    ['tool_choice tool without name', { tool_choice: { type: 'tool' } }],
    ['custom tool without name', { tools: [{ input_schema: { type: 'object' } }] }],
  ])('invalid: %s', (_name, over) => {
    try {
      anthropicClient.decodeRequest({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }], ...over } as any, ctx())
      throw new Error('expected a throw')
    } catch (e) {
      expect(e).toBeInstanceOf(IRErrorValue)
      expect((e as IRErrorValue).error.status).toBe(400)
    }
  })
})

// ───────────── client: encode response ─────────────

const sampleResponse: IRResponse = {
  id: 'chatcmpl-123',
  model: 'gpt-x',
  content: [
    { type: 'thinking', text: 'Let me think.', signature: 'sig-abc' },
    { type: 'text', text: 'Checking the weather.' },
    { type: 'tool_call', id: 'call_9', name: 'get_weather', arguments: '{"city":"Paris"}' },
  ],
  stopReason: 'tool_calls',
  usage: { inputTokens: 1000, outputTokens: 50, cachedInputTokens: 800, cacheCreationInputTokens: 100 },
}

describe('anthropicClient.encodeResponse', () => {
  test('message object', () => {
    expect(anthropicClient.encodeResponse(sampleResponse, ctx())).toEqual({
      id: 'msg_chatcmpl-123',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [
        { type: 'thinking', thinking: 'Let me think.', signature: 'sig-abc' },
        { type: 'text', text: 'Checking the weather.' },
        { type: 'tool_use', id: 'call_9', name: 'get_weather', input: { city: 'Paris' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 100, output_tokens: 50, cache_read_input_tokens: 800, cache_creation_input_tokens: 100 },
    })
  })

  test.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['stop_sequence', 'stop_sequence'],
    ['content_filter', 'refusal'],
    ['refusal', 'refusal'],
    ['pause', 'pause_turn'],
  ] as const)('stop reason %s → %s', (ir, wire) => {
    const out: any = anthropicClient.encodeResponse(
      { ...sampleResponse, content: [{ type: 'text', text: 'x' }], stopReason: ir, stopSequence: ir === 'stop_sequence' ? 'END' : undefined },
      ctx(),
    )
    expect(out.stop_reason).toBe(wire)
    expect(out.stop_sequence).toBe(ir === 'stop_sequence' ? 'END' : null)
  })

  test('a tool call with stop reason "stop" is still tool_use; thinking dropped when the client disabled it', () => {
    const out: any = anthropicClient.encodeResponse({ ...sampleResponse, stopReason: 'stop' }, ctx({ thinking: { type: 'disabled' } }))
    expect(out.stop_reason).toBe('tool_use')
    expect(out.content.map((b: any) => b.type)).toEqual(['text', 'tool_use'])
  })
})

// ───────────── client: encode stream ─────────────

const streamEvents: IREvent[] = [
  { type: 'start', id: 'resp_1', model: 'gpt-x', usage: { inputTokens: 1000, outputTokens: 0, cachedInputTokens: 800 } },
  { type: 'block_start', index: 0, block: { type: 'thinking' } },
  { type: 'thinking_delta', index: 0, text: 'Let me ' },
  { type: 'thinking_delta', index: 0, text: 'think.' },
  { type: 'signature', index: 0, signature: 'sig-abc' },
  { type: 'block_stop', index: 0 },
  { type: 'block_start', index: 1, block: { type: 'text' } },
  { type: 'text_delta', index: 1, text: 'Checking ' },
  { type: 'text_delta', index: 1, text: 'the weather.' },
  { type: 'block_stop', index: 1 },
  { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'call_9', name: 'get_weather' } },
  { type: 'tool_args_delta', index: 2, json: '{"ci' },
  { type: 'tool_args_delta', index: 2, json: 'ty":"Paris"}' },
  { type: 'block_stop', index: 2 },
  { type: 'finish', reason: 'tool_calls', usage: { inputTokens: 1000, outputTokens: 50, cachedInputTokens: 800 } },
]

describe('anthropicClient.encodeStream', () => {
  test('exact Anthropic SSE', async () => {
    const ev = await sseEvents(anthropicClient.encodeStream(fromArray(streamEvents), ctx()))
    for (const e of ev) expect(e.event).toBe(e.data.type)
    expect(ev.map(e => e.data)).toEqual([
      {
        type: 'message_start',
        message: {
          id: 'msg_resp_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-4-5',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 200, output_tokens: 0, cache_read_input_tokens: 800, cache_creation_input_tokens: 0 },
        },
      },
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me ' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'think.' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig-abc' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Checking ' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'the weather.' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'call_9', name: 'get_weather', input: {} } },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"ci' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: 'ty":"Paris"}' } },
      { type: 'content_block_stop', index: 2 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { input_tokens: 200, output_tokens: 50, cache_read_input_tokens: 800, cache_creation_input_tokens: 0 },
      },
      { type: 'message_stop' },
    ])
  })

  test('frames go out as events arrive', async () => {
    let release!: () => void
    const gate = new Promise<void>(r => {
      release = r
    })
    async function* slow(): AsyncGenerator<IREvent> {
      yield at(streamEvents, 0)
      yield { type: 'block_start', index: 0, block: { type: 'text' } }
      await gate
      yield { type: 'block_stop', index: 0 }
      yield { type: 'finish', reason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } }
    }
    const reader = anthropicClient.encodeStream(slow(), ctx()).getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toStartWith('event: message_start\n')
    const second = new TextDecoder().decode((await reader.read()).value)
    expect(second).toStartWith('event: content_block_start\n')
    release()
    reader.releaseLock()
  })

  test.each([
    [
      'an IR error event',
      [streamEvents[0], { type: 'error', error: { status: 529, kind: 'overloaded', message: 'Overloaded' } }] as IREvent[],
      'overloaded_error',
    ],
    ['a source that ends early', [streamEvents[0], streamEvents[6]] as IREvent[], 'api_error'],
  ])('%s → event: error', async (_name, events, type) => {
    const ev = await sseEvents(anthropicClient.encodeStream(fromArray(events), ctx()))
    const last = ev.at(-1)!
    expect(last.event).toBe('error')
    expect(last.data.type).toBe('error')
    expect(last.data.error.type).toBe(type)
  })

  test('a throwing source → event: error', async () => {
    async function* bad(): AsyncGenerator<IREvent> {
      yield at(streamEvents, 0)
      throw new IRErrorValue({ status: 429, kind: 'rate_limit', message: 'slow down' })
    }
    const ev = await sseEvents(anthropicClient.encodeStream(bad(), ctx()))
    expect(ev.at(-1)).toEqual({ event: 'error', data: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } } })
  })

  test('indices stay contiguous when thinking is dropped for a client that disabled it', async () => {
    const ev = await sseEvents(anthropicClient.encodeStream(fromArray(streamEvents), ctx({ thinking: { type: 'disabled' } })))
    const starts = ev.filter(e => e.data.type === 'content_block_start')
    expect(starts.map(e => [e.data.index, e.data.content_block.type])).toEqual([
      [0, 'text'],
      [1, 'tool_use'],
    ])
    expect(ev.some(e => e.data.delta?.type === 'thinking_delta')).toBe(false)
  })
})

// ───────────── the official SDK accepts the stream ─────────────

describe('official @anthropic-ai/sdk reads the encoded stream', () => {
  let events: IREvent[] = streamEvents
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: () => new Response(anthropicClient.encodeStream(fromArray(events), ctx()), { headers: { 'content-type': 'text/event-stream' } }),
  })
  afterAll(() => server.stop(true))
  const client = new Anthropic({ apiKey: 'test', baseURL: `http://127.0.0.1:${server.port}`, maxRetries: 0 })
  const params = { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user' as const, content: 'weather?' }] }

  test('thinking with signature, text, tool_use with input_json_delta', async () => {
    events = streamEvents
    const texts: string[] = []
    const msg = await client.messages
      .stream(params)
      .on('text', t => texts.push(t))
      .finalMessage()
    expect(texts.join('')).toBe('Checking the weather.')
    expect(msg.id).toBe('msg_resp_1')
    expect(msg.model).toBe('claude-sonnet-4-5')
    expect(msg.stop_reason).toBe('tool_use')
    expect(msg.content).toEqual([
      { type: 'thinking', thinking: 'Let me think.', signature: 'sig-abc' },
      { type: 'text', text: 'Checking the weather.' },
      { type: 'tool_use', id: 'call_9', name: 'get_weather', input: { city: 'Paris' } },
    ] as any)
    expect(msg.usage).toMatchObject({ input_tokens: 200, output_tokens: 50, cache_read_input_tokens: 800 })
  })

  test('a replayed non-streaming response', async () => {
    events = await toArray(replay(sampleResponse))
    const msg = await client.messages.stream(params).finalMessage()
    expect(msg.content).toEqual((anthropicClient.encodeResponse(sampleResponse, ctx()) as any).content)
  })

  test('an in-stream error surfaces as an APIError of the right type', async () => {
    events = [at(streamEvents, 0), at(streamEvents, 6), { type: 'error', error: { status: 529, kind: 'overloaded', message: 'Overloaded' } }]
    const err: any = await client.messages
      .stream(params)
      .finalMessage()
      .catch(e => e)
    expect(err).toBeInstanceOf(Anthropic.APIError)
    expect(err.error?.error?.type).toBe('overloaded_error')
  })
})

// ───────────── upstream: encode request ─────────────

describe('anthropicUpstream.encodeRequest', () => {
  const enc = (req: IRRequest) => {
    const c = ctx()
    const r = anthropicUpstream.encodeRequest(req, c)
    return { ...r, body: r.body as any, warnings: c.warnings }
  }

  test('path, default max_tokens, system blocks, metadata', () => {
    const { path, body } = enc(baseReq({ system: ['be brief', ''], user: 'u1', stream: true }))
    expect(path).toBe('/v1/messages')
    expect(body).toEqual({
      model: 'claude-sonnet-4-5',
      system: [{ type: 'text', text: 'be brief' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      max_tokens: 8192,
      metadata: { user_id: 'u1' },
      stream: true,
    })
  })

  test.each([
    ['effort high', { effort: 'high' as const }, undefined, { type: 'enabled', budget_tokens: 16384 }, 16384 + 4096],
    ['explicit budget', { budgetTokens: 5000 }, undefined, { type: 'enabled', budget_tokens: 5000 }, 9096],
    ['budget too big for max_tokens', { budgetTokens: 5000 }, 4000, { type: 'enabled', budget_tokens: 2000 }, 4000],
    ['max_tokens too small for thinking', { effort: 'low' as const }, 1500, undefined, 1500],
    ['effort none', { effort: 'none' as const }, undefined, undefined, 8192],
  ])('thinking: %s', (_n, reasoning, maxTokens, thinking, max) => {
    const { body } = enc(baseReq({ reasoning, maxTokens }))
    expect(body.thinking).toEqual(thinking)
    expect(body.max_tokens).toBe(max)
  })

  test('thinking constraints: temperature/top_k dropped, forced tool choice turns thinking off', () => {
    const a = enc(baseReq({ reasoning: { effort: 'medium' }, temperature: 0.2, topK: 5, topP: 0.5 }))
    expect(a.body.thinking).toBeDefined()
    expect(a.body.temperature).toBeUndefined()
    expect(a.body.top_k).toBeUndefined()
    expect(a.body.top_p).toBeUndefined()
    const b = enc(baseReq({ reasoning: { effort: 'medium' }, tools: [{ name: 'f', parameters: { type: 'object' } }], toolChoice: 'required' }))
    expect(b.body.thinking).toBeUndefined()
    expect(b.body.tool_choice).toEqual({ type: 'any' })
    expect(b.warnings.some(w => w.includes('forced tool choice'))).toBe(true)
  })

  test('sampling without thinking: temperature clamped, top_p dropped next to temperature', () => {
    const { body } = enc(baseReq({ temperature: 1.5, topP: 0.9, topK: 3, stop: ['END', '  '] }))
    expect(body).toMatchObject({ temperature: 1, top_k: 3, stop_sequences: ['END'] })
    expect(body.top_p).toBeUndefined()
    expect(enc(baseReq({ topP: 0.9 })).body.top_p).toBe(0.9)
  })

  test('messages: merged roles, tool_result first, unsigned thinking dropped, ids sanitized, images', () => {
    const { body, warnings } = enc(
      baseReq({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'weather?' }] },
          { role: 'user', content: [{ type: 'image', source: { kind: 'url', url: 'data:image/png;base64,iVBOR' } }] },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', text: 'no signature here' },
              { type: 'text', text: 'Looking.' },
              { type: 'tool_call', id: 'call.1', name: 'get_weather', arguments: '{"city":"Paris"}' },
            ],
          },
          { role: 'user', content: [{ type: 'text', text: 'also, hurry' }] },
          { role: 'user', content: [{ type: 'tool_result', toolCallId: 'call.1', content: [{ type: 'text', text: 'sunny' }] }] },
          { role: 'assistant', content: [{ type: 'text', text: 'It is ' }] },
        ],
      }),
    )
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'weather?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Looking.' },
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: 'sunny' }] },
          { type: 'text', text: 'also, hurry' },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'It is' }] },
    ])
    expect(warnings.some(w => w.includes('without a signature'))).toBe(true)
  })

  test('tool pairing: missing result filled, orphan result turned into text', () => {
    const { body, warnings } = enc(
      baseReq({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'tool_result', toolCallId: 'ghost', content: [{ type: 'text', text: 'boo' }] },
              { type: 'text', text: 'hi' },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'tool_call', id: 'a', name: 'f', arguments: '' },
              { type: 'tool_call', id: 'b', name: 'f', arguments: '{}' },
            ],
          },
          { role: 'user', content: [{ type: 'tool_result', toolCallId: 'b', content: [], isError: true }] },
        ],
      }),
    )
    expect(body.messages[0].content).toEqual([
      { type: 'text', text: '[tool result ghost]\nboo' },
      { type: 'text', text: 'hi' },
    ])
    expect(body.messages[1].content[0]).toEqual({ type: 'tool_use', id: 'a', name: 'f', input: {} })
    expect(body.messages[2].content.map((b: any) => [b.tool_use_id, !!b.is_error])).toEqual([
      ['a', true],
      ['b', true],
    ])
    expect(warnings.length).toBe(2)
  })

  test('thinking stays off when an ongoing tool turn has no signed thinking', () => {
    const messages: IRRequest['messages'] = [
      { role: 'user', content: [{ type: 'text', text: 'go' }] },
      { role: 'assistant', content: [{ type: 'tool_call', id: 't1', name: 'f', arguments: '{}' }] },
      { role: 'user', content: [{ type: 'tool_result', toolCallId: 't1', content: [{ type: 'text', text: 'ok' }] }] },
    ]
    expect(enc(baseReq({ messages, reasoning: { effort: 'high' } })).body.thinking).toBeUndefined()
    messages[1]?.content.unshift({ type: 'thinking', text: 'hm', signature: 'sig' })
    expect(enc(baseReq({ messages, reasoning: { effort: 'high' } })).body.thinking).toEqual({ type: 'enabled', budget_tokens: 16384 })
  })

  test('tools, builtin tools, tool choice, parallel calls, response format', () => {
    const { body, warnings } = enc(
      baseReq({
        system: ['sys'],
        tools: [
          { name: 'f', description: 'does f', parameters: { type: 'OBJECT', properties: { x: { type: 'STRING' } } } },
          { name: 'g', parameters: {} },
        ],
        builtinTools: [
          { kind: 'web_search', raw: { type: 'web_search' } },
          { kind: 'code_interpreter', raw: {} },
        ],
        toolChoice: { name: 'f' },
        parallelToolCalls: false,
        responseFormat: { type: 'json_schema', name: 'out', schema: { type: 'object', properties: { a: { type: 'string' } } } },
      }),
    )
    expect(body.tools).toEqual([
      { name: 'f', description: 'does f', input_schema: { type: 'object', properties: { x: { type: 'string' } } } },
      { name: 'g', input_schema: { type: 'object', properties: {} } },
      { type: 'web_search_20250305', name: 'web_search' },
    ])
    expect(body.tool_choice).toEqual({ type: 'tool', name: 'f', disable_parallel_tool_use: true })
    expect(body.system).toHaveLength(2)
    expect(body.system[1].text).toContain('{"type":"object","properties":{"a":{"type":"string"}}}')
    expect(warnings.some(w => w.includes('code_interpreter'))).toBe(true)
    expect(enc(baseReq({ responseFormat: { type: 'json' } })).body.system[0].text).toContain('JSON')
  })
})

// ───────────── upstream: decode response / stream ─────────────

const upstreamMessage = {
  id: 'msg_01XYZ',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'thinking', thinking: 'Need weather.', signature: 'sig-1' },
    { type: 'redacted_thinking', data: 'REDACTED' },
    { type: 'text', text: 'Let me check.', citations: null },
    { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 20, output_tokens: 30, cache_read_input_tokens: 900, cache_creation_input_tokens: 80, output_tokens_details: { thinking_tokens: 12 } },
}

const upstreamIR: IRResponse = {
  id: 'msg_01XYZ',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'thinking', text: 'Need weather.', signature: 'sig-1' },
    { type: 'thinking', text: '', redacted: true, signature: 'REDACTED' },
    { type: 'text', text: 'Let me check.' },
    { type: 'tool_call', id: 'toolu_01', name: 'get_weather', arguments: '{"city":"Paris"}' },
  ],
  stopReason: 'tool_calls',
  usage: { inputTokens: 1000, outputTokens: 30, cachedInputTokens: 900, cacheCreationInputTokens: 80, reasoningTokens: 12 },
}

// recorded-format stream, with ping, a server tool block, an unknown event and a citations delta
const upstreamSSE = [
  'event: message_start',
  'data: {"type":"message_start","message":{"id":"msg_01XYZ","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],' +
    '"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":80,"cache_read_input_tokens":900,"output_tokens":1}}}',
  '',
  'event: ping',
  'data: {"type": "ping"}',
  '',
  'event: content_block_start',
  'data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Need "}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"weather."}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig-1"}}',
  '',
  'event: content_block_stop',
  'data: {"type":"content_block_stop","index":0}',
  '',
  'event: content_block_start',
  'data: {"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"REDACTED"}}',
  '',
  'event: content_block_stop',
  'data: {"type":"content_block_stop","index":1}',
  '',
  'event: content_block_start',
  'data: {"type":"content_block_start","index":2,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\\"query\\":\\"x\\"}"}}',
  '',
  'event: content_block_stop',
  'data: {"type":"content_block_stop","index":2}',
  '',
  'event: content_block_start',
  'data: {"type":"content_block_start","index":3,"content_block":{"type":"text","text":""}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"Let me "}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":3,"delta":{"type":"citations_delta","citation":{"type":"web_search_result_location"}}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"check."}}',
  '',
  'event: content_block_stop',
  'data: {"type":"content_block_stop","index":3}',
  '',
  'event: something_new',
  'data: {"type":"something_new","x":1}',
  '',
  'event: content_block_start',
  'data: {"type":"content_block_start","index":4,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":""}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": "}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":"\\"Paris\\"}"}}',
  '',
  'event: content_block_stop',
  'data: {"type":"content_block_stop","index":4}',
  '',
  'event: message_delta',
  'data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},' +
    '"usage":{"output_tokens":30,"output_tokens_details":{"thinking_tokens":12}}}',
  '',
  'event: message_stop',
  'data: {"type":"message_stop"}',
  '',
  '',
].join('\r\n')

describe('anthropicUpstream.decodeResponse', () => {
  test('message → IR (usage: cached tokens added back into inputTokens)', () => {
    expect(anthropicUpstream.decodeResponse(upstreamMessage, ctx())).toEqual(upstreamIR)
  })
  test('stop sequence', () => {
    const ir = anthropicUpstream.decodeResponse(
      { ...upstreamMessage, content: [{ type: 'text', text: 'a' }], stop_reason: 'stop_sequence', stop_sequence: 'END' },
      ctx(),
    )
    expect(ir.stopReason).toBe('stop_sequence')
    expect(ir.stopSequence).toBe('END')
  })
  test('an error body throws an IRErrorValue', () => {
    expect(() => anthropicUpstream.decodeResponse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, ctx())).toThrow(
      expect.objectContaining({ error: { status: 529, kind: 'overloaded', message: 'Overloaded' } }),
    )
  })
})

describe('anthropicUpstream.decodeStream', () => {
  test.each([1, 5, 64, 100000])('recorded stream, %i-byte chunks', async chunk => {
    const c = ctx()
    const events = await toArray(anthropicUpstream.decodeStream(streamOf(upstreamSSE, chunk), c))
    expect(events[0]).toEqual({
      type: 'start',
      id: 'msg_01XYZ',
      model: 'claude-sonnet-4-5-20250929',
      usage: { inputTokens: 1000, cachedInputTokens: 900, cacheCreationInputTokens: 80, outputTokens: 1 },
    })
    expect(events.filter(e => e.type === 'block_start').map(e => (e as any).index)).toEqual([0, 1, 2, 3])
    expect(events.at(-1)).toEqual({
      type: 'finish',
      reason: 'tool_calls',
      usage: { inputTokens: 1000, outputTokens: 30, cachedInputTokens: 900, cacheCreationInputTokens: 80, reasoningTokens: 12 },
    })
    const streamed = structuredClone(upstreamIR)
    ;(streamed.content[3] as any).arguments = '{"city": "Paris"}' // the upstream's JSON text, as streamed
    expect(await collect(fromArray(events))).toEqual(streamed)
    expect(c.warnings).toEqual(['skipped an upstream content block of type "server_tool_use"'])
  })

  test('message_delta usage without cache counters keeps those of message_start', async () => {
    const sse = upstreamSSE.replace('"usage":{"output_tokens":30,', '"usage":{"input_tokens":20,"cache_read_input_tokens":null,"output_tokens":30,')
    const events = await toArray(anthropicUpstream.decodeStream(streamOf(sse), ctx()))
    expect((events.at(-1) as any).usage).toEqual({
      inputTokens: 1000,
      outputTokens: 30,
      cachedInputTokens: 900,
      cacheCreationInputTokens: 80,
      reasoningTokens: 12,
    })
  })

  test('event: error → IR error event', async () => {
    const sse =
      `${upstreamSSE.split('event: content_block_start')[0]}event: error\ndata: ` +
      `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n`
    const events = await toArray(anthropicUpstream.decodeStream(streamOf(sse), ctx()))
    expect(events.map(e => e.type)).toEqual(['start', 'error'])
    expect(events[1]).toEqual({ type: 'error', error: { status: 529, kind: 'overloaded', message: 'Overloaded' } })
  })

  test('a stream cut short → IR error event', async () => {
    const sse = at(upstreamSSE.split('event: content_block_stop'), 0)
    const events = await toArray(anthropicUpstream.decodeStream(streamOf(sse), ctx()))
    expect(events.at(-1)!.type).toBe('error')
  })

  test('stopping early cancels the upstream body', async () => {
    let cancelled = false
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(upstreamSSE.slice(0, 600)))
      },
      cancel() {
        cancelled = true
      },
    })
    for await (const _ of anthropicUpstream.decodeStream(body, ctx())) break
    expect(cancelled).toBe(true)
  })
})

// ───────────── round trips ─────────────

describe('round trips', () => {
  test('client stream encode → upstream stream decode → same response', async () => {
    const sse = anthropicClient.encodeStream(replay(upstreamIR), ctx(undefined, 'claude-sonnet-4-5-20250929'))
    const back = await collect(anthropicUpstream.decodeStream(sse, ctx()))
    expect(back).toEqual({ ...upstreamIR, usage: { inputTokens: 1000, outputTokens: 30, cachedInputTokens: 900, cacheCreationInputTokens: 80 } })
  })

  test('client response encode → upstream response decode', () => {
    const wire = anthropicClient.encodeResponse(upstreamIR, ctx(undefined, 'claude-sonnet-4-5-20250929'))
    const back = anthropicUpstream.decodeResponse(wire, ctx())
    expect(back).toEqual({ ...upstreamIR, usage: { inputTokens: 1000, outputTokens: 30, cachedInputTokens: 900, cacheCreationInputTokens: 80 } })
  })

  test('client decode → upstream encode keeps a Claude Code conversation intact', () => {
    const c = ctx()
    const ir = anthropicClient.decodeRequest(claudeCodeBody as any, c)
    const { body } = anthropicUpstream.encodeRequest(ir, c) as { body: any }
    expect(body.system.map((b: any) => b.text)).toEqual(claudeCodeBody.system.map(b => b.text))
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 31999 })
    expect(body.max_tokens).toBe(32000)
    expect(body.tools[1]).toEqual(claudeCodeBody.tools[1])
    expect(body.messages[1].content).toEqual(claudeCodeBody.messages[1]?.content)
    expect(body.messages[2].content).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_01A', content: [{ type: 'text', text: 'a.ts\nb.ts' }] }])
    expect(c.warnings).toEqual([])
  })
})

// ───────────── count tokens ─────────────

describe('count tokens', () => {
  test('response and upstream request', () => {
    expect(encodeCountTokensResponse(42)).toEqual({ input_tokens: 42 })
    const req = baseReq({ system: ['s'], maxTokens: 10, stream: true, temperature: 0.5, tools: [{ name: 'f', parameters: { type: 'object' } }] })
    const { path, body } = anthropicCountTokensUpstream(req)
    expect(path).toBe('/v1/messages/count_tokens')
    expect(Object.keys(body).sort()).toEqual(['messages', 'model', 'system', 'tools'])
  })

  test('estimate grows with content and is never 0 for input', () => {
    const small = estimateTokens(baseReq())
    expect(small).toBeGreaterThan(0)
    const big = estimateTokens(baseReq({ system: ['x'.repeat(4000)] }))
    expect(big).toBeGreaterThanOrEqual(small + 1000)
    const withImage = estimateTokens(baseReq({ messages: [{ role: 'user', content: [{ type: 'image', source: { kind: 'url', url: 'https://x/y.png' } }] }] }))
    expect(withImage).toBeGreaterThanOrEqual(1600)
    const tools = estimateTokens(baseReq({ tools: [{ name: 'f', description: 'd'.repeat(400), parameters: { type: 'object' } }] }))
    expect(tools).toBeGreaterThan(small + 100)
    const cjk = estimateTokens(baseReq({ messages: [{ role: 'user', content: [{ type: 'text', text: '你好世界'.repeat(100) }] }] }))
    expect(cjk).toBeGreaterThan(300)
    const ir = anthropicClient.decodeRequest(claudeCodeBody as any, ctx())
    expect(estimateTokens(ir)).toBeGreaterThan(30)
  })
})
