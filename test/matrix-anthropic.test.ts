/**
 * Translation matrix, Anthropic row: the official `@anthropic-ai/sdk` client (Messages) against openai,
 * anthropic and gemini providers, each scenario streaming and not. Every cell checks what the client got
 * and what the upstream received.
 */
import { expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { at } from './support/at'
import {
  ANSWER_SCHEMA,
  CALLS,
  PNG_B64,
  RESULTS,
  TOOLS,
  WEATHER_SCHEMA,
  callsOf,
  cleanup,
  forbiddenGeminiKeys,
  imagesOf,
  matrix,
  expectAgproxyHeaders,
  resultsOf,
  startMatrix,
  textOf,
  thinkingOf,
  type Cell,
  expectToolRoundTripUpstream,
} from './support/matrix'

const env = await startMatrix()
cleanup(env)
const an = new Anthropic({ baseURL: env.srv.url, apiKey: 'client-key', maxRetries: 0 })

// ───────────── client side ─────────────

interface MsgOut {
  message: Anthropic.Message
  /** raw stream events (empty when not streaming) */
  events: Anthropic.RawMessageStreamEvent[]
  headers: Headers
  text: string
  thinking: Anthropic.ThinkingBlock[]
  toolUses: Anthropic.ToolUseBlock[]
}

/** One Messages call through agproxy; streaming goes through the SDK's MessageStream (finalMessage). */
async function messages(params: Record<string, any>, stream: boolean): Promise<MsgOut> {
  let message: Anthropic.Message
  let headers: Headers
  const events: Anthropic.RawMessageStreamEvent[] = []
  if (!stream) {
    const r = await an.messages.create({ ...params, stream: false } as any).withResponse()
    message = r.data as Anthropic.Message
    headers = r.response.headers
  } else {
    const r = await an.messages.stream(params as any).withResponse()
    headers = r.response.headers
    for await (const ev of r.data) events.push(ev)
    message = await r.data.finalMessage()
  }
  return {
    message,
    events,
    headers,
    text: message.content
      .filter((b): b is Anthropic.TextBlock => b.type === 'text')
      .map(b => b.text)
      .join(''),
    thinking: message.content.filter((b): b is Anthropic.ThinkingBlock => b.type === 'thinking'),
    toolUses: message.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use'),
  }
}

const tools = (list = TOOLS) => list.map(t => ({ name: t.name, description: t.description, input_schema: t.parameters }))

/** in a stream, tool input arrives as input_json_delta events (several, except from Gemini, whose calls come whole) */
function expectInputJsonDeltas(cell: Cell, out: MsgOut) {
  if (!cell.stream) return
  out.toolUses.forEach((_, i) => {
    const start = out.events.findIndex(
      e => e.type === 'content_block_start' && e.content_block.type === 'tool_use' && e.content_block.name === out.toolUses[i]?.name,
    )
    const index = (out.events[start] as Anthropic.RawContentBlockStartEvent).index
    const deltas = out.events
      .filter(e => e.type === 'content_block_delta' && e.index === index && e.delta.type === 'input_json_delta')
      .map(e => ((e as Anthropic.RawContentBlockDeltaEvent).delta as Anthropic.InputJSONDelta).partial_json)
      .filter(Boolean)
    expect(JSON.parse(deltas.join(''))).toEqual(out.toolUses[i]?.input as any)
    if (cell.provider === 'gemini') expect(deltas.length).toBeGreaterThanOrEqual(1)
    else expect(deltas.length).toBeGreaterThan(1)
  })
}

// ───────────── scenarios ─────────────

matrix('anthropic', env, {
  async 'plain text with system prompt and sampling'(cell) {
    const out = await messages(
      {
        model: cell.model(),
        max_tokens: 200,
        system: [{ type: 'text', text: 'You are terse.' }],
        messages: [{ role: 'user', content: 'Say hello' }],
        temperature: 0.4,
        top_p: 0.9,
        top_k: 40,
        stop_sequences: ['STOP1', 'STOP2'],
      },
      cell.stream,
    )
    expect(out.text).toBe('echo: Say hello')
    expect(out.message.stop_reason).toBe('end_turn')
    // translated answers show the model the client asked for; a pass-through shows the upstream's own
    expect(out.message.model).toBe(cell.same ? cell.upstreamModel() : cell.model())
    expectAgproxyHeaders(cell, n => out.headers.get(n))

    const up = cell.up()
    expect(up.model).toBe(cell.upstreamModel())
    expect(up.stream).toBe(cell.stream)
    expect(up.system).toEqual(['You are terse.'])
    expect(up.messages).toEqual([{ role: 'user', parts: [{ text: 'Say hello' }] }])
    expect(up.temperature).toBe(0.4)
    expect(up.topP).toBe(0.9)
    expect(up.topK).toBe(cell.provider === 'openai' ? undefined : 40) // OpenAI has no top_k
    expect(up.maxTokens).toBe(200)
    expect(up.stop).toEqual(['STOP1', 'STOP2'])
  },

  async 'two-turn conversation'(cell) {
    const out = await messages(
      {
        model: cell.model(),
        max_tokens: 100,
        system: 'Remember names.',
        messages: [
          { role: 'user', content: 'My name is Ada.' },
          { role: 'assistant', content: 'Nice to meet you, Ada.' },
          { role: 'user', content: [{ type: 'text', text: 'What is my name?' }] },
        ],
      },
      cell.stream,
    )
    expect(out.text).toBe('echo: What is my name?')
    const up = cell.up()
    expect(up.system).toEqual(['Remember names.'])
    expect(up.messages).toEqual([
      { role: 'user', parts: [{ text: 'My name is Ada.' }] },
      { role: 'assistant', parts: [{ text: 'Nice to meet you, Ada.' }] },
      { role: 'user', parts: [{ text: 'What is my name?' }] },
    ])
  },

  async 'images: base64 and URL'(cell) {
    const out = await messages(
      {
        model: cell.model(),
        max_tokens: 100,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Describe both.' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } },
              { type: 'image', source: { type: 'url', url: cell.env.imageUrl } },
              { type: 'image', source: { type: 'url', url: 'file:///etc/hostname' } },
            ],
          },
        ],
      },
      cell.stream,
    )
    expect(out.text).toBe('echo: Describe both.')
    const user = cell.up().messages[0]
    expect(textOf(user)).toBe('Describe both.')
    const images = imagesOf(user)
    expect(images).toHaveLength(3)
    expect(images[0]).toMatchObject({ data: PNG_B64, mediaType: 'image/png' })
    expect(images[1]).toMatchObject({ url: cell.env.imageUrl })
    expect(images[2]).toMatchObject({ url: 'file:///etc/hostname' }) // a URL, never read as a local file
    expect(images[2]?.data).toBeUndefined()
    expect(cell.env.imageHits()).toBe(0) // passed on, never fetched
  },

  async 'parallel tool calls and their results round trip'(cell) {
    cell.fake.enqueue({ kind: 'tool_calls', calls: CALLS }, { kind: 'text', text: 'Sunny, 21°C, noon.' })
    const history: any[] = [{ role: 'user', content: 'Weather and time in Paris?' }]
    const first = await messages(
      { model: cell.model(), max_tokens: 500, messages: history, tools: tools(), tool_choice: { type: 'tool', name: 'get_weather' } },
      cell.stream,
    )

    expect(first.message.stop_reason).toBe('tool_use')
    expect(first.toolUses.map(b => [b.name, b.input])).toEqual(CALLS.map(c => [c.name, c.args]))
    expect(new Set(first.toolUses.map(b => b.id)).size).toBe(2)
    for (const b of first.toolUses) expect(b.id).toMatch(/^[A-Za-z0-9_-]+$/)
    expectInputJsonDeltas(cell, first)
    const up1 = cell.up(0)
    expect(up1.tools.map(t => t.name)).toEqual(['get_weather', 'get_time'])
    expect(up1.toolChoice).toBe('tool:get_weather')
    if (cell.provider === 'gemini') {
      expect(forbiddenGeminiKeys(up1.tools[0]?.parameters)).toEqual([])
      expect(up1.tools[0]?.parameters.properties.city).toMatchObject({ description: 'City name' })
    } else {
      expect(up1.tools[0]?.parameters).toEqual(WEATHER_SCHEMA)
    }

    history.push(
      { role: 'assistant', content: first.message.content },
      { role: 'user', content: first.toolUses.map(b => ({ type: 'tool_result', tool_use_id: b.id, content: JSON.stringify(RESULTS[b.name]) })) },
    )
    const second = await messages({ model: cell.model(), max_tokens: 500, messages: history, tools: tools(), tool_choice: { type: 'auto' } }, cell.stream)
    expect(second.text).toBe('Sunny, 21°C, noon.')
    expect(second.message.stop_reason).toBe('end_turn')

    expectToolRoundTripUpstream(
      cell,
      first.toolUses.map(b => b.id),
    )
  },

  async 'thinking across a tool turn'(cell) {
    const signature = `sig-${cell.provider}-1`
    const thought = 'I should look up the weather.'
    cell.fake.enqueue({ kind: 'tool_calls', calls: [at(CALLS, 0)], thinking: thought, signature }, { kind: 'text', text: 'It is sunny.' })
    const history: any[] = [{ role: 'user', content: 'Weather in Paris?' }]
    const body = { model: cell.model('think'), max_tokens: 4096, tools: tools([at(TOOLS, 0)]), thinking: { type: 'enabled', budget_tokens: 2048 } }
    const first = await messages({ ...body, messages: history }, cell.stream)
    expect(first.thinking.map(b => b.thinking)).toEqual([thought])
    if (cell.provider === 'anthropic') expect(first.thinking[0]?.signature).toBe(signature)
    expect(first.toolUses.map(b => [b.name, b.input])).toEqual([['get_weather', CALLS[0]?.args]])
    expect(first.message.stop_reason).toBe('tool_use')
    expect(cell.up(0).reasoning).toEqual(
      cell.provider === 'openai' ? { effort: 'low' } : cell.provider === 'anthropic' ? { budget: 2048 } : { budget: 2048, includeThoughts: true },
    )

    history.push(
      { role: 'assistant', content: first.message.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: first.toolUses[0]?.id, content: JSON.stringify(RESULTS.get_weather) }] },
    )
    const second = await messages({ ...body, messages: history }, cell.stream)
    expect(second.text).toBe('It is sunny.')

    const up2 = cell.up(1)
    const assistant = up2.messages[1]
    expect(callsOf(assistant).map(c => c.name)).toEqual(['get_weather'])
    expect(resultsOf(up2.messages[2]).map(r => r.value)).toEqual([RESULTS.get_weather])
    if (cell.provider === 'anthropic') {
      // the signed thinking block goes back intact, and thinking stays on for the tool turn
      expect(thinkingOf(assistant)).toEqual([{ thinking: thought, signature }])
      expect(assistant?.parts[0]).toEqual({ thinking: thought, signature }) // a thinking turn starts with its thinking
      expect(up2.reasoning).toEqual({ budget: 2048 })
    }
    if (cell.provider === 'openai') expect(thinkingOf(assistant)).toEqual([{ thinking: thought }])
    if (cell.provider === 'gemini') expect(callsOf(assistant)[0]?.signature).toBe(signature)
  },

  async 'usage with cached tokens'(cell) {
    cell.fake.enqueue({ kind: 'text', text: 'counted', usage: { input: 120, output: 30, cached: 40, reasoning: 10 } })
    const out = await messages({ model: cell.model(), max_tokens: 100, messages: [{ role: 'user', content: 'Count me' }] }, cell.stream)
    expect(out.text).toBe('counted')
    // Anthropic input_tokens exclude cache reads
    expect(out.message.usage).toMatchObject({ input_tokens: 80, output_tokens: 30, cache_read_input_tokens: 40 })
    expect(out.message.usage.cache_creation_input_tokens ?? 0).toBe(0)
  },

  async 'JSON schema output cut at max tokens'(cell) {
    cell.fake.enqueue({ kind: 'text', text: '{"answer":', finish: 'length' })
    const out = await messages(
      {
        model: cell.model(),
        max_tokens: 5,
        messages: [{ role: 'user', content: 'Answer in JSON' }],
        output_config: { format: { type: 'json_schema', schema: ANSWER_SCHEMA } },
      },
      cell.stream,
    )
    expect(out.text).toBe('{"answer":')
    expect(out.message.stop_reason).toBe('max_tokens')
    const up = cell.up()
    expect(up.maxTokens).toBe(5)
    expect(up.json?.schema).toMatchObject({ type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] })
  },
})

// ───────────── same dialect: bytes through ─────────────

for (const stream of [false, true]) {
  test(`anthropic → anthropic is a pass-through (${stream ? 'stream' : 'non-stream'}): only the model is rewritten`, async () => {
    const fake = env.fakes.anthropic
    fake.reset()
    const body = {
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Hi there' }],
      stream,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      x_vendor_extension: { keep: ['me', 1] },
      context_management: { edits: [] },
    }
    const direct = new Anthropic({ baseURL: fake.url, apiKey: 'k-an', maxRetries: 0 })
    const d = await direct.messages.create({ ...body, model: 'claude-sonnet-4-6' } as any)
    if (stream)
      for await (const _ of d as any) {
        /* drain */
      }
    const sent = fake.last()!.body

    const { data, response } = await an.messages
      .create({ ...body, model: 'plain-anthropic' } as any, { headers: { 'anthropic-beta': 'fake-beta-2026' } })
      .withResponse()
    let text = ''
    if (stream) {
      for await (const e of data as any) if (e.type === 'content_block_delta') text += e.delta.text ?? ''
    } else text = (data as any).content[0].text
    expect(text).toBe('echo: Hi there')
    expect(response.headers.get('x-agproxy-provider')).toBe('an')
    expect(response.headers.get('x-agproxy-model')).toBe('claude-sonnet-4-6')
    expect(fake.requests).toHaveLength(2)
    expect(fake.last()!.body).toEqual(sent)
    expect(fake.last()!.body.x_vendor_extension).toEqual({ keep: ['me', 1] })
    expect(fake.last()!.headers['anthropic-beta']).toBe('fake-beta-2026')
  })
}
