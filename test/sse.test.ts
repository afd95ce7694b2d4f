/** SSE framing: the parser gives the same messages however the bytes are split and whichever line ends are used. */
import { test, expect } from 'bun:test'
import { parseSSE, sseFrame, type SSEMessage } from '../src/ir/sse'
import { LimitExceeded } from '../src/ir/limits'

const streamOf = (bytes: Uint8Array, cuts: number[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      let at = 0
      for (const cut of [...cuts, bytes.length]) {
        if (cut > at) c.enqueue(bytes.subarray(at, cut))
        at = Math.max(at, cut)
      }
      c.close()
    },
  })

const collect = async (s: ReadableStream<Uint8Array>) => {
  const out = []
  for await (const m of parseSSE(s)) out.push(m)
  return out
}

const MESSAGES = [
  { event: 'message_start', data: '{"type":"message_start","text":"héllo ✓"}' },
  { event: undefined, data: '{"a":1}' },
  { event: 'ping', data: '{}' },
  { event: undefined, data: 'line one\nline two' },
  { event: undefined, data: '[DONE]' },
]

function wire(eol: string): string {
  return MESSAGES.map(
    m =>
      (m.event ? `event: ${m.event}${eol}` : '') +
      m.data
        .split('\n')
        .map(l => `data: ${l}${eol}`)
        .join('') +
      `: a comment${eol}id: 7${eol}${eol}`,
  ).join('')
}

for (const [name, eol] of [
  ['LF', '\n'],
  ['CRLF', '\r\n'],
  ['CR', '\r'],
] as const) {
  test(`${name} line ends, split at every byte and at random points`, async () => {
    const bytes = new TextEncoder().encode(wire(eol))
    expect(await collect(streamOf(bytes, []))).toEqual(MESSAGES)
    expect(
      await collect(
        streamOf(
          bytes,
          Array.from({ length: bytes.length }, (_, i) => i),
        ),
      ),
    ).toEqual(MESSAGES)
    let seed = 7
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
    for (let round = 0; round < 50; round++) {
      const cuts = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * bytes.length)).sort((a, b) => a - b)
      expect(await collect(streamOf(bytes, cuts))).toEqual(MESSAGES)
    }
  })
}

test('a last message without its blank line still counts; sseFrame round-trips', async () => {
  const bytes = new TextEncoder().encode(`${new TextDecoder().decode(sseFrame({ x: 1 }, 'e'))}data: tail`)
  expect(await collect(streamOf(bytes, [3]))).toEqual([
    { event: 'e', data: '{"x":1}' },
    { event: undefined, data: 'tail' },
  ])
})

// ───────────── bounds: limits.sse_event_mb ─────────────

const te = new TextEncoder()
/** a stream that sends `head`, then `piece` `times` times, then `tail` (each piece its own chunk, made on demand) */
const repeated = (head: string, piece: string, times: number, tail = '') => {
  const bytes = te.encode(piece)
  let n = 0
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        if (head) c.enqueue(te.encode(head))
      },
      pull(c) {
        if (n++ < times) c.enqueue(bytes)
        else {
          if (tail) c.enqueue(te.encode(tail))
          c.close()
        }
      },
    },
    { highWaterMark: 0 },
  )
}

/** messages until the parser stops, and what it threw */
async function until(s: ReadableStream<Uint8Array>, max: number) {
  const out: SSEMessage[] = []
  try {
    for await (const m of parseSSE(s, max)) out.push(m)
  } catch (e) {
    return { out, error: e }
  }
  return { out, error: undefined }
}

test('a line that never ends: the events before it, then LimitExceeded naming limits.sse_event_mb', async () => {
  const { out, error } = await until(repeated('data: {"a":1}\n\ndata: {"b":"', 'x'.repeat(4096), 2048), 1048576)
  expect(out).toEqual([{ event: undefined, data: '{"a":1}' }])
  expect(error).toBeInstanceOf(LimitExceeded)
  const message = expect.stringContaining('larger than 1 MB (limits.sse_event_mb)')
  expect((error as LimitExceeded).error).toMatchObject({ status: 502, kind: 'upstream', message })
})

test('an event of many short data lines is bounded too; the limit counts the event, not the stream', async () => {
  const line = `data: ${'y'.repeat(1000)}\n`
  expect((await until(repeated('', line, 2000), 1048576)).error).toBeInstanceOf(LimitExceeded)
  // many events, each under the limit, add up to far more than it
  const { out, error } = await until(repeated('', `${line}${line}\n`, 2000), 4096)
  expect(error).toBeUndefined()
  expect(out.length).toBe(2000)
})

test('an event just under the limit passes, split over many chunks', async () => {
  const { out, error } = await until(repeated('event: big\ndata: ', 'z'.repeat(1024), 1023, '\n\n'), 1024 * 1024)
  expect(error).toBeUndefined()
  expect(out).toEqual([{ event: 'big', data: 'z'.repeat(1024 * 1023) }])
})

test('linear: a 32 MB line in 16 KB chunks is scanned once (no re-scan of the unterminated tail per chunk)', async () => {
  const started = performance.now()
  const { out, error } = await until(repeated('data: ', 'w'.repeat(16384), 2048, '\n\n'), 64 * 1048576)
  expect(error).toBeUndefined()
  expect(out[0]!.data.length).toBe(32 * 1048576)
  expect(performance.now() - started).toBeLessThan(3000)
})
