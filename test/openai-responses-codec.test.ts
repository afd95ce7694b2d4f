import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import OpenAI from 'openai'
import { collect } from '../src/ir/collect'
import { parseSSE } from '../src/ir/sse'
import { IRErrorValue, type CodecContext, type IREvent } from '../src/ir/types'
import { openaiResponsesClient as codec } from '../src/dialects/openai'
import { ResponsesBody } from '../src/dialects/openai/responses/schema'
import { at } from './support/at'

const mkctx = (raw: any, warnings: string[] = []): CodecContext => ({ clientModel: raw.model, warn: m => warnings.push(m), raw })

async function* events(list: IREvent[], opts: { throwAfter?: Error } = {}): AsyncGenerator<IREvent> {
  for (const ev of list) {
    await Bun.sleep(0)
    yield ev
  }
  if (opts.throwAfter) throw opts.throwAfter
}

const usage = { inputTokens: 100, outputTokens: 20, cachedInputTokens: 40, reasoningTokens: 8 }

// ───────────── a realistic Codex CLI request ─────────────

const APPLY_PATCH_GRAMMAR = 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF'

const codexBody = () => ({
  model: 'gpt-5-codex',
  instructions: 'You are Codex, a coding agent.',
  input: [
    { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions>workspace-write</permissions>' }] },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context>cwd=/repo</environment_context>' }] },
    {
      type: 'message',
      role: 'user',
      content: [
        { type: 'input_text', text: 'Fix the failing test' },
        { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=' },
      ],
    },
    { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: '**Looking** at tests' }], encrypted_content: 'EqQBCkgIARABGAIiQ...' },
    { type: 'function_call', id: 'fc_1', call_id: 'call_shell_1', name: 'shell', arguments: '{"command":["ls"]}' },
    { type: 'function_call', call_id: 'call_mcp_1', name: 'read_file', namespace: 'mcp__fs__', arguments: '{"path":"a.ts"}' },
    { type: 'function_call_output', call_id: 'call_shell_1', output: 'a.ts\nb.ts' },
    { type: 'function_call_output', call_id: 'call_mcp_1', output: [{ type: 'input_text', text: 'export const a = 1' }] },
    { type: 'local_shell_call', call_id: 'ls_1', status: 'completed', action: { type: 'exec', command: ['pwd'] } },
    { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'bun test' } },
    { type: 'reasoning', id: 'rs_2', summary: [], encrypted_content: 'gAAAAABopenai-fernet' },
    { type: 'custom_tool_call', call_id: 'call_patch_1', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch' },
    { type: 'custom_tool_call_output', call_id: 'call_patch_1', output: 'Success' },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Patched.', annotations: [] }] },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'thanks, now run the tests' }] },
  ],
  tools: [
    {
      type: 'function',
      name: 'shell',
      description: 'Runs a shell command',
      strict: false,
      parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } }, required: ['command'] },
    },
    {
      type: 'namespace',
      name: 'mcp__fs__',
      description: 'filesystem MCP server',
      tools: [
        { type: 'function', name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } },
        { type: 'function', name: 'list_dir', parameters: { type: 'object', properties: {} } },
      ],
    },
    { type: 'web_search' },
    { type: 'local_shell' },
    { type: 'custom', name: 'apply_patch', description: 'Edit files', format: { type: 'grammar', syntax: 'lark', definition: APPLY_PATCH_GRAMMAR } },
    { type: 'image_generation' },
  ],
  tool_choice: 'auto',
  parallel_tool_calls: true,
  reasoning: { effort: 'high', summary: 'auto' },
  store: false,
  stream: true,
  include: ['reasoning.encrypted_content'],
  prompt_cache_key: 'conv-0199',
  text: { verbosity: 'low' },
})

describe('decodeRequest', () => {
  test('a Codex CLI request', () => {
    const warnings: string[] = []
    const body = codexBody()
    const ir = codec.decodeRequest(body as any, mkctx(body, warnings))
    expect(ir.model).toBe('gpt-5-codex')
    expect(ir.stream).toBe(true)
    expect(ir.system).toEqual(['You are Codex, a coding agent.', '<permissions>workspace-write</permissions>'])
    expect(ir.user).toBe('conv-0199')
    expect(ir.reasoning).toEqual({ effort: 'high', includeThoughts: true })
    expect(ir.parallelToolCalls).toBe(true)
    expect(ir.toolChoice).toBe('auto')

    expect(ir.messages.map(m => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user'])
    expect(ir.messages[0]?.content).toEqual([
      { type: 'text', text: '<environment_context>cwd=/repo</environment_context>' },
      { type: 'text', text: 'Fix the failing test' },
      { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: 'iVBORw0KGgo=' } },
    ])
    expect(ir.messages[1]?.content).toEqual([
      { type: 'thinking', text: '**Looking** at tests', signature: 'EqQBCkgIARABGAIiQ...' },
      { type: 'tool_call', id: 'call_shell_1', name: 'shell', arguments: '{"command":["ls"]}' },
      { type: 'tool_call', id: 'call_mcp_1', name: 'mcp__fs__read_file', arguments: '{"path":"a.ts"}' },
    ])
    expect(ir.messages[2]?.content).toEqual([
      { type: 'tool_result', toolCallId: 'call_shell_1', name: 'shell', content: [{ type: 'text', text: 'a.ts\nb.ts' }] },
      { type: 'tool_result', toolCallId: 'call_mcp_1', name: 'mcp__fs__read_file', content: [{ type: 'text', text: 'export const a = 1' }] },
    ])
    // an OpenAI-encrypted reasoning item with no summary means nothing elsewhere: dropped
    expect(ir.messages[3]?.content).toEqual([
      { type: 'tool_call', id: 'call_patch_1', name: 'apply_patch', arguments: JSON.stringify({ input: '*** Begin Patch\n*** End Patch' }) },
    ])
    expect(ir.messages[4]?.content).toEqual([
      { type: 'tool_result', toolCallId: 'call_patch_1', name: 'apply_patch', content: [{ type: 'text', text: 'Success' }] },
    ])
    expect(ir.messages[5]?.content).toEqual([{ type: 'text', text: 'Patched.' }])
    expect(ir.messages[6]?.content).toEqual([{ type: 'text', text: 'thanks, now run the tests' }])

    expect(ir.tools?.map(t => t.name)).toEqual(['shell', 'mcp__fs__read_file', 'mcp__fs__list_dir', 'apply_patch'])
    const patch = ir.tools!.find(t => t.name === 'apply_patch')!
    expect(patch.parameters).toMatchObject({ type: 'object', required: ['input'] })
    expect(patch.description).toContain(APPLY_PATCH_GRAMMAR)
    expect(ir.builtinTools?.map(t => t.kind)).toEqual(['web_search', 'local_shell', 'image_generation'])

    expect(warnings.some(w => w.includes('local_shell_call'))).toBe(true)
    expect(warnings.some(w => w.includes('web_search_call'))).toBe(true)
  })

  test('string input, options, structured output', () => {
    const body = {
      model: 'm',
      input: 'Hello',
      instructions: 'Be terse',
      max_output_tokens: 256,
      temperature: 0.2,
      top_p: 0.9,
      user: 'u1',
      text: { format: { type: 'json_schema', name: 'answer', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } } } } },
      tools: [{ type: 'web_search_preview' }, { type: 'file_search', vector_store_ids: ['vs_1'] }, { type: 'mcp', server_label: 'x' }],
      tool_choice: { type: 'function', name: 'f' },
    }
    const ir = codec.decodeRequest(body as any, mkctx(body))
    expect(ir.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }])
    expect(ir.system).toEqual(['Be terse'])
    expect(ir.maxTokens).toBe(256)
    expect(ir.temperature).toBe(0.2)
    expect(ir.topP).toBe(0.9)
    expect(ir.user).toBe('u1')
    expect(ir.stream).toBe(false)
    expect(ir.toolChoice).toEqual({ name: 'f' })
    expect(ir.responseFormat).toEqual({ type: 'json_schema', name: 'answer', strict: true, schema: body.text.format.schema })
    expect(ir.builtinTools?.map(t => t.kind)).toEqual(['web_search', 'file_search', 'mcp'])
    const json = codec.decodeRequest({ model: 'm', input: 'x', text: { format: { type: 'json_object' } } } as any, mkctx({ model: 'm' }))
    expect(json.responseFormat).toEqual({ type: 'json' })
  })

  test('EasyInputMessage (no type), http image URL, object-shaped tool output, unknown parts', () => {
    const warnings: string[] = []
    const body = {
      model: 'm',
      input: [
        {
          role: 'user',
          content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'https://x.test/a.png', detail: 'auto' }, { type: 'input_audio' }],
        },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '' },
        { type: 'function_call_output', call_id: 'c1', output: { content: 'boom', success: false } },
        { type: 'item_reference', id: 'msg_1' },
      ],
    }
    const ir = codec.decodeRequest(body as any, mkctx(body, warnings))
    expect(ir.messages[0]?.content[1]).toEqual({ type: 'image', source: { kind: 'url', url: 'https://x.test/a.png' } })
    expect(ir.messages[1]?.content).toEqual([{ type: 'tool_call', id: 'c1', name: 'f', arguments: '{}' }])
    expect(ir.messages[2]?.content).toEqual([{ type: 'tool_result', toolCallId: 'c1', name: 'f', content: [{ type: 'text', text: 'boom' }], isError: true }])
    expect(warnings.length).toBe(2)
  })

  test('400s: file_id, input_file, background, unknown previous_response_id', () => {
    const fail = (body: any) => {
      try {
        codec.decodeRequest(body, mkctx(body))
        return undefined
      } catch (e) {
        return e
      }
    }
    const fileId = fail({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] })
    expect(fileId).toBeInstanceOf(IRErrorValue)
    expect((fileId as IRErrorValue).error).toMatchObject({ status: 400, param: 'input[0].content[0].file_id' })
    expect((fileId as IRErrorValue).message).toContain('not supported')
    expect(fail({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_file', file_data: 'x' }] }] })).toBeInstanceOf(IRErrorValue)
    expect((fail({ model: 'm', input: 'x', background: true }) as IRErrorValue).error.param).toBe('background')
    const prev = fail({ model: 'm', input: 'x', previous_response_id: 'resp_nope' }) as IRErrorValue
    expect(prev.error).toMatchObject({ status: 400, param: 'previous_response_id' })
    expect(prev.message).toContain('full conversation')
    expect((fail({ model: 'm', input: [] }) as IRErrorValue).error.param).toBe('input')
  })
})

// ───────────── scenarios (IR the backend produced) ─────────────

const SCENARIOS = {
  text: () => [
    { type: 'start', id: 'up_1', model: 'claude', usage: { inputTokens: 100 } },
    { type: 'block_start', index: 0, block: { type: 'text' } },
    { type: 'text_delta', index: 0, text: 'Hel' },
    { type: 'text_delta', index: 0, text: 'lo!' },
    { type: 'block_stop', index: 0 },
    { type: 'finish', reason: 'stop', usage: { inputTokens: 0, outputTokens: 20, cachedInputTokens: 40 } },
  ],
  reasoning: () => [
    { type: 'start', id: 'up_2', model: 'claude' },
    { type: 'block_start', index: 0, block: { type: 'thinking' } },
    { type: 'thinking_delta', index: 0, text: 'Let me ' },
    { type: 'thinking_delta', index: 0, text: 'think.' },
    { type: 'signature', index: 0, signature: 'sig-abc' },
    { type: 'block_stop', index: 0 },
    { type: 'block_start', index: 1, block: { type: 'redacted_thinking', data: 'opaque' } },
    { type: 'block_stop', index: 1 },
    { type: 'block_start', index: 2, block: { type: 'text' } },
    { type: 'text_delta', index: 2, text: '42' },
    { type: 'block_stop', index: 2 },
    { type: 'finish', reason: 'stop', usage },
  ],
  tools: () => [
    { type: 'start', id: 'up_3', model: 'gemini' },
    { type: 'block_start', index: 0, block: { type: 'text' } },
    { type: 'text_delta', index: 0, text: 'Checking.' },
    { type: 'block_stop', index: 0 },
    { type: 'block_start', index: 1, block: { type: 'tool_call', id: 'call_w', name: 'get_weather' } },
    { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'call_r', name: 'mcp__fs__read_file' } },
    { type: 'tool_args_delta', index: 1, json: '{"city":' },
    { type: 'tool_args_delta', index: 2, json: '{"path":"a.ts"}' },
    { type: 'tool_args_delta', index: 1, json: '"Paris"}' },
    { type: 'signature', index: 1, signature: 'gemini-sig-1' },
    { type: 'block_stop', index: 2 },
    { type: 'block_stop', index: 1 },
    { type: 'block_start', index: 3, block: { type: 'tool_call', id: 'call_p', name: 'apply_patch' } },
    { type: 'tool_args_delta', index: 3, json: '{"input":"*** Begin Patch\\n' },
    { type: 'tool_args_delta', index: 3, json: '*** End Patch"}' },
    { type: 'block_stop', index: 3 },
    { type: 'block_start', index: 4, block: { type: 'tool_call', id: 'call_n', name: 'noargs' } },
    { type: 'block_stop', index: 4 },
    { type: 'finish', reason: 'tool_calls', usage },
  ],
  failed: () => [
    { type: 'start', id: 'up_4', model: 'claude' },
    { type: 'block_start', index: 0, block: { type: 'text' } },
    { type: 'text_delta', index: 0, text: 'partial' },
    { type: 'error', error: { status: 429, kind: 'rate_limit', message: 'Rate limit reached.', retryAfter: 7 } },
  ],
  incomplete: () => [
    { type: 'start', id: 'up_5', model: 'claude' },
    { type: 'block_start', index: 0, block: { type: 'text' } },
    { type: 'text_delta', index: 0, text: 'cut' },
    { type: 'block_stop', index: 0 },
    { type: 'finish', reason: 'length', usage },
  ],
} satisfies Record<string, () => IREvent[]>

const TOOLS = [
  { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  { type: 'function', name: 'noargs', parameters: { type: 'object', properties: {} } },
  { type: 'namespace', name: 'mcp__fs__', description: 'fs', tools: [{ type: 'function', name: 'read_file', parameters: { type: 'object', properties: {} } }] },
  { type: 'custom', name: 'apply_patch', description: 'patch' },
]

function scenarioStream(model: string): AsyncGenerator<IREvent> {
  if (model === 'throws') {
    return events(SCENARIOS.text().slice(0, 3), { throwAfter: new IRErrorValue({ status: 529, kind: 'overloaded', message: 'Overloaded' }) })
  }
  const scenario = SCENARIOS[model as keyof typeof SCENARIOS] as (() => IREvent[]) | undefined
  if (!scenario) throw new Error(`no scenario named ${model}`)
  return events(scenario())
}

// ───────────── encodeResponse ─────────────

describe('encodeResponse', () => {
  test('the response object', async () => {
    const raw = { model: 'my-model', input: 'hi', instructions: 'sys', tools: TOOLS, include: ['reasoning.encrypted_content'], store: false }
    const res = await collect(events([...SCENARIOS.reasoning()]))
    const out: any = codec.encodeResponse(res, mkctx(raw))
    expect(out.id).toMatch(/^resp_[0-9a-f]{48}$/)
    expect(out).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'my-model',
      instructions: 'sys',
      tools: TOOLS,
      error: null,
      incomplete_details: null,
      parallel_tool_calls: true,
      store: false,
    })
    expect(typeof out.created_at).toBe('number')
    expect(out.output).toHaveLength(3)
    expect(out.output[0]).toMatchObject({ type: 'reasoning', summary: [{ type: 'summary_text', text: 'Let me think.' }], encrypted_content: 'sig-abc' })
    expect(out.output[0].id).toMatch(/^rs_/)
    expect(out.output[1]).toMatchObject({ type: 'reasoning', summary: [], encrypted_content: 'agproxy-redacted:opaque' })
    expect(out.output[2]).toMatchObject({
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: '42', annotations: [] }],
    })
    expect(out.usage).toEqual({
      input_tokens: 100,
      input_tokens_details: { cached_tokens: 40, cache_write_tokens: 0 },
      output_tokens: 20,
      output_tokens_details: { reasoning_tokens: 8 },
      total_tokens: 120,
    })

    // without include, no encrypted_content
    const plain: any = codec.encodeResponse(res, mkctx({ model: 'm', input: 'hi' }))
    expect(plain.output[0].encrypted_content).toBeUndefined()
  })

  test('function calls, namespaces, custom tools; incomplete', async () => {
    const raw = { model: 'm', input: 'hi', tools: TOOLS }
    const out: any = codec.encodeResponse(await collect(events(SCENARIOS.tools())), mkctx(raw))
    expect(out.output.map((o: any) => o.type)).toEqual(['message', 'function_call', 'function_call', 'custom_tool_call', 'function_call'])
    expect(out.output[1]).toMatchObject({ type: 'function_call', call_id: 'call_w', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' })
    expect(out.output[1].id).toMatch(/^fc_/)
    expect(out.output[2]).toMatchObject({ call_id: 'call_r', name: 'read_file', namespace: 'mcp__fs__', arguments: '{"path":"a.ts"}' })
    expect(out.output[3]).toMatchObject({ call_id: 'call_p', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch' })
    expect(out.output[4]).toMatchObject({ call_id: 'call_n', arguments: '{}' })

    const inc: any = codec.encodeResponse(await collect(events(SCENARIOS.incomplete())), mkctx(raw))
    expect(inc).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } })
  })

  test('round trip: previous_response_id and Gemini call signatures', async () => {
    const first = { model: 'm', input: 'What is the weather?', instructions: 'first', tools: TOOLS }
    const ir1 = codec.decodeRequest(first as any, mkctx(first))
    expect(ir1.messages).toHaveLength(1)
    const resp: any = codec.encodeResponse(await collect(events(SCENARIOS.tools())), mkctx(first))

    const second = {
      model: 'm',
      previous_response_id: resp.id,
      instructions: 'second',
      input: [{ type: 'function_call_output', call_id: 'call_w', output: 'sunny' }],
    }
    const ir2 = codec.decodeRequest(second as any, mkctx(second))
    expect(ir2.system).toEqual(['second'])
    expect(ir2.messages.map(m => m.role)).toEqual(['user', 'assistant', 'user'])
    const calls = ir2.messages[1]?.content.filter(p => p.type === 'tool_call') as any[]
    expect(calls.map(c => c.name)).toEqual(['get_weather', 'mcp__fs__read_file', 'apply_patch', 'noargs'])
    expect(calls[0].signature).toBe('gemini-sig-1')
    expect(ir2.messages[2]?.content).toEqual([{ type: 'tool_result', toolCallId: 'call_w', name: 'get_weather', content: [{ type: 'text', text: 'sunny' }] }])

    // store:false (Codex) sends the whole history back: the call signature still comes back
    const codex = {
      model: 'm',
      store: false,
      input: [
        { type: 'message', role: 'user', content: 'weather?' },
        { type: 'function_call', call_id: 'call_w', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_w', output: 'sunny' },
      ],
    }
    const ir3 = codec.decodeRequest(codex as any, mkctx(codex))
    expect((at(ir3.messages, 1).content[0] as any).signature).toBe('gemini-sig-1')
    const r3: any = codec.encodeResponse(await collect(events(SCENARIOS.text())), mkctx(codex))
    const again = { model: 'm', previous_response_id: r3.id, input: 'x' }
    expect(() => codec.decodeRequest(again as any, mkctx(again))).toThrow(IRErrorValue)
  })

  test('reasoning items round-trip through encrypted_content', async () => {
    const raw = { model: 'm', input: 'q', include: ['reasoning.encrypted_content'], store: false }
    const out: any = codec.encodeResponse(await collect(events(SCENARIOS.reasoning())), mkctx(raw))
    const next = { model: 'm', input: [{ role: 'user', content: 'q' }, ...out.output, { role: 'user', content: 'more' }] }
    const ir = codec.decodeRequest(next as any, mkctx(next))
    expect(ir.messages[1]?.content).toEqual([
      { type: 'thinking', text: 'Let me think.', signature: 'sig-abc' },
      { type: 'thinking', text: '', redacted: true, signature: 'opaque' },
      { type: 'text', text: '42' },
    ])
  })
})

// ───────────── the stream, as the official SDK sees it ─────────────

let server: ReturnType<typeof Bun.serve>
let client: OpenAI

beforeAll(() => {
  server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      if (new URL(req.url).pathname !== '/v1/responses') return new Response('not found', { status: 404 })
      const body: any = await req.json()
      const ctx = mkctx(body)
      codec.decodeRequest(body, ctx)
      if (body.stream) {
        return new Response(codec.encodeStream(scenarioStream(body.model), ctx), { headers: { 'content-type': 'text/event-stream' } })
      }
      return Response.json(codec.encodeResponse(await collect(scenarioStream(body.model)), ctx))
    },
  })
  client = new OpenAI({ apiKey: 'test', baseURL: `http://127.0.0.1:${server.port}/v1`, maxRetries: 0 })
})
afterAll(() => server.stop(true))

/** raw frames: `event:` must equal data.type, sequence numbers count from 0 */
async function rawEvents(body: any): Promise<any[]> {
  const res = await fetch(`http://127.0.0.1:${server.port}/v1/responses`, { method: 'POST', body: JSON.stringify({ ...body, stream: true }) })
  const out: any[] = []
  for await (const m of parseSSE(res.body!)) {
    const data = JSON.parse(m.data)
    expect(m.event).toBe(data.type)
    expect(data.sequence_number).toBe(out.length)
    out.push(data)
  }
  return out
}

describe('encodeStream with the openai SDK', () => {
  test('text: responses.stream + finalResponse', async () => {
    const stream = client.responses.stream({ model: 'text', input: 'hi' })
    const deltas: string[] = []
    stream.on('response.output_text.delta', e => deltas.push(e.delta))
    const final = await stream.finalResponse()
    expect(deltas).toEqual(['Hel', 'lo!'])
    expect(final.status).toBe('completed')
    expect(final.output_text).toBe('Hello!')
    expect(final.model).toBe('text')
    expect(final.usage).toEqual({
      input_tokens: 100,
      input_tokens_details: { cached_tokens: 40, cache_write_tokens: 0 },
      output_tokens: 20,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 120,
    })

    const types = (await rawEvents({ model: 'text', input: 'hi' })).map(e => e.type)
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ])
  })

  test('text: responses.create({stream:true}) iteration', async () => {
    const stream = await client.responses.create({ model: 'text', input: 'hi', stream: true })
    const seen: any[] = []
    for await (const ev of stream) seen.push(ev)
    expect(seen[0].type).toBe('response.created')
    expect(seen[0].response.status).toBe('in_progress')
    const done = seen.at(-1)
    expect(done.type).toBe('response.completed')
    expect(done.response.output[0].content[0].text).toBe('Hello!')
    expect(seen.map(e => e.sequence_number)).toEqual(seen.map((_, i) => i))
  })

  test('reasoning summary + encrypted_content', async () => {
    const stream = client.responses.stream({
      model: 'reasoning',
      input: 'q',
      include: ['reasoning.encrypted_content'],
      reasoning: { effort: 'high', summary: 'auto' },
    })
    const summary: string[] = []
    stream.on('response.reasoning_summary_text.delta', e => summary.push(e.delta))
    const final = await stream.finalResponse()
    expect(summary.join('')).toBe('Let me think.')
    expect(final.output.map(o => o.type)).toEqual(['reasoning', 'reasoning', 'message'])
    const rs = final.output[0] as OpenAI.Responses.ResponseReasoningItem
    expect(rs.summary).toEqual([{ type: 'summary_text', text: 'Let me think.' }])
    expect(rs.encrypted_content).toBe('sig-abc')
    expect((final.output[1] as any).encrypted_content).toBe('agproxy-redacted:opaque')
    expect(final.output_text).toBe('42')
    expect(final.usage?.output_tokens_details.reasoning_tokens).toBe(8)
    expect(final.reasoning).toEqual({ effort: 'high', summary: 'auto' })
  })

  test('parallel (interleaved) function calls, a namespaced and a custom tool', async () => {
    const stream = client.responses.stream({ model: 'tools', input: 'hi', tools: TOOLS as any })
    const argDeltas: Array<[number, string]> = []
    stream.on('response.function_call_arguments.delta', e => argDeltas.push([e.output_index, e.delta]))
    const final = await stream.finalResponse()
    expect(argDeltas).toEqual([
      [1, '{"city":'],
      [2, '{"path":"a.ts"}'],
      [1, '"Paris"}'],
    ])
    expect(final.output.map(o => o.type)).toEqual(['message', 'function_call', 'function_call', 'custom_tool_call', 'function_call'])
    expect(final.output[1]).toMatchObject({ call_id: 'call_w', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' })
    expect(final.output[2]).toMatchObject({ call_id: 'call_r', name: 'read_file', namespace: 'mcp__fs__', arguments: '{"path":"a.ts"}' })
    expect(final.output[3]).toMatchObject({ call_id: 'call_p', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch' })
    expect(final.output[4]).toMatchObject({ call_id: 'call_n', name: 'noargs', arguments: '{}' })
    expect(final.output_text).toBe('Checking.')

    const types = (await rawEvents({ model: 'tools', input: 'hi', tools: TOOLS })).map(e => e.type)
    expect(types).toContain('response.custom_tool_call_input.done')
    expect(types.filter(t => t === 'response.function_call_arguments.done')).toHaveLength(3)
    expect(types.at(-1)).toBe('response.completed')
  })

  test('failed: response.failed with error code and retry hint', async () => {
    const stream = client.responses.stream({ model: 'failed', input: 'hi' })
    const final = await stream.finalResponse()
    expect(final.status).toBe('failed')
    expect(final.error?.code).toBe('rate_limit_exceeded' as any)
    expect(final.error?.message).toContain('try again in 7s')

    const it = await client.responses.create({ model: 'failed', input: 'hi', stream: true })
    const seen: any[] = []
    for await (const ev of it) seen.push(ev)
    expect(seen.at(-1).type).toBe('response.failed')
    expect(seen.at(-1).response.output[0]).toMatchObject({ type: 'message', status: 'incomplete' })
  })

  test('a stream that throws ends with response.failed; a length stop with response.incomplete', async () => {
    const thrown = await rawEvents({ model: 'throws', input: 'hi' })
    expect(thrown.at(-1)).toMatchObject({
      type: 'response.failed',
      response: { status: 'failed', error: { code: 'server_is_overloaded', message: 'Overloaded' } },
    })

    const final = await client.responses.stream({ model: 'incomplete', input: 'hi' }).finalResponse()
    expect(final.status).toBe('incomplete')
    expect(final.incomplete_details).toEqual({ reason: 'max_output_tokens' })
    expect(final.output_text).toBe('cut')
  })

  test('cancelling the client stream cancels the upstream events', async () => {
    let closed = false
    async function* upstream(): AsyncGenerator<IREvent> {
      try {
        yield* events(SCENARIOS.text().slice(0, 3))
        await new Promise(() => {}) // the backend stalls
      } finally {
        closed = true
      }
    }
    const body = codec.encodeStream(upstream(), mkctx({ model: 'm', input: 'hi' }))
    const reader = body.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toStartWith('event: response.created\ndata: {"type":"response.created"')
    await reader.read()
    await reader.read()
    await reader.cancel()
    expect(closed).toBe(true)
  })

  test('non-streaming responses.create and output_text', async () => {
    const res = await client.responses.create({ model: 'tools', input: 'hi', tools: TOOLS as any })
    expect(res.object).toBe('response')
    expect(res.id).toMatch(/^resp_/)
    expect(res.output_text).toBe('Checking.')
    expect(res.output.filter(o => o.type === 'function_call')).toHaveLength(3)
    const text = await client.responses.create({ model: 'text', input: 'hi' })
    expect(text.output_text).toBe('Hello!')
    // stored by default: the next turn can continue from it
    const next = await client.responses.create({ model: 'text', input: 'again', previous_response_id: text.id })
    expect(next.previous_response_id).toBe(text.id)
  })
})

describe('ResponsesBody schema', () => {
  test('accepts Codex and SDK bodies, rejects a missing model', async () => {
    const app = new Elysia().post('/v1/responses', ({ body }) => ({ ok: true, model: body.model }), { body: ResponsesBody })
    const post = (body: unknown) =>
      app.handle(new Request('http://localhost/v1/responses', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))
    expect((await post(codexBody())).status).toBe(200)
    expect((await post({ model: 'm', input: 'hi', temperature: null, reasoning: null, text: { format: { type: 'text' } }, unknown_field: 1 })).status).toBe(200)
    expect((await post({ input: 'hi' })).status).toBe(422)
  })
})
