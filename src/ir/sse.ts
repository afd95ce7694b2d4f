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
 * Split a byte stream into SSE messages as they arrive (handles \n, \r\n and \r line ends, chunk splits anywhere).
 * Linear in the input: each chunk is scanned once, and the start of a line whose end has not arrived is kept as
 * pieces, never re-scanned. One event (its data lines plus an unterminated line) may hold at most `maxEventChars`
 * characters; beyond that it throws LimitExceeded (an upstream that never ends a line cannot grow memory).
 */
export async function* parseSSE(body: ReadableStream<Uint8Array>, maxEventChars = DEFAULT_SSE_EVENT_CHARS): AsyncGenerator<SSEMessage> {
  const td = decoder()
  /** the start of a line whose end has not arrived yet */
  let pending: string[] = []
  let pendingChars = 0
  /** the last chunk ended in \r: a \n starting the next one belongs to it */
  let skipLF = false
  let event: string | undefined
  let data: string[] = []
  let dataChars = 0
  /** one complete line: a field of the current event, or the blank line that ends it */
  const field = (line: string): SSEMessage | undefined => {
    if (line === '') {
      const msg = data.length ? { event, data: data.join('\n') } : undefined
      event = undefined
      data = []
      dataChars = 0
      return msg
    }
    if (line.charCodeAt(0) === 58 /* : */) return
    const colon = line.indexOf(':')
    const name = colon < 0 ? line : line.slice(0, colon)
    let val = colon < 0 ? '' : line.slice(colon + 1)
    if (val.charCodeAt(0) === 32) val = val.slice(1)
    if (name === 'event') event = val
    else if (name === 'data') {
      data.push(val)
      if ((dataChars += val.length) > maxEventChars) throw tooLarge(maxEventChars)
    }
  }
  const reader = body.getReader()
  try {
    while (true) {
      const { value, done } = await reader.read()
      const text = done ? td.decode() : td.decode(value, { stream: true })
      // walk the chunk with a cursor (one native indexOf per line end)
      let pos = 0
      if (skipLF && text.length) {
        if (text.charCodeAt(0) === 10) pos = 1
        skipLF = false
      }
      let lf = -2
      let cr = -2
      while (true) {
        if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos)
        if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos)
        const nl = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr)
        if (nl < 0) break
        let line = text.slice(pos, nl)
        if (pending.length) {
          pending.push(line)
          line = pending.join('')
          pending = []
          pendingChars = 0
        }
        pos = nl + 1
        if (nl === cr) {
          if (pos === text.length) skipLF = true
          else if (text.charCodeAt(pos) === 10) pos++
        }
        const msg = field(line)
        if (msg) yield msg
      }
      if (pos < text.length) {
        pending.push(pos ? text.slice(pos) : text)
        if ((pendingChars += text.length - pos) + dataChars > maxEventChars) throw tooLarge(maxEventChars)
      }
      if (done) break
    }
    // a last line without its terminator, and the event it ends
    if (pending.length) field(pending.join(''))
    if (data.length) yield { event, data: data.join('\n') }
  } finally {
    reader.releaseLock()
  }
}

const te = new TextEncoder()

/** One SSE frame as bytes. */
export function sseFrame(data: unknown, event?: string): Uint8Array {
  const json = typeof data === 'string' ? data : JSON.stringify(data)
  return te.encode(`${event ? `event: ${event}\n` : ''}data: ${json}\n\n`)
}

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
