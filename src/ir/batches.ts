/**
 * IR events in batches: a translated stream moves the events of one upstream chunk together (decoded, guarded,
 * encoded and written as one piece), instead of one asynchronous hop per event. Adapters between batches and
 * single events, for codecs that work event by event; SSE upstream bodies to batches (sseBatches), and the bytes of a
 * synchronous StreamWriter.
 */
import { SseSplitter, type SSEMessage } from './sse'
import type { IREvent, StreamWriter } from './types'

/** Each event as a batch of its own (an upstream decoder without batches). */
export async function* batchesOf(events: AsyncIterable<IREvent>): AsyncGenerator<IREvent[]> {
  for await (const ev of events) yield [ev]
}

/** The events of the batches, one by one (a client encoder without a StreamWriter). */
export async function* eventsOf(batches: AsyncIterable<IREvent[]>): AsyncGenerator<IREvent> {
  for await (const batch of batches) yield* batch
}

/** An SSE upstream decoder, message by message: what sseBatches hands each message and the end of the body to. */
export interface SseDecoder {
  /** add the message's events to `out`; 'end': the stream ends here (the end's events follow), 'stop': it ends with what is in `out` */
  message(msg: SSEMessage, out: IREvent[]): 'end' | 'stop' | undefined
  /** add the events that end the stream (the body ended, or a message said 'end') to `out` */
  end(out: IREvent[]): void
}

/** Bodies sseBatches read to their end or cancelled: the calls they came from hold nothing more. */
const released = new WeakSet<ReadableStream<Uint8Array>>()

/** Was `body` read to its end or cancelled by sseBatches (no need to abort the call it came from)? */
export const wasReleased = (body: ReadableStream<Uint8Array>): boolean => released.has(body)

/**
 * An SSE body → batches of IR events: one batch per chunk that makes any, each chunk decoded once (one UTF-8 decoder for the
 * body) and split into messages synchronously. An event over `maxEventChars` throws LimitExceeded after the events before it.
 * A body left before its end (a message ended the stream, a limit, the consumer returned) is cancelled: the upstream is released.
 */
export async function* sseBatches(body: ReadableStream<Uint8Array>, maxEventChars: number | undefined, d: SseDecoder): AsyncGenerator<IREvent[]> {
  const sse = new SseSplitter(maxEventChars)
  const reader = body.getReader()
  let read = false
  try {
    while (true) {
      const { value, done } = await reader.read()
      if (done) {
        read = true
        released.add(body)
      }
      const msgs: SSEMessage[] = []
      let tooLarge: unknown
      try {
        if (done) sse.end(msgs)
        else sse.push(value, msgs)
      } catch (e) {
        tooLarge = e // after the events of the messages before it
      }
      const events: IREvent[] = []
      for (const msg of msgs) {
        const verdict = d.message(msg, events)
        if (verdict === 'end') d.end(events)
        if (verdict) {
          yield events
          return
        }
      }
      if (tooLarge) {
        if (events.length) yield events
        throw tooLarge
      }
      if (done) d.end(events)
      if (events.length) yield events
      if (done) return
    }
  } finally {
    if (!read) {
      released.add(body)
      await reader.cancel().catch(() => {})
    }
  }
}

const te = new TextEncoder()

/** What a byte stream's consumer reads: a stream reader's read and cancel. */
export type ByteSource = Pick<ReadableStreamDefaultReader<Uint8Array>, 'read' | 'cancel'>

const END = { done: true, value: undefined } as const

/**
 * The bytes a StreamWriter makes of event batches, read chunk by chunk: one chunk per batch that writes anything, nothing
 * between the read and the batches (no ReadableStream, no generator). A failing source, or one that ends before a terminal
 * event, ends the bytes with the writer's closing text; once the writer is done (or the reader cancels) the source is returned.
 */
export function writtenSource(batches: AsyncIterable<IREvent[]>, w: StreamWriter): ByteSource {
  const it = batches[Symbol.asyncIterator]()
  let ended = false
  /** the writer's closing text, still to send */
  let closing = ''
  const stop = () => {
    ended = true
    it.return?.()?.catch(() => {})
  }
  const chunk = (text: string) => ({ done: false as const, value: te.encode(text) })
  return {
    async read() {
      while (!ended) {
        let text = ''
        try {
          const next = await it.next()
          if (next.done) text = w.broken()
          else for (let i = 0; i < next.value.length && !w.done; i++) text += w.event(next.value[i]!)
        } catch (e) {
          text += w.broken(e)
        }
        if (w.done) {
          stop()
          closing = w.closing?.() ?? ''
        }
        if (text) return chunk(text)
      }
      if (!closing) return END
      const text = closing
      closing = ''
      return chunk(text)
    },
    async cancel() {
      if (!ended) stop()
      closing = ''
    },
  }
}

/** The same bytes as a ReadableStream (ClientCodec.encodeStream); cancelling it returns the source. */
export function writeStream(batches: AsyncIterable<IREvent[]>, w: StreamWriter): ReadableStream<Uint8Array> {
  const source = writtenSource(batches, w)
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const r = await source.read()
        if (r.done) c.close()
        else c.enqueue(r.value)
      },
      cancel: () => source.cancel(),
    },
    { highWaterMark: 0 },
  )
}
