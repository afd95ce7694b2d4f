/**
 * Server-Sent Events framing, both ways, as the providers use it:
 * `event: name\ndata: json\n\n`. Comment lines (`: ping`) and unknown fields are skipped.
 */
import { DEFAULT_SSE_EVENT_CHARS, LimitExceeded } from './limits'

export interface SSEMessage {
  event?: string
  data: string
}

const decoder = () => new TextDecoder('utf-8')

const tooLarge = (max: number) =>
  new LimitExceeded({
    status: 502,
    kind: 'upstream',
    message:
      `the upstream sent a stream event larger than ${+(max / 1048576).toFixed(1)} MB (limits.sse_event_mb); agproxy stopped reading there. ` +
      'Raise limits.sse_event_mb in agproxy.yaml if events this large are expected.',
  })

/**
 * Splits a byte stream into SSE messages as chunks arrive, synchronously (handles \n, \r\n and \r line ends, chunk
 * splits anywhere; one UTF-8 decoder for the whole stream). Linear in the input: each chunk is scanned once, and the
 * start of a line whose end has not arrived is kept as pieces, never re-scanned. One event (its data lines plus an
 * unterminated line) may hold at most `maxEventChars` characters; beyond that `push` throws LimitExceeded (an upstream
 * that never ends a line cannot grow memory), after adding the messages the chunk completed before it to `out`.
 */
export class SseSplitter {
  private readonly td = decoder()
  /** the start of a line whose end has not arrived yet */
  private pending: string[] = []
  private pendingChars = 0
  /** the last chunk ended in \r: a \n starting the next one belongs to it */
  private skipLF = false
  private event: string | undefined
  private data: string[] = []
  private dataChars = 0

  constructor(private readonly maxEventChars = DEFAULT_SSE_EVENT_CHARS) {}

  /** Add the messages `chunk` completes to `out`. */
  push(chunk: Uint8Array, out: SSEMessage[]): void {
    this.text(this.td.decode(chunk, { stream: true }), out)
  }

  /** The stream ended: add what its last bytes, a last line without its terminator and the event it ends complete to `out`. */
  end(out: SSEMessage[]): void {
    this.text(this.td.decode(), out)
    if (this.pending.length) this.field(this.pending.join(''), out)
    this.pending = []
    if (this.data.length) out.push({ event: this.event, data: this.data.join('\n') })
    this.data = []
  }

  private text(text: string, out: SSEMessage[]): void {
    // walk the chunk with a cursor (one native indexOf per line end)
    let pos = 0
    if (this.skipLF && text.length) {
      if (text.charCodeAt(0) === 10) pos = 1
      this.skipLF = false
    }
    let lf = -2
    let cr = -2
    while (true) {
      if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos)
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos)
      const nl = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr)
      if (nl < 0) break
      let line = text.slice(pos, nl)
      if (this.pending.length) {
        this.pending.push(line)
        line = this.pending.join('')
        this.pending = []
        this.pendingChars = 0
      }
      pos = nl + 1
      if (nl === cr) {
        if (pos === text.length) this.skipLF = true
        else if (text.charCodeAt(pos) === 10) pos++
      }
      this.field(line, out)
    }
    if (pos < text.length) {
      this.pending.push(pos ? text.slice(pos) : text)
      if ((this.pendingChars += text.length - pos) + this.dataChars > this.maxEventChars) throw tooLarge(this.maxEventChars)
    }
  }

  /** one complete line: a field of the current event, or the blank line that ends it */
  private field(line: string, out: SSEMessage[]): void {
    if (line === '') {
      if (this.data.length) out.push({ event: this.event, data: this.data.length === 1 ? this.data[0]! : this.data.join('\n') })
      this.event = undefined
      this.data = []
      this.dataChars = 0
      return
    }
    if (line.charCodeAt(0) === 58 /* : */) return
    const colon = line.indexOf(':')
    const name = colon < 0 ? line : line.slice(0, colon)
    let val = colon < 0 ? '' : line.slice(colon + 1)
    if (val.charCodeAt(0) === 32) val = val.slice(1)
    if (name === 'event') this.event = val
    else if (name === 'data') {
      this.data.push(val)
      if ((this.dataChars += val.length) > this.maxEventChars) throw tooLarge(this.maxEventChars)
    }
  }
}

/**
 * Split a byte stream into SSE messages as they arrive (SseSplitter, one chunk at a time); an event over `maxEventChars`
 * characters throws LimitExceeded after the messages before it.
 */
export async function* parseSSE(body: ReadableStream<Uint8Array>, maxEventChars = DEFAULT_SSE_EVENT_CHARS): AsyncGenerator<SSEMessage> {
  const sse = new SseSplitter(maxEventChars)
  const reader = body.getReader()
  try {
    while (true) {
      const { value, done } = await reader.read()
      const out: SSEMessage[] = []
      try {
        if (done) sse.end(out)
        else sse.push(value, out)
      } catch (e) {
        yield* out
        throw e
      }
      yield* out
      if (done) break
    }
  } finally {
    reader.releaseLock()
  }
}

const te = new TextEncoder()

/** One SSE frame as text. */
export function sseText(data: unknown, event?: string): string {
  const json = typeof data === 'string' ? data : JSON.stringify(data)
  return `${event ? `event: ${event}\n` : ''}data: ${json}\n\n`
}

/** One SSE frame as bytes. */
export const sseFrame = (data: unknown, event?: string): Uint8Array => te.encode(sseText(data, event))

/** Build a byte stream from an async generator of frames; cancelling the stream returns the generator
 *  (which in turn cancels whatever it reads from, i.e. the upstream request). */
export function streamFrom(gen: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await gen.next()
          if (done) controller.close()
          else controller.enqueue(value)
        } catch (e) {
          controller.error(e)
        }
      },
      async cancel() {
        await gen.return(undefined)
      },
    },
    { highWaterMark: 0 },
  )
}
