/**
 * Translation matrix, Gemini row: the official `@google/genai` client (generateContent /
 * generateContentStream) against openai, anthropic and gemini providers, each scenario streaming and not.
 * Multi-turn history is kept the way the SDK's own Chat keeps it: every streamed chunk's content in order.
 */
import { expect, test } from 'bun:test'
import { GoogleGenAI, ThinkingLevel, Type, type Content, type GenerateContentConfig, type GenerateContentResponse, type Part } from '@google/genai'
import { at } from './support/at'
import {
  ANSWER_SCHEMA,
  CALLS,
  PNG_B64,
  RESULTS,
  TIME_SCHEMA,
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
  expectToolRoundTripUpstream,
  expectImageUrlRefused,
} from './support/matrix'

const env = await startMatrix()
cleanup(env)
const ai = new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: env.srv.url, apiVersion: 'v1beta' } })

// ───────────── client side ─────────────

interface GenOut {
  /** the model's contents as the SDK's Chat records them (one per chunk when streaming) */
  history: Content[]
  parts: Part[]
  text: string
  thoughts: string
  calls: NonNullable<Part['functionCall']>[]
  finish: string | undefined
  usage: GenerateContentResponse['usageMetadata']
  chunks: GenerateContentResponse[]
}

async function generate(model: string, contents: Content[] | string, config: GenerateContentConfig, stream: boolean): Promise<GenOut> {
  const chunks: GenerateContentResponse[] = []
  if (!stream) chunks.push(await ai.models.generateContent({ model, contents, config }))
  else for await (const c of await ai.models.generateContentStream({ model, contents, config })) chunks.push(c)
  const history = chunks.map(c => c.candidates?.[0]?.content).filter((c): c is Content => !!c?.parts?.length)
  const parts = history.flatMap(c => c.parts ?? [])
  return {
    history,
    parts,
    chunks,
    text: parts
      .filter(p => typeof p.text === 'string' && !p.thought)
      .map(p => p.text)
      .join(''),
    thoughts: parts
      .filter(p => p.thought)
      .map(p => p.text ?? '')
      .join(''),
    calls: parts.filter(p => p.functionCall).map(p => p.functionCall!),
    finish: chunks
      .map(c => c.candidates?.[0]?.finishReason)
      .filter(Boolean)
      .at(-1),
    usage: chunks.at(-1)?.usageMetadata,
  }
}

const user = (text: string): Content => ({ role: 'user', parts: [{ text }] })

/** get_weather as JSON Schema (parametersJsonSchema), get_time as Gemini Schema (parameters) */
const TOOL_DECLS = [
  { name: 'get_weather', description: 'Current weather of a city', parametersJsonSchema: WEATHER_SCHEMA },
  {
    name: 'get_time',
    description: 'Current time in a time zone',
    parameters: { type: Type.OBJECT, properties: { tz: { type: Type.STRING } }, required: ['tz'] },
  },
]

// ───────────── scenarios ─────────────

matrix('gemini', env, {
  async 'plain text with system instruction and sampling'(cell) {
    const out = await generate(
      cell.model(),
      'Say hello',
      {
        systemInstruction: 'You are terse.',
        temperature: 0.4,
        topP: 0.9,
        topK: 40,
        maxOutputTokens: 200,
        stopSequences: ['STOP1', 'STOP2'],
      },
      cell.stream,
    )
    expect(out.text).toBe('echo: Say hello')
    expect(out.finish).toBe('STOP')
    // translated answers show the model the client asked for; a pass-through shows the upstream's own
    for (const c of out.chunks) expect(c.modelVersion).toBe(cell.same ? cell.upstreamModel() : cell.model())
    expectAgproxyHeaders(cell, n => out.chunks[0]?.sdkHttpResponse?.headers?.[n])

    const up = cell.up()
    expect(up.model).toBe(cell.upstreamModel())
    expect(up.stream).toBe(cell.stream)
    expect(up.system).toEqual(['You are terse.'])
    expect(up.messages).toEqual([{ role: 'user', parts: [{ text: 'Say hello' }] }])
    expect(up.temperature).toBe(0.4)
    // Anthropic rejects temperature together with top_p: the translation keeps temperature
    expect(up.topP).toBe(cell.provider === 'anthropic' ? undefined : 0.9)
    expect(up.topK).toBe(cell.provider === 'openai' ? undefined : 40)
    expect(up.maxTokens).toBe(200)
    expect(up.stop).toEqual(['STOP1', 'STOP2'])
  },

  async 'two-turn conversation'(cell) {
    const out = await generate(
      cell.model(),
      [user('My name is Ada.'), { role: 'model', parts: [{ text: 'Nice to meet you, Ada.' }] }, user('What is my name?')],
      { systemInstruction: { parts: [{ text: 'Remember names.' }] } },
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

  async 'images: inline base64 and file URL'(cell) {
    const run = () =>
      generate(
        cell.model(),
        [
          {
            role: 'user',
            parts: [
              { text: 'Describe both.' },
              { inlineData: { mimeType: 'image/png', data: PNG_B64 } },
              { fileData: { mimeType: 'image/png', fileUri: cell.env.imageUrl } },
            ],
          },
        ],
        {},
        cell.stream,
      )
    if (cell.upstream === 'bedrock') return expectImageUrlRefused(cell, run)
    const out = await run()
    expect(out.text).toBe('echo: Describe both.')
    const msg = cell.up().messages[0]
    expect(textOf(msg)).toBe('Describe both.')
    const images = imagesOf(msg)
    expect(images).toHaveLength(2)
    expect(images[0]).toMatchObject({ data: PNG_B64, mediaType: 'image/png' })
    expect(images[1]).toMatchObject({ url: cell.env.imageUrl })
    expect(cell.env.imageHits()).toBe(0) // passed on, never fetched
  },

  async 'parallel function calls and their responses round trip'(cell) {
    cell.fake.enqueue({ kind: 'tool_calls', calls: CALLS }, { kind: 'text', text: 'Sunny, 21°C, noon.' })
    const contents: Content[] = [user('Weather and time in Paris?')]
    const config: GenerateContentConfig = { tools: [{ functionDeclarations: TOOL_DECLS }], toolConfig: { functionCallingConfig: { mode: 'ANY' as any } } }
    const first = await generate(cell.model(), contents, config, cell.stream)

    expect(first.finish).toBe('STOP')
    // Gemini's native form: whole functionCall parts with an args object, also when streaming
    expect(first.calls.map(c => [c.name, c.args])).toEqual(CALLS.map(c => [c.name, c.args]))
    if (cell.provider !== 'gemini') expect(first.calls.map(c => c.id)).toEqual(CALLS.map(c => c.id))
    const up1 = cell.up(0)
    expect(up1.tools.map(t => t.name)).toEqual(['get_weather', 'get_time'])
    expect(up1.toolChoice).toBe('required')
    if (cell.provider === 'gemini') {
      expect(up1.tools[0]?.parameters).toEqual(WEATHER_SCHEMA) // parametersJsonSchema passed through as is
    } else {
      expect(up1.tools[0]?.parameters).toEqual(WEATHER_SCHEMA)
      expect(up1.tools[1]?.parameters).toEqual(TIME_SCHEMA) // Gemini Schema → JSON Schema
      expect(forbiddenGeminiKeys(up1.tools[1]?.parameters)).toEqual([])
    }

    contents.push(...first.history, {
      role: 'user',
      parts: first.calls.map(c => ({ functionResponse: { ...(c.id ? { id: c.id } : {}), name: c.name, response: RESULTS[c.name!] } })),
    })
    const second = await generate(cell.model(), contents, { tools: config.tools }, cell.stream)
    expect(second.text).toBe('Sunny, 21°C, noon.')
    expect(second.finish).toBe('STOP')

    expectToolRoundTripUpstream(
      cell,
      CALLS.map(c => c.id),
    )
  },

  async 'thinking across a tool turn'(cell) {
    const signature = `sig-${cell.provider}-1`
    const thought = 'I should look up the weather.'
    cell.fake.enqueue({ kind: 'tool_calls', calls: [at(CALLS, 0)], thinking: thought, signature }, { kind: 'text', text: 'It is sunny.' })
    const contents: Content[] = [user('Weather in Paris?')]
    const config: GenerateContentConfig = {
      tools: [{ functionDeclarations: [at(TOOL_DECLS, 0)] }],
      thinkingConfig: { includeThoughts: true, thinkingLevel: ThinkingLevel.HIGH },
    }
    const first = await generate(cell.model('think'), contents, config, cell.stream)
    expect(first.thoughts).toBe(thought)
    expect(first.calls.map(c => [c.name, c.args])).toEqual([['get_weather', CALLS[0]?.args]])
    expect(cell.up(0).reasoning).toEqual(
      cell.provider === 'openai' ? { effort: 'high' } : cell.provider === 'anthropic' ? { budget: 16384 } : { level: 'HIGH', includeThoughts: true },
    )
    // the signature comes back where Gemini puts it: on the functionCall (Gemini) or the thought (Anthropic)
    if (cell.provider === 'gemini') expect(first.parts.find(p => p.functionCall)?.thoughtSignature).toBe(signature)
    if (cell.provider === 'anthropic') expect(first.parts.filter(p => p.thought && p.thoughtSignature).map(p => p.thoughtSignature)).toEqual([signature])

    contents.push(...first.history, {
      role: 'user',
      parts: [{ functionResponse: { id: first.calls[0]?.id, name: 'get_weather', response: RESULTS.get_weather } }],
    })
    const second = await generate(cell.model('think'), contents, config, cell.stream)
    expect(second.text).toBe('It is sunny.')

    const assistant = cell.up(1).messages[1]
    expect(callsOf(assistant).map(c => c.name)).toEqual(['get_weather'])
    if (cell.provider === 'gemini') expect(callsOf(assistant)[0]?.signature).toBe(signature)
    // Anthropic checks the signature against the whole thinking text: one block, text and signature together
    if (cell.provider === 'anthropic') {
      expect(thinkingOf(assistant)).toEqual([{ thinking: thought, signature }])
      expect(assistant?.parts[0]).toEqual({ thinking: thought, signature }) // a thinking turn starts with its thinking
    }
    if (cell.provider === 'openai') expect(thinkingOf(assistant)).toEqual([{ thinking: thought }])
  },

  async 'usage with cached and thought tokens'(cell) {
    cell.fake.enqueue({ kind: 'text', text: 'counted', usage: { input: 120, output: 30, cached: 40, reasoning: 10 } })
    const out = await generate(cell.model(), 'Count me', {}, cell.stream)
    expect(out.text).toBe('counted')
    // Gemini counts thoughts apart from candidates; Anthropic does not report reasoning tokens apart
    const thoughts = cell.provider === 'anthropic' ? 0 : 10
    expect(out.usage).toMatchObject({ promptTokenCount: 120, candidatesTokenCount: 30 - thoughts, totalTokenCount: 150, cachedContentTokenCount: 40 })
    expect(out.usage?.thoughtsTokenCount ?? 0).toBe(thoughts)
  },

  async 'JSON schema output cut at max tokens'(cell) {
    cell.fake.enqueue({ kind: 'text', text: '{"answer":', finish: 'length' })
    const out = await generate(
      cell.model(),
      'Answer in JSON',
      { maxOutputTokens: 5, responseMimeType: 'application/json', responseJsonSchema: ANSWER_SCHEMA },
      cell.stream,
    )
    expect(out.text).toBe('{"answer":')
    expect(out.finish).toBe('MAX_TOKENS')
    const up = cell.up()
    expect(up.maxTokens).toBe(5)
    if (cell.provider === 'anthropic') expect(up.system.at(-1)).toContain(JSON.stringify(ANSWER_SCHEMA))
    else expect(up.json?.schema).toEqual(ANSWER_SCHEMA)
  },

  async 'JSON output with a Gemini responseSchema'(cell) {
    cell.fake.enqueue({ kind: 'text', text: '{"answer":"42"}' })
    const responseSchema = { type: Type.OBJECT, properties: { answer: { type: Type.STRING } }, required: ['answer'] }
    const out = await generate(cell.model(), 'Answer in JSON', { responseMimeType: 'application/json', responseSchema }, cell.stream)
    expect(out.text).toBe('{"answer":"42"}')
    const up = cell.up()
    const asJsonSchema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] }
    if (cell.provider === 'gemini') expect(up.raw.generationConfig.responseSchema).toEqual(responseSchema)
    else if (cell.provider === 'openai') expect(up.json?.schema).toEqual(asJsonSchema)
    else expect(up.system.at(-1)).toContain(JSON.stringify(asJsonSchema))
  },
})

// ───────────── same dialect: bytes through ─────────────

for (const stream of [false, true]) {
  test(`gemini → gemini is a pass-through (${stream ? 'stream' : 'non-stream'}): only the model is rewritten`, async () => {
    const fake = env.fakes.gemini
    fake.reset()
    // safetySettings and seed have no IR field: only a pass-through keeps them
    const config: GenerateContentConfig = {
      temperature: 0.2,
      seed: 7,
      safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT' as any, threshold: 'BLOCK_NONE' as any }],
    }
    const direct = new GoogleGenAI({ apiKey: 'k-ge', httpOptions: { baseUrl: fake.url, apiVersion: 'v1beta' } })
    const call = async (client: GoogleGenAI, model: string) => {
      if (!stream) return [await client.models.generateContent({ model, contents: 'Hi there', config })]
      const out: GenerateContentResponse[] = []
      for await (const c of await client.models.generateContentStream({ model, contents: 'Hi there', config })) out.push(c)
      return out
    }
    await call(direct, 'gemini-2.5-flash')
    const sent = fake.last()!

    const chunks = await call(ai, 'plain-gemini')
    expect(chunks.map(c => c.text ?? '').join('')).toBe('echo: Hi there')
    const headers = chunks[0]?.sdkHttpResponse?.headers ?? {}
    expect(headers['x-agproxy-provider']).toBe('ge')
    expect(headers['x-agproxy-model']).toBe('gemini-2.5-flash')
    expect(fake.requests).toHaveLength(2)
    expect(fake.last()!.path).toBe(sent.path)
    expect(fake.last()!.body).toEqual(sent.body)
    expect(fake.last()!.body.safetySettings).toEqual([{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }])
    expect(fake.last()!.body.generationConfig.seed).toBe(7)
  })
}
