/**
 * AWS event stream framing (`application/vnd.amazon.eventstream`, Bedrock's ConverseStream and
 * InvokeModelWithResponseStream), decoded as it arrives: each message is a prelude (total length, headers length,
 * prelude CRC32), headers, a payload and a message CRC32. Both CRCs are checked; a message may be at most
 * `maxBytes` long (limits.sse_event_mb), so an upstream cannot grow memory with one huge or bogus length.
 */
import { DEFAULT_SSE_EVENT_CHARS, LimitExceeded } from './limits'
import { IRErrorValue, err } from './errors'

export interface EventStreamMessage {
  /** string headers (`:event-type`, `:content-type`, `:message-type`, `:exception-type`, …) */
  headers: Record<string, string>
  payload: Uint8Array
}

const PRELUDE = 12
const crc32 = (b: Uint8Array) => Bun.hash.crc32(b) >>> 0
const broken = (why: string) => new IRErrorValue(err('upstream', `the upstream sent a malformed event stream (${why})`))

/** header value sizes by type (0/1: bool true/false, 2: byte, 3: short, 4: int, 5: long, 8: timestamp, 9: uuid; 6/7: length-prefixed) */
const FIXED: Record<number, number> = { 0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16 }

/** The headers of one message; only string values are kept (the rest are skipped by their size). */
function readHeaders(b: Uint8Array, view: DataView): Record<string, string> {
  const out: Record<string, string> = {}
  const td = new TextDecoder()
  let at = 0
  while (at < b.length) {
    const nameLen = b[at] ?? 0
    const name = td.decode(b.subarray(at + 1, at + 1 + nameLen))
    at += 1 + nameLen
    const type = b[at++]
    if (type === undefined) throw broken('a header was cut short')
    const fixed = FIXED[type]
    if (fixed !== undefined) {
      at += fixed
      continue
    }
    if (type !== 6 && type !== 7) throw broken(`unknown header type ${type}`)
    if (at + 2 > b.length) throw broken('a header was cut short')
    const len = view.getUint16(b.byteOffset + at)
    if (type === 7) out[name] = td.decode(b.subarray(at + 2, at + 2 + len))
    at += 2 + len
  }
  if (at !== b.length) throw broken('headers overrun their length')
  return out
}

/** One complete message (its bytes, CRCs checked). */
function readMessage(m: Uint8Array): EventStreamMessage {
  const view = new DataView(m.buffer, m.byteOffset, m.byteLength)
  if (view.getUint32(8) !== crc32(m.subarray(0, 8))) throw broken('prelude CRC mismatch')
  const end = m.length - 4
  if (view.getUint32(end) !== crc32(m.subarray(0, end))) throw broken('message CRC mismatch')
  const headersLen = view.getUint32(4)
  if (PRELUDE + headersLen > end) throw broken('headers longer than the message')
  return { headers: readHeaders(m.subarray(PRELUDE, PRELUDE + headersLen), new DataView(m.buffer)), payload: m.subarray(PRELUDE + headersLen, end) }
}

/** Split a byte stream into event stream messages (chunk splits anywhere). Throws IRErrorValue on a bad CRC or a
 *  malformed prelude, LimitExceeded past `maxBytes` for one message. Linear in the input: the chunks of a message are
 *  kept as they came and joined once, when the whole message is there. */
export async function* parseEventStream(body: ReadableStream<Uint8Array>, maxBytes = DEFAULT_SSE_EVENT_CHARS): AsyncGenerator<EventStreamMessage> {
  const reader = body.getReader()
  let chunks: Uint8Array[] = []
  let size = 0
  /** the first `n` bytes held, joined (and kept joined) */
  const head = (n: number): Uint8Array => {
    if ((chunks[0]?.length ?? 0) < n) chunks = [join(chunks, size)]
    return chunks[0] as Uint8Array
  }
  try {
    for (;;) {
      while (size >= PRELUDE) {
        const prelude = head(PRELUDE)
        const total = new DataView(prelude.buffer, prelude.byteOffset, PRELUDE).getUint32(0)
        if (total < PRELUDE + 4) throw broken(`a message of ${total} bytes`)
        if (total > maxBytes) throw tooLarge(maxBytes)
        if (size < total) break
        const all = head(total)
        yield readMessage(all.slice(0, total))
        chunks = all.length > total ? [all.subarray(total), ...chunks.slice(1)] : chunks.slice(1)
        size -= total
      }
      const { value, done } = await reader.read()
      if (done) {
        if (size) throw broken(`the stream ended inside a message (${size} bytes left)`)
        return
      }
      chunks.push(value)
      size += value.length
    }
  } finally {
    reader.releaseLock()
  }
}

function join(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

const tooLarge = (max: number) =>
  new LimitExceeded({
    status: 502,
    kind: 'upstream',
    message:
      `the upstream sent a stream event larger than ${+(max / 1048576).toFixed(1)} MB (limits.sse_event_mb); agproxy stopped reading there. ` +
      'Raise limits.sse_event_mb in agproxy.yaml if events this large are expected.',
  })
