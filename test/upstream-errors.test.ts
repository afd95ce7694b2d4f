/**
 * Upstream errors reach the client in the client's own dialect with a faithful status, read through each
 * official SDK's error classes: 400 stays 400 with the upstream's message; 401/403 from upstream become 502
 * "upstream rejected the provider key for <provider>" (never agproxy's own 401); 429 stays 429 with
 * retry-after; 500 stays an error of the 5xx family. Every client dialect × every provider type, and no
 * message ever carries a provider key.
 *
 * One key per provider, default retry settings (3 attempts, 30 s budget): retryable failures (401/403/429/5xx)
 * are tried on the provider's other keys first, then — if the budget allows — on the same key once it has
 * cooled. The fakes therefore fail every attempt (setDefault), and a 429 asks for longer than the budget, so
 * what the client sees is agproxy's final answer. Each case gets a fresh agproxy (a failure leaves the key
 * cooling or disabled).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { ApiError, GoogleGenAI } from '@google/genai'
import { startFake, type Fake, type ProviderType } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { json } from './support/front-door'

type Dialect = 'openai' | 'anthropic' | 'gemini'
const TYPES: ProviderType[] = ['openai', 'anthropic', 'gemini']
const DIALECTS: Dialect[] = ['openai', 'anthropic', 'gemini']

const KEY: Record<ProviderType, string> = {
  openai: 'sk-proj-UPSTREAMSECRET0000openai0001',
  anthropic: 'sk-ant-api03-UPSTREAMSECRET0000anthropic01',
  gemini: 'AIzaSyUPSTREAMSECRET0000gemini00000001',
}

const fakes = {} as Record<ProviderType, Fake>
beforeAll(async () => {
  for (const t of TYPES) fakes[t] = await startFake(t)
})
afterAll(async () => {
  await Promise.all(TYPES.map(t => fakes[t].stop()))
})
const running: TestServer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(s => s.stop(0)))
  TYPES.forEach(t => fakes[t].reset())
})

async function agproxyFor(type: ProviderType, settings: Record<string, unknown> = {}) {
  const base = type === 'openai' ? fakes[type].url : `http://127.0.0.1:${fakes[type].port}`
  const srv = await startAgproxy({ providers: [{ name: `up-${type}`, type, base_url: base, api_key: KEY[type] }], ...settings })
  running.push(srv)
  return srv
}

interface Caught {
  status: number
  message: string
  headers?: Headers
  error: unknown
}

/** One model call through the dialect's official SDK (no SDK retries); the error it throws. */
async function callAndCatch(dialect: Dialect, srv: TestServer, apiKey = 'client-key'): Promise<Caught> {
  try {
    switch (dialect) {
      case 'openai':
        await new OpenAI({ baseURL: `${srv.url}/v1`, apiKey, maxRetries: 0 }).chat.completions.create({
          model: 'some-model',
          messages: [{ role: 'user', content: 'hi' }],
        })
        break
      case 'anthropic':
        await new Anthropic({ baseURL: srv.url, apiKey, maxRetries: 0 }).messages.create({
          model: 'some-model',
          max_tokens: 16,
          messages: [{ role: 'user', content: 'hi' }],
        })
        break
      case 'gemini': {
        let headers: Headers | undefined
        const spy = async (u: any, i: any) => {
          const r = await fetch(u, i)
          headers = r.headers
          return r
        }
        try {
          await new GoogleGenAI({ apiKey, httpOptions: { baseUrl: srv.url, fetch: spy as typeof fetch } }).models.generateContent({
            model: 'some-model',
            contents: 'hi',
          })
        } catch (e) {
          if (e instanceof ApiError) return { status: e.status, message: JSON.parse(e.message).error.message, headers, error: e }
          throw e
        }
        break
      }
    }
  } catch (e: any) {
    if (e instanceof OpenAI.APIError || e instanceof Anthropic.APIError) {
      const message = dialect === 'openai' ? (e as any).error?.message : (e as any).error?.error?.message
      return { status: e.status!, message, headers: e.headers as Headers, error: e }
    }
    throw e
  }
  throw new Error('expected the call to fail')
}

/** the SDK error class a status maps to, per dialect */
function expectClass(dialect: Dialect, c: Caught) {
  if (dialect === 'gemini') return expect(c.error).toBeInstanceOf(ApiError)
  const sdk: any = dialect === 'openai' ? OpenAI : Anthropic
  const cls =
    c.status === 400
      ? sdk.BadRequestError
      : c.status === 401
        ? sdk.AuthenticationError
        : c.status === 429
          ? sdk.RateLimitError
          : c.status >= 500
            ? sdk.InternalServerError
            : sdk.APIError
  expect(c.error).toBeInstanceOf(cls)
}

const noKey = (c: Caught) => {
  for (const k of Object.values(KEY)) {
    expect(c.message).not.toContain(k)
    expect(c.message).not.toContain(k.slice(6, 26)) // nor a long piece of it
  }
}

const MATRIX = DIALECTS.flatMap(d => TYPES.map(t => [d, t] as const))

describe.each(MATRIX)('client %s ← provider %s', (dialect, type) => {
  test("400 stays 400, with the upstream's message (and no key in it)", async () => {
    const srv = await agproxyFor(type)
    fakes[type].enqueue({ kind: 'error', status: 400, message: `Invalid value for temperature: 7 (request made with key ${KEY[type]})` })
    const c = await callAndCatch(dialect, srv)
    expect(c.status).toBe(400)
    expectClass(dialect, c)
    expect(c.message).toContain('Invalid value for temperature: 7')
    expect(c.message).toContain(`up-${type}`)
    noKey(c)
    expect(fakes[type].requests).toHaveLength(1) // not retried
  })

  test.each([401, 403])('%d from upstream → 502 "upstream rejected the provider key"', async status => {
    const srv = await agproxyFor(type)
    fakes[type].setDefault({ kind: 'error', status })
    const c = await callAndCatch(dialect, srv)
    expect({ status: c.status, message: c.message }).toEqual({
      status: 502,
      message: expect.stringContaining(`upstream rejected the provider key for up-${type}`),
    })
    expectClass(dialect, c)
    noKey(c)
  })

  test('429 stays 429, with retry-after', async () => {
    const srv = await agproxyFor(type)
    // longer than the retry budget (30 s): agproxy cannot wait it out, so the client is told when to come back
    fakes[type].setDefault({ kind: 'error', status: 429, retryDelaySeconds: 45 })
    const c = await callAndCatch(dialect, srv)
    expect(c.status).toBe(429)
    expectClass(dialect, c)
    const retryAfter = Number(c.headers?.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(44)
    expect(retryAfter).toBeLessThanOrEqual(45)
    // helpful: which provider, when to retry, and what the upstream said
    expect(c.message).toContain(`up-${type}`)
    expect(c.message).toMatch(/Retry in 4[45] s/)
    expect(c.message).toMatch(/429 .*rate limit|429 .*quota/i)
    noKey(c)
  })

  test('500 → a 5xx error naming the provider (and no key in it)', async () => {
    const srv = await agproxyFor(type)
    fakes[type].setDefault({ kind: 'error', status: 500, message: `backend exploded near ${KEY[type]}` })
    const c = await callAndCatch(dialect, srv)
    expect({ status: c.status as number | string, message: c.message }).toEqual({
      status: [500, 502, 503].includes(c.status) ? c.status : '500, 502 or 503',
      message: expect.stringContaining(`up-${type}`),
    })
    expectClass(dialect, c)
    expect(c.message).toContain('backend exploded')
    noKey(c)
    expect(fakes[type].requests).toHaveLength(3) // retry.max_attempts
  }, 20_000)
})

describe("agproxy's own 401 is not an upstream 401", () => {
  test.each(DIALECTS)('%s client: a wrong agproxy key → 401 (AuthenticationError), nothing sent upstream', async dialect => {
    const srv = await agproxyFor('openai', { auth_mode: 'strict', api_keys: ['agproxy-client-key-1'] })
    const own = await callAndCatch(dialect, srv, 'wrong-client-key')
    expect(own.status).toBe(401)
    if (dialect !== 'gemini') expectClass(dialect, own)
    expect(own.message).not.toContain('upstream')
    expect(fakes.openai.requests).toHaveLength(0)
  })

  test.each(DIALECTS)('%s client: the right agproxy key, the upstream refuses the provider key → 502, not 401', async dialect => {
    const srv = await agproxyFor('openai', { auth_mode: 'strict', api_keys: ['agproxy-client-key-1'] })
    fakes.openai.setDefault({ kind: 'error', status: 401 })
    const upstream = await callAndCatch(dialect, srv, 'agproxy-client-key-1')
    expect(upstream.status).toBe(502)
    expect(upstream.message).toContain('upstream rejected the provider key for up-openai')
  })
})

describe('several keys: retryable failures move to the next key first', () => {
  test('a 429 on the first key is retried on the second, and the client never sees it', async () => {
    const srv = await startAgproxy({
      providers: [{ name: 'two', type: 'openai', base_url: fakes.openai.url, api_keys: ['sk-first-key-00000000000000', 'sk-second-key-0000000000000'] }],
    })
    running.push(srv)
    fakes.openai.enqueue({ kind: 'error', status: 429, retryDelaySeconds: 30 })
    const res = await fetch(`${srv.url}/v1/chat/completions`, json({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }))
    expect(res.status).toBe(200)
    expect(fakes.openai.requests.map(r => r.key)).toEqual(['sk-first-key-00000000000000', 'sk-second-key-0000000000000'])
  })

  test('both keys rejected (401) → still 502 "upstream rejected the provider key"', async () => {
    const srv = await startAgproxy({
      providers: [
        {
          name: 'two',
          type: 'anthropic',
          base_url: `http://127.0.0.1:${fakes.anthropic.port}`,
          api_keys: ['sk-ant-first-0000000000000', 'sk-ant-second-000000000000'],
        },
      ],
    })
    running.push(srv)
    fakes.anthropic.enqueue({ kind: 'error', status: 401 }, { kind: 'error', status: 401 })
    const c = await callAndCatch('anthropic', srv)
    expect(fakes.anthropic.requests).toHaveLength(2)
    expect({ status: c.status, message: c.message }).toEqual({ status: 502, message: expect.stringContaining('upstream rejected the provider key for two') })
  })
})
