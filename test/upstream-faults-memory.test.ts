/**
 * Memory bounds on what upstreams and clients send (the `limits:` block): a compressed answer that
 * expands without end, an SSE line that never ends, a declared body larger than Bun's own cap, and many
 * large request bodies at once. Each fault gets a well-formed error in the caller's dialect while agproxy's
 * memory stays bounded and /healthz keeps answering.
 */
import { whileWatching } from './support/watch'
import { afterEach, describe, expect, test } from 'bun:test'
import { brotliCompressSync, deflateSync } from 'node:zlib'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { buildConfig } from '../src/config/load'
import { createBodyBudget } from '../src/http/body-budget'
import type { ProviderType } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { expectDialectError } from './support/front-door'
import { call, readAll, streamError, until } from './support/resilience'

// ───────────── the limits block ─────────────

describe('limits: config', () => {
  test('defaults, and a partial block keeps the other defaults', () => {
    expect(buildConfig({}).limits).toEqual({ upstream_body_mb: 64, sse_event_mb: 16, request_bodies_mb: 512 })
    expect(buildConfig({ limits: { sse_event_mb: 2 } }).limits).toEqual({ upstream_body_mb: 64, sse_event_mb: 2, request_bodies_mb: 512 })
  })

  test('a bad value names the setting', () => {
    expect(() => buildConfig({ limits: { upstream_body_mb: 0 } }, {}, {}, 'agproxy.yaml')).toThrow('agproxy.yaml: limits.upstream_body_mb')
    expect(() => buildConfig({ limits: { request_body_mb: 10 } }, {}, {}, 'agproxy.yaml')).toThrow('agproxy.yaml: limits.request_body_mb: unknown setting')
  })
})

// ───────────── measuring: memory, /healthz, upstreams ─────────────

interface Upstream {
  url: string
  requests: number
  stop(): void
}

/** An upstream of any provider type whose every answer is `respond(req)`. */
function upstream(respond: (req: Request) => Response | Promise<Response>): Upstream {
  const state = { requests: 0 }
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    fetch(req) {
      state.requests++
      return respond(req)
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}`,
    get requests() {
      return state.requests
    },
    stop: () => void server.stop(true),
  }
}

const KEY: Record<ProviderType, string> = {
  openai: 'sk-proj-MEMORY0000000000000000000001',
  anthropic: 'sk-ant-api03-MEMORY0000000000000001',
  gemini: 'AIzaSyMEMORY000000000000000000000001',
}

/** agproxy with one provider of `type` at `up`, every model routed to it. */
async function start(type: ProviderType, up: Upstream, settings: Record<string, unknown> = {}) {
  const srv = await startAgproxy({
    providers: [{ name: 'up', type, base_url: type === 'openai' ? `${up.url}/v1` : up.url, api_keys: [KEY[type]] }],
    models: { '*': 'up/*' },
    retry: { max_attempts: 3, max_wait: 0 },
    ...settings,
  })
  running.push(srv)
  return srv
}

const running: TestServer[] = []
const upstreams: Upstream[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(s => s.stop(0)))
  for (const u of upstreams.splice(0)) u.stop()
})

const HI = [{ role: 'user' as const, content: 'hi' }]
const openai = (srv: TestServer) => new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
const anthropic = (srv: TestServer) => new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 })
/** a whole OpenAI chat answer saying `content` */
const chatAnswer = (content: string) => ({
  id: 'c',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
})
/** one OpenAI stream frame saying `content` */
const chatChunk = (content: string, finish: string | null = null) => {
  const chunk = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: finish }] }
  return `data: ${JSON.stringify(chunk)}\n\n`
}

/** The error an SDK call threw: its status and message. */
async function sdkError(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await p
  } catch (e: any) {
    return { status: e.status, message: String(e.error?.error?.message ?? e.error?.message ?? e.message) }
  }
  throw new Error('the call succeeded')
}

// ───────────── compressed answers ─────────────

/** 16 MB of spaces as one gzip member (~16 KB); concatenated members decode to their sum. */
const MEMBER = Bun.gzipSync(new Uint8Array(16 * 1048576).fill(32), { level: 9 })
/** a gzip bomb: 512 MB decoded, about half a megabyte on the wire */
const BOMB = Buffer.concat(Array<Uint8Array>(32).fill(MEMBER))
const gzipHeaders = (type: string) => ({ 'content-type': type, 'content-encoding': 'gzip' })

describe('limits.upstream_body_mb: a compressed answer is counted as it is decoded', () => {
  const bombWith =
    (length: boolean, status = 200) =>
    () =>
      new Response(
        length
          ? BOMB
          : new ReadableStream({
              start(c) {
                c.enqueue(BOMB)
                c.close()
              },
            }),
        { status, headers: gzipHeaders('application/json') },
      )

  test.each([
    ['with a content-length', true],
    ['chunked', false],
  ])('OpenAI client → openai provider (pass-through), gzip bomb %s: 502 naming the setting, not retried, memory bounded', async (_n, length) => {
    const up = upstream(bombWith(length))
    upstreams.push(up)
    const srv = await start('openai', up, { limits: { upstream_body_mb: 8 } })
    const { result, grewMb, healthMs } = await whileWatching(srv, () => sdkError(openai(srv).chat.completions.create({ model: 'gpt-4o', messages: HI })))
    expect(result.status).toBe(502)
    expect(result.message).toContain('larger than 8 MB once decompressed (limits.upstream_body_mb)')
    expect(up.requests).toBe(1)
    expect(grewMb).toBeLessThan(150)
    expect(healthMs).toBeLessThan(500)
  })

  test.each([
    ['with a content-length', true],
    ['chunked', false],
  ])('Anthropic client → gemini provider (translated), gzip bomb %s: 502 in the Anthropic dialect', async (_n, length) => {
    const up = upstream(bombWith(length))
    upstreams.push(up)
    const srv = await start('gemini', up, { limits: { upstream_body_mb: 8 } })
    const ask = () => anthropic(srv).messages.create({ model: 'gemini-2.5-flash', max_tokens: 8, messages: HI })
    const { result, grewMb, healthMs } = await whileWatching(srv, () => sdkError(ask()))
    expect(result.status).toBe(502)
    expect(result.message).toContain('(limits.upstream_body_mb)')
    expect(up.requests).toBe(1)
    expect(grewMb).toBeLessThan(150)
    expect(healthMs).toBeLessThan(500)
  })

  test('the default (64 MB) with a 512 MB bomb; a Gemini client gets its own dialect', async () => {
    const up = upstream(bombWith(true))
    upstreams.push(up)
    const srv = await start('gemini', up)
    const { result: res, grewMb, healthMs } = await whileWatching(srv, () => call(srv, 'gemini', 'gemini-2.5-flash'))
    const message = expectDialectError('gemini', 502, await res.json(), res.headers)
    expect(message).toContain('larger than 64 MB once decompressed (limits.upstream_body_mb); raise limits.upstream_body_mb')
    expect(grewMb).toBeLessThan(400)
    expect(healthMs).toBeLessThan(500)
  })

  test('four bombs at once: each refused, memory bounded, and a call to another upstream is not held up', async () => {
    const up = upstream(bombWith(true))
    const fine = upstream(() => Response.json(chatAnswer('fine')))
    upstreams.push(up, fine)
    const srv = await start('openai', up, {
      providers: [
        { name: 'up', type: 'openai', base_url: `${up.url}/v1`, api_keys: [KEY.openai] },
        { name: 'fine', type: 'openai', base_url: `${fine.url}/v1`, api_keys: [KEY.openai] },
      ],
    })
    const ask = (model: string) => openai(srv).chat.completions.create({ model, messages: HI })
    await ask('fine/warm-up')
    const { result, grewMb, healthMs } = await whileWatching(srv, async () => {
      const bombs = Array.from({ length: 4 }, () => sdkError(ask('up/gpt-4o')))
      await Bun.sleep(20)
      const t0 = performance.now()
      const other = await ask('fine/gpt-4o')
      const otherMs = performance.now() - t0
      return { bombs: await Promise.all(bombs), other: other.choices[0]!.message.content, otherMs }
    })
    expect(result.bombs.map(b => b.status)).toEqual([502, 502, 502, 502])
    expect(result.other).toBe('fine')
    expect(result.otherMs).toBeLessThan(500)
    expect(grewMb).toBeLessThan(500)
    expect(healthMs).toBeLessThan(500)
  })

  test('an error answer that is a gzip bomb is read only as far as its message needs', async () => {
    const up = upstream(bombWith(false, 500))
    upstreams.push(up)
    const srv = await start('openai', up)
    const { result, grewMb } = await whileWatching(srv, () => sdkError(openai(srv).chat.completions.create({ model: 'gpt-4o', messages: HI })))
    expect(result.status).toBeGreaterThanOrEqual(500)
    expect(grewMb).toBeLessThan(150)
  })

  test('a plain answer with a content-length over the limit is refused before it is read', async () => {
    const big = new Uint8Array(12 * 1048576).fill(32)
    const up = upstream(() => new Response(big, { headers: { 'content-type': 'application/json' } }))
    upstreams.push(up)
    const srv = await start('openai', up, { limits: { upstream_body_mb: 8 } })
    const r = await sdkError(openai(srv).chat.completions.create({ model: 'gpt-4o', messages: HI }))
    expect(r).toEqual({ status: 502, message: expect.stringContaining('larger than 8 MB once decompressed (limits.upstream_body_mb)') })
  })

  test.each([
    ['gzip', (s: string) => Bun.gzipSync(s)],
    ['deflate', (s: string) => deflateSync(s)],
    ['br', (s: string) => brotliCompressSync(s)],
    ['zstd', (s: string) => Bun.zstdCompressSync(s)],
  ])('a %s answer under the limit still works (pass-through and translated)', async (coding, compress) => {
    const answer = new Uint8Array(compress(JSON.stringify(chatAnswer(`squeezed${' '.repeat(100_000)}`))))
    const up = upstream(() => new Response(answer, { headers: { 'content-type': 'application/json', 'content-encoding': coding } }))
    upstreams.push(up)
    const srv = await start('openai', up, { limits: { upstream_body_mb: 1 } })
    const chat = await openai(srv).chat.completions.create({ model: 'gpt-4o', messages: HI })
    expect(chat.choices[0]!.message.content!.trim()).toBe('squeezed')
    const msg = await anthropic(srv).messages.create({ model: 'gpt-4o', max_tokens: 8, messages: HI })
    expect(msg.content.map(b => b.type === 'text' && b.text.trim())).toEqual(['squeezed'])
  })

  test('a compressed pass-through stream is relayed chunk by chunk: memory stays bounded while the client reads', async () => {
    // 16 MB of whole SSE frames as one gzip member, sent 16 times: 256 MB of frames decoded, a few hundred KB on the wire
    // (whole frames: the pass-through relays frame by frame and holds back at most one incomplete frame)
    const frame = chatChunk('x'.repeat(1000))
    const member = Bun.gzipSync(frame.repeat(Math.floor((16 * 1048576) / frame.length)), { level: 9 })
    const stream = () =>
      new ReadableStream({
        start(c) {
          c.enqueue(Bun.gzipSync(chatChunk('hi')))
          for (let i = 0; i < 16; i++) c.enqueue(member)
          c.close()
        },
      })
    const up = upstream(() => new Response(stream(), { headers: gzipHeaders('text/event-stream') }))
    upstreams.push(up)
    const srv = await start('openai', up)
    const {
      result: read,
      grewMb,
      healthMs,
    } = await whileWatching(srv, async () => {
      const res = await call(srv, 'openai', 'gpt-4o', { stream: true })
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      let n = 0
      // collect this side's garbage as it goes: what counts is what agproxy holds, not chunks the client dropped
      for (let next = 16 * 1048576; n < 200 * 1048576; ) {
        const r = await reader.read()
        if (r.done) break
        n += r.value.length
        if (n >= next) {
          Bun.gc(true)
          next += 16 * 1048576
        }
      }
      await reader.cancel()
      return n
    })
    expect(read).toBeGreaterThanOrEqual(200 * 1048576)
    expect(grewMb).toBeLessThan(150)
    expect(healthMs).toBeLessThan(500)
  })
})

// ───────────── an SSE line that never ends ─────────────

const sse = (event: string | undefined, data: unknown) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`

/** What each provider type streams before the endless line: its opening and one text delta ("hello"). */
const OPENING: Record<ProviderType, string> = {
  openai: chatChunk('hello'),
  anthropic:
    sse('message_start', {
      type: 'message_start',
      message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 1, output_tokens: 0 } },
    }) +
    sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
    sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hello' } }),
  gemini: sse(undefined, { candidates: [{ content: { role: 'model', parts: [{ text: 'hello' }] }, index: 0 }] }),
}

interface Endless extends Upstream {
  sent: number
}

/** An upstream that streams `opening`, then starts a data line and never ends it (64 KB per pull, as fast as it is read). */
function endlessLine(opening: string): Endless {
  const piece = new TextEncoder().encode('x'.repeat(65536))
  const state = { sent: 0 }
  const up = upstream(
    () =>
      new Response(
        new ReadableStream<Uint8Array>(
          {
            start(c) {
              c.enqueue(new TextEncoder().encode(`${opening}data: {"text":"`))
            },
            pull(c) {
              state.sent += piece.length
              c.enqueue(piece)
            },
          },
          { highWaterMark: 0 },
        ),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
  )
  return Object.assign(up, {
    get sent() {
      return state.sent
    },
  })
}

describe('limits.sse_event_mb: an SSE line that never ends, on a translated stream', () => {
  test.each([
    ['openai', 'anthropic'],
    ['anthropic', 'gemini'],
    ['gemini', 'openai'],
  ] as const)("%s client → %s provider: the content so far, then the dialect's error event; memory bounded", async (dialect, type) => {
    const up = endlessLine(OPENING[type])
    upstreams.push(up)
    const srv = await start(type, up, { limits: { sse_event_mb: 1 } })
    const {
      result: text,
      grewMb,
      healthMs,
    } = await whileWatching(srv, async () => {
      const res = await call(srv, dialect, `${type}-model`, { stream: true })
      expect(res.status).toBe(200)
      return readAll(res, 10_000)
    })
    expect(text).toContain('hello')
    expect(streamError(dialect, text)).toContain('larger than 1 MB (limits.sse_event_mb)')
    // agproxy stopped reading the upstream soon after the limit
    const sent = up.sent
    await Bun.sleep(100)
    expect(up.sent).toBe(sent)
    expect(sent).toBeLessThan(8 * 1048576)
    expect(grewMb).toBeLessThan(150)
    expect(healthMs).toBeLessThan(500)
  })

  test('the OpenAI SDK reads the error event as an API error', async () => {
    const up = endlessLine(OPENING.anthropic)
    upstreams.push(up)
    const srv = await start('anthropic', up, { limits: { sse_event_mb: 1 } })
    const stream = await openai(srv).chat.completions.create({ model: 'claude-x', stream: true, messages: HI })
    let text = ''
    const thrown = await (async () => {
      try {
        for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''
      } catch (e) {
        return e
      }
    })()
    expect(text).toBe('hello')
    expect(thrown).toBeInstanceOf(OpenAI.APIError)
    expect((thrown as Error).message).toContain('(limits.sse_event_mb)')
  })

  test('an endless line before any content: 502 in the dialect, not retried', async () => {
    const up = endlessLine('')
    upstreams.push(up)
    const srv = await start('openai', up, { limits: { sse_event_mb: 1 } })
    const r = await sdkError(anthropic(srv).messages.create({ model: 'gpt-x', max_tokens: 8, stream: true, messages: HI }))
    expect(r).toEqual({ status: 502, message: expect.stringContaining('larger than 1 MB (limits.sse_event_mb)') })
    expect(up.requests).toBe(1)
  })

  test('the default (16 MB) holds: a long line is cut at the limit, /healthz stays fast', async () => {
    const up = endlessLine(OPENING.gemini)
    upstreams.push(up)
    const srv = await start('gemini', up)
    const { result: text, grewMb, healthMs } = await whileWatching(srv, async () => readAll(await call(srv, 'openai', 'gemini-x', { stream: true }), 20_000))
    expect(streamError('openai', text)).toContain('larger than 16 MB (limits.sse_event_mb)')
    expect(grewMb).toBeLessThan(250)
    expect(healthMs).toBeLessThan(500)
  })
})

// ───────────── a declared body larger than Bun's own cap ─────────────

/** Send only a request's headers on a raw socket (fetch would insist on sending the body) and read one whole answer. */
async function headersOnly(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Headers; body: string }> {
  const { promise, resolve, reject } = Promise.withResolvers<{ status: number; headers: Headers; body: string }>()
  let got = Buffer.alloc(0)
  const sock = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data(s, d) {
        got = Buffer.concat([got, d])
        const end = got.indexOf('\r\n\r\n')
        if (end < 0) return
        const [statusLine, ...lines] = got.subarray(0, end).toString('latin1').split('\r\n')
        const h = new Headers()
        for (const l of lines) {
          const i = l.indexOf(':')
          h.append(l.slice(0, i).trim(), l.slice(i + 1).trim())
        }
        const body = got.subarray(end + 4)
        if (body.length < Number(h.get('content-length') ?? 0)) return
        resolve({ status: Number(statusLine!.split(' ')[1]), headers: h, body: body.toString('utf8') })
        s.end()
      },
      close() {
        reject(new Error(`connection closed; got ${JSON.stringify(got.toString('latin1').slice(0, 300))}`))
      },
      error(_s, e) {
        reject(e)
      },
    },
  })
  sock.write(
    `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`,
  )
  return promise
}

describe("max_body_mb: every 413 is agproxy's own, in the caller's dialect", () => {
  test.each([
    ['openai', '/v1/chat/completions', {}],
    ['anthropic', '/v1/messages', { 'anthropic-version': '2023-06-01' }],
    ['gemini', '/v1beta/models/gemini-2.5-flash:generateContent', {}],
  ] as const)('%s: a declared 600 MB body (over what Bun would take) gets the dialect 413 naming max_body_mb', async (dialect, path, extra) => {
    const srv = await startAgproxy({})
    running.push(srv)
    const res = await headersOnly(srv.port, path, { 'content-type': 'application/json', 'content-length': String(600 * 1048576), ...extra })
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type') ?? '').toContain('application/json')
    expect(expectDialectError(dialect, 413, JSON.parse(res.body), res.headers)).toContain(
      'larger than the limit of 100 MB. Send a smaller request, or raise max_body_mb',
    )
  })

  test("with Bun's cap out of the way, a chunked body nobody reads (the telemetry sink) is discarded, not buffered", async () => {
    const srv = await startAgproxy({})
    running.push(srv)
    const { grewMb } = await whileWatching(
      srv,
      async () => {
        const { promise, resolve } = Promise.withResolvers<void>()
        let answer = ''
        const socket = {
          data(_s: unknown, d: Buffer) {
            answer += d.toString()
          },
          close() {
            resolve()
          },
          error() {
            resolve()
          },
        }
        const sock = await Bun.connect({ hostname: '127.0.0.1', port: srv.port, socket })
        sock.write(`POST /api/event_logging/batch HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`)
        const chunk = Buffer.from(`100000\r\n${'a'.repeat(1048576)}\r\n`)
        for (let i = 0; i < 300 && sock.readyState === 1; i++) while (sock.write(chunk) === 0 && sock.readyState === 1) await Bun.sleep(1)
        sock.end()
        await promise
        expect(answer).toStartWith('HTTP/1.1 204')
      },
      100,
    )
    expect(grewMb).toBeLessThan(100)
  })
})

// ───────────── request bodies held at once ─────────────

interface Sent {
  status: number
  headers: Headers
  body: string
}

/**
 * POST a JSON chat body of about `mb` MB on a raw socket, streamed from one small buffer (the test itself holds
 * almost nothing), with a content-length or chunked. `stopAfter` closes the connection once that many bytes
 * are sent (a client that gives up mid-body). Resolves with the answer, or undefined when there is none.
 */
async function sendBig(port: number, mb: number, opts: { path?: string; chunked?: boolean; stopAfter?: number; model?: string } = {}) {
  const head = Buffer.from(`{"model":"${opts.model ?? 'gpt-4o'}","max_tokens":8,"messages":[{"role":"user","content":"`)
  const tail = Buffer.from('"}]}')
  const piece = Buffer.alloc(1048576, 'a')
  const pieces = Math.max(0, (Math.round(mb * 1048576 - head.length - tail.length) / piece.length) | 0)
  const length = head.length + pieces * piece.length + tail.length
  const { promise, resolve } = Promise.withResolvers<Sent | undefined>()
  let got = Buffer.alloc(0)
  let finished = false
  let drained: (() => void) | undefined
  const sock = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data(s, d) {
        got = Buffer.concat([got, d])
        const end = got.indexOf('\r\n\r\n')
        if (end < 0) return
        const [statusLine, ...lines] = got.subarray(0, end).toString('latin1').split('\r\n')
        const h = new Headers()
        for (const l of lines) {
          const i = l.indexOf(':')
          h.append(l.slice(0, i).trim(), l.slice(i + 1).trim())
        }
        const body = got.subarray(end + 4)
        if (body.length < Number(h.get('content-length') ?? 0)) return
        finished = true
        resolve({ status: Number(statusLine!.split(' ')[1]), headers: h, body: body.toString('utf8') })
        s.end()
      },
      drain() {
        drained?.()
      },
      close() {
        finished = true
        drained?.()
        resolve(undefined)
      },
      error() {
        finished = true
        drained?.()
        resolve(undefined)
      },
    },
  })
  let sent = 0
  const write = async (b: Uint8Array) => {
    for (let off = 0; off < b.length && !finished; ) {
      const n = sock.write(b.subarray(off))
      off += n
      sent += n
      if (opts.stopAfter !== undefined && sent >= opts.stopAfter) {
        finished = true
        sock.end()
        return
      }
      if (off < b.length)
        await new Promise<void>(r => {
          drained = r
        })
    }
  }
  const frame = (b: Uint8Array) => (opts.chunked ? Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]) : b)
  await write(
    Buffer.from(
      `POST ${opts.path ?? '/v1/chat/completions'} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
        `${opts.chunked ? 'transfer-encoding: chunked' : `content-length: ${length}`}\r\n\r\n`,
    ),
  )
  await write(frame(head))
  const framedPiece = frame(piece)
  for (let i = 0; i < pieces && !finished; i++) await write(framedPiece)
  await write(frame(tail))
  if (opts.chunked) await write(Buffer.from('0\r\n\r\n'))
  return promise
}

/** An OpenAI upstream that answers after `ms` without reading the request body (this process holds only agproxy's copy). */
const slowAnswer = (ms: number) =>
  upstream(async () => {
    await Bun.sleep(ms)
    return Response.json(chatAnswer('ok'))
  })

describe('limits.request_bodies_mb: request bodies held at once', () => {
  test('the budget: reserve, refuse over it while others hold, never block the only body, release once', () => {
    const budget = createBodyBudget(10)
    const a = budget.hold()
    const b = budget.hold()
    expect(a.add(6)).toBeUndefined()
    expect(b.add(5)).toMatchObject({ status: 503, kind: 'unavailable', retryAfter: 1, message: expect.stringContaining('limits.request_bodies_mb') })
    expect(budget.held).toBe(6)
    expect(b.add(4)).toBeUndefined()
    a.release()
    a.release()
    expect(budget.held).toBe(4)
    // alone, b may go over the budget (max_body_mb bounds it)
    expect(b.add(20)).toBeUndefined()
    b.release()
    expect(budget.held).toBe(0)
  })

  test('eight 30 MB bodies at once with room for two: two are served, six get a 503 with retry-after naming the setting', async () => {
    const up = slowAnswer(1500)
    upstreams.push(up)
    const srv = await start('openai', up, { max_body_mb: 40, limits: { request_bodies_mb: 64 } })
    const { result, grewMb, healthMs } = await whileWatching(srv, () => Promise.all(Array.from({ length: 8 }, () => sendBig(srv.port, 30))))
    const statuses = result.map(r => r?.status).sort()
    expect(statuses).toEqual([200, 200, 503, 503, 503, 503, 503, 503])
    for (const r of result.filter(x => x?.status === 503)) {
      expect(r!.headers.get('retry-after')).toBe('1')
      expect(expectDialectError('openai', 503, JSON.parse(r!.body), r!.headers)).toContain(
        'would go over limits.request_bodies_mb (64 MB). Retry in a moment, or raise limits.request_bodies_mb',
      )
    }
    expect(srv.agproxy.bodies.held).toBe(0)
    expect(grewMb).toBeLessThan(400)
    expect(healthMs).toBeLessThan(500)
  })

  test("a chunked body is reserved as it arrives: refused mid-body in the caller's dialect when it would go over", async () => {
    const up = slowAnswer(1500)
    upstreams.push(up)
    const srv = await start('anthropic', up, { max_body_mb: 40, limits: { request_bodies_mb: 48 } })
    const first = sendBig(srv.port, 30, { path: '/v1/messages', model: 'claude-x' })
    await until(() => srv.agproxy.bodies.held > 0)
    const second = await sendBig(srv.port, 30, { path: '/v1/messages', chunked: true, model: 'claude-x' })
    expect(second?.status).toBe(503)
    expect(expectDialectError('anthropic', 503, JSON.parse(second!.body), second!.headers)).toContain('limits.request_bodies_mb (48 MB)')
    expect((await first)?.status).toBe(200)
    expect(srv.agproxy.bodies.held).toBe(0)
  })

  test('a lone body larger than the budget is still served (the budget never blocks the only body)', async () => {
    const up = slowAnswer(0)
    upstreams.push(up)
    const srv = await start('openai', up, { max_body_mb: 40, limits: { request_bodies_mb: 8 } })
    expect((await sendBig(srv.port, 20))?.status).toBe(200)
    expect((await sendBig(srv.port, 20, { chunked: true }))?.status).toBe(200)
    expect(srv.agproxy.bodies.held).toBe(0)
  })

  test('the count returns to 0 after many requests: answers, failures, streams, refusals and clients that leave', async () => {
    const up = upstream(async req => {
      const body = (await req.json()) as { stream?: boolean; messages: Array<{ content: string }> }
      const what = body.messages[0]!.content
      if (what === 'fail') return Response.json({ error: { message: 'boom', type: 'server_error' } }, { status: 500 })
      if (what === 'slow') await Bun.sleep(2000)
      if (what.length > 1048576) await Bun.sleep(500)
      if (body.stream) return new Response(`${chatChunk('ok') + chatChunk('', 'stop')}data: [DONE]\n\n`, { headers: { 'content-type': 'text/event-stream' } })
      return Response.json(chatAnswer('ok'))
    })
    upstreams.push(up)
    const srv = await start('openai', up, { max_body_mb: 8, limits: { request_bodies_mb: 16 }, retry: { max_attempts: 1, max_wait: 0 } })
    const post = (body: string, signal?: AbortSignal) =>
      fetch(`${srv.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal }).then(
        async r => {
          await r.text()
          return r.status
        },
        () => 0,
      )
    const chat = (content: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
      post(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra }), signal)
    // small bodies: answers (plain and streamed), upstream failures (503 once the one attempt failed), bad JSON, clients gone
    const small = await Promise.all([
      ...Array.from({ length: 20 }, () => chat('hi')),
      ...Array.from({ length: 5 }, () => chat('hi', { stream: true })),
      ...Array.from({ length: 5 }, () => chat('fail')),
      ...Array.from({ length: 5 }, () => post('{"model": oops')),
      ...Array.from({ length: 5 }, () => chat('slow', {}, AbortSignal.timeout(200))),
    ])
    expect(small).toEqual([...Array(25).fill(200), ...Array(5).fill(503), ...Array(5).fill(400), ...Array(5).fill(0)])
    await until(() => srv.agproxy.bodies.held === 0, 5000, 'the body count to return to 0')
    // large bodies: clients that leave mid-body (declared and chunked), and more than the budget holds at once
    const large = await Promise.all([
      ...Array.from({ length: 5 }, () => sendBig(srv.port, 6, { stopAfter: 3 * 1048576 }).then(r => r?.status ?? 0)),
      ...Array.from({ length: 5 }, () => sendBig(srv.port, 6, { chunked: true, stopAfter: 3 * 1048576 }).then(r => r?.status ?? 0)),
      ...Array.from({ length: 3 }, () => sendBig(srv.port, 7).then(r => r?.status ?? 0)),
    ])
    expect(large.slice(0, 10)).toEqual(Array(10).fill(0))
    expect(large.slice(10)).toContain(503)
    await until(() => srv.agproxy.bodies.held === 0, 5000, 'the body count to return to 0')
  })

  test('each app has its own count: a second agproxy in the same process shares nothing', async () => {
    const up = slowAnswer(1500)
    upstreams.push(up)
    const a = await start('openai', up, { max_body_mb: 40, limits: { request_bodies_mb: 48 } })
    const b = await start('openai', up, { max_body_mb: 40, limits: { request_bodies_mb: 48 } })
    const held = sendBig(a.port, 30)
    await until(() => a.agproxy.bodies.held > 0)
    expect(b.agproxy.bodies.held).toBe(0)
    expect((await sendBig(a.port, 30))?.status).toBe(503)
    expect((await sendBig(b.port, 30))?.status).toBe(200)
    expect((await held)?.status).toBe(200)
  })
})
