/**
 * The endpoints clients call that agproxy answered with 404 (issue 14 §5), through the official SDKs: Gemini
 * embedContent / batchEmbedContents (@google/genai `models.embedContent`), to a Gemini provider (as sent) or an
 * OpenAI-compatible one (translated), and what an Anthropic provider answers; Responses compaction (Codex) and
 * input token counts (`responses.compact`, `responses.inputTokens.count`); images (`images.generate`, `images.edit` with a
 * file) to OpenAI providers as sent and to Gemini image models through generateContent; audio transcriptions
 * (`audio.transcriptions.create` with a file).
 */
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import { GoogleGenAI } from '@google/genai'
import OpenAI, { toFile } from 'openai'
import { PNG_1X1, startFake } from './fakes/upstream'
import { startAgproxy } from './support/agproxy'

const gm = await startFake('gemini', { keys: ['g-key'] })
const oa = await startFake('openai', { keys: ['o-key'] })
const an = await startFake('anthropic', { keys: ['a-key'] })
const srv = await startAgproxy({
  providers: [
    { name: 'gm', type: 'gemini', base_url: gm.url, api_keys: ['g-key'] },
    { name: 'oa', type: 'openai', base_url: oa.url, api_keys: ['o-key'] },
    { name: 'an', type: 'anthropic', base_url: an.url, api_keys: ['a-key'] },
  ],
  models: {
    'my-embed': 'gm/gemini-embedding-001',
    'oa-embed': 'oa/text-embedding-3-small',
    'an-embed': 'an/claude-sonnet-4-5',
    codex: 'oa/gpt-5',
    claude: 'an/claude-sonnet-4-5',
    gem: 'gm/gemini-2.5-flash',
    'my-image': 'oa/gpt-image-1',
    nano: 'gm/gemini-2.5-flash-image',
    whisper: 'oa/whisper-1',
  },
  retry: { max_attempts: 1, max_wait: 0 },
})
afterAll(async () => {
  await srv.stop(0)
  await Promise.all([gm.stop(), oa.stop(), an.stop()])
})
beforeEach(() => {
  gm.reset()
  oa.reset()
  an.reset()
})

const openai = () => new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'client', maxRetries: 0 })
const genai = () => new GoogleGenAI({ apiKey: 'client', httpOptions: { baseUrl: srv.url } })

describe('Gemini embedContent / batchEmbedContents', () => {
  test('the SDK to a Gemini provider: sent as is, each request naming the routed model', async () => {
    const r = await genai().models.embedContent({ model: 'my-embed', contents: ['one', 'two'], config: { outputDimensionality: 8 } })
    expect(r.embeddings?.length).toBe(2)
    expect(r.embeddings?.[0]?.values?.length).toBe(8)
    const rec = gm.last()
    expect(rec?.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents')
    expect(rec?.key).toBe('g-key')
    expect(rec?.body.requests.map((q: { model: string }) => q.model)).toEqual(['models/gemini-embedding-001', 'models/gemini-embedding-001'])
  })

  test(':embedContent to a Gemini provider', async () => {
    const res = await fetch(`${srv.url}/v1beta/models/my-embed:embedContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'client' },
      body: JSON.stringify({ model: 'models/my-embed', content: { parts: [{ text: 'hello' }] } }),
    })
    expect(res.status).toBe(200)
    const j = await res.json()
    expect(j.embedding.values.length).toBe(3072)
    expect(gm.last()?.path).toBe('/v1beta/models/gemini-embedding-001:embedContent')
    expect(gm.last()?.body.model).toBe('models/gemini-embedding-001')
  })

  test('the SDK to an OpenAI-compatible provider: its /embeddings, answered in Google’s shape', async () => {
    const r = await genai().models.embedContent({ model: 'oa-embed', contents: ['one', 'two', 'three'], config: { outputDimensionality: 4 } })
    expect(r.embeddings?.map(e => e.values?.length)).toEqual([4, 4, 4])
    const rec = oa.last()
    expect(rec?.path).toBe('/v1/embeddings')
    expect(rec?.body).toMatchObject({ model: 'text-embedding-3-small', input: ['one', 'two', 'three'], dimensions: 4 })
    const single = await fetch(`${srv.url}/v1beta/models/oa-embed:embedContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: { parts: [{ text: 'hello' }] } }),
    }).then(r => r.json())
    expect(single.embedding.values.length).toBe(1536)
  })

  test('an Anthropic provider: a Google-shaped 400 saying where to route it', async () => {
    const res = await fetch(`${srv.url}/v1beta/models/an-embed:embedContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: { parts: [{ text: 'hello' }] } }),
    })
    expect(res.status).toBe(400)
    const j = await res.json()
    expect(j.error.status).toBe('INVALID_ARGUMENT')
    expect(j.error.message).toContain('OpenAI-compatible or Gemini provider')
    expect(an.requests.length).toBe(0)
  })

  test('an upstream error comes back in Google’s shape', async () => {
    gm.handler = () => ({ kind: 'error', status: 429, message: 'quota' })
    const res = await fetch(`${srv.url}/v1beta/models/my-embed:batchEmbedContents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [{ model: 'models/my-embed', content: { parts: [{ text: 'x' }] } }] }),
    })
    expect(res.status).toBe(429)
    expect((await res.json()).error.status).toBe('RESOURCE_EXHAUSTED')
  })
})

describe('POST /v1/responses/compact (Codex remote compaction)', () => {
  const input: OpenAI.Responses.ResponseInputItem[] = [
    { role: 'user', content: 'fix the bug in main.rs' },
    { role: 'assistant', content: 'I looked at main.rs.' },
    { role: 'user', content: 'now add a test' },
  ]

  test('to an OpenAI provider: as sent, the model rewritten; the compacted items come back', async () => {
    const r = await openai().responses.compact({ model: 'codex', input, instructions: 'You are Codex.' })
    expect(r.object).toBe('response.compaction')
    expect(r.output.map(i => i.type)).toEqual(['message', 'message', 'compaction'])
    const rec = oa.last()
    expect(rec?.path).toBe('/v1/responses/compact')
    expect(rec?.key).toBe('o-key')
    expect(rec?.body).toMatchObject({ model: 'gpt-5', instructions: 'You are Codex.' })
    expect(rec?.body.input).toEqual(input)
  })

  test('to an Anthropic provider: the model writes a summary; the user messages, then the summary', async () => {
    const r = await openai().responses.compact({ model: 'claude', input, instructions: 'You are Codex.' })
    expect(r.object).toBe('response.compaction')
    expect(r.output.length).toBe(3)
    expect(r.output.slice(0, 2)).toMatchObject([
      { type: 'message', role: 'user', content: 'fix the bug in main.rs' },
      { type: 'message', role: 'user', content: 'now add a test' },
    ])
    const summary = r.output[2] as unknown as OpenAI.Responses.ResponseInputItem.Message
    expect(summary.role).toBe('user')
    expect(summary.content[0]).toMatchObject({
      type: 'input_text',
      text: expect.stringMatching(/^Summary of the conversation so far .*\n\necho: now add a test.*Write a handoff/s),
    })
    expect(r.usage.input_tokens).toBeGreaterThan(0)
    const rec = an.last()
    expect(rec?.path).toBe('/v1/messages')
    expect(rec?.body.stream).toBeFalsy()
    expect(rec?.body.system).toEqual([{ type: 'text', text: 'You are Codex.' }])
    // the ask follows the last user message (Anthropic merges the two into one turn)
    expect(rec?.body.messages.at(-1).content.at(-1).text).toContain('handoff summary')
  })

  test('to a Gemini provider: the same, through generateContent', async () => {
    const r = await openai().responses.compact({ model: 'gem', input: 'just this' })
    expect(r.output.map(i => (i as unknown as { role: string }).role)).toEqual(['user', 'user'])
    expect(gm.last()?.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent')
  })

  test('an upstream error keeps its status, in the OpenAI shape', async () => {
    oa.handler = () => ({ kind: 'error', status: 400, message: 'input is too long to compact' })
    const e = await openai()
      .responses.compact({ model: 'codex', input })
      .catch(e => e)
    expect(e).toBeInstanceOf(OpenAI.BadRequestError)
    expect(e.error.message).toContain('input is too long to compact')
  })
})

describe('POST /v1/responses/input_tokens', () => {
  test('to an OpenAI provider: its own count', async () => {
    const r = await openai().responses.inputTokens.count({ model: 'codex', input: 'a'.repeat(400) })
    expect(r).toEqual({ object: 'response.input_tokens', input_tokens: 100 })
    expect(oa.last()?.path).toBe('/v1/responses/input_tokens')
    expect(oa.last()?.body.model).toBe('gpt-5')
  })

  test('to an Anthropic provider: its count_tokens API', async () => {
    const r = await openai().responses.inputTokens.count({ model: 'claude', input: 'hello there', instructions: 'be brief' })
    expect(r.object).toBe('response.input_tokens')
    expect(r.input_tokens).toBeGreaterThan(0)
    expect(an.last()?.path).toBe('/v1/messages/count_tokens')
    expect(an.last()?.body).toMatchObject({ model: 'claude-sonnet-4-5', system: [{ type: 'text', text: 'be brief' }] })
  })

  test('to a Gemini provider: its countTokens API', async () => {
    const r = await openai().responses.inputTokens.count({ model: 'gem', input: 'hello there' })
    expect(r.object).toBe('response.input_tokens')
    expect(r.input_tokens).toBeGreaterThan(0)
    expect(gm.last()?.path).toBe('/v1beta/models/gemini-2.5-flash:countTokens')
  })
})

const png = () => toFile(Buffer.from(PNG_1X1, 'base64'), 'cat.png', { type: 'image/png' })

describe('POST /v1/images/generations', () => {
  test('to an OpenAI provider: as sent, the model rewritten', async () => {
    const r = await openai().images.generate({ model: 'my-image', prompt: 'a watercolor fox', size: '1024x1024' })
    expect(r.data?.[0]?.b64_json).toBe(PNG_1X1)
    expect(oa.last()?.path).toBe('/v1/images/generations')
    expect(oa.last()?.body).toEqual({ model: 'gpt-image-1', prompt: 'a watercolor fox', size: '1024x1024' })
  })

  test('to a Gemini image model: generateContent with image output, answered as b64_json', async () => {
    const r = await openai().images.generate({ model: 'nano', prompt: 'a watercolor fox', size: '1536x1024', n: 2 })
    expect(r.data?.map(d => d.b64_json)).toEqual([PNG_1X1, PNG_1X1])
    expect(r.usage?.output_tokens).toBe(2580)
    const rec = gm.last()
    expect(rec?.path).toBe('/v1beta/models/gemini-2.5-flash-image:generateContent')
    expect(rec?.key).toBe('g-key')
    expect(rec?.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'a watercolor fox' }] }],
      generationConfig: { responseModalities: ['TEXT', 'IMAGE'], candidateCount: 2, imageConfig: { aspectRatio: '3:2' } },
    })
  })

  test('response_format url from a Gemini model: a data: URL', async () => {
    const r = await openai().images.generate({ model: 'nano', prompt: 'a fox', response_format: 'url' })
    expect(r.data?.[0]?.url).toBe(`data:image/png;base64,${PNG_1X1}`)
  })

  test('a Gemini model without image output: its 400 comes back in the OpenAI shape', async () => {
    const e = await openai()
      .images.generate({ model: 'gem', prompt: 'a fox' })
      .catch(e => e)
    expect(e).toBeInstanceOf(OpenAI.BadRequestError)
    expect(e.error.message).toContain('response modalities')
  })

  test('an Anthropic provider: a 400 saying where to route it', async () => {
    const e = await openai()
      .images.generate({ model: 'claude', prompt: 'a fox' })
      .catch(e => e)
    expect(e).toBeInstanceOf(OpenAI.BadRequestError)
    expect(e.error.message).toContain('gemini-2.5-flash-image')
    expect(an.requests.length).toBe(0)
  })
})

describe('POST /v1/images/edits (multipart)', () => {
  test('to an OpenAI provider: the form as sent (same boundary), only the model rewritten', async () => {
    const r = await openai().images.edit({ model: 'my-image', image: await png(), prompt: 'add a red hat' })
    expect(r.data?.[0]?.b64_json).toBe(PNG_1X1)
    const rec = oa.last()
    expect(rec?.path).toBe('/v1/images/edits')
    expect(rec?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/)
    expect(rec?.body).toMatchObject({ model: 'gpt-image-1', prompt: 'add a red hat', image: { filename: 'cat.png', type: 'image/png', size: 70 } })
  })

  test('to a Gemini image model: the images and prompt through generateContent', async () => {
    const r = await openai().images.edit({ model: 'nano', image: [await png(), await png()], prompt: 'add a red hat' })
    expect(r.data?.[0]?.b64_json).toBe(PNG_1X1)
    expect(r.data?.[0]?.revised_prompt).toBe('Here is your image (from 2 images).')
    const parts = gm.last()?.body.contents[0].parts
    expect(parts).toEqual([
      { inlineData: { mimeType: 'image/png', data: PNG_1X1 } },
      { inlineData: { mimeType: 'image/png', data: PNG_1X1 } },
      { text: 'add a red hat' },
    ])
  })

  test('a mask to a Gemini image model: the edit goes on, the log says the mask was not used', async () => {
    const r = await openai().images.edit({ model: 'nano', image: await png(), mask: await png(), prompt: 'add a red hat' })
    expect(r.data?.[0]?.b64_json).toBe(PNG_1X1)
    expect(srv.logs.some(l => l.includes('mask: Gemini image models take no mask'))).toBe(true)
  })

  test('a JSON body: 415 saying to send multipart/form-data', async () => {
    const res = await fetch(`${srv.url}/v1/images/edits`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'my-image', prompt: 'x' }),
    })
    expect(res.status).toBe(415)
    expect((await res.json()).error.message).toContain('multipart/form-data')
  })

  test('a form without a model: 400 naming the field', async () => {
    const form = new FormData()
    form.append('prompt', 'x')
    form.append('image', new Blob([Buffer.from(PNG_1X1, 'base64')], { type: 'image/png' }), 'cat.png')
    const res = await fetch(`${srv.url}/v1/images/edits`, { method: 'POST', body: form })
    expect(res.status).toBe(400)
    expect((await res.json()).error.param).toBe('model')
  })

  test('a broken multipart body: 400 saying what is wrong', async () => {
    const res = await fetch(`${srv.url}/v1/images/edits`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=XYZ' },
      body: '--XYZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nmy-image',
    })
    expect(res.status).toBe(400)
    expect((await res.json()).error.message).toContain('not valid multipart/form-data')
  })
})

describe('POST /v1/audio/transcriptions (multipart)', () => {
  const audio = () => toFile(Buffer.alloc(2048, 7), 'hello.mp3', { type: 'audio/mpeg' })

  test('to an OpenAI provider: the form as sent, json answer', async () => {
    const r = await openai().audio.transcriptions.create({ model: 'whisper', file: await audio() })
    expect(r.text).toBe('transcript of hello.mp3 (2048 bytes)')
    expect(oa.last()?.path).toBe('/v1/audio/transcriptions')
    expect(oa.last()?.body).toMatchObject({ model: 'whisper-1', file: { filename: 'hello.mp3', size: 2048 } })
  })

  test('response_format text and srt: the text with its own content type', async () => {
    const text = await openai().audio.transcriptions.create({ model: 'whisper', file: await audio(), response_format: 'text' })
    expect(text).toBe('transcript of hello.mp3 (2048 bytes)\n')
    const form = new FormData()
    form.append('model', 'whisper')
    form.append('response_format', 'srt')
    form.append('file', new Blob([Buffer.alloc(10)], { type: 'audio/mpeg' }), 'a.mp3')
    const res = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: 'POST', body: form })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/x-subrip')
    expect(await res.text()).toContain('00:00:00,000 --> 00:00:01,000')
  })

  test('stream: the events relayed', async () => {
    const stream = await openai().audio.transcriptions.create({ model: 'whisper', file: await audio(), stream: true })
    const types: string[] = []
    for await (const ev of stream) types.push(ev.type)
    expect(types).toEqual(['transcript.text.delta', 'transcript.text.done'])
  })

  test('an Anthropic provider: a 400 saying where to route it', async () => {
    const e = await openai()
      .audio.transcriptions.create({ model: 'claude', file: await audio() })
      .catch(e => e)
    expect(e).toBeInstanceOf(OpenAI.BadRequestError)
    expect(e.error.message).toContain('openai provider')
  })

  test('a missing file: the upstream’s 400, in the OpenAI shape', async () => {
    const form = new FormData()
    form.append('model', 'whisper')
    const res = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: 'POST', body: form })
    expect(res.status).toBe(400)
    expect((await res.json()).error.message).toContain("'file'")
  })
})

describe('multipart bodies: relayed byte for byte, bounded like JSON', () => {
  test('the upstream gets the exact bytes and content type, only the model value changed', async () => {
    let got: { type: string | null; bytes: Uint8Array } | undefined
    const capture = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      async fetch(req) {
        got = { type: req.headers.get('content-type'), bytes: new Uint8Array(await req.arrayBuffer()) }
        return Response.json({ text: 'ok' })
      },
    })
    const gw = await startAgproxy({
      providers: [{ name: 'cap', type: 'openai', base_url: `http://127.0.0.1:${capture.port}/v1`, api_key: 'c-key' }],
      models: { stt: 'cap/whisper-1' },
    })
    try {
      // binary file content with CR/LF and bytes that are not UTF-8, and a quoted boundary
      const audio = new Uint8Array([0xff, 0xfe, 13, 10, 45, 45, 0, 1, 2, 0x80, 13, 10])
      const te = new TextEncoder()
      const head = (name: string, extra = '') => `--b0undary\r\nContent-Disposition: form-data; name="${name}"${extra}\r\n`
      const parts = [
        te.encode(`${head('file', '; filename="a.wav"')}Content-Type: audio/wav\r\n\r\n`),
        audio,
        te.encode(`\r\n${head('model')}\r\nstt\r\n${head('language')}\r\nde\r\n--b0undary--\r\n`),
      ]
      const body = Buffer.concat(parts)
      const type = 'multipart/form-data; boundary="b0undary"'
      const res = await fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { 'content-type': type }, body })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ text: 'ok' })
      expect(got?.type).toBe(type)
      const expected = Buffer.concat([parts[0]!, audio, te.encode(`\r\n${head('model')}\r\nwhisper-1\r\n${head('language')}\r\nde\r\n--b0undary--\r\n`)])
      expect(Buffer.from(got!.bytes).equals(expected)).toBe(true)
    } finally {
      await gw.stop(0)
      capture.stop(true)
    }
  })

  test('over max_body_mb: 413 in the OpenAI shape naming the setting, nothing sent upstream', async () => {
    const gw = await startAgproxy({
      max_body_mb: 1,
      providers: [{ name: 'oa', type: 'openai', base_url: oa.url, api_key: 'o-key' }],
      models: { whisper: 'oa/whisper-1' },
    })
    try {
      const e = await new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client', maxRetries: 0 }).audio.transcriptions
        .create({ model: 'whisper', file: await toFile(Buffer.alloc(1_200_000), 'big.mp3') })
        .catch(e => e)
      expect(e).toBeInstanceOf(OpenAI.APIError)
      expect(e.status).toBe(413)
      expect(e.error.message).toContain('max_body_mb')
      expect(oa.requests.length).toBe(0)
    } finally {
      await gw.stop(0)
    }
  })
})

describe('compaction and input tokens on a chat-only server (responses: auto | chat)', () => {
  test('auto: the 404 on /v1/responses/compact is remembered; a summary through Chat Completions', async () => {
    const chatOnly = await startFake('openai', { chatOnly: true })
    const gw = await startAgproxy({ providers: [{ name: 'local', type: 'openai', base_url: chatOnly.url, api_key: 'x' }], models: { qwen: 'local/qwen3' } })
    try {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client', maxRetries: 0 })
      const r = await client.responses.compact({ model: 'qwen', input: 'refactor the parser' })
      expect(r.object).toBe('response.compaction')
      expect(r.output.length).toBe(2)
      expect(JSON.stringify(r.output[1])).toContain('Summary of the conversation so far')
      expect(chatOnly.requests.map(q => q.path)).toEqual(['/v1/responses/compact', '/v1/chat/completions'])
      expect(gw.logs.filter(l => l.includes('has no /v1/responses')).length).toBe(1)
      // known chat-only now: input tokens are estimated here, nothing more is sent
      const n = await client.responses.inputTokens.count({ model: 'qwen', input: 'a'.repeat(400) })
      expect(n.object).toBe('response.input_tokens')
      expect(n.input_tokens).toBeGreaterThan(50)
      expect(chatOnly.requests.length).toBe(2)
    } finally {
      await gw.stop(0)
      await chatOnly.stop()
    }
  })

  test('chat: straight to Chat Completions', async () => {
    const chatOnly = await startFake('openai', { chatOnly: true })
    const gw = await startAgproxy({
      providers: [{ name: 'local', type: 'openai', base_url: chatOnly.url, api_key: 'x', responses: 'chat' }],
      models: { qwen: 'local/qwen3' },
    })
    try {
      const r = await new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client', maxRetries: 0 }).responses.compact({ model: 'qwen', input: 'hi' })
      expect(r.output.length).toBe(2)
      expect(chatOnly.requests.map(q => q.path)).toEqual(['/v1/chat/completions'])
    } finally {
      await gw.stop(0)
      await chatOnly.stop()
    }
  })
})
