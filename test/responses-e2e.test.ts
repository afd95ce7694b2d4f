/**
 * The Responses API end to end: the official `openai` client's `responses.create` and `responses.stream`
 * against openai (pass-through to /v1/responses), anthropic and gemini providers. Text, function tools
 * round trip with function_call_output, reasoning items carried to the next turn, usage, and the event
 * stream itself. Every cell checks what the client got and what the upstream received.
 */
import { expect, test } from 'bun:test'
import OpenAI from 'openai'
import { at } from './support/at'
import type {
  Response as OAResponse,
  ResponseStreamEvent,
  ResponseFunctionToolCall,
  ResponseReasoningItem,
  ResponseOutputMessage,
} from 'openai/resources/responses/responses'
import {
  CALLS,
  RESULTS,
  TOOLS,
  WEATHER_SCHEMA,
  callsOf,
  cleanup,
  forbiddenGeminiKeys,
  matrix,
  resultsOf,
  startMatrix,
  thinkingOf,
  type Cell,
  expectToolRoundTripUpstream,
} from './support/matrix'

const env = await startMatrix()
cleanup(env)
const oa = new OpenAI({ baseURL: `${env.srv.url}/v1`, apiKey: 'client-key', maxRetries: 0 })

// ───────────── client side ─────────────

interface Out {
  response: OAResponse
  events: ResponseStreamEvent[]
  text: string
  calls: ResponseFunctionToolCall[]
  reasoning: ResponseReasoningItem[]
}

/** responses.create (non-streaming) or responses.stream (events + finalResponse) through agproxy */
async function respond(body: Record<string, any>, stream: boolean): Promise<Out> {
  const events: ResponseStreamEvent[] = []
  let response: OAResponse
  if (!stream) response = (await oa.responses.create({ ...body, stream: false } as any)) as OAResponse
  else {
    const s = oa.responses.stream(body as any)
    for await (const ev of s) events.push(ev)
    response = (await s.finalResponse()) as OAResponse
  }
  return {
    response,
    events,
    text: response.output_text,
    calls: response.output.filter((i): i is ResponseFunctionToolCall => i.type === 'function_call'),
    reasoning: response.output.filter((i): i is ResponseReasoningItem => i.type === 'reasoning'),
  }
}

/** the stream's own shape: created → in_progress → … → completed/incomplete, sequence numbers 0, 1, 2, … */
function expectWellFormedStream(out: Out, end = 'response.completed') {
  const types: string[] = out.events.map(e => e.type)
  expect(types.slice(0, 2)).toEqual(['response.created', 'response.in_progress'])
  expect(types.at(-1)).toBe(end)
  expect(out.events.map(e => e.sequence_number)).toEqual(out.events.map((_, i) => i))
  // every item that is added is also done, at the same output_index
  const added = out.events.filter(e => e.type === 'response.output_item.added').map(e => (e as any).output_index)
  const done = out.events.filter(e => e.type === 'response.output_item.done').map(e => (e as any).output_index)
  expect(done).toEqual(added)
  expect(added).toEqual(out.response.output.map((_, i) => i))
}

const tools = (list = TOOLS) =>
  list.map(t => ({ type: 'function' as const, name: t.name, description: t.description, parameters: t.parameters, strict: false }))

const shownModel = (cell: Cell, kind: 'plain' | 'think' = 'plain') => (cell.same ? cell.upstreamModel(kind) : cell.model(kind))

// ───────────── scenarios ─────────────

matrix(
  'openai',
  env,
  {
    async 'text with instructions and a developer message'(cell) {
      const out = await respond(
        {
          model: cell.model(),
          instructions: 'You are terse.',
          input: [
            { role: 'developer', content: 'Answer in English.' },
            { role: 'user', content: [{ type: 'input_text', text: 'Say hello' }] },
          ],
          temperature: 0.4,
          max_output_tokens: 200,
        },
        cell.stream,
      )
      expect(out.text).toBe('echo: Say hello')
      expect(out.response.status).toBe('completed')
      expect(out.response.model).toBe(shownModel(cell))
      const messages = out.response.output.filter((i): i is ResponseOutputMessage => i.type === 'message')
      expect(messages).toHaveLength(1)
      expect(messages[0]?.role).toBe('assistant')
      if (cell.stream) {
        expectWellFormedStream(out)
        const deltas = out.events.filter(e => e.type === 'response.output_text.delta').map(e => (e as any).delta)
        expect(deltas.length).toBeGreaterThan(1)
        expect(deltas.join('')).toBe('echo: Say hello')
        expect(out.events.find(e => e.type === 'response.output_text.done')).toMatchObject({ text: 'echo: Say hello' })
        expect(out.events.find(e => e.type === 'response.content_part.added')).toBeDefined()
      }

      const up = cell.up()
      expect(up.model).toBe(cell.upstreamModel())
      expect(up.stream).toBe(cell.stream)
      expect(up.system).toEqual(['You are terse.', 'Answer in English.'])
      expect(up.messages).toEqual([{ role: 'user', parts: [{ text: 'Say hello' }] }])
      expect(up.temperature).toBe(0.4)
      expect(up.maxTokens).toBe(200)
    },

    async 'function tools round trip with function_call_output'(cell) {
      cell.fake.enqueue({ kind: 'tool_calls', calls: CALLS }, { kind: 'text', text: 'Sunny, 21°C, noon.' })
      const input: any[] = [{ role: 'user', content: 'Weather and time in Paris?' }]
      const first = await respond({ model: cell.model(), input, tools: tools(), tool_choice: 'required', store: false }, cell.stream)

      expect(first.calls.map(c => [c.name, JSON.parse(c.arguments)])).toEqual(CALLS.map(c => [c.name, c.args]))
      expect(new Set(first.calls.map(c => c.call_id)).size).toBe(2)
      expect(first.response.status).toBe('completed')
      if (cell.stream) {
        expectWellFormedStream(first)
        for (const call of first.calls) {
          const deltas = first.events.filter(e => e.type === 'response.function_call_arguments.delta' && e.item_id === call.id).map(e => (e as any).delta)
          expect(deltas.join('')).toBe(call.arguments)
          if (cell.provider === 'gemini')
            expect(deltas.length).toBeGreaterThanOrEqual(1) // Gemini sends calls whole
          else expect(deltas.length).toBeGreaterThan(1)
          expect(first.events.find(e => e.type === 'response.function_call_arguments.done' && e.item_id === call.id)).toMatchObject({
            arguments: call.arguments,
          })
        }
      }
      const up1 = cell.up(0)
      expect(up1.tools.map(t => t.name)).toEqual(['get_weather', 'get_time'])
      expect(up1.toolChoice).toBe('required')
      if (cell.provider === 'gemini') expect(forbiddenGeminiKeys(up1.tools[0]?.parameters)).toEqual([])
      else expect(up1.tools[0]?.parameters).toEqual(WEATHER_SCHEMA)

      input.push(
        ...first.response.output,
        ...first.calls.map(c => ({ type: 'function_call_output', call_id: c.call_id, output: JSON.stringify(RESULTS[c.name]) })),
      )
      const second = await respond({ model: cell.model(), input, tools: tools(), store: false }, cell.stream)
      expect(second.text).toBe('Sunny, 21°C, noon.')
      expect(second.calls).toEqual([])

      expectToolRoundTripUpstream(
        cell,
        first.calls.map(c => c.call_id),
      )
    },

    async 'reasoning items carried across a tool turn'(cell) {
      const signature = `sig-${cell.provider}-1`
      const thought = 'I should look up the weather.'
      cell.fake.enqueue({ kind: 'tool_calls', calls: [at(CALLS, 0)], thinking: thought, signature }, { kind: 'text', text: 'It is sunny.' })
      const body = {
        model: cell.model('think'),
        tools: tools([at(TOOLS, 0)]),
        store: false,
        reasoning: { effort: 'high', summary: 'auto' },
        include: ['reasoning.encrypted_content'],
      }
      const input: any[] = [{ role: 'user', content: 'Weather in Paris?' }]
      const first = await respond({ ...body, input }, cell.stream)

      expect(first.reasoning).toHaveLength(1)
      expect(first.reasoning[0]?.summary).toEqual([{ type: 'summary_text', text: thought }])
      // Anthropic's signature rides in encrypted_content; Gemini puts its signature on the functionCall instead
      if (cell.provider !== 'gemini') expect(first.reasoning[0]?.encrypted_content).toBe(signature)
      expect(first.calls.map(c => [c.name, JSON.parse(c.arguments)])).toEqual([['get_weather', CALLS[0]?.args]])
      expect(first.response.output.map(i => i.type)).toEqual(['reasoning', 'function_call'])
      if (cell.stream) {
        expectWellFormedStream(first)
        const summary = first.events.filter(e => e.type === 'response.reasoning_summary_text.delta').map(e => (e as any).delta)
        expect(summary.join('')).toBe(thought)
      }
      expect(cell.up(0).reasoning).toEqual(
        cell.provider === 'openai' ? { effort: 'high' } : cell.provider === 'anthropic' ? { budget: 16384 } : { level: 'high', includeThoughts: true },
      )

      input.push(...first.response.output, { type: 'function_call_output', call_id: first.calls[0]?.call_id, output: JSON.stringify(RESULTS.get_weather) })
      const second = await respond({ ...body, input }, cell.stream)
      expect(second.text).toBe('It is sunny.')

      const up2 = cell.up(1)
      const assistant = up2.messages[1]
      expect(callsOf(assistant).map(c => c.name)).toEqual(['get_weather'])
      expect(resultsOf(up2.messages[2]).map(r => r.value)).toEqual([RESULTS.get_weather])
      if (cell.provider === 'gemini') expect(callsOf(assistant)[0]?.signature).toBe(signature)
      else expect(thinkingOf(assistant)).toEqual([{ thinking: thought, signature }])
      if (cell.provider === 'anthropic') expect(up2.reasoning).toEqual({ budget: 16384 }) // thinking stays on
    },

    async 'usage with cached and reasoning tokens'(cell) {
      cell.fake.enqueue({ kind: 'text', text: 'counted', usage: { input: 120, output: 30, cached: 40, reasoning: 10 } })
      const out = await respond({ model: cell.model(), input: 'Count me' }, cell.stream)
      expect(out.text).toBe('counted')
      expect(out.response.usage).toMatchObject({
        input_tokens: 120,
        output_tokens: 30,
        total_tokens: 150,
        input_tokens_details: { cached_tokens: 40 },
        output_tokens_details: { reasoning_tokens: cell.provider === 'anthropic' ? 0 : 10 },
      })
    },

    async 'incomplete at max_output_tokens'(cell) {
      cell.fake.enqueue({ kind: 'text', text: 'Once upon a', finish: 'length' })
      const out = await respond({ model: cell.model(), input: 'Tell a story', max_output_tokens: 3 }, cell.stream)
      expect(out.text).toBe('Once upon a')
      expect(out.response.status).toBe('incomplete')
      expect(out.response.incomplete_details).toEqual({ reason: 'max_output_tokens' })
      if (cell.stream) expectWellFormedStream(out, 'response.incomplete')
      expect(cell.up().maxTokens).toBe(3)
    },
  },
  { label: 'responses client' },
)

// ───────────── same dialect: bytes through ─────────────

for (const stream of [false, true]) {
  test(`responses → openai is a pass-through (${stream ? 'stream' : 'non-stream'}): only the model is rewritten`, async () => {
    const fake = env.fakes.openai
    fake.reset()
    const body = { input: 'Hi there', store: false, x_vendor_extension: { keep: ['me', 1] }, text: { verbosity: 'low' } }
    const direct = new OpenAI({ baseURL: fake.url, apiKey: 'k-oa', maxRetries: 0 })
    const d = await direct.responses.create({ ...body, model: 'gpt-4o', stream } as any)
    if (stream)
      for await (const _ of d as any) {
        /* drain */
      }
    const sent = fake.last()!.body

    const { data, response } = await oa.responses.create({ ...body, model: 'plain-openai', stream } as any).withResponse()
    let text = ''
    if (stream) {
      for await (const e of data as any) if (e.type === 'response.output_text.delta') text += e.delta
    } else text = (data as any).output_text
    expect(text).toBe('echo: Hi there')
    expect(response.headers.get('x-agproxy-provider')).toBe('oa')
    expect(response.headers.get('x-agproxy-model')).toBe('gpt-4o')
    expect(fake.requests).toHaveLength(2)
    expect(fake.last()!.path).toBe('/v1/responses')
    expect(fake.last()!.body).toEqual(sent)
    expect(fake.last()!.body.x_vendor_extension).toEqual({ keep: ['me', 1] })
  })
}
