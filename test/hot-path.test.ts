/**
 * The per-request work of a model call stays small: what a call repeats that does not change between calls (parsing a
 * provider's URL, or the URL a client keeps calling) is done once, not per request, and what a call does not need (a JS stream over a request body of
 * declared length) is not made.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'
import { readJsonBody } from '../src/http/body'

/** The URLs agproxy's own code (src/; not the fake upstream in this process) parses with new URL while `f` runs. */
async function parsed(f: () => Promise<unknown>): Promise<string[]> {
  const Original = globalThis.URL
  const urls: string[] = []
  globalThis.URL = class extends Original {
    constructor(url: string | URL, base?: string | URL) {
      super(url, base)
      if (/\/src\/[\w/-]+\.ts/.test(new Error().stack ?? '')) urls.push(this.href)
    }
  } as typeof URL
  try {
    await f()
  } finally {
    globalThis.URL = Original
  }
  return urls
}

describe('a model call parses no URL it parsed for an earlier call', () => {
  let fake: Fake
  let srv: TestServer
  beforeAll(async () => {
    fake = await startFake('openai')
    srv = await startAgproxy({
      providers: [{ name: 'oa', type: 'openai', base_url: fake.url, api_keys: ['sk-hot-path-0123456789abcd'] }],
      models: { m: 'oa/m' },
    })
  })
  afterAll(async () => {
    await srv?.stop()
    await fake?.stop()
  })

  const chat = (stream: boolean) =>
    fetch(`${srv.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] }),
    }).then(async r => {
      expect(r.status).toBe(200)
      return r.text()
    })

  test("neither the provider's URL nor the client's is parsed again for a later call", async () => {
    await chat(false)
    const urls = await parsed(async () => {
      for (let i = 0; i < 3; i++) {
        await chat(false)
        await chat(true)
      }
    })
    expect(urls.filter(u => u.startsWith(fake.url.replace(/\/v1$/, '')))).toEqual([])
    expect(urls).toEqual([])
  })
})

/** The timers agproxy's own code (src/) arms with setTimeout while `f` runs. */
async function timers(f: () => Promise<unknown>): Promise<number> {
  const original = globalThis.setTimeout
  let armed = 0
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    if (/\/src\/[\w/-]+\.ts/.test(new Error().stack ?? '')) armed++
    return original(...args)
  }) as typeof setTimeout
  try {
    await f()
  } finally {
    globalThis.setTimeout = original
  }
  return armed
}

describe('a whole model call arms no timer of its own', () => {
  let fake: Fake
  let srv: TestServer
  beforeAll(async () => {
    fake = await startFake('openai')
    srv = await startAgproxy({
      providers: [{ name: 'oa', type: 'openai', base_url: fake.url, api_keys: ['sk-hot-path-timers-0123456789'] }],
      models: { m: 'oa/m' },
    })
  })
  afterAll(async () => {
    await srv?.stop()
    await fake?.stop()
  })

  test('its deadlines (body read, upstream headers, answer read) are on the one shared timer', async () => {
    const chat = () =>
      fetch(`${srv.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      }).then(async r => {
        expect(r.status).toBe(200)
        return r.json()
      })
    await chat()
    // the shared timer itself is re-armed when the deadline it was armed for has passed (or an earlier one comes):
    // a few times per 50 ms (LINK_AFTER_MS) at most, against 2–3 timers per call before
    const t0 = Date.now()
    const armed = await timers(() => Promise.all(Array.from({ length: 40 }, chat)))
    expect(armed).toBeLessThanOrEqual(2 + Math.ceil((Date.now() - t0) / 25))
    expect(armed).toBeLessThan(20)
  })

  test("a quick call links no listener to the client's signal; a client that leaves a slow call still ends it upstream", async () => {
    const original = AbortSignal.prototype.addEventListener
    let linked = 0
    AbortSignal.prototype.addEventListener = function (this: AbortSignal, ...args: Parameters<AbortSignal['addEventListener']>) {
      if (/\/src\/[\w/-]+\.ts/.test(new Error().stack ?? '')) linked++
      return original.apply(this, args)
    } as AbortSignal['addEventListener']
    try {
      for (let i = 0; i < 10; i++)
        await fetch(`${srv.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
        }).then(r => r.json())
    } finally {
      AbortSignal.prototype.addEventListener = original
    }
    expect(linked).toBe(0)
    fake.enqueue({ kind: 'stall_before_headers' })
    const gone = new AbortController()
    const call = fetch(`${srv.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      signal: gone.signal,
    }).catch(e => e)
    await Bun.sleep(10)
    gone.abort()
    await call
    const t0 = Date.now()
    while (!fake.last()?.aborted && Date.now() - t0 < 2000) await Bun.sleep(5)
    expect(fake.last()?.aborted).toBe(true)
  })
})

describe('a streamed answer that has arrived whole when its first content is seen', () => {
  let fake: Fake
  let srv: TestServer
  beforeAll(async () => {
    fake = await startFake('openai', { fast: true })
    srv = await startAgproxy({
      providers: [{ name: 'oa', type: 'openai', base_url: fake.url, api_keys: ['sk-hot-path-whole-0123456789'] }],
      models: { m: 'oa/m' },
    })
  })
  afterAll(async () => {
    await srv?.stop()
    await fake?.stop()
  })

  test('goes to the client as one body (no stream to pump), which the openai SDK reads as the stream it is', async () => {
    const res = await fetch(`${srv.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.headers.get('content-type')).toStartWith('text/event-stream')
    const text = await res.text()
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)))
    expect(text).toEndWith('data: [DONE]\n\n')
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
    let said = ''
    for await (const c of await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }))
      said += c.choices[0]?.delta?.content ?? ''
    expect(said).toBeTruthy()
  })
})

describe('a request body of declared length is read natively', () => {
  test('readJsonBody never makes its stream (req.body: ~5 µs a request)', async () => {
    let made = 0
    class Watched extends Request {
      override get body() {
        made++
        return super.body
      }
    }
    const text = JSON.stringify({ model: 'm', messages: [] })
    const req = new Watched('http://localhost:8045/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(text.length) },
      body: text,
    })
    const read = await readJsonBody(req, { maxBytes: 1048576, deadlineMs: 5000 })
    expect(read.ok && read.value).toEqual({ model: 'm', messages: [] })
    expect(made).toBe(0)
  })
})
