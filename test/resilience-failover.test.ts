/**
 * Retries and failover, before the first byte only: a retryable failure moves to the next key, then to
 * the model's fallbacks, within retry.max_attempts and retry.max_wait; the exhausted answer is 429 (every
 * key rate limited, retry-after = the soonest) or 503, naming the keys' states; nothing is retried once a
 * byte reached the client; the connect deadline fails over from a blackholed host; the client's abort
 * reaches the upstream; provider keys never reach a client or a log line.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { startFake, type Fake } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { blackhole, call, keyState, provider, readAll, resettingUpstream, streamError, until } from './support/resilience'

const K = {
  o1: 'sk-proj-ALPHA0000000000000000000001',
  o2: 'sk-proj-BRAVO0000000000000000000002',
  o3: 'sk-proj-CHARLIE00000000000000000003',
  a1: 'sk-ant-api03-ALPHA00000000000000001',
  a2: 'sk-ant-api03-BRAVO00000000000000002',
  g1: 'AIzaSyALPHA000000000000000000000001',
  g2: 'AIzaSyBRAVO000000000000000000000002',
  g3: 'AIzaSyCHARLIE0000000000000000000003',
}
const ALL_KEYS = Object.values(K)

let o: Fake, a: Fake, g: Fake
beforeAll(async () => {
  ;[o, a, g] = await Promise.all([startFake('openai'), startFake('anthropic'), startFake('gemini')])
})
afterAll(async () => {
  await Promise.all([o.stop(), a.stop(), g.stop()])
})
const running: TestServer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(s => s.stop(0)))
  for (const f of [o, a, g]) f.reset()
})
async function start(settings: Record<string, unknown>) {
  const srv = await startAgproxy({ timeouts: { connect: 2, first_token: 3, idle: 3, total: 20 }, ...settings })
  running.push(srv)
  return srv
}
const noRawKey = (text: string) => {
  for (const k of ALL_KEYS) expect(text).not.toContain(k)
}

describe('a retryable failure moves to the next key (the client never sees it)', () => {
  test.each([408, 429, 500, 502, 503, 504, 529])('%d on the first key → answered by the second', async status => {
    const srv = await start({
      providers: [
        provider(
          'up',
          o,
          [
            { key: K.o1, name: 'k1' },
            { key: K.o2, name: 'k2' },
          ],
          { strategy: 'fill_first' },
        ),
      ],
    })
    o.handler = rec => (rec.key === K.o1 ? { kind: 'error', status, retryDelaySeconds: 20 } : undefined)
    const res = await call(srv, 'openai', 'gpt-4o')
    expect(res.status).toBe(200)
    expect((await res.json()).choices[0].message.content).toBe('echo: hi')
    expect(o.requests.map(r => r.key)).toEqual([K.o1, K.o2])
    // cooling key-wide, or for gpt-4o only where the upstream says so (OpenAI's 429 names the model)
    const k1 = await keyState(srv, 'up', 'k1')
    expect(k1.status === 'cooling' || !!k1.models?.['gpt-4o']).toBe(true)
  })

  test('translated too: an Anthropic client, a Gemini provider whose first key is overloaded', async () => {
    const srv = await start({
      providers: [
        provider(
          'g',
          g,
          [
            { key: K.g1, name: 'k1' },
            { key: K.g2, name: 'k2' },
          ],
          { strategy: 'fill_first' },
        ),
      ],
      models: { 'claude-*': 'g/gemini-2.5-flash' },
    })
    g.handler = rec => (rec.key === K.g1 ? { kind: 'error', status: 503 } : undefined)
    const msg = await new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 }).messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'echo: hi' })
    expect(g.requests.map(r => r.key)).toEqual([K.g1, K.g2])
  })

  test('a 400 (the request itself is wrong) is not retried', async () => {
    const srv = await start({ providers: [provider('up', o, [K.o1, K.o2])] })
    o.setDefault({ kind: 'error', status: 400, message: 'Invalid value for temperature' })
    const res = await call(srv, 'openai', 'gpt-4o')
    expect(res.status).toBe(400)
    expect((await res.json()).error.message).toContain('Invalid value for temperature')
    expect(o.requests).toHaveLength(1)
  })

  test('a connect error (nothing listening) fails over to the fallback at once', async () => {
    const closed = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
    const port = closed.port
    closed.stop(true)
    const srv = await start({
      providers: [{ name: 'dead', type: 'openai', base_url: `http://127.0.0.1:${port}/v1`, api_keys: [K.o1, K.o3] }, provider('live', o, [K.o2])],
      models: { 'gpt-4o': { target: 'dead/gpt-4o', fallbacks: ['live/gpt-4o'] } },
    })
    const t0 = Date.now()
    const res = await call(srv, 'openai', 'gpt-4o')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-agproxy-provider')).toBe('live')
    expect(Date.now() - t0).toBeLessThan(1500)
    // one attempt on the dead host (its other key cannot help), and the next request skips it
    const deadAttempts = () => srv.logs.filter(l => /attempt \d.*dead\/gpt-4o/.test(l)).length
    expect(deadAttempts()).toBe(1)
    expect((await call(srv, 'openai', 'gpt-4o', { prompt: 'again' })).headers.get('x-agproxy-provider')).toBe('live')
    expect(deadAttempts()).toBe(1)
  })
})

test('a dead host as the only candidate: one attempt, then 503 at once (not one connect per key and round)', async () => {
  const closed = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = closed.port
  closed.stop(true)
  const srv = await start({ providers: [{ name: 'dead', type: 'anthropic', base_url: `http://127.0.0.1:${port}`, api_keys: [K.a1, K.a2] }] })
  const res = await call(srv, 'anthropic', 'claude-x')
  expect(res.status).toBe(503)
  const msg = (await res.json()).error.message
  expect(msg).toContain('dead/claude-x key sk-…0001: error')
  expect(srv.logs.filter(l => /attempt \d/.test(l))).toHaveLength(1)
})

describe('fallbacks', () => {
  test('claude-* → claude/claude-sonnet-4-5, fallbacks [google/gemini-2.5-pro]: every Claude key overloaded → Gemini answers', async () => {
    const srv = await start({
      providers: [
        provider('claude', a, [
          { key: K.a1, name: 'c1' },
          { key: K.a2, name: 'c2' },
        ]),
        provider('google', g, [{ key: K.g1, name: 'g1' }]),
      ],
      models: { 'claude-*': { target: 'claude/claude-sonnet-4-5', fallbacks: ['google/gemini-2.5-pro'] } },
    })
    a.setDefault({ kind: 'error', status: 529 })
    const res = await call(srv, 'anthropic', 'claude-sonnet-4-5-20250929')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-agproxy-provider')).toBe('google')
    expect(res.headers.get('x-agproxy-model')).toBe('gemini-2.5-pro')
    const body = await res.json()
    expect(body).toMatchObject({ type: 'message', model: 'claude-sonnet-4-5-20250929', content: [{ type: 'text', text: 'echo: hi' }] })
    expect(a.requests.map(r => [r.key, r.body.model])).toEqual([
      [K.a1, 'claude-sonnet-4-5'],
      [K.a2, 'claude-sonnet-4-5'],
    ])
    expect(g.requests.map(r => r.path)).toEqual(['/v1beta/models/gemini-2.5-pro:generateContent'])
  })

  test('retry.max_attempts bounds keys and fallbacks together', async () => {
    const keys = [K.o1, K.o2, K.o3, 'sk-proj-DELTA00000000000000000004', 'sk-proj-ECHO000000000000000000005']
    const srv = await start({
      retry: { max_attempts: 3, max_wait: 0 },
      providers: [provider('up', o, keys), provider('other', g, [K.g1])],
      models: { 'gpt-4o': { target: 'up/gpt-4o', fallbacks: ['other/gemini-2.5-flash'] } },
    })
    o.setDefault({ kind: 'error', status: 500 })
    const res = await call(srv, 'openai', 'gpt-4o')
    expect(res.status).toBe(503)
    expect(o.requests).toHaveLength(3)
    expect(g.requests).toHaveLength(0)
    expect((await res.json()).error.message).toContain('Tried (3 of at most 3 attempts)')
  })

  test('retry.max_wait: a single key that asks for 1 s is retried once it has cooled', async () => {
    const srv = await start({ retry: { max_attempts: 3, max_wait: 5 }, providers: [provider('up', o, [K.o1])] })
    o.enqueue({ kind: 'error', status: 429, retryDelaySeconds: 1 })
    const t0 = Date.now()
    const res = await call(srv, 'openai', 'gpt-4o')
    expect(res.status).toBe(200)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950)
    expect(o.requests).toHaveLength(2)
  })
})

describe('the exhausted pool', () => {
  test("every key rate limited → 429, retry-after = the soonest key, the message names the keys' states", async () => {
    const srv = await start({
      providers: [
        provider(
          'google',
          g,
          [
            { key: K.g1, name: 'g1' },
            { key: K.g2, name: 'g2' },
            { key: K.g3, name: 'g3' },
          ],
          { strategy: 'fill_first' },
        ),
      ],
    })
    g.handler = rec =>
      rec.key === K.g3
        ? { kind: 'error', status: 403, message: 'Permission denied: consumer has been suspended' }
        : { kind: 'error', status: 429, retryDelaySeconds: 41 }
    const res = await call(srv, 'gemini', 'gemini-2.5-pro')
    expect(res.status).toBe(429)
    expect(Number(res.headers.get('retry-after'))).toBeOneOf([40, 41])
    const body = await res.json()
    expect(body.error.status).toBe('RESOURCE_EXHAUSTED')
    expect(body.error.message).toContain('3 keys of provider google: 2 cooling (429, 41 s), 1 disabled (403)')
    noRawKey(JSON.stringify(body))
    expect(g.requests).toHaveLength(3)

    // the next request is answered at once, without calling the upstream
    const again = await call(srv, 'openai', 'gemini-2.5-pro')
    expect(again.status).toBe(429)
    expect((await again.json()).error.message).toContain('2 cooling (429, ')
    expect(g.requests).toHaveLength(3)
  })

  test('some keys failing with 5xx, one disabled → 503 naming both', async () => {
    const srv = await start({
      retry: { max_attempts: 3, max_wait: 0 },
      providers: [
        provider(
          'up',
          o,
          [
            { key: K.o1, name: 'k1' },
            { key: K.o2, name: 'k2' },
          ],
          { strategy: 'fill_first' },
        ),
      ],
    })
    o.handler = rec => (rec.key === K.o1 ? { kind: 'error', status: 502 } : { kind: 'error', status: 401 })
    const res = await call(srv, 'anthropic', 'gpt-4o')
    expect(res.status).toBe(503)
    const body = await res.json()
    expect(body.type).toBe('error')
    expect(body.error.message).toContain('2 keys of provider up: 1 cooling (502, 2 s), 1 disabled (401)')
    expect(body.error.message).toContain('up/gpt-4o key k1: 502')
  })

  test('every key refused (401/403) → 502 "upstream rejected the provider key"', async () => {
    const srv = await start({ providers: [provider('up', o, [K.o1, K.o2])] })
    o.setDefault({ kind: 'error', status: 401 })
    const res = await call(srv, 'openai', 'gpt-4o')
    expect(res.status).toBe(502)
    const msg = (await res.json()).error.message
    expect(msg).toContain('upstream rejected the provider key for up')
    expect(msg).toContain('2 disabled (401)')
    // disabled keys are not called again
    const again = await call(srv, 'openai', 'gpt-4o')
    expect(again.status).toBe(502)
    expect(o.requests).toHaveLength(2)
  })
})

describe('never retried after the first byte', () => {
  test.each([
    ['openai', 'gpt-4o', 'pass-through'],
    ['anthropic', 'gpt-4o', 'translated'],
    ['responses', 'gpt-4o', 'pass-through'],
    ['gemini', 'gpt-4o', 'translated'],
  ] as const)('%s client (%s, %s): a reset mid-stream ends the stream with an in-dialect error; one upstream call', async (dialect, model) => {
    const up = resettingUpstream()
    try {
      const srv = await start({ providers: [{ name: 'up', type: 'openai', base_url: up.url, api_keys: [K.o1, K.o2] }] })
      const res = await call(srv, dialect, model, { stream: true })
      expect(res.status).toBe(200)
      const text = await readAll(res)
      expect(text).toContain('partial')
      expect(streamError(dialect, text)).toContain('connection broke mid-answer')
      expect(up.requests).toBe(1)
    } finally {
      up.stop()
    }
  })

  test.each([
    ['openai', 'pass-through'],
    ['anthropic', 'translated'],
  ] as const)('%s client (%s): an in-stream error before any content is retried (no byte reached the client yet)', async dialect => {
    const srv = await start({ providers: [provider('up', o, [K.o1, K.o2])] })
    o.enqueue({ kind: 'error', status: 500, inStream: true })
    const res = await call(srv, dialect, 'gpt-4o', { stream: true })
    const text = await readAll(res)
    expect(streamError(dialect, text)).toBeUndefined()
    expect(text).toContain('echo: hi'.slice(0, 2))
    expect(o.requests.map(r => r.key)).toEqual([K.o1, K.o2])
  })
})

describe('timeouts.connect', () => {
  test('a blackholed host fails over within the connect deadline', async () => {
    const hole = await blackhole()
    if (!hole) return console.warn('no TCP blackhole on this platform; skipped')
    try {
      const srv = await start({
        timeouts: { connect: 0.3, first_token: 20, idle: 20, total: 60 },
        // two keys on the blackholed host: the connect deadline is paid once, not per key
        providers: [{ name: 'hole', type: 'openai', base_url: `http://127.0.0.1:${hole.port}/v1`, api_keys: [K.o1, K.o3] }, provider('live', o, [K.o2])],
        models: { 'gpt-4o': { target: 'hole/gpt-4o', fallbacks: ['live/gpt-4o'] } },
      })
      const t0 = Date.now()
      const res = await call(srv, 'openai', 'gpt-4o')
      const ms = Date.now() - t0
      expect(res.status).toBe(200)
      expect(res.headers.get('x-agproxy-provider')).toBe('live')
      expect(ms).toBeGreaterThanOrEqual(250)
      expect(ms).toBeLessThan(1500)
      expect(srv.logs.join('\n')).toMatch(/could not connect to 127\.0\.0\.1:\d+ within 0\.3 s/)
    } finally {
      hole.close()
    }
  })
})

describe("the client's abort reaches the upstream", () => {
  test.each([
    ['openai', 'pass-through'],
    ['anthropic', 'translated'],
  ] as const)('%s client (%s): disconnecting mid-stream closes the upstream connection at once', async dialect => {
    const srv = await start({ providers: [provider('up', o, [{ key: K.o1, name: 'k1' }])] })
    o.enqueue({ kind: 'endless', intervalMs: 20 })
    const ctl = new AbortController()
    const res = await call(srv, dialect, 'gpt-4o', { stream: true, signal: ctl.signal })
    const reader = res.body!.getReader()
    await reader.read()
    await reader.read()
    expect(o.last()!.aborted).toBe(false)
    ctl.abort()
    await until(() => o.last()!.aborted, 2000, 'the fake to see the connection close')
  })

  test('disconnecting while agproxy waits for the first token closes the upstream too, and does not blame the key', async () => {
    const srv = await start({ providers: [provider('up', o, [{ key: K.o1, name: 'k1' }])] })
    o.enqueue({ kind: 'stall_before_headers' })
    const ctl = new AbortController()
    const pending = call(srv, 'openai', 'gpt-4o', { stream: true, signal: ctl.signal }).catch(() => undefined)
    await until(() => o.requests.length === 1, 2000, 'the upstream call')
    ctl.abort()
    await pending
    await until(() => o.last()!.aborted, 2000, 'the fake to see the connection close')
    const k = await keyState(srv, 'up', 'k1')
    expect({ status: k.status, failures: k.failures }).toEqual({ status: 'active', failures: 0 })
  })
})

describe('provider keys never reach a client or a log line', () => {
  test('an upstream error echoing the raw key: masked in the answer and the logs (400 and exhausted 5xx)', async () => {
    const srv = await start({ retry: { max_attempts: 2, max_wait: 0 }, providers: [provider('up', o, [K.o1, K.o2])] })
    o.handler = rec => ({ kind: 'error', status: 400, message: `Incorrect request for key ${rec.key}` })
    const bad = await call(srv, 'openai', 'gpt-4o')
    const badText = await bad.text()
    expect(bad.status).toBe(400)
    expect(badText).toMatch(/for key sk-…000[12]/)
    noRawKey(badText)

    o.handler = rec => ({ kind: 'error', status: 500, message: `backend failed for ${rec.key}` })
    const down = await call(srv, 'gemini', 'gpt-4o')
    const downText = await down.text()
    expect(down.status).toBeOneOf([502, 503])
    expect(downText).toContain('backend failed for sk-…000')
    noRawKey(downText)
    noRawKey(srv.logs.join('\n'))
    noRawKey(JSON.stringify(await (await fetch(`${srv.url}/agproxy/keys`)).json()))
  })

  test('an in-stream error after content that names the key (pass-through bytes): masked', async () => {
    const up = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: req => {
        const key = req.headers.get('authorization')!.slice(7)
        const data = (o: object) => `data: ${JSON.stringify(o)}\n\n`
        const frames = [
          data({
            id: 'c',
            object: 'chat.completion.chunk',
            created: 1,
            model: 'm',
            choices: [{ index: 0, delta: { content: 'partial' }, finish_reason: null }],
          }),
          data({ error: { message: `quota gone for ${key}`, type: 'server_error', param: null, code: null } }),
        ]
        return new Response(frames.join(''), { headers: { 'content-type': 'text/event-stream' } })
      },
    })
    try {
      const srv = await start({ providers: [{ name: 'raw', type: 'openai', base_url: `http://127.0.0.1:${up.port}/v1`, api_keys: [K.o1] }] })
      const text = await readAll(await call(srv, 'openai', 'gpt-4o', { stream: true }))
      expect(text).toContain('partial')
      expect(text).toContain('quota gone for sk-…0001')
      noRawKey(text)
    } finally {
      up.stop(true)
    }
  })
})

test('a provider whose base_url loops back into agproxy: 508 at once, not retried', async () => {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  const srv = await start({ port, providers: [{ name: 'self', type: 'openai', base_url: `http://127.0.0.1:${port}/v1`, api_keys: [K.o1, K.o2] }] })
  const t0 = Date.now()
  const res = await call(srv, 'openai', 'gpt-4o')
  expect(res.status).toBe(508)
  expect((await res.json()).error.message).toContain('Request loop')
  expect(Date.now() - t0).toBeLessThan(1000)
})
