/**
 * The endpoints clients call that agproxy answered with 404 (issue 14 §5), through the official SDKs: Gemini
 * embedContent / batchEmbedContents (@google/genai `models.embedContent`), to a Gemini provider (as sent) or an
 * OpenAI-compatible one (translated), and what an Anthropic provider answers.
 */
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import { GoogleGenAI } from '@google/genai'
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
  models: { 'my-embed': 'gm/gemini-embedding-001', 'oa-embed': 'oa/text-embedding-3-small', 'an-embed': 'an/claude-sonnet-4-5' },
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
