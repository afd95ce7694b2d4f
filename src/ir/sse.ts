/**
 * Server-Sent Events framing, both ways, as the providers use it:
 * `event: name\ndata: json\n\n`. Comment lines (`: ping`) and unknown fields are skipped.
 */

export interface SSEMessage { event?: string; data: string }

const decoder = () => new TextDecoder('utf-8')

/** Split a byte stream into SSE messages as they arrive (handles \n, \r\n and \r line ends, chunk splits anywhere). */
export async function* parseSSE(body: ReadableStream<Uint8Array>): AsyncGenerator<SSEMessage> {
  const td = decoder()
  let buf = ''
  let event: string | undefined
  let data: string[] = []
  const reader = body.getReader()
  try {
    while (true) {
      const { value, done } = await reader.read()
      if (done) break
      buf += td.decode(value, { stream: true })
      // walk the buffer with a cursor (one native indexOf per line end, no re-scan of what is left)
      let pos = 0
      let lf = -2
      let cr = -2
      while (true) {
        if (lf !== -1 && lf < pos) lf = buf.indexOf('\n', pos)
        if (cr !== -1 && cr < pos) cr = buf.indexOf('\r', pos)
        const nl = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr)
        if (nl < 0) break
        // a lone \r at the very end may be the first half of \r\n: wait for more
        if (nl === cr && nl === buf.length - 1) break
        const line = buf.slice(pos, nl)
        pos = nl + (nl === cr && buf.charCodeAt(nl + 1) === 10 ? 2 : 1)
        if (line === '') {
          if (data.length) yield { event, data: data.join('\n') }
          event = undefined
          data = []
          continue
        }
        if (line.charCodeAt(0) === 58 /* : */) continue
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        let val = colon < 0 ? '' : line.slice(colon + 1)
        if (val.charCodeAt(0) === 32) val = val.slice(1)
        if (field === 'event') event = val
        else if (field === 'data') data.push(val)
      }
      if (pos) buf = buf.slice(pos)
    }
    buf += td.decode()
    if (buf.length) {
      // a last line without its terminator
      const line = buf.replace(/\r$/, '')
      if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      else if (line.startsWith('event:')) event = line.slice(6).trim()
    }
    if (data.length) yield { event, data: data.join('\n') }
  } finally {
    reader.releaseLock()
  }
}

const te = new TextEncoder()

/** One SSE frame as bytes. */
export function sseFrame(data: unknown, event?: string): Uint8Array {
  const json = typeof data === 'string' ? data : JSON.stringify(data)
  return te.encode((event ? `event: ${event}\n` : '') + `data: ${json}\n\n`)
}

/** Build a byte stream from an async generator of frames; cancelling the stream returns the generator
 *  (which in turn cancels whatever it reads from, i.e. the upstream request). */
export function streamFrom(gen: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
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
  }, { highWaterMark: 0 })
}
