/**
 * The first-content peek of a pass-through stream reads as little as it must: frames are read one at a time up to the
 * first content (the rest of a first chunk that holds the whole answer is never decoded), frames that cannot be content
 * are not parsed, a chunk already there arms no timer, and the relay goes on with the peek's frame buffer (the first
 * chunk is framed once) while keeping every guarantee: content is still found in every shape, and a break inside a
 * frame the peek held back drops it before the error frame.
 */
import { afterAll, beforeAll, describe, expect, spyOn, test } from 'bun:test'
import OpenAI from 'openai'
import { startAgproxy, type TestServer } from './support/agproxy'
import { peekFrames, guardedByteStream, relayStream } from '../src/providers/stream-guard'
import { FrameBuffer } from '../src/providers/frames'
import type { FrameReader } from '../src/dialects/frames'
import { chatEndpoint } from '../src/dialects/openai/chat/endpoint'
import { completionsEndpoint } from '../src/dialects/openai/completions/endpoint'
import { responsesEndpoint } from '../src/dialects/openai/responses/endpoint'
import { anthropicReader } from '../src/dialects/anthropic/messages/endpoint'
import { streamEndpoint } from '../src/dialects/gemini/generate/endpoint'

const te = new TextEncoder()
const q = new URLSearchParams()
const chatReader = chatEndpoint.frames(q)
const data = (v: unknown, event?: string) => `${event ? `event: ${event}\n` : ''}data: ${typeof v === 'string' ? v : JSON.stringify(v)}\n\n`
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  data({ id: 'c', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
const ROLE = chunk({ role: 'assistant', content: '', refusal: null })
const WORDS = Array.from({ length: 300 }, (_, i) => `w${i} `)
/** a whole chat answer: role frame, 300 content frames, finish, [DONE] */
const WHOLE = ROLE + WORDS.map(w => chunk({ content: w })).join('') + chunk({}, 'stop') + data('[DONE]')

/** How many JSON.parse calls `f` makes. */
function parses(f: () => unknown): number {
  const spy = spyOn(JSON, 'parse')
  try {
    f()
    return spy.mock.calls.length
  } finally {
    spy.mockRestore()
  }
}

const source = (chunks: Array<string | Error>) => {
  let i = 0
  return new ReadableStream<Uint8Array>({
    pull(c) {
      const next = chunks[i++]
      if (next === undefined) c.close()
      else if (next instanceof Error) c.error(next)
      else c.enqueue(te.encode(next))
    },
  })
}
const limits = {
  idleMs: 5000,
  totalMs: 5000,
  heartbeatMs: 5000,
  heartbeat: true,
  errorFrame: (e: { message: string }) => te.encode(data({ error: { message: e.message } })),
}

describe('the peek reads a first chunk only up to its first content', () => {
  test('a whole answer in one chunk: only the frames up to the first content are decoded and scanned', async () => {
    const seen: string[] = []
    const reader: FrameReader = {
      ...chatReader,
      scan: t => {
        seen.push(t)
        return chatReader.scan(t)
      },
    }
    const peek = await peekFrames(source([WHOLE]), reader, 'sse', 5000)
    expect(peek.ok).toBe(true)
    const scanned = seen.join('')
    expect(scanned).toBe(ROLE + chunk({ content: 'w0 ' }))
    expect(WHOLE.length).toBeGreaterThan(30 * scanned.length)
  })

  test('frames that cannot be content are not parsed; content and errors still are', () => {
    expect(parses(() => expect(chatReader.scan(ROLE)).toEqual({ content: false, error: undefined }))).toBe(0)
    expect(parses(() => expect(chatReader.scan(': keep-alive\n\n')).toEqual({ content: false, error: undefined }))).toBe(0)
    expect(parses(() => expect(chatReader.scan(chunk({ content: null, tool_calls: null }))).toEqual({ content: false, error: undefined }))).toBe(0)
    expect(parses(() => expect(chatReader.scan(chunk({ content: 'Hi' })).content).toBe(true))).toBe(1)
    expect(chatReader.scan(data({ error: { message: 'quota' } }))).toEqual({ content: false, error: 'quota' })
    const start = data({ type: 'message_start', message: { id: 'm', content: [], usage: { input_tokens: 1 } } }, 'message_start')
    const emptyBlock = data({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start')
    const ping = data({ type: 'ping' }, 'ping')
    expect(parses(() => expect(anthropicReader.scan(start + ping + emptyBlock)).toEqual({ content: false, error: undefined }))).toBe(0)
  })

  test('content is still found in every shape (the cheap checks let every content frame through)', () => {
    const tool = { index: 0, id: 't', type: 'function', function: { name: 'f', arguments: '' } }
    const content: Array<[FrameReader, string]> = [
      [chatReader, chunk({ content: 'x' })],
      [chatReader, chunk({ reasoning_content: 'x' })],
      [chatReader, chunk({ reasoning: 'x' })],
      [chatReader, chunk({ tool_calls: [tool] })],
      [chatReader, `data: {"choices":[{"delta":{"content" : "x"}}]}\n\n`],
      [chatReader, `data: {"choices":[{"delta":\ndata: {"content":"x"}}]}\n\n`],
      [completionsEndpoint.frames(q), data({ choices: [{ index: 0, text: 'x' }] })],
      [anthropicReader, data({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x' } }, 'content_block_delta')],
      [
        anthropicReader,
        data({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't', name: 'f', input: {} } }, 'content_block_start'),
      ],
      [anthropicReader, data({ type: 'content_block_start', index: 0, content_block: { type: 'redacted_thinking', data: 'x' } }, 'content_block_start')],
      [anthropicReader, data({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x' } })],
      [anthropicReader, data({ type: 'message_delta', delta: { stop_reason: 'end_turn' } }, 'message_delta')],
      [responsesEndpoint.frames(q), data({ type: 'response.output_text.delta', delta: 'x' }, 'response.output_text.delta')],
      [responsesEndpoint.frames(q), data({ type: 'response.output_item.added', item: { type: 'function_call', name: 'f' } }, 'response.output_item.added')],
      [streamEndpoint.frames(new URLSearchParams('alt=sse')), data({ candidates: [{ content: { parts: [{ text: 'x' }] } }] })],
    ]
    for (const [reader, frame] of content) expect({ frame, content: reader.scan(frame).content }).toEqual({ frame, content: true })
    expect(anthropicReader.scan(data({ type: 'error', error: { type: 'overloaded_error', message: 'busy' } }, 'error')).error).toBe('busy')
    expect(responsesEndpoint.frames(q).scan(data({ type: 'response.failed', response: { error: { message: 'bad' } } }, 'response.failed')).error).toBe('bad')
  })

  test('a first chunk already there arms no timer', async () => {
    const spy = spyOn(globalThis, 'setTimeout')
    try {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(te.encode(ROLE + chunk({ content: 'Hi' })))
        },
      })
      const peek = await peekFrames(body, chatReader, 'sse', 5000)
      expect(peek.ok).toBe(true)
      expect(spy.mock.calls.length).toBe(0)
    } finally {
      spy.mockRestore()
    }
  })

  test('a first chunk not yet there is still held to timeouts.first_token', async () => {
    const peek = await peekFrames(new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) }), chatReader, 'sse', 50)
    expect(peek).toMatchObject({ ok: false, reason: 'stall' })
  })
})

describe('the relay goes on with the peek frame buffer', () => {
  test('a frame begun in the peek chunk is relayed whole once completed; a break inside the next one drops it', async () => {
    const third = chunk({ content: 'third' })
    const fourth = chunk({ content: 'fourth' })
    const body = source([ROLE + chunk({ content: 'Hi' }) + third.slice(0, 20), third.slice(20) + fourth.slice(0, 30), new Error('reset')])
    const peek = await peekFrames(body, chatReader, 'sse', 5000)
    if (!peek.ok) throw new Error(peek.message)
    const out = guardedByteStream(peek.buffered, peek.rest as ReadableStreamDefaultReader<Uint8Array>, { ...limits, frames: peek.frames })
    const text = await new Response(out).text()
    expect(text).toStartWith(`${ROLE + chunk({ content: 'Hi' }) + third}data: {"error"`)
    expect(text).not.toContain('fourth')
    expect(text).toContain('broke mid-answer')
  })

  test('the peek limit on held bytes carries over: a frame over limits.sse_event_mb ends the stream', async () => {
    const body = source([`${ROLE + chunk({ content: 'Hi' })}data: "${'x'.repeat(20_000)}`])
    const peek = await peekFrames(body, chatReader, 'sse', 5000)
    if (!peek.ok) throw new Error(peek.message)
    const out = guardedByteStream(peek.buffered, peek.rest as ReadableStreamDefaultReader<Uint8Array>, {
      ...limits,
      frames: peek.frames,
      maxFrameBytes: 10_000,
    })
    const text = await new Response(out).text()
    expect(text).toStartWith(`${ROLE + chunk({ content: 'Hi' })}data: {"error"`)
    expect(text).toContain('limits.sse_event_mb')
  })
})

describe('a stream that has arrived whole is relayed as one body, the same bytes as the guarded stream', () => {
  /** a stream whose chunks (and end, or error) are all there before the first read */
  const arrived = (chunks: Array<string | Error>) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const x of chunks) if (!(x instanceof Error)) c.enqueue(te.encode(x))
        const last = chunks.at(-1)
        if (last instanceof Error) c.error(last)
        else c.close()
      },
    })
  /** what a relay of `chunks` sends and tells `closed`, by `relay` */
  async function relayed(relay: typeof relayStream | typeof guardedByteStream, make: () => ReadableStream<Uint8Array>, mask = false) {
    const peek = await peekFrames(make(), chatReader, 'sse', 5000)
    if (!peek.ok) throw new Error(peek.message)
    const told: unknown[] = []
    const aborted: boolean[] = []
    const out = await relay(peek.buffered, peek.rest as ReadableStreamDefaultReader<Uint8Array>, {
      ...limits,
      frames: peek.frames as FrameBuffer,
      ends: chatReader.ends,
      transform: mask ? (c: Uint8Array) => te.encode(new TextDecoder().decode(c).replaceAll('SECRET', 'S***T')) : undefined,
      onEnd: () => aborted.push(true),
      closed: (end, e, tail) => told.push({ end, error: e?.message, tail: tail() }),
    })
    const whole = out instanceof Uint8Array
    return { whole, text: await new Response(out as BodyInit).text(), told, aborted: aborted.length }
  }
  const CASES: Array<[string, Array<string | Error>]> = [
    ['a whole answer', [ROLE + chunk({ content: 'Hi' }) + chunk({ content: ' SECRET' }), chunk({}, 'stop') + data('[DONE]')]],
    ['an answer whose last frame lacks its blank line', [ROLE + chunk({ content: 'Hi' }) + chunk({}, 'stop'), 'data: [DONE]']],
    ['an answer cut before its end', [ROLE + chunk({ content: 'Hi' }) + chunk({ content: 'there' }), 'data: {"id":"c","obj']],
    ['a connection broken after content', [ROLE + chunk({ content: 'Hi' }), new Error('reset')]],
  ]
  test.each(CASES)('%s', async (_, chunks) => {
    // an error discards what a stream queued before it: a broken one is pulled chunk by chunk
    const make = () => (chunks.at(-1) instanceof Error ? source(chunks) : arrived(chunks))
    const fast = await relayed(relayStream, make, true)
    const guarded = await relayed(guardedByteStream, make, true)
    expect(fast.whole).toBe(!(chunks.at(-1) instanceof Error))
    expect(fast.text).toBe(guarded.text)
    expect(fast.told).toEqual(guarded.told)
    expect(fast.aborted).toBe(guarded.aborted)
    expect(fast.text).not.toContain('SECRET')
  })

  test('frames that end the stream wait a moment for the body to end, not longer: an upstream that stays open is relayed as it is', async () => {
    const close = Promise.withResolvers<void>()
    const whole = ROLE + chunk({ content: 'Hi' }) + chunk({}, 'stop') + data('[DONE]')
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(te.encode(whole))
        close.promise.then(() => c.close())
      },
    })
    const peek = await peekFrames(body, chatReader, 'sse', 5000)
    if (!peek.ok) throw new Error(peek.message)
    const t0 = Date.now()
    const out = await relayStream(peek.buffered, peek.rest as ReadableStreamDefaultReader<Uint8Array>, {
      ...limits,
      frames: peek.frames as FrameBuffer,
      ends: chatReader.ends,
    })
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(out).toBeInstanceOf(ReadableStream)
    setTimeout(() => close.resolve(), 50)
    expect(await new Response(out as ReadableStream).text()).toBe(whole)
  })

  test('a stream whose rest is still on its way goes on as the guarded stream, from where the reading stopped', async () => {
    const rest = Promise.withResolvers<void>()
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(te.encode(ROLE + chunk({ content: 'Hi' })))
        c.enqueue(te.encode(chunk({ content: ' there' })))
        rest.promise.then(() => {
          c.enqueue(te.encode(chunk({}, 'stop') + data('[DONE]')))
          c.close()
        })
      },
    })
    const peek = await peekFrames(body, chatReader, 'sse', 5000)
    if (!peek.ok) throw new Error(peek.message)
    const out = await relayStream(peek.buffered, peek.rest as ReadableStreamDefaultReader<Uint8Array>, {
      ...limits,
      frames: peek.frames as FrameBuffer,
      ends: chatReader.ends,
    })
    expect(out).toBeInstanceOf(ReadableStream)
    setTimeout(() => rest.resolve(), 20)
    expect(await new Response(out as ReadableStream).text()).toBe(
      ROLE + chunk({ content: 'Hi' }) + chunk({ content: ' there' }) + chunk({}, 'stop') + data('[DONE]'),
    )
  })
})

describe("the relay's waits share one timer", () => {
  test('a stream whose every chunk makes it wait arms one timer, not one per chunk; heartbeats still come when it is silent', async () => {
    let i = 0
    const slowStart = 60
    // 40 chunks, each after a macrotask (the read is pending every time), then 60 ms of silence, then the end
    const source = new ReadableStream<Uint8Array>(
      {
        async pull(c) {
          if (i < 40) {
            await new Promise(r => setImmediate(r))
            c.enqueue(te.encode(chunk({ content: `w${i++}` })))
          } else {
            await Bun.sleep(slowStart)
            c.enqueue(te.encode(data('[DONE]')))
            c.close()
          }
        },
      },
      { highWaterMark: 0 },
    ).getReader()
    const original = globalThis.setTimeout
    let timers = 0
    globalThis.setTimeout = ((...a: Parameters<typeof setTimeout>) => {
      timers++
      return original(...a)
    }) as typeof setTimeout
    let text: string
    try {
      const out = guardedByteStream([], source, { ...limits, heartbeatMs: 20, framing: 'sse' })
      text = await new Response(out).text()
    } finally {
      globalThis.setTimeout = original
    }
    expect(text).toContain(chunk({ content: 'w39' }))
    expect(text).toContain(': ping\n\n')
    expect(text).toEndWith(data('[DONE]'))
    // the chunks: one timer between them all; the silence: one per heartbeat (~3)
    expect(timers).toBeLessThan(10)
  })
})

describe('through agproxy, with the openai SDK', () => {
  let upstream: ReturnType<typeof Bun.serve>
  let srv: TestServer
  beforeAll(async () => {
    // the whole answer in one write, as a fast upstream sends a short one
    upstream = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response(WHOLE, { headers: { 'content-type': 'text/event-stream' } }) })
    srv = await startAgproxy({
      providers: [{ name: 'oa', type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_keys: ['sk-peek-test-0123456789abcdef'] }],
      models: { m: 'oa/m' },
    })
  })
  afterAll(async () => {
    await srv?.stop()
    upstream?.stop(true)
  })

  test('every chunk is framed once, and the answer arrives whole', async () => {
    const push = spyOn(FrameBuffer.prototype, 'push')
    try {
      const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'any', maxRetries: 0 })
      const stream = await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] })
      let text = ''
      let finish: string | null = null
      for await (const c of stream) {
        text += c.choices[0]?.delta?.content ?? ''
        finish = c.choices[0]?.finish_reason ?? finish
      }
      expect(text).toBe(WORDS.join(''))
      expect(finish).toBe('stop')
      const pushed = push.mock.calls.map(c => c[0])
      expect(pushed.length).toBeGreaterThan(0)
      expect(new Set(pushed).size).toBe(pushed.length)
    } finally {
      push.mockRestore()
    }
  })
})
