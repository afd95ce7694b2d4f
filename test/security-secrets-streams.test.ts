/**
 * Secrets never leave, and pass-through streams end well-formed (issue 8 §3, §4 first item).
 * - Provider keys an upstream echoes in a 200 answer are masked for every client dialect × provider type, in JSON
 *   answers and streams, translated or passed through — every configured key, not only the one called.
 * - An upstream message is masked before it is cut, so a key across the cut cannot leak in part.
 * - A config error names the setting and the expected shape, never a value that may be a secret (at start, on
 *   SIGHUP reload, from the file or the environment); request-body errors still echo the client's own value.
 * - Pass-through streams are relayed frame by frame: a key split across two chunks is masked whole, and a connection
 *   that breaks mid-frame ends with the dialect's error event after the last complete frame, which each official SDK
 *   reports as its API error (not a JSON SyntaxError). Heartbeats still fall between frames only.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { ApiError, GoogleGenAI } from '@google/genai'
import { startFake, type Behaviour, type Fake, type ProviderType } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { call, keyStates, provider, readAll, streamError } from './support/resilience'
import { maskKey, Redactor } from '../src/providers/pool'
import { FrameBuffer, type Framing } from '../src/providers/frames'
import { guardedByteStream } from '../src/providers/stream-guard'
import { err } from '../src/http/errors'
import { buildConfig } from '../src/config/load'
import { configFile, runCli, startCli } from './support/cli'
import { parseArgs } from '../src/cli/args'
import { writeFileSync } from 'node:fs'

const KEY: Record<ProviderType, string> = {
  openai: 'sk-proj-SECRETS0000000000000000000oa1',
  anthropic: 'sk-ant-api03-SECRETS00000000000000an1',
  gemini: 'AIzaSySECRETS00000000000000000000ge1',
}
const ALL_KEYS = Object.values(KEY)
const MODEL: Record<ProviderType, string> = { openai: 'gpt-4o', anthropic: 'claude-sonnet-4-6', gemini: 'gemini-2.5-flash' }
const TYPES: ProviderType[] = ['openai', 'anthropic', 'gemini']
type Client = 'openai' | 'anthropic' | 'gemini'

const fakes = {} as Record<ProviderType, Fake>
beforeAll(async () => {
  for (const t of TYPES) fakes[t] = await startFake(t)
})
afterAll(async () => {
  await Promise.all(Object.values(fakes).map(f => f.stop()))
})
const running: TestServer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(s => s.stop(0)))
  for (const f of Object.values(fakes)) f.reset()
})

/** agproxy with one provider per type, each with its own key; models routed by family. */
async function start(settings: Record<string, unknown> = {}, urls: Partial<Record<ProviderType, string>> = {}) {
  const srv = await startAgproxy({
    timeouts: { connect: 2, first_token: 3, idle: 3, total: 20 },
    retry: { max_attempts: 1, max_wait: 0 },
    providers: TYPES.map(t => ({ ...provider(t, fakes[t], [KEY[t]]), ...(urls[t] ? { base_url: urls[t] } : {}) })),
    models: { 'gpt-*': 'openai/*', 'claude-*': 'anthropic/*', 'gemini-*': 'gemini/*' },
    ...settings,
  })
  running.push(srv)
  return srv
}

const noRawKey = (text: string) => {
  for (const k of ALL_KEYS) expect(text).not.toContain(k)
}

/** What a client gets, through its official SDK: the answer's text (streamed or not). */
async function ask(srv: TestServer, client: Client, model: string, stream: boolean): Promise<string> {
  const prompt = 'hi'
  if (client === 'openai') {
    const c = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
    if (!stream) return (await c.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] })).choices[0]!.message.content ?? ''
    let text = ''
    const chunks = await c.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: prompt }] })
    for await (const ch of chunks) text += ch.choices[0]?.delta?.content ?? ''
    return text
  }
  if (client === 'anthropic') {
    const c = new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 })
    const req = { model, max_tokens: 64, messages: [{ role: 'user' as const, content: prompt }] }
    if (!stream) return (await c.messages.create(req)).content.map(b => (b.type === 'text' ? b.text : '')).join('')
    return c.messages.stream(req).finalText()
  }
  const ai = new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: srv.url } })
  if (!stream) return (await ai.models.generateContent({ model, contents: prompt })).text ?? ''
  let text = ''
  for await (const ch of await ai.models.generateContentStream({ model, contents: prompt })) text += ch.text ?? ''
  return text
}

describe('a provider key echoed in a 200 answer is masked: 3 clients × 3 providers, streamed or not', () => {
  const CELLS = (['openai', 'anthropic', 'gemini'] as Client[]).flatMap(c =>
    TYPES.flatMap(
      t =>
        [
          [c, t, false],
          [c, t, true],
        ] as const,
    ),
  )
  test.each(CELLS)('%s client ← %s provider, stream %p', async (client, type, stream) => {
    const srv = await start()
    // every configured key, in one content delta: the one called and the other providers'
    fakes[type].setDefault({ kind: 'text', text: `keys: ${ALL_KEYS.join(' ')} end`, chunks: 1 })
    const text = await ask(srv, client, MODEL[type], stream)
    expect(text).toBe(`keys: ${ALL_KEYS.map(maskKey).join(' ')} end`)
    noRawKey(text)
  })

  test('pass-through JSON, read raw: the bytes hold no key either', async () => {
    const srv = await start()
    fakes.openai.setDefault({ kind: 'text', text: `keys: ${ALL_KEYS.join(' ')}` })
    const res = await call(srv, 'openai', MODEL.openai)
    const raw = await res.text()
    expect(raw).toContain(maskKey(KEY.gemini))
    noRawKey(raw)
  })

  test('keys shorter than 12 characters (placeholders of keyless servers) are not masked: answers stay intact', async () => {
    const srv = await startAgproxy({ providers: [provider('local', fakes.openai, ['ollama'])] })
    running.push(srv)
    fakes.openai.setDefault({ kind: 'text', text: 'run it with ollama' })
    expect(await ask(srv, 'openai', 'local-model', false)).toBe('run it with ollama')
  })
})

describe('an upstream message is masked before it is cut', () => {
  // a key no pattern recognises (a relay's own): only the configured-key masking can catch it
  const RELAY_KEY = 'relay-Secret-0123456789abcdefXYZ'
  const PREFIX = RELAY_KEY.slice(0, 10)

  test('a key across character 500 of an error message: not in the answer, nor in a log line', async () => {
    const srv = await startAgproxy({ retry: { max_attempts: 1, max_wait: 0 }, providers: [provider('relay', fakes.openai, [RELAY_KEY])] })
    running.push(srv)
    fakes.openai.setDefault({ kind: 'error', status: 400, message: `${'x'.repeat(490)}${RELAY_KEY} is not allowed` })
    const res = await call(srv, 'openai', 'gpt-4o')
    const body = await res.text()
    expect(res.status).toBe(400)
    expect(body).toContain(`${'x'.repeat(490)}${maskKey(RELAY_KEY)}`)
    expect(body).not.toContain(PREFIX)
    expect(srv.logs.join('\n')).not.toContain(PREFIX)
  })

  test('a key across character 300 of a rate-limit message: not in the key pool reason', async () => {
    const srv = await startAgproxy({ retry: { max_attempts: 1, max_wait: 0 }, providers: [provider('relay', fakes.openai, [RELAY_KEY])] })
    running.push(srv)
    fakes.openai.setDefault({ kind: 'error', status: 429, message: `${'y'.repeat(290)}${RELAY_KEY} is rate limited`, retryDelaySeconds: 30 })
    const res = await call(srv, 'openai', 'gpt-4o')
    const body = await res.text()
    expect(res.status).toBe(429)
    const states = JSON.stringify(await keyStates(srv))
    expect(states).toContain('cooling')
    for (const text of [body, states, srv.logs.join('\n')]) expect(text).not.toContain(PREFIX)
  })
})

// ───────────── pass-through streams, frame by frame ─────────────

interface Recut {
  url: string
  stop(): void
}

/**
 * An upstream in front of a fake: it asks the fake, then sends the fake's answer cut into `script(body).pieces`,
 * `gapMs` apart (so each arrives as its own chunk), and with `reset` breaks the connection `gapMs` after the last piece.
 */
function recut(fake: Fake, script: (body: string) => { pieces: string[]; reset?: boolean }, gapMs = 30): Recut {
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url)
      const headers: Record<string, string> = {}
      for (const h of ['authorization', 'x-api-key', 'x-goog-api-key', 'content-type', 'anthropic-version']) {
        const v = req.headers.get(h)
        if (v) headers[h] = v
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
  const root = `http://127.0.0.1:${server.port}`
  return {
    url: fake.type === 'openai' ? `${root}/v1` : root,
    stop: () => {
      server.stop(true)
    },
  }
}

/** agproxy whose `type` provider is reached through `recut` */
async function startRecut(type: ProviderType, script: Parameters<typeof recut>[1], gapMs?: number, env: Record<string, string> = {}) {
  const r = recut(fakes[type], script, gapMs)
  relays.push(r)
  const srv = await startAgproxy(
    {
      timeouts: { connect: 2, first_token: 3, idle: 3, total: 20 },
      retry: { max_attempts: 1, max_wait: 0 },
      providers: TYPES.map(t => ({ ...provider(t, fakes[t], [KEY[t]]), ...(t === type ? { base_url: r.url } : {}) })),
      models: { 'gpt-*': 'openai/*', 'claude-*': 'anthropic/*', 'gemini-*': 'gemini/*' },
    },
    env,
  )
  running.push(srv)
  return srv
}
const relays: Recut[] = []
afterEach(() => {
  for (const r of relays.splice(0)) r.stop()
})

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

/** streamGenerateContent without alt=sse: a streamed JSON array */
const geminiArrayStream = (srv: TestServer) =>
  fetch(`${srv.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
  })

type StreamCase = 'openai chat' | 'openai responses' | 'anthropic messages' | 'gemini alt=sse'
const STREAMS: Array<[StreamCase, ProviderType, 'openai' | 'responses' | 'anthropic' | 'gemini']> = [
  ['openai chat', 'openai', 'openai'],
  ['openai responses', 'openai', 'responses'],
  ['anthropic messages', 'anthropic', 'anthropic'],
  ['gemini alt=sse', 'gemini', 'gemini'],
]

describe('a key split across two chunks of a pass-through stream is masked', () => {
  const TEXT = `your key is ${KEY.openai} and ${KEY.anthropic} and ${KEY.gemini} ok`
  /** the body cut inside each key */
  const insideKeys = (body: string) => {
    const cuts = ALL_KEYS.map(k => body.indexOf(k) + 9)
      .filter(i => i > 9)
      .sort((a, b) => a - b)
    return { pieces: [0, ...cuts].map((from, i) => body.slice(from, cuts[i])) }
  }
  test.each(STREAMS)('%s', async (_name, type, dialect) => {
    const srv = await startRecut(type, insideKeys)
    fakes[type].setDefault({ kind: 'text', text: TEXT, chunks: 1 })
    const text = await readAll(await call(srv, dialect, MODEL[type], { stream: true }))
    expect(text).toContain(maskKey(KEY.gemini))
    noRawKey(text)
    expectWellFormedSse(text)
    expect(streamError(dialect, text)).toBeUndefined()
  })

  test('gemini JSON-array stream (no alt=sse)', async () => {
    const srv = await startRecut('gemini', insideKeys)
    fakes.gemini.setDefault({ kind: 'text', text: TEXT, chunks: 1 })
    const text = await readAll(await geminiArrayStream(srv))
    noRawKey(text)
    const arr = JSON.parse(text)
    expect(arr.map((x: any) => x.candidates[0].content.parts[0].text).join('')).toBe(`your key is ${ALL_KEYS.map(maskKey).join(' and ')} ok`)
  })
})

describe('a connection that breaks mid-frame: the SDK gets its API error, the bytes are well-formed', () => {
  const TEXT = 'Hello there. Second half of the answer'
  const midSecondDelta = (body: string) => ({ pieces: [body.slice(0, body.indexOf(' half of the') + 5)], reset: true })
  const text2: Behaviour = { kind: 'text', text: TEXT, chunks: 2 }

  test.each(STREAMS)('%s: raw bytes', async (_name, type, dialect) => {
    const srv = await startRecut(type, midSecondDelta)
    fakes[type].setDefault(text2)
    const text = await readAll(await call(srv, dialect, MODEL[type], { stream: true }))
    expect(text).toContain('Hello there.')
    expect(text).not.toContain(' half')
    expectWellFormedSse(text)
    expect(streamError(dialect, text)).toContain('connection broke mid-answer')
  })

  test.each(STREAMS)('%s: official SDK', async (name, type) => {
    const srv = await startRecut(type, midSecondDelta)
    fakes[type].setDefault(text2)
    const model = MODEL[type]
    let seen = ''
    const caught = async (f: () => Promise<unknown>) => {
      try {
        await f()
        return undefined
      } catch (e) {
        return e
      }
    }
    if (name === 'openai chat') {
      const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
      const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] })
      const e = await caught(async () => {
        for await (const c of stream) seen += c.choices[0]?.delta?.content ?? ''
      })
      expect(e).toBeInstanceOf(OpenAI.APIError)
      expect((e as Error).message).toContain('connection broke mid-answer')
    } else if (name === 'openai responses') {
      const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
      let failed: any
      const e = await caught(async () => {
        for await (const ev of await client.responses.create({ model, stream: true, input: 'hi' })) {
          if (ev.type === 'response.output_text.delta') seen += ev.delta
          if (ev.type === 'response.failed') failed = ev
        }
      })
      expect(e).toBeUndefined() // no SyntaxError: the SDK hands over response.failed
      expect(failed?.response.error?.message).toContain('connection broke mid-answer')
    } else if (name === 'anthropic messages') {
      const client = new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 })
      const stream = client.messages.stream({ model, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      stream.on('text', t => {
        seen += t
      })
      const e = await caught(() => stream.finalMessage())
      expect(e).toBeInstanceOf(Anthropic.APIError)
      expect((e as Error).message).toContain('connection broke mid-answer')
    } else {
      const ai = new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: srv.url } })
      const e = await caught(async () => {
        for await (const c of await ai.models.generateContentStream({ model, contents: 'hi' })) seen += c.text ?? ''
      })
      expect(e).toBeInstanceOf(ApiError)
      expect((e as Error).message).toContain('connection broke mid-answer')
    }
    expect(seen).toBe('Hello there. Second')
  })

  const geminiArray = async (srv: TestServer) => JSON.parse(await readAll(await geminiArrayStream(srv))) as any[]

  test('gemini JSON-array stream: cut inside the second element → the first, then the error element', async () => {
    const srv = await startRecut('gemini', midSecondDelta)
    fakes.gemini.setDefault(text2)
    const arr = await geminiArray(srv)
    expect(arr).toHaveLength(2)
    expect(arr[0].candidates[0].content.parts[0].text).toBe('Hello there. Second')
    expect(arr[1].error.message).toContain('connection broke mid-answer')
  })

  test('gemini JSON-array stream: cut inside the first element → an array of the error element alone', async () => {
    const srv = await startRecut('gemini', body => ({ pieces: [body.slice(0, body.indexOf('Hello') + 5)], reset: true }))
    fakes.gemini.setDefault(text2)
    const arr = await geminiArray(srv)
    expect(arr).toHaveLength(1)
    expect(arr[0].error.message).toContain('connection broke mid-answer')
  })

  test('heartbeats while a frame is incomplete fall between frames, never inside one', async () => {
    // the second delta's frame arrives in two halves, 400 ms apart; heartbeats every 100 ms
    const halves = (body: string) => {
      const i = body.indexOf(' half of the') + 5
      return { pieces: [body.slice(0, i), body.slice(i)] }
    }
    const srv = await startRecut('openai', halves, 400, { AGPROXY_HEARTBEAT_MS: '100' })
    fakes.openai.setDefault(text2)
    const text = await readAll(await call(srv, 'openai', MODEL.openai, { stream: true }))
    // sent while the frame was incomplete (agproxy held its first half back), so before it
    const before = text.slice(0, text.indexOf(' half of the answer'))
    expect((before.match(/^: ping$/gm) ?? []).length).toBeGreaterThanOrEqual(2)
    expectWellFormedSse(text)
    expect(text).toContain(' half of the answer')
    expect(streamError('openai', text)).toBeUndefined()
  })
})

describe('Redactor, FrameBuffer and the held-back cap', () => {
  const te = new TextEncoder()
  const td = new TextDecoder()

  const SIZES: Array<[string, number]> = [
    ['a small chunk (searched as latin1 text)', 1],
    ['a large chunk (searched as bytes)', 40],
  ]
  test.each(SIZES)('Redactor.bytes, %s: keys masked, other bytes intact', (_n, reps) => {
    const r = new Redactor(ALL_KEYS)
    const text = `é€😀 ${KEY.openai}, ${KEY.gemini}${KEY.gemini} \u0000 ü`.repeat(reps)
    const out = r.bytes(te.encode(text))
    expect(td.decode(out)).toBe(text.replaceAll(KEY.openai, maskKey(KEY.openai)).replaceAll(KEY.gemini, maskKey(KEY.gemini)))
    const clean = te.encode('é€😀 nothing secret here'.repeat(reps))
    expect(r.bytes(clean)).toBe(clean) // no key: the same chunk, not a copy
    expect(JSON.stringify(r) + Bun.inspect(r)).not.toContain(KEY.openai)
  })
  /** `text` cut at random places, through a FrameBuffer: what comes out, and where each output ends */
  function replay(framing: Framing, text: string, seed: number) {
    const fb = new FrameBuffer(framing)
    const bytes = te.encode(text)
    let rnd = seed
    const outs: string[] = []
    for (let at = 0; at < bytes.length; ) {
      rnd = (rnd * 1103515245 + 12345) % 2147483648
      const n = 1 + (rnd % 7)
      const out = fb.push(bytes.subarray(at, at + n))
      if (out) outs.push(td.decode(out))
      at += n
    }
    const rest = fb.drain()
    return { outs, rest: rest ? td.decode(rest) : '' }
  }

  test.each(['\n', '\r\n', '\r'])('SSE with line end %j: every output ends on a frame boundary; nothing lost', eol => {
    const frames = ['event: a', 'data: {"x":"one"}', '', ': comment', '', 'data: {"y":"two\\n\\n"}', '', 'data: [DONE]', '', 'data: tail'].join(eol)
    for (let seed = 1; seed < 40; seed++) {
      const { outs, rest } = replay('sse', frames, seed)
      expect(outs.join('') + rest).toBe(frames)
      for (const o of outs) expect(o.endsWith(eol + eol)).toBe(true)
      expect(rest).toBe('data: tail')
    }
  })

  test('JSON array: outputs end after `[`, a complete element, or `]`; braces and quotes inside strings do not count', () => {
    const text = '[{"a": "x}{\\"]", "b": [1, {"c": 2}]}\n,\r\n{"d": "\\\\"}\n]\n'
    for (let seed = 1; seed < 40; seed++) {
      const { outs, rest } = replay('json-array', text, seed)
      expect(outs.join('') + rest).toBe(text)
      let sofar = ''
      for (const o of outs) {
        sofar += o
        expect(['[', '}', ']']).toContain(sofar.trimEnd().at(-1)!)
        if (sofar.trimEnd().endsWith('}')) expect(() => JSON.parse(`${sofar.replace(/^\[/, '[')}]`)).not.toThrow()
      }
    }
  })

  test('an upstream that never ends a frame: held back up to the cap, then the error frame', async () => {
    let sent = 0
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        sent++
        c.enqueue(te.encode(sent === 1 ? 'data: {"ok":1}\n\ndata: "' : 'x'.repeat(1000)))
      },
    }).getReader()
    const out = guardedByteStream([], source, {
      idleMs: 5000,
      totalMs: 5000,
      heartbeatMs: 5000,
      heartbeat: true,
      framing: 'sse',
      maxFrameBytes: 10_000,
      errorFrame: e => te.encode(`data: ${JSON.stringify({ error: { message: e.message } })}\n\n`),
    })
    const text = await new Response(out).text()
    expect(sent).toBeLessThan(20)
    expect(text).toStartWith('data: {"ok":1}\n\ndata: {"error"')
    expect(text).toContain('without ending a stream event')
    expectWellFormedSse(text)
  })

  test('a break mid-frame without framing still closes the line first (translated streams: unchanged)', async () => {
    let n = 0
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        if (n++) c.error(new Error('boom'))
        else c.enqueue(te.encode('data: {"partial'))
      },
    }).getReader()
    const out = guardedByteStream([], source, {
      idleMs: 5000,
      totalMs: 5000,
      heartbeatMs: 5000,
      heartbeat: true,
      errorFrame: e => te.encode(`data: ${JSON.stringify(err('upstream', e.message))}\n\n`),
    })
    expect(await new Response(out).text()).toStartWith('data: {"partial\n\ndata: {')
  })
})

// ───────────── config errors ─────────────

describe('a config error never prints a value that may be a secret', () => {
  const SECRET = 'sk-REAL-config-secret-0123456789abcdef'
  const provider0 = (extra: Record<string, unknown>) => ({ providers: [{ name: 'p', type: 'openai', ...extra }] })
  const thrown = (f: () => unknown): string => {
    try {
      f()
    } catch (e) {
      return (e as Error).message
    }
    throw new Error('no error')
  }

  test.each([
    ['api_keys not a list', provider0({ api_keys: SECRET }), 'config: providers[0].api_keys: expected an array, got a string'],
    [
      'a key object with a bad field',
      provider0({ api_keys: [{ key: SECRET, weight: 'heavy' }] }),
      'config: providers[0].api_keys[0].weight: expected a number >= 0, got a string',
    ],
    ['a key object with a misspelt field', provider0({ api_keys: [{ key: SECRET, wieght: 2 }] }), 'config: providers[0].api_keys[0].wieght: unknown setting'],
    [
      'a header value that is not a string',
      provider0({ headers: { authorization: [`Bearer ${SECRET}`] } }),
      'config: providers[0].headers.authorization: expected a string, got an array',
    ],
    [
      'a numeric api_key (YAML reads digits as a number)',
      // biome-ignore lint/correctness/noPrecisionLoss: a long digit string is what YAML turns into a (lossy) number
      provider0({ api_key: 12345678901234567 }),
      'config: providers[0].api_key: expected a string, got a number',
    ],
    [
      'a base_url carrying ?key=',
      provider0({ base_url: `api.example.com/v1?key=${SECRET}` }),
      'config: providers[0].base_url: expected a string matching ^https?://',
    ],
    ['providers as a mapping', { providers: { name: 'p', type: 'openai', api_keys: [SECRET] } }, 'config: providers: expected an array, got an object'],
    ["agproxy's own api_keys not a list", { api_keys: SECRET }, 'config: api_keys: expected an array, got a string'],
    [
      'api_keys not a list, with api_key too (was spread into one-character keys)',
      { api_keys: SECRET, api_key: 'sk-other-key-000000000000' },
      'config: api_keys: expected an array, got a string',
    ],
  ])('%s', (_name, settings, says) => {
    const msg = thrown(() => buildConfig(settings))
    expect(msg).toStartWith(says)
    expect(msg).not.toContain(SECRET)
    expect(msg).not.toContain('12345678901234567')
  })

  test('AGPROXY_API_KEYS: an error elsewhere names the setting, never the keys from the environment', () => {
    const msg = thrown(() => buildConfig({ port: 'eighty' }, {}, { AGPROXY_API_KEYS: `${SECRET},sk-second-secret-0000000000` }))
    expect(msg).toBe('config: port: expected a number >= 0 <= 65535 (whole number), got "eighty"')
  })

  test('a request body error still echoes the client its own value', async () => {
    const srv = await start()
    const body = JSON.stringify({ model: 'gpt-4o', messages: 'my-own-text' })
    const res = await fetch(`${srv.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect(res.status).toBe(400)
    expect((await res.json()).error.message).toContain('got "my-own-text"')
  })

  test('the command at start: exit 1, the setting named on stderr, the key nowhere', async () => {
    const file = configFile(`providers:\n  - name: p\n    type: openai\n    api_keys: ${SECRET}\n`)
    const r = await runCli(['--port', '0', '--config', file])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(`agproxy: ${file}: providers[0].api_keys: expected an array, got a string`)
    expect(r.stdout + r.stderr).not.toContain(SECRET)
  })

  test.each([
    [[`--api-keys=${SECRET}`], 'unknown argument "--api-keys=…"'],
    [['--api-key', 'k1', SECRET], 'unknown argument "sk…"'],
    [['--bogus'], 'unknown argument "--bogus"'],
  ])('a misspelt flag or a stray argument: the key is not echoed (%j)', async (argv, says) => {
    expect(parseArgs(argv).error).toBe(says)
    const r = await runCli(argv)
    expect(r.code).toBe(2)
    expect(r.stderr).not.toContain(SECRET)
  })

  test.skipIf(process.platform === 'win32')('a SIGHUP reload refused: the ERROR line names the setting, not the key', async () => {
    const file = configFile('log_level: info\n')
    const agproxy = await startCli(['--port', '0', '--config', file])
    try {
      writeFileSync(file, `providers:\n  - name: p\n    type: openai\n    headers: { x-api-key: [${SECRET}] }\n`)
      agproxy.proc.kill('SIGHUP')
      await agproxy.waitFor(/SIGHUP: the configuration was not reloaded.*providers\[0\]\.headers\.x-api-key: expected a string, got an array/)
      expect(agproxy.stdout + agproxy.stderr).not.toContain(SECRET)
    } finally {
      await agproxy.stop()
    }
  })
})
