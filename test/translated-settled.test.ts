/**
 * The layers of a translated stream (the upstream decoder's batches, the peek, the guard, the client's writer) pass an
 * upstream chunk that is already there on at once: the client's bytes are ready without a promise hop per layer, and no
 * timer is armed for a wait that never happens. What arrives later goes the waiting way, and the bytes are the same.
 */
import { afterEach, describe, expect, spyOn, test } from 'bun:test'
import { fixedAnswers } from './fakes/fixed'
import { decodeGeminiBatches, decodeGeminiStream } from '../src/dialects/gemini/upstream/stream'
import { AnthropicStreamWriter, encodeAnthropicStream } from '../src/dialects/anthropic/messages/stream'
import { writtenSource, type ByteSource } from '../src/ir/batches'
import { guardEvents, guardedByteStream, peekEvents } from '../src/providers/stream-guard'
import { pendingDeadlines } from '../src/providers/deadlines'
import type { IREvent } from '../src/ir/types'

const ctx = () => ({ clientModel: 'claude-test', warn() {} })
const td = new TextDecoder()
const limits = { idleMs: 5000, totalMs: 60_000 }

/** The bench's Gemini SSE answer: all of it already there (`gapMs` undefined), or one frame every `gapMs`. */
function geminiBody(gapMs?: number): ReadableStream<Uint8Array> {
  const s = fixedAnswers(8).geminiSse.stream
  const frames = [s.head, ...s.rest]
  if (gapMs === undefined)
    return new ReadableStream({
      start(c) {
        for (const f of frames) c.enqueue(f)
        c.close()
      },
    })
  let i = 0
  return new ReadableStream(
    {
      async pull(c) {
        if (i > 0) await Bun.sleep(gapMs)
        if (i < frames.length) c.enqueue(frames[i++]!)
        else c.close()
      },
    },
    { highWaterMark: 0 },
  )
}

/** The Anthropic SSE text the one-event-at-a-time codecs make of the same answer. */
async function expected(): Promise<string> {
  return new Response(encodeAnthropicStream(decodeGeminiStream(geminiBody(), ctx()), ctx())).text()
}

async function readAll(source: ByteSource): Promise<string> {
  let text = ''
  for (let r = await source.read(); !r.done; r = await source.read()) text += td.decode(r.value)
  return text
}

describe('translated stream layers', () => {
  const spies: Array<{ mockRestore(): void }> = []
  afterEach(() => {
    for (const s of spies.splice(0)) s.mockRestore()
  })

  test('an answer that has arrived whole goes through every layer at once, with no timer armed', async () => {
    const want = await expected()
    const timers = spyOn(globalThis, 'setTimeout')
    const immediates = spyOn(globalThis, 'setImmediate')
    spies.push(timers, immediates)
    const body = geminiBody()
    // let the stream take its chunks in (as a fetch body that has arrived)
    await Bun.sleep(0)
    const peeking = peekEvents(decodeGeminiBatches(body, ctx()), 5000)
    expect(Bun.peek.status(peeking)).toBe('fulfilled')
    const peek = await peeking
    if (!peek.ok) throw new Error(peek.message)
    const source = writtenSource(guardEvents(peek.buffered, peek.rest as AsyncIterator<IREvent[]>, limits), new AnthropicStreamWriter(ctx()))
    let text = ''
    while (true) {
      const read = source.read()
      expect(Bun.peek.status(read)).toBe('fulfilled')
      const r = await read
      if (r.done) break
      text += td.decode(r.value)
    }
    expect(text).toBe(want)
    expect(timers).not.toHaveBeenCalled()
    expect(immediates).not.toHaveBeenCalled()
  })

  test('an answer that comes frame by frame is waited for, and makes the same bytes', async () => {
    const want = await expected()
    const peek = await peekEvents(decodeGeminiBatches(geminiBody(3), ctx()), 5000)
    if (!peek.ok) throw new Error(peek.message)
    const text = await readAll(writtenSource(guardEvents(peek.buffered, peek.rest as AsyncIterator<IREvent[]>, limits), new AnthropicStreamWriter(ctx())))
    expect(text).toBe(want)
  })

  test('an upstream that goes silent mid-answer ends with the idle error, and is cancelled', async () => {
    const s = fixedAnswers(8).geminiSse.stream
    let cancelled = false
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(s.head)
      },
      cancel() {
        cancelled = true
      },
    })
    const peek = await peekEvents(decodeGeminiBatches(body, ctx()), 5000)
    if (!peek.ok) throw new Error(peek.message)
    const text = await readAll(
      writtenSource(guardEvents(peek.buffered, peek.rest as AsyncIterator<IREvent[]>, { idleMs: 60, totalMs: 60_000 }), new AnthropicStreamWriter(ctx())),
    )
    expect(text).toContain('event: error')
    expect(text).toContain('went silent for 0.06 s mid-answer (timeouts.idle)')
    expect(cancelled).toBe(true)
  })

  test("a stream's waits share one deadline on the shared timer (no timer of its own), gone when the stream ends", async () => {
    const before = pendingDeadlines()
    let push: ((c: Uint8Array) => void) | undefined
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        push = b => c.enqueue(b)
      },
    }).getReader()
    const stream = guardedByteStream([], source, {
      idleMs: 60_000,
      totalMs: 60_000,
      heartbeatMs: 40,
      heartbeat: true,
      errorFrame: () => new Uint8Array(0),
    }).getReader()
    // silent: a heartbeat, then data, then another heartbeat; one deadline while the client waits
    const first = stream.read()
    await Bun.sleep(5)
    expect(pendingDeadlines()).toBe(before + 1)
    expect(td.decode((await first).value)).toBe(': ping\n\n')
    const second = stream.read()
    await Bun.sleep(5)
    expect(pendingDeadlines()).toBe(before + 1)
    push?.(new TextEncoder().encode('data: 1\n\n'))
    expect(td.decode((await second).value)).toBe('data: 1\n\n')
    const third = stream.read()
    await Bun.sleep(5)
    expect(pendingDeadlines()).toBe(before + 1)
    expect(td.decode((await third).value)).toBe(': ping\n\n')
    await stream.cancel()
    expect(pendingDeadlines()).toBe(before)
  })
})
