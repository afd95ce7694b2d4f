/** SSE framing: the parser gives the same messages however the bytes are split and whichever line ends are used. */
import { test, expect } from 'bun:test'
import { parseSSE, sseFrame } from '../src/ir/sse'

const streamOf = (bytes: Uint8Array, cuts: number[]) => new ReadableStream<Uint8Array>({
  start(c) {
    let at = 0
    for (const cut of [...cuts, bytes.length]) { if (cut > at) c.enqueue(bytes.subarray(at, cut)); at = Math.max(at, cut) }
    c.close()
  },
})

const collect = async (s: ReadableStream<Uint8Array>) => { const out = []; for await (const m of parseSSE(s)) out.push(m); return out }

const MESSAGES = [
  { event: 'message_start', data: '{"type":"message_start","text":"héllo ✓"}' },
  { event: undefined, data: '{"a":1}' },
  { event: 'ping', data: '{}' },
  { event: undefined, data: 'line one\nline two' },
  { event: undefined, data: '[DONE]' },
]

function wire(eol: string): string {
  return MESSAGES.map((m) => (m.event ? `event: ${m.event}${eol}` : '') + m.data.split('\n').map((l) => `data: ${l}${eol}`).join('') + `: a comment${eol}id: 7${eol}${eol}`).join('')
}

for (const [name, eol] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
  test(`${name} line ends, split at every byte and at random points`, async () => {
    const bytes = new TextEncoder().encode(wire(eol))
    expect(await collect(streamOf(bytes, []))).toEqual(MESSAGES)
    expect(await collect(streamOf(bytes, Array.from({ length: bytes.length }, (_, i) => i)))).toEqual(MESSAGES)
    let seed = 7
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
    for (let round = 0; round < 50; round++) {
      const cuts = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * bytes.length)).sort((a, b) => a - b)
      expect(await collect(streamOf(bytes, cuts))).toEqual(MESSAGES)
    }
  })
}

test('a last message without its blank line still counts; sseFrame round-trips', async () => {
  const bytes = new TextEncoder().encode(new TextDecoder().decode(sseFrame({ x: 1 }, 'e')) + 'data: tail')
  expect(await collect(streamOf(bytes, [3]))).toEqual([{ event: 'e', data: '{"x":1}' }, { event: undefined, data: 'tail' }])
})
