/**
 * Issue 8's faults, watched (its acceptance): the auth-bypass attack of §1, a connection that breaks mid-frame, a
 * provider key split across two chunks of a pass-through stream, a provider key in translated content, and a
 * shutdown with a stream running. Each runs under `whileWatching`: besides its status and the caller's dialect,
 * agproxy's peak memory stays bounded and /healthz keeps answering promptly while it happens.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { ApiError, GoogleGenAI } from '@google/genai'
import { startFake, type Behaviour, type Fake, type ProviderType } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { ANY_MODEL_BODY, expectDialectError, rawRequest, type Dialect } from './support/front-door'
import { call, parseSSE, provider, readAll, streamError, until } from './support/resilience'
import { whileWatching } from './support/watch'
import { maskKey } from '../src/providers/pool'

/** what a fault may add to the process's resident memory, and the slowest /healthz answer allowed meanwhile */
const MAX_GROWTH_MB = 100
const MAX_HEALTH_MS = 500
/** these faults leave no body to drain behind them: a short settle suffices */
const SETTLE_MS = 200

const KEY: Record<ProviderType, string> = {
  openai: 'sk-proj-WATCHED00000000000000000000oa1',
  anthropic: 'sk-ant-api03-WATCHED000000000000000an1',
  gemini: 'AIzaSyWATCHED000000000000000000000ge1',
}
const ALL_KEYS = Object.values(KEY)
const MODEL: Record<ProviderType, string> = { openai: 'gpt-4o', anthropic: 'claude-sonnet-4-5', gemini: 'gemini-2.5-flash' }
const TYPES: ProviderType[] = ['openai', 'anthropic', 'gemini']
const MODELS = { 'gpt-*': 'openai/*', 'claude-*': 'anthropic/*', 'gemini-*': 'gemini/*' }

const fakes = {} as Record<ProviderType, Fake>
beforeAll(async () => {
  for (const t of TYPES) fakes[t] = await startFake(t)
})
afterAll(async () => {
  await Promise.all(Object.values(fakes).map(f => f.stop()))
})
const running: TestServer[] = []
const relays: Array<{ stop(): void }> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(s => s.stop(0)))
  for (const r of relays.splice(0)) r.stop()
  for (const f of Object.values(fakes)) f.reset()
})

/** agproxy with one provider per type (each with its own key), models routed by family; `urls` reroutes a type. */
async function start(urls: Partial<Record<ProviderType, string>> = {}, extra: Record<string, unknown> = {}) {
  const srv = await startAgproxy({
    timeouts: { connect: 2, first_token: 5, idle: 5, total: 20 },
    retry: { max_attempts: 1, max_wait: 0 },
    providers: TYPES.map(t => ({ ...provider(t, fakes[t], [KEY[t]]), ...(urls[t] ? { base_url: urls[t] } : {}) })),
    models: MODELS,
    ...extra,
  })
  running.push(srv)
  return srv
}

/** the watch's two bounds */
function expectWatched(w: { grewMb: number; healthMs: number }) {
  expect(w.grewMb).toBeLessThan(MAX_GROWTH_MB)
  expect(w.healthMs).toBeLessThan(MAX_HEALTH_MS)
}

const noRawKey = (text: string) => {
  for (const k of ALL_KEYS) expect(text).not.toContain(k)
}

/** Every frame of an SSE body is complete: known fields or comments, JSON (or [DONE]) data, and a blank line at the end. */
function expectWellFormedSse(text: string) {
  expect(text).toMatch(/(\n\n|\r\n\r\n|\r\r)$/)
  for (const block of text.split(/\r\n\r\n|\n\n|\r\r/)) {
    for (const line of block.split(/\r\n|\n|\r/)) {
      if (!line || line.startsWith(':')) continue
      const m = /^(event|data|id|retry):\s?(.*)$/.exec(line)
      expect(m, `not an SSE field: ${line.slice(0, 80)}`).not.toBeNull()
      if (m![1] === 'data' && m![2] !== '[DONE]') expect(() => JSON.parse(m![2]!), `not JSON: ${m![2]!.slice(0, 80)}`).not.toThrow()
    }
  }
}

// ───────────── the official SDKs ─────────────

type StreamKind = 'openai' | 'responses' | 'anthropic' | 'gemini'
const openaiSdk = (srv: TestServer) => new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
const anthropicSdk = (srv: TestServer) => new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 })
const googleSdk = (srv: TestServer) => new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: srv.url } })

interface Streamed {
  text: string
  error?: unknown
  failed?: string
}

/** Stream `model` through the official SDK of `kind`: the text seen, the error it threw, or (Responses) the response.failed
 *  message. `onText` runs on every piece of text as it arrives. */
async function sdkStream(srv: TestServer, kind: StreamKind, model: string, onText: (t: string) => void = () => {}): Promise<Streamed> {
  const out: Streamed = { text: '' }
  const see = (t: string) => {
    out.text += t
    if (t) onText(t)
  }
  const messages = [{ role: 'user' as const, content: 'hi' }]
  try {
    if (kind === 'openai') {
      for await (const c of await openaiSdk(srv).chat.completions.create({ model, stream: true, messages })) see(c.choices[0]?.delta?.content ?? '')
    } else if (kind === 'responses') {
      for await (const ev of await openaiSdk(srv).responses.create({ model, stream: true, input: 'hi' })) {
        if (ev.type === 'response.output_text.delta') see(ev.delta)
        if (ev.type === 'response.failed') out.failed = ev.response.error?.message ?? '(no message)'
      }
    } else if (kind === 'anthropic') {
      const stream = anthropicSdk(srv).messages.stream({ model, max_tokens: 64, messages })
      stream.on('text', see)
      await stream.finalMessage()
    } else {
      for await (const c of await googleSdk(srv).models.generateContentStream({ model, contents: 'hi' })) see(c.text ?? '')
    }
  } catch (e) {
    out.error = e
  }
  return out
}

/** The message of the stream's failure, after checking it came as that SDK's own API error (not a SyntaxError). */
function sdkFailure(kind: StreamKind, s: Streamed): string {
  if (kind === 'responses') {
    expect(s.error).toBeUndefined()
    expect(s.failed).toBeString()
    return s.failed!
  }
  expect(s.error).toBeInstanceOf(kind === 'openai' ? OpenAI.APIError : kind === 'anthropic' ? Anthropic.APIError : ApiError)
  return (s.error as Error).message
}

/** A whole (not streamed) answer's text through the official SDK of `client`. */
async function sdkAnswer(srv: TestServer, client: Dialect, model: string): Promise<string> {
  const messages = [{ role: 'user' as const, content: 'hi' }]
  if (client === 'openai') return (await openaiSdk(srv).chat.completions.create({ model, messages })).choices[0]!.message.content ?? ''
  if (client === 'anthropic') {
    const msg = await anthropicSdk(srv).messages.create({ model, max_tokens: 64, messages })
    return msg.content.map(b => (b.type === 'text' ? b.text : '')).join('')
  }
  return (await googleSdk(srv).models.generateContent({ model, contents: 'hi' })).text ?? ''
}

// ───────────── §1: a public prefix on a protected route, with a short Host ─────────────

describe('§1 attack (LAN mode, no key, Host of 1–3 characters): refused in the dialect, the upstream never reached', () => {
  const AGPROXY_KEY = 'sk-agproxy-watched-test-key-00001'
  const ATTACKS: Array<[string, 'strict' | 'auto', Dialect, number]> = [
    ['/swagger/v1/chat/completions', 'strict', 'openai', 401],
    ['/health/v1beta/models/m:generateContent', 'strict', 'gemini', 401],
    // auto with LAN access is all_except_health: the docs are public, and the path is a docs page that does not exist
    ['/swagger/v1/chat/completions', 'auto', 'openai', 404],
    ['/health/v1beta/models/m:generateContent', 'auto', 'gemini', 401],
  ]
  test.each(ATTACKS)('%s, auth_mode %s → %s %d', async (path, mode, dialect, status) => {
    const up = { name: 'up', type: 'openai', base_url: fakes.openai.url, api_keys: [KEY.openai], models: ['m'] }
    const srv = await startAgproxy({ auth_mode: mode, allow_lan_access: true, api_keys: [AGPROXY_KEY], providers: [up] })
    running.push(srv)
    const body = JSON.stringify({ ...ANY_MODEL_BODY, model: 'm' })
    const attack = () => Promise.all(['a', 'ab', 'abc'].map(host => rawRequest(srv.port, 'POST', path, { host, 'content-type': 'application/json' }, body)))
    // under strict even /healthz needs the key: the probe carries it
    const w = await whileWatching(srv, attack, SETTLE_MS, { headers: { authorization: `Bearer ${AGPROXY_KEY}` } })
    for (const res of w.result) {
      expect({ status: res.status, body: res.body.slice(0, 160) }).toMatchObject({ status })
      expect(res.headers.get('content-type')).toContain('application/json')
      const message = expectDialectError(dialect, status, JSON.parse(res.body), res.headers)
      if (status === 401) expect(message).toStartWith('An API key is required.')
    }
    expect(fakes.openai.requests).toHaveLength(0)
    expectWatched(w)
  })
})

// ───────────── pass-through streams cut where a fault wants them ─────────────

/**
 * An upstream in front of `fake`: it asks the fake, then sends the fake's answer cut into `script(body).pieces`,
 * `gapMs` apart (each arrives as its own chunk), and with `reset` breaks the connection `gapMs` after the last piece.
 */
function recut(fake: Fake, script: (body: string) => { pieces: string[]; reset?: boolean }, gapMs = 30): string {
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url)
      const headers = new Headers()
      for (const h of ['authorization', 'x-api-key', 'x-goog-api-key', 'content-type', 'anthropic-version']) {
        const v = req.headers.get(h)
        if (v) headers.set(h, v)
      }
      const res = await fetch(`http://127.0.0.1:${fake.port}${url.pathname}${url.search}`, { method: req.method, headers, body: await req.text() })
      const { pieces, reset } = script(await res.text())
      const te = new TextEncoder()
      return new Response(
        new ReadableStream<Uint8Array>({
          async start(c) {
            for (const [i, p] of pieces.entries()) {
              if (i) await Bun.sleep(gapMs)
              c.enqueue(te.encode(p))
            }
            if (!reset) return c.close()
            await Bun.sleep(gapMs) // the last piece surely reached agproxy
            c.error(undefined) // undefined: Bun resets the connection without logging
          },
        }),
        { headers: { 'content-type': res.headers.get('content-type') ?? 'text/event-stream' } },
      )
    },
  })
  relays.push({ stop: () => void server.stop(true) })
  const root = `http://127.0.0.1:${server.port}`
  return fake.type === 'openai' ? `${root}/v1` : root
}

const STREAMS: Array<[StreamKind, ProviderType]> = [
  ['openai', 'openai'],
  ['responses', 'openai'],
  ['anthropic', 'anthropic'],
  ['gemini', 'gemini'],
]

describe("a pass-through stream that breaks mid-frame: the last whole frame, then the dialect's error event", () => {
  const TEXT = 'Hello there. Second half of the answer'
  const midSecondDelta = (body: string) => ({ pieces: [body.slice(0, body.indexOf(' half of the') + 5)], reset: true })
  const twoChunks: Behaviour = { kind: 'text', text: TEXT, chunks: 2 }

  test.each(STREAMS)('%s client ← %s provider: raw bytes and the official SDK', async (kind, type) => {
    const srv = await start({ [type]: recut(fakes[type], midSecondDelta) })
    fakes[type].setDefault(twoChunks)
    const w = await whileWatching(
      srv,
      async () => {
        const res = await call(srv, kind, MODEL[type], { stream: true })
        return { status: res.status, type: res.headers.get('content-type'), raw: await readAll(res), sdk: await sdkStream(srv, kind, MODEL[type]) }
      },
      SETTLE_MS,
    )
    const { status, type: contentType, raw, sdk } = w.result
    expect(status).toBe(200)
    expect(contentType).toContain('text/event-stream')
    expect(raw).toContain('Hello there.')
    expect(raw).not.toContain(' half')
    expectWellFormedSse(raw)
    expect(streamError(kind, raw)).toContain('connection broke mid-answer')
    expect(sdkFailure(kind, sdk)).toContain('connection broke mid-answer')
    expect(sdk.text).toBe('Hello there. Second')
    expectWatched(w)
  })
})

describe('a provider key split across two chunks of a pass-through stream is masked whole', () => {
  const TEXT = `your key is ${KEY.openai} and ${KEY.anthropic} and ${KEY.gemini} ok`
  const MASKED = `your key is ${ALL_KEYS.map(maskKey).join(' and ')} ok`
  /** the body cut inside each key */
  const insideKeys = (body: string) => {
    const cuts = ALL_KEYS.map(k => body.indexOf(k) + 9)
      .filter(i => i > 9)
      .sort((a, b) => a - b)
    return { pieces: [0, ...cuts].map((from, i) => body.slice(from, cuts[i])) }
  }

  test.each(STREAMS)('%s client ← %s provider: raw bytes and the official SDK', async (kind, type) => {
    const srv = await start({ [type]: recut(fakes[type], insideKeys) })
    fakes[type].setDefault({ kind: 'text', text: TEXT, chunks: 1 })
    const w = await whileWatching(
      srv,
      async () => {
        const res = await call(srv, kind, MODEL[type], { stream: true })
        return { status: res.status, raw: await readAll(res), sdk: await sdkStream(srv, kind, MODEL[type]) }
      },
      SETTLE_MS,
    )
    const { status, raw, sdk } = w.result
    expect(status).toBe(200)
    noRawKey(raw)
    expect(raw).toContain(maskKey(KEY.anthropic))
    expectWellFormedSse(raw)
    expect(streamError(kind, raw)).toBeUndefined()
    expect(sdk).toEqual({ text: MASKED })
    expectWatched(w)
  })
})

// ───────────── a provider key in translated content ─────────────

describe('a provider key in translated content is masked: streamed and whole', () => {
  const TEXT = `keys: ${ALL_KEYS.join(' ')} end`
  const MASKED = `keys: ${ALL_KEYS.map(maskKey).join(' ')} end`
  const CROSS: Array<[Dialect, ProviderType]> = [
    ['openai', 'anthropic'],
    ['anthropic', 'gemini'],
    ['gemini', 'openai'],
  ]

  test.each(CROSS)('%s client ← %s provider', async (client, type) => {
    const srv = await start()
    // the keys in one content delta: keys are masked within a delta, not across two (a client joining deltas would see one whole)
    fakes[type].setDefault({ kind: 'text', text: TEXT, chunks: 1 })
    const w = await whileWatching(
      srv,
      async () => {
        const streamed = await call(srv, client, MODEL[type], { stream: true })
        const whole = await call(srv, client, MODEL[type])
        return {
          streamed: { status: streamed.status, raw: await readAll(streamed) },
          whole: { status: whole.status, type: whole.headers.get('content-type'), raw: await whole.text() },
          sdkStreamed: await sdkStream(srv, client, MODEL[type]),
          sdkWhole: await sdkAnswer(srv, client, MODEL[type]),
        }
      },
      SETTLE_MS,
    )
    const { streamed, whole, sdkStreamed, sdkWhole } = w.result
    expect([streamed.status, whole.status]).toEqual([200, 200])
    expect(whole.type).toContain('application/json')
    for (const raw of [streamed.raw, whole.raw]) noRawKey(raw)
    expect(whole.raw).toContain(JSON.stringify(maskKey(KEY.gemini)).slice(1, -1))
    expectWellFormedSse(streamed.raw)
    expect(streamError(client, streamed.raw)).toBeUndefined()
    expect(sdkStreamed).toEqual({ text: MASKED })
    expect(sdkWhole).toBe(MASKED)
    expectWatched(w)
  })
})

// ───────────── shutdown with a stream running ─────────────

describe('shutdown mid-stream (stop(200), a long stream running): the SDK gets its API error, the process stays responsive', () => {
  const SHUTTING_DOWN = /agproxy is shutting down; retry/
  const CASES: Array<[StreamKind, ProviderType]> = [
    ['openai', 'openai'],
    ['anthropic', 'openai'],
    ['responses', 'gemini'],
    ['gemini', 'gemini'],
  ]

  test.each(CASES)('%s client ← %s provider', async (kind, type) => {
    const srv = await start()
    // the stopping server refuses new connections: the probe asks another agproxy in the same process
    const sibling = await startAgproxy({})
    running.push(sibling)
    fakes[type].enqueue({ kind: 'endless', intervalMs: 40 })
    let stopping: Promise<number> | undefined
    const w = await whileWatching(
      sibling,
      async () => {
        const sdk = await sdkStream(srv, kind, MODEL[type], () => {
          stopping ??= srv.stop(200)
        })
        return { sdk, cut: await stopping }
      },
      SETTLE_MS,
    )
    const { sdk, cut } = w.result
    expect(cut).toBe(1)
    expect(sdk.text).toContain('tick 0') // content reached the client before the shutdown
    expect(sdkFailure(kind, sdk)).toMatch(SHUTTING_DOWN)
    if (kind === 'gemini') expect((sdk.error as ApiError).status).toBe(503)
    await until(() => fakes[type].last()!.aborted, 3000, 'the upstream call to be released')
    expectWatched(w)
  })

  test('raw bytes: a 200 whose body ends with the error event naming shutdown_grace', async () => {
    const srv = await start()
    const sibling = await startAgproxy({})
    running.push(sibling)
    fakes.anthropic.enqueue({ kind: 'endless', intervalMs: 40 })
    const w = await whileWatching(
      sibling,
      async () => {
        const res = await call(srv, 'anthropic', MODEL.anthropic, { stream: true })
        const reader = res.body!.getReader()
        const td = new TextDecoder()
        let text = ''
        let stopping: Promise<number> | undefined
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          text += td.decode(r.value, { stream: true })
          if (text.includes('tick 1')) stopping ??= srv.stop(200)
        }
        return { status: res.status, text, cut: await stopping }
      },
      SETTLE_MS,
    )
    const { status, text, cut } = w.result
    expect([status, cut]).toEqual([200, 1])
    expectWellFormedSse(text)
    expect(parseSSE(text).at(-1)).toMatchObject({ event: 'error' })
    expect(streamError('anthropic', text)).toMatch(SHUTTING_DOWN)
    expect(text).toContain('shutdown_grace')
    expectWatched(w)
  })
})
