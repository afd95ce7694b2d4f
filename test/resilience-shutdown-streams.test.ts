/**
 * Shutdown with streams still running: when shutdown_grace runs out, every stream (passed through or translated,
 * started before or after a reload) ends with its dialect's own well-formed error event — "agproxy is shutting
 * down; retry" — and a proper end of the HTTP response, not a connection reset. Each official SDK reports it as
 * its API error; the real command does the same on SIGTERM.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { ApiError, GoogleGenAI } from '@google/genai'
import { startFake, type Fake, type ProviderType } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { callFor, parseSSE, provider, streamError, until, type Dialect } from './support/resilience'
import { cleanEnv, configFile, startCli } from './support/cli'
import { guardedByteStream, type LiveStream } from '../src/providers/stream-guard'
import { err } from '../src/http/errors'

const SHUTTING_DOWN = /agproxy is shutting down; retry/
const KEY: Record<ProviderType, string> = {
  openai: 'sk-proj-SHUTSTREAM0000000000000000001',
  anthropic: 'sk-ant-api03-SHUTSTREAM00000000000001',
  gemini: 'AIzaSySHUTSTREAM000000000000000000001',
}
const MODEL: Record<ProviderType, string> = { openai: 'gpt-4o', anthropic: 'claude-sonnet-4-5', gemini: 'gemini-2.5-flash' }

const fakes = {} as Record<ProviderType, Fake>
beforeAll(async () => {
  for (const t of ['openai', 'anthropic', 'gemini'] as const) fakes[t] = await startFake(t)
})
afterAll(async () => {
  await Promise.all(Object.values(fakes).map(f => f.stop()))
})
const running: TestServer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(s => s.stop(0)))
  for (const f of Object.values(fakes)) f.reset()
})

const settings = (extra: Record<string, unknown> = {}) => ({
  timeouts: { first_token: 5, idle: 5 },
  providers: (['openai', 'anthropic', 'gemini'] as const).map(t => provider(t, fakes[t], [KEY[t]])),
  models: { 'gpt-*': 'openai/*', 'claude-*': 'anthropic/*', 'gemini-*': 'gemini/*' },
  ...extra,
})
async function start(extra: Record<string, unknown> = {}) {
  const srv = await startAgproxy(settings(extra))
  running.push(srv)
  return srv
}

// ───────────── raw bytes ─────────────

type Client = Dialect | 'responses' | 'gemini-json'

/** A streamed model call written on a TCP socket; everything the server sends is kept, and whether the socket failed. */
async function rawStream(port: number, client: Client, model: string) {
  const c = callFor(client === 'gemini-json' ? 'gemini' : client, model, { stream: true })
  const path = client === 'gemini-json' ? c.path.replace('?alt=sse', '') : c.path
  const body = JSON.stringify(c.body)
  let bytes = Buffer.alloc(0)
  let failure: Error | undefined
  const closed = Promise.withResolvers<void>()
  const sock = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data(_s, d) {
        bytes = Buffer.concat([bytes, d])
      },
      close() {
        closed.resolve()
      },
      error(_s, e) {
        failure = e
        closed.resolve()
      },
    },
  })
  sock.write(`POST ${path} HTTP/1.1\r\nhost: localhost:${port}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  return {
    get text() {
      return bytes.toString('utf8')
    },
    /** once the socket is closed: the head, the de-chunked body, and whether the chunked body ended properly */
    async done() {
      await closed.promise
      const split = bytes.indexOf('\r\n\r\n')
      const head = bytes.subarray(0, split).toString('utf8')
      let rest = bytes.subarray(split + 4)
      const parts: Buffer[] = []
      let terminated = false
      while (rest.length) {
        const nl = rest.indexOf('\r\n')
        if (nl < 0) break
        const n = parseInt(rest.subarray(0, nl).toString(), 16)
        if (n === 0) {
          terminated = rest.subarray(nl).toString() === '\r\n\r\n'
          break
        }
        parts.push(rest.subarray(nl + 2, nl + 2 + n))
        rest = rest.subarray(nl + 2 + n + 2)
      }
      return { head, body: Buffer.concat(parts).toString('utf8'), terminated, failure }
    },
  }
}

/** Every SSE event of `text` carries JSON (or OpenAI's [DONE]); comments and blank frames aside, nothing is cut. */
function expectWellFormedSSE(text: string) {
  expect(text.endsWith('\n\n')).toBe(true)
  for (const e of parseSSE(text)) if (e.data !== '[DONE]') expect(() => JSON.parse(e.data)).not.toThrow()
}

const CASES: Array<[Client, ProviderType]> = [
  ['openai', 'openai'],
  ['openai', 'anthropic'],
  ['responses', 'openai'],
  ['responses', 'gemini'],
  ['anthropic', 'anthropic'],
  ['anthropic', 'openai'],
  ['gemini', 'gemini'],
  ['gemini', 'openai'],
  ['gemini-json', 'gemini'],
  ['gemini-json', 'anthropic'],
]

describe('shutdown_grace runs out mid-stream: a well-formed error event, then a proper end (raw bytes)', () => {
  test.each(CASES)('%s client ← %s provider', async (client, type) => {
    const srv = await start()
    fakes[type].enqueue({ kind: 'endless', intervalMs: 40 })
    const s = await rawStream(srv.port, client, MODEL[type])
    await until(() => s.text.includes('tick 1'), 5000, 'the stream to flow')
    const cut = await srv.stop(200)
    expect(cut).toBe(1)
    const { head, body, terminated, failure } = await s.done()
    expect(failure).toBeUndefined() // no ECONNRESET
    expect(head).toStartWith('HTTP/1.1 200')
    expect(terminated).toBe(true) // the chunked body ends with its last-chunk, not a cut
    expect(body).toContain('tick 0')
    if (client === 'gemini-json') {
      const arr = JSON.parse(body)
      expect(arr.at(-1)).toEqual({ error: { code: 503, message: expect.stringMatching(SHUTTING_DOWN), status: 'UNAVAILABLE' } })
    } else {
      expectWellFormedSSE(body)
      expect(streamError(client, body)).toMatch(SHUTTING_DOWN)
      expect(body).toMatch(/shutdown_grace/) // names the setting that ran out
    }
    expect(fakes[type].last()!.aborted).toBe(true) // the upstream call is released
  })
})

describe('each official SDK reports the shutdown as its API error', () => {
  const SDK_CASES: Array<[string, ProviderType]> = [
    ['openai chat', 'openai'],
    ['openai chat', 'anthropic'],
    ['openai responses', 'openai'],
    ['openai responses', 'gemini'],
    ['anthropic messages', 'anthropic'],
    ['anthropic messages', 'openai'],
    ['google generateContentStream', 'gemini'],
    ['google generateContentStream', 'anthropic'],
  ]
  test.each(SDK_CASES)('%s (%s provider)', async (sdk, type) => {
    const srv = await start()
    fakes[type].enqueue({ kind: 'endless', intervalMs: 40 })
    const model = MODEL[type]
    const seen: string[] = []
    let stopping: Promise<number> | undefined
    const stopOnce = () => {
      stopping ??= srv.stop(200)
    }
    if (sdk === 'openai chat') {
      const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
      const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] })
      const e = await (async () => {
        try {
          for await (const c of stream) {
            seen.push(c.choices[0]?.delta?.content ?? '')
            stopOnce()
          }
        } catch (x) {
          return x
        }
      })()
      expect(e).toBeInstanceOf(OpenAI.APIError)
      expect((e as Error).message).toMatch(SHUTTING_DOWN)
    } else if (sdk === 'openai responses') {
      const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
      const stream = await client.responses.create({ model, stream: true, input: 'hi' })
      let failed: any
      for await (const ev of stream) {
        if (ev.type === 'response.output_text.delta') {
          seen.push(ev.delta)
          stopOnce()
        }
        if (ev.type === 'response.failed') failed = ev
      }
      expect(failed?.response.status).toBe('failed')
      expect(failed?.response.error?.message).toMatch(SHUTTING_DOWN)
    } else if (sdk === 'anthropic messages') {
      const client = new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 })
      const stream = client.messages.stream({ model, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      stream.on('text', t => {
        seen.push(t)
        stopOnce()
      })
      const e = await stream.finalMessage().then(
        () => undefined,
        x => x,
      )
      expect(e).toBeInstanceOf(Anthropic.APIError)
      expect((e as Error).message).toMatch(SHUTTING_DOWN)
    } else {
      const ai = new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: srv.url } })
      const stream = await ai.models.generateContentStream({ model, contents: 'hi' })
      const e = await (async () => {
        try {
          for await (const c of stream) {
            seen.push(c.text ?? '')
            stopOnce()
          }
        } catch (x) {
          return x
        }
      })()
      expect(e).toBeInstanceOf(ApiError)
      expect((e as ApiError).status).toBe(503)
      expect((e as Error).message).toMatch(SHUTTING_DOWN)
    }
    expect(await stopping).toBe(1)
    expect(seen.join('')).toContain('tick 0') // content reached the client before the shutdown
  })
})

test('a stream that started before a reload is ended too, with those started after it', async () => {
  const srv = await start()
  fakes.openai.enqueue({ kind: 'endless', intervalMs: 40 })
  const before = await rawStream(srv.port, 'openai', 'gpt-4o')
  await until(() => before.text.includes('tick 0'), 5000, 'the first stream to flow')
  srv.reload(srv.agproxy.config) // fresh pools; the first stream keeps running on the old ones
  fakes.anthropic.enqueue({ kind: 'endless', intervalMs: 40 })
  const after = await rawStream(srv.port, 'anthropic', 'claude-sonnet-4-5')
  await until(() => after.text.includes('tick 0') && before.text.includes('tick 3'), 5000, 'both streams to flow')
  expect(await srv.stop(200)).toBe(2)
  for (const [dialect, s] of [
    ['openai', before],
    ['anthropic', after],
  ] as const) {
    const { body, terminated, failure } = await s.done()
    expect({ failure, terminated }).toEqual({ failure: undefined, terminated: true })
    expect(streamError(dialect, body)).toMatch(SHUTTING_DOWN)
  }
})

test('streams that end within shutdown_grace are untouched', async () => {
  const srv = await start()
  fakes.anthropic.enqueue({ kind: 'slow', text: 'one two three', chunkDelayMs: 60 })
  const s = await rawStream(srv.port, 'anthropic', 'claude-sonnet-4-5')
  await until(() => s.text.includes('one'), 5000, 'the stream to flow')
  expect(await srv.stop(3000)).toBe(0)
  const { body, terminated } = await s.done()
  expect(terminated).toBe(true)
  expect(streamError('anthropic', body)).toBeUndefined()
  expect(parseSSE(body).at(-1)!.event).toBe('message_stop')
})

test('SIGTERM to the command: the running stream ends with the shutting-down error, exit 0', async () => {
  fakes.openai.enqueue({ kind: 'endless', intervalMs: 40 })
  const yaml = `port: 0\nshutdown_grace: 0.3\ntimeouts: { first_token: 5, idle: 5 }
providers:\n  - { name: up, type: openai, base_url: "${fakes.openai.url}", api_keys: [${KEY.openai}] }\n`
  const run = await startCli(['--config', configFile(yaml)], cleanEnv())
  try {
    const client = new OpenAI({ baseURL: `${run.url}/v1`, apiKey: 'x', maxRetries: 0 })
    const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    const seen: string[] = []
    const e = await (async () => {
      try {
        for await (const c of stream) {
          seen.push(c.choices[0]?.delta?.content ?? '')
          if (seen.length === 2) run.proc.kill('SIGTERM')
        }
      } catch (x) {
        return x
      }
    })()
    expect(e).toBeInstanceOf(OpenAI.APIError)
    expect((e as Error).message).toMatch(SHUTTING_DOWN)
    expect(await run.proc.exited).toBe(0)
    expect(run.stderr + run.stdout).toMatch(/1 stream\(s\) still running end with an "agproxy is shutting down" error event/)
  } finally {
    run.proc.kill('SIGKILL')
  }
}, 15_000)

// ───────────── the hook itself ─────────────

describe('guardedByteStream: the live registry', () => {
  const te = new TextEncoder()
  const ERR = 'data: {"error":"bye"}\n\n'
  function setup(extra: Partial<Parameters<typeof guardedByteStream>[2]> = {}) {
    let src!: ReadableStreamDefaultController<Uint8Array>
    let cancelled = false
    const source = new ReadableStream<Uint8Array>(
      {
        start(c) {
          src = c
        },
        cancel() {
          cancelled = true
        },
      },
      { highWaterMark: 0 },
    )
    const live = new Set<LiveStream>()
    let ended = 0
    const out = guardedByteStream([], source.getReader(), {
      idleMs: 10_000,
      totalMs: 10_000,
      heartbeatMs: 10_000,
      heartbeat: false,
      live,
      errorFrame: e => te.encode(`data: ${JSON.stringify({ error: e.message })}\n\n`),
      onEnd: () => {
        ended++
      },
      ...extra,
    }).getReader()
    const td = new TextDecoder()
    const readAll = async () => {
      let t = ''
      for (let r = await out.read(); !r.done; r = await out.read()) t += td.decode(r.value)
      return t
    }
    return { push: (t: string) => src.enqueue(te.encode(t)), src: () => src, live, out, readAll, cancelled: () => cancelled, ended: () => ended }
  }

  test('end(e) after a whole frame: the error frame follows it, the stream closes, leaves the registry, the upstream is released', async () => {
    const s = setup()
    expect(s.live.size).toBe(1)
    s.push('data: 1\n\n')
    expect(new TextDecoder().decode((await s.out.read()).value)).toBe('data: 1\n\n')
    const pending = s.out.read() // a read waiting on a silent upstream is answered by the end
    for (const l of s.live) l.end(err('unavailable', 'bye'))
    expect(new TextDecoder().decode((await pending).value)).toBe(ERR)
    expect((await s.out.read()).done).toBe(true)
    expect(s.live.size).toBe(0)
    expect(s.cancelled()).toBe(true)
    expect(s.ended()).toBe(1)
  })

  test('end(e) after a partial frame: the error still starts a frame of its own', async () => {
    const s = setup()
    s.push('data: 1\n\n')
    await s.out.read()
    s.push('data: {"a":')
    const pending = s.out.read()
    await Bun.sleep(5)
    for (const l of s.live) l.end(err('unavailable', 'bye'))
    const text = new TextDecoder().decode((await pending).value) + (await s.readAll())
    expect(text.endsWith(ERR)).toBe(true)
    expect(text.slice(0, -ERR.length)).toMatch(/\n\n$/)
  })

  test('leaves the registry however it ends: clean end, upstream failure, client gone; a later end() is a no-op', async () => {
    const clean = setup()
    clean.push('data: 1\n\n')
    clean.src().close()
    expect(await clean.readAll()).toBe('data: 1\n\n')
    expect(clean.live.size).toBe(0)

    const broken = setup()
    broken.src().error(new Error('socket hang up'))
    expect(await broken.readAll()).toContain('connection broke mid-answer')
    expect(broken.live.size).toBe(0)

    const gone = setup()
    const [handle] = gone.live
    await gone.out.cancel()
    expect(gone.live.size).toBe(0)
    handle!.end(err('unavailable', 'bye'))
    expect(gone.ended()).toBe(1)
  })
})
