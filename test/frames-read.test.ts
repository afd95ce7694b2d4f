/**
 * Reading SSE blocks (src/dialects/frames.ts): the LF-only fast path splits blocks and reads events exactly as the
 * general one (any line ends) does.
 */
import { describe, expect, test } from 'bun:test'
import { someBlock, sseEvent } from '../src/dialects/frames'

const blocks = (text: string) => {
  const out: string[] = []
  someBlock(text, b => {
    out.push(b)
    return false
  })
  return out
}

describe('SSE blocks', () => {
  const lf = 'event: a\ndata: {"x":1}\n\ndata: one\ndata: two\n\n\n: ping\n\ndata: [DONE]\n\n\n\ndata:tail'
  test('LF-only text splits as the same text with CRLF or CR line ends does', () => {
    const want = blocks(lf)
    expect(want).toEqual(['event: a\ndata: {"x":1}', 'data: one\ndata: two', '\n: ping', 'data: [DONE]', '', 'data:tail'])
    expect(blocks(lf.replaceAll('\n', '\r\n')).map(b => b.replaceAll('\r\n', '\n'))).toEqual(want)
    expect(blocks(lf.replaceAll('\n', '\r')).map(b => b.replaceAll('\r', '\n'))).toEqual(want)
  })

  test('the first block f accepts stops the splitting', () => {
    const seen: string[] = []
    expect(someBlock(lf, b => (seen.push(b), b.includes('two')))).toBe(true)
    expect(seen).toHaveLength(2)
    expect(someBlock('', () => true)).toBe(false)
  })

  test('an event: its name, its data lines joined, whatever the line ends', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      expect(sseEvent(['event: message_delta', 'data: {"a":1}', 'data:{"b":2}'].join(eol))).toEqual({ event: 'message_delta', data: '{"a":1}\n{"b":2}' })
      expect(sseEvent(['data: [DONE]'].join(eol))).toEqual({ event: undefined, data: '[DONE]' })
      expect(sseEvent(['event: ping', ': comment'].join(eol))).toEqual({ event: 'ping', data: '' })
      expect(sseEvent([': comment', 'id: 3'].join(eol))).toBeUndefined()
    }
  })
})
