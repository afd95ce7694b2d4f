/**
 * The front door hands Elysia the request as it came when Elysia would route it on exactly the path and query the
 * front door authorised (a canonical URL, a Host of 4+ characters: every real client), and a request rebuilt on
 * CANONICAL_ORIGIN otherwise (test/security-auth-bypass.test.ts sends the odd Hosts and paths).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'
import { rawRequest } from './support/front-door'
import { CANONICAL_ORIGIN, routesAs } from '../src/http/target'

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

/** What Elysia routes on (dist/utils.mjs getPath): from the first "/" at index 11 on. */
const elysiaTail = (url: string) => url.slice(url.indexOf('/', 11))

describe('routesAs: the request as it came is routed on the authorised path and query, or it is rebuilt', () => {
  test.each([
    ['http://localhost:8045/v1/chat/completions', true],
    ['http://127.0.0.1:8045/v1beta/models/m:streamGenerateContent?alt=sse', true],
    ['http://abcd/v1/models', true],
    ['http://[::1]:8045/v1/models?x=1&y=%20', true],
    ['http://abc/v1/models', false],
    ['http://a:1/swagger/v1/chat/completions', false],
    ['http://localhost:8045/v1/./chat/completions', false],
    ['http://localhost:8045/a/../v1/messages', false],
    ['http://LOCALHOST:8045/v1/models', false],
    ['http://localhost:80/v1/models', false],
    ['http://localhost:8045/v1/models?', false],
    ['http://localhost:8045/v1/models?a b', false],
    ['http://localhost:8045/a b', false],
    ['http://localhost:8045/v1/models#x', false],
  ])('%s → %p', (raw, expected) => {
    const url = new URL(raw)
    const as = routesAs(raw, url, url.pathname)
    expect(as).toBe(expected)
    // whenever it says so, Elysia's own read of the URL gives exactly the authorised path and query
    if (as) expect(elysiaTail(raw)).toBe(url.pathname + url.search)
  })

  test('a path the front door rewrote is never taken from the URL', () => {
    const url = new URL('http://localhost:8045/v1/models')
    expect(routesAs(url.href, url, '/v1/messages')).toBe(false)
  })
})

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

  test('a model call from the openai SDK goes to Elysia as it came (no Request rebuilt), streamed or not', async () => {
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: KEY, maxRetries: 0 })
    const urls = await rebuilt(async () => {
      const whole = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
      expect(whole.choices[0]?.message.content).toBeTruthy()
      const stream = await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] })
      let text = ''
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''
      expect(text).toBeTruthy()
    })
    expect(urls).toEqual([])
  })

  test('a short Host or a URL with a fragment is still rebuilt on the authorised path, and answered', async () => {
    const urls = await rebuilt(async () => {
      expect((await rawRequest(srv.port, 'GET', '/v1/models', { host: 'a:1', authorization: `Bearer ${KEY}` })).status).toBe(200)
      expect((await rawRequest(srv.port, 'GET', '/v1/models#frag', { host: `localhost:${srv.port}`, authorization: `Bearer ${KEY}` })).status).toBe(200)
    })
    expect(urls).toEqual([`${CANONICAL_ORIGIN}/v1/models`, `${CANONICAL_ORIGIN}/v1/models`])
  })
})
