/**
 * The front door hands Elysia only requests rebuilt on CANONICAL_ORIGIN from the path it authorised — never the request
 * as it came, whose path Elysia would derive on its own (test/security-auth-bypass.test.ts sends the odd Hosts and paths).
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

  test('a model call from the openai SDK reaches Elysia rebuilt on the authorised path, streamed or not', async () => {
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: KEY, maxRetries: 0 })
    const urls = await rebuilt(async () => {
      const whole = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
      expect(whole.choices[0]?.message.content).toBeTruthy()
      const stream = await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] })
      let text = ''
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''
      expect(text).toBeTruthy()
    })
    expect(urls).toEqual([`${CANONICAL_ORIGIN}/v1/chat/completions`, `${CANONICAL_ORIGIN}/v1/chat/completions`])
  })

  test('a short Host or a URL with a fragment is still rebuilt on the authorised path, and answered', async () => {
    const urls = await rebuilt(async () => {
      expect((await rawRequest(srv.port, 'GET', '/v1/models', { host: 'a:1', authorization: `Bearer ${KEY}` })).status).toBe(200)
      expect((await rawRequest(srv.port, 'GET', '/v1/models#frag', { host: `localhost:${srv.port}`, authorization: `Bearer ${KEY}` })).status).toBe(200)
    })
    expect(urls).toEqual([`${CANONICAL_ORIGIN}/v1/models`, `${CANONICAL_ORIGIN}/v1/models`])
  })
})
