/**
 * Translation matrix, OpenAI row: the official `openai` client (Chat Completions) against openai,
 * anthropic and gemini providers, each scenario streaming and not. Every cell checks what the client got
 * and what the upstream received.
 */
import { expect, test } from 'bun:test'
import OpenAI from 'openai'
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
  startMatrix,
  textOf,
  thinkingOf,
  type Cell,
  expectToolRoundTripUpstream,
  expectImageUrlRefused,
} from './support/matrix'

const env = await startMatrix()
cleanup(env)
const oa = new OpenAI({ baseURL: `${env.srv.url}/v1`, apiKey: 'client-key', maxRetries: 0 })

// ───────────── client side ─────────────

interface ChatCall {
  id: string
  name: string
  args: any
  fragments: string[]
}
interface ChatOut {
  model: string
  text: string
  reasoning: string
  calls: ChatCall[]
  finish: string | null
  usage: OpenAI.CompletionUsage | undefined
  /** the assistant message as an agent loop sends it back */
  message: any
  headers: Headers
  chunks: OpenAI.ChatCompletionChunk[]
}

/** One Chat Completions call through agproxy, non-streaming or streaming (accumulated like an agent loop does). */
async function chat(body: Record<string, any>, stream: boolean): Promise<ChatOut> {
  if (!stream) {
    const { data, response } = await oa.chat.completions.create({ ...body, stream: false } as any).withResponse()
    const c = (data as OpenAI.ChatCompletion).choices[0]
    const m = c?.message as any
    return {
      model: data.model,
      text: m.content ?? '',
      reasoning: m.reasoning_content ?? '',
      finish: c?.finish_reason ?? null,
      usage: data.usage,
      message: m,
      calls: (m.tool_calls ?? []).map((tc: any) => ({
        id: tc.id,
        name: tc.function.name,
        args: JSON.parse(tc.function.arguments),
        fragments: [tc.function.arguments],
      })),
      headers: response.headers,
      chunks: [],
    }
  }
  const { data, response } = await oa.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } } as any).withResponse()
  const out: ChatOut = {
    model: '',
    text: '',
    reasoning: '',
    calls: [],
    finish: null,
    usage: undefined,
    message: undefined,
    headers: response.headers,
    chunks: [],
  }
  const byIndex = new Map<number, ChatCall>()
  for await (const chunk of data as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
    out.chunks.push(chunk)
    out.model = chunk.model
    if (chunk.usage) out.usage = chunk.usage
    const c = chunk.choices[0]
    if (!c) continue
    const d = c.delta as any
    if (d.content) out.text += d.content
    if (d.reasoning_content) out.reasoning += d.reasoning_content
    for (const tc of d.tool_calls ?? []) {
      let call = byIndex.get(tc.index)
      if (!call) {
        call = { id: tc.id, name: tc.function?.name ?? '', args: undefined, fragments: [] }
        byIndex.set(tc.index, call)
        out.calls.push(call)
      }
      if (tc.function?.arguments) call.fragments.push(tc.function.arguments)
    }
    if (c.finish_reason) out.finish = c.finish_reason
  }
  for (const call of out.calls) call.args = JSON.parse(call.fragments.join(''))
  out.message = {
    role: 'assistant',
    content: out.text || null,
    ...(out.reasoning ? { reasoning_content: out.reasoning } : {}),
    ...(out.calls.length
      ? { tool_calls: out.calls.map(c => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.fragments.join('') } })) }
      : {}),
  }
  return out
}

const tools = (list = TOOLS) => list.map(t => ({ type: 'function' as const, function: t }))

/** in a stream, a tool call's arguments arrive as several tool_calls[].function.arguments deltas,
 *  except from Gemini, which sends each functionCall whole */
function expectArgDeltas(cell: Cell, out: ChatOut) {
  if (!cell.stream) return
  for (const c of out.calls) {
    if (cell.provider === 'gemini') expect(c.fragments.length).toBeGreaterThanOrEqual(1)
    else expect(c.fragments.length).toBeGreaterThan(1)
  }
}

// ───────────── scenarios ─────────────

matrix('openai', env, {
  async 'plain text with system/developer prompts and sampling'(cell) {
    const out = await chat(
      {
        model: cell.model(),
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'developer', content: 'Answer in English.' },
          { role: 'user', content: 'Say hello' },
        ],
        temperature: 0.4,
        top_p: 0.9,
        max_tokens: 200,
        stop: ['STOP1', 'STOP2'],
      },
      cell.stream,
    )
    expect(out.text).toBe('echo: Say hello')
    expect(out.finish).toBe('stop')
    // translated answers show the model the client asked for; a pass-through shows the upstream's own
    expect(out.model).toBe(cell.same ? cell.upstreamModel() : cell.model())
    expectAgproxyHeaders(cell, n => out.headers.get(n))

    const up = cell.up()
    expect(up.model).toBe(cell.upstreamModel())
    expect(up.stream).toBe(cell.stream)
    expect(up.system).toEqual(['You are terse.', 'Answer in English.'])
    expect(up.messages).toEqual([{ role: 'user', parts: [{ text: 'Say hello' }] }])
    expect(up.temperature).toBe(0.4)
    // Anthropic rejects temperature together with top_p: the translation keeps temperature
    expect(up.topP).toBe(cell.provider === 'anthropic' ? undefined : 0.9)
    expect(up.maxTokens).toBe(200)
    expect(up.stop).toEqual(['STOP1', 'STOP2'])
  },

  async 'two-turn conversation'(cell) {
    const out = await chat(
      {
        model: cell.model(),
        messages: [
          { role: 'system', content: 'Remember names.' },
          { role: 'user', content: 'My name is Ada.' },
          { role: 'assistant', content: 'Nice to meet you, Ada.' },
          { role: 'user', content: 'What is my name?' },
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
    const run = () =>
      chat(
        {
          model: cell.model(),
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'Describe both.' },
                { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_B64}` } },
                { type: 'image_url', image_url: { url: cell.env.imageUrl } },
              ],
            },
          ],
        },
        cell.stream,
      )
    if (cell.upstream === 'bedrock') return expectImageUrlRefused(cell, run)
    const out = await run()
    expect(out.text).toBe('echo: Describe both.')
    const user = cell.up().messages[0]
    expect(textOf(user)).toBe('Describe both.')
    const images = imagesOf(user)
    expect(images).toHaveLength(2)
    expect(images[0]).toMatchObject({ data: PNG_B64, mediaType: 'image/png' })
    expect(images[1]).toMatchObject({ url: cell.env.imageUrl })
    expect(cell.env.imageHits()).toBe(0) // passed on, never fetched
  },

  async 'parallel tool calls and their results round trip'(cell) {
    cell.fake.enqueue({ kind: 'tool_calls', calls: CALLS }, { kind: 'text', text: 'Sunny, 21°C, noon.' })
    const messages: any[] = [{ role: 'user', content: 'Weather and time in Paris?' }]
    const first = await chat({ model: cell.model(), messages, tools: tools(), tool_choice: 'required', parallel_tool_calls: true }, cell.stream)

    expect(first.finish).toBe('tool_calls')
    expect(first.calls.map(c => [c.name, c.args])).toEqual(CALLS.map(c => [c.name, c.args]))
    expect(new Set(first.calls.map(c => c.id)).size).toBe(2)
    expectArgDeltas(cell, first)
    const up1 = cell.up(0)
    expect(up1.tools.map(t => t.name)).toEqual(['get_weather', 'get_time'])
    expect(up1.toolChoice).toBe('required')
    if (cell.provider === 'gemini') {
      expect(forbiddenGeminiKeys(up1.tools[0]?.parameters)).toEqual([])
      expect(up1.tools[0]?.parameters.properties.city).toMatchObject({ description: 'City name' })
      expect(up1.tools[0]?.parameters.required).toEqual(['city'])
    } else {
      expect(up1.tools[0]?.parameters).toEqual(WEATHER_SCHEMA)
    }

    messages.push(first.message, ...first.calls.map(c => ({ role: 'tool', tool_call_id: c.id, content: JSON.stringify(RESULTS[c.name]) })))
    const second = await chat({ model: cell.model(), messages, tools: tools(), tool_choice: 'auto' }, cell.stream)
    expect(second.text).toBe('Sunny, 21°C, noon.')
    expect(second.finish).toBe('stop')

    expectToolRoundTripUpstream(
      cell,
      first.calls.map(c => c.id),
    )
  },

  async 'thinking across a tool turn'(cell) {
    const signature = `sig-${cell.provider}-1`
    cell.fake.enqueue(
      { kind: 'tool_calls', calls: [at(CALLS, 0)], thinking: 'I should look up the weather.', signature },
      { kind: 'text', text: 'It is sunny.' },
    )
    const messages: any[] = [{ role: 'user', content: 'Weather in Paris?' }]
    const body = { model: cell.model('think'), tools: tools([at(TOOLS, 0)]), reasoning_effort: 'high' }
    const first = await chat({ ...body, messages }, cell.stream)
    expect(first.reasoning).toBe('I should look up the weather.')
    expect(first.calls.map(c => [c.name, c.args])).toEqual([['get_weather', CALLS[0]?.args]])
    expect(cell.up(0).reasoning).toEqual(
      cell.provider === 'openai' ? { effort: 'high' } : cell.provider === 'anthropic' ? { budget: 16384 } : { level: 'high', includeThoughts: true },
    )

    messages.push(first.message, { role: 'tool', tool_call_id: first.calls[0]?.id, content: JSON.stringify(RESULTS.get_weather) })
    const second = await chat({ ...body, messages }, cell.stream)
    expect(second.text).toBe('It is sunny.')

    const assistant = cell.up(1).messages[1]
    expect(callsOf(assistant).map(c => c.name)).toEqual(['get_weather'])
    if (cell.provider === 'openai') expect(thinkingOf(assistant)).toEqual([{ thinking: 'I should look up the weather.' }])
    // Chat has no field for an Anthropic signature: agproxy remembered the signed thinking by tool call id
    // and puts it back, so thinking stays on across the tool turn
    if (cell.provider === 'anthropic') {
      expect(thinkingOf(assistant)).toEqual([{ thinking: 'I should look up the weather.', signature }])
      expect(cell.up(1).reasoning).toEqual({ budget: 16384 })
    }
    // Gemini 3: the functionCall goes back with the thoughtSignature it came with
    if (cell.provider === 'gemini') expect(callsOf(assistant)[0]?.signature).toBe(signature)
  },

  async 'usage with cached and reasoning tokens'(cell) {
    cell.fake.enqueue({ kind: 'text', text: 'counted', usage: { input: 120, output: 30, cached: 40, reasoning: 10 } })
    const out = await chat({ model: cell.model(), messages: [{ role: 'user', content: 'Count me' }] }, cell.stream)
    expect(out.text).toBe('counted')
    expect(out.usage).toMatchObject({
      prompt_tokens: 120,
      completion_tokens: 30,
      total_tokens: 150,
      prompt_tokens_details: { cached_tokens: 40 },
      // Anthropic does not report reasoning tokens apart
      completion_tokens_details: { reasoning_tokens: cell.provider === 'anthropic' ? 0 : 10 },
    })
  },

  async 'JSON schema output cut at max tokens'(cell) {
    cell.fake.enqueue({ kind: 'text', text: '{"answer":', finish: 'length' })
    const out = await chat(
      {
        model: cell.model(),
        max_tokens: 5,
        messages: [{ role: 'user', content: 'Answer in JSON' }],
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: ANSWER_SCHEMA, strict: true } },
      },
      cell.stream,
    )
    expect(out.text).toBe('{"answer":')
    expect(out.finish).toBe('length')
    const up = cell.up()
    expect(up.maxTokens).toBe(5)
    if (cell.provider === 'anthropic') expect(up.system.at(-1)).toContain(JSON.stringify(ANSWER_SCHEMA))
    else expect(up.json?.schema).toMatchObject({ type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] })
  },
})

// ───────────── same dialect: bytes through ─────────────

for (const stream of [false, true]) {
  test(`openai → openai is a pass-through (${stream ? 'stream' : 'non-stream'}): only the model is rewritten`, async () => {
    const fake = env.fakes.openai
    fake.reset()
    const body = {
      messages: [{ role: 'user', content: 'Hi there' }],
      temperature: 0.2,
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
      x_vendor_extension: { keep: ['me', 1] },
      metadata: { trace: 'abc' },
    }
    const direct = new OpenAI({ baseURL: fake.url, apiKey: 'k-oa', maxRetries: 0 })
    const d = await direct.chat.completions.create({ ...body, model: 'gpt-4o' } as any)
    if (stream)
      for await (const _ of d as any) {
        /* drain */
      }
    const sent = fake.last()!.body

    const { data, response } = await oa.chat.completions.create({ ...body, model: 'plain-openai' } as any).withResponse()
    let text = ''
    if (stream) {
      for await (const c of data as any) text += c.choices[0]?.delta?.content ?? ''
    } else text = (data as any).choices[0].message.content
    expect(text).toBe('echo: Hi there')
    expect(response.headers.get('x-agproxy-provider')).toBe('oa')
    expect(response.headers.get('x-agproxy-model')).toBe('gpt-4o')
    expect(fake.requests).toHaveLength(2)
    expect(fake.last()!.body).toEqual(sent)
    expect(fake.last()!.body.x_vendor_extension).toEqual({ keep: ['me', 1] })
  })
}
