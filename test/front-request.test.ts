/**
 * The front door hands Elysia only requests rebuilt on CANONICAL_ORIGIN from the path it authorised — never the request
 * as it came, whose path Elysia would derive on its own (test/security-auth-bypass.test.ts sends the odd Hosts and paths).
 * A model call is not rebuilt at all: the front door hands it to its handler with the path it authorised, which is the
 * path the call is served by (the handler never reads the request's URL).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'
import { rawRequest } from './support/front-door'
import { CANONICAL_ORIGIN } from '../src/http/target'

/** Requests built on CANONICAL_ORIGIN while `f` runs. */
async function rebuilt(f: () => Promise<unknown>): Promise<string[]> {
  const Original = globalThis.Request
  const urls: string[] = []
  globalThis.Request = class extends Original {
    constructor(input: RequestInfo | URL, init?: RequestInit) {
      super(input, init)
      if (this.url.startsWith(CANONICAL_ORIGIN)) urls.push(this.url)
    }
  } as typeof Request
  try {
    await f()
  } finally {
    globalThis.Request = Original
  }
  return urls
}

describe('through agproxy', () => {
  const KEY = 'sk-agproxy-front-request-key-0001'
  let fake: Fake
  let srv: TestServer
  beforeAll(async () => {
    fake = await startFake('openai')
    // bound to all interfaces: no Host guard, so a short Host reaches the router (a key is then required)
    srv = await startAgproxy({
      allow_lan_access: true,
      api_keys: [KEY],
      providers: [{ name: 'oa', type: 'openai', base_url: fake.url, api_keys: ['sk-front-request-0123456789'] }],
      models: { m: 'oa/m' },
    })
  })
  afterAll(async () => {
    await srv?.stop()
    await fake?.stop()
  })

  test('a model call from the openai SDK is served without a rebuilt request, streamed or not', async () => {
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: KEY, maxRetries: 0 })
    fake.requests.length = 0
    const urls = await rebuilt(async () => {
      const whole = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
      expect(whole.choices[0]?.message.content).toBeTruthy()
      const stream = await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] })
      let text = ''
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''
      expect(text).toBeTruthy()
    })
    expect(urls).toEqual([])
    expect(fake.requests.map(r => `${r.method} ${r.path}`)).toEqual(['POST /v1/chat/completions', 'POST /v1/chat/completions'])
  })

  test('a model call on a short Host and a path the front door rewrote is served on the rewritten path', async () => {
    fake.requests.length = 0
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
    const headers = { host: 'a:1', authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }
    const urls = await rebuilt(async () => {
      const res = await rawRequest(srv.port, 'POST', '/openai/v1//chat/completions/', headers, body)
      expect(res.status).toBe(200)
      expect(res.headers.get('x-agproxy-resolved-path')).toBe('/v1/chat/completions')
      expect(JSON.parse(res.body).choices[0].message.content).toBeTruthy()
      // a path the route table does not know is Elysia's (a diagnostic 404), rebuilt on the path authorised
      const lost = await rawRequest(srv.port, 'POST', '/v1/chat/completion', headers, body)
      expect(lost.status).toBe(404)
    })
    expect(urls).toEqual([`${CANONICAL_ORIGIN}/v1/chat/completion`])
    expect(fake.requests.map(r => `${r.method} ${r.path}`)).toEqual(['POST /v1/chat/completions'])
  })

  test('a short Host or a URL with a fragment is still rebuilt on the authorised path, and answered', async () => {
    const urls = await rebuilt(async () => {
      expect((await rawRequest(srv.port, 'GET', '/v1/models', { host: 'a:1', authorization: `Bearer ${KEY}` })).status).toBe(200)
      expect((await rawRequest(srv.port, 'GET', '/v1/models#frag', { host: `localhost:${srv.port}`, authorization: `Bearer ${KEY}` })).status).toBe(200)
    })
    expect(urls).toEqual([`${CANONICAL_ORIGIN}/v1/models`, `${CANONICAL_ORIGIN}/v1/models`])
  })
})

describe('the model in a Gemini path', () => {
  let fake: Fake
  let srv: TestServer
  beforeAll(async () => {
    fake = await startFake('gemini')
    srv = await startAgproxy({
      providers: [{ name: 'gm', type: 'gemini', base_url: fake.url, api_keys: ['gemini-front-request-key-0001'] }],
      models: { 'a%zz': 'gm/gemini-x', 'a%20b': 'gm/gemini-y' },
    })
  })
  afterAll(async () => {
    await srv?.stop()
    await fake?.stop()
  })

  const generate = (encoded: string) =>
    rawRequest(
      srv.port,
      'POST',
      `/v1beta/models/${encoded}:generateContent`,
      { 'content-type': 'application/json' },
      JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    )

  test('is percent-decoded once: %25 is a "%" of the name (never a 500), %2520 the three characters %20', async () => {
    fake.requests.length = 0
    const a = await generate('a%25zz')
    expect({ status: a.status, body: a.body.slice(0, 200) }).toMatchObject({ status: 200 })
    const b = await generate('a%2520b')
    expect({ status: b.status, body: b.body.slice(0, 200) }).toMatchObject({ status: 200 })
    expect(fake.requests.map(r => r.path)).toEqual(['/v1beta/models/gemini-x:generateContent', '/v1beta/models/gemini-y:generateContent'])
  })

  test('a name that is not valid percent-encoding is a 400 in the Gemini dialect that says how to encode it', async () => {
    const res = await generate('a%zz')
    expect(res.status).toBe(400)
    const body = JSON.parse(res.body)
    expect(body.error.status).toBe('INVALID_ARGUMENT')
    expect(body.error.message).toContain('encodeURIComponent')
  })
})
