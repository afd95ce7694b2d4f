/**
 * The endpoints clients call that agproxy answered with 404 (issue 14 §5), through the official SDKs: Gemini
 * embedContent / batchEmbedContents (@google/genai `models.embedContent`), to a Gemini provider (as sent) or an
 * OpenAI-compatible one (translated), and what an Anthropic provider answers; Responses compaction (Codex) and
 * input token counts (`responses.compact`, `responses.inputTokens.count`).
 */
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import { GoogleGenAI } from '@google/genai'
import OpenAI from 'openai'
import { startFake } from './fakes/upstream'
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

  test('to an Anthropic provider: an OpenAI-shaped 400 naming the provider and what to do', async () => {
    const e = await openai()
      .responses.compact({ model: 'claude', input })
      .catch(e => e)
    expect(e).toBeInstanceOf(OpenAI.BadRequestError)
    expect(e.error.message).toContain('provider an is type anthropic')
    expect(e.error.type).toBe('invalid_request_error')
    expect(an.requests.length).toBe(0)
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
