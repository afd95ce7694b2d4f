/**
 * IR events in batches: a translated stream moves the events of one upstream chunk together (decoded, guarded,
 * encoded and written as one piece), instead of one asynchronous hop per event. Adapters between batches and
 * single events, for codecs that work event by event, and the bytes of a synchronous StreamWriter.
 */
import type { IREvent, StreamWriter } from './types'

/** Each event as a batch of its own (an upstream decoder without batches). */
export async function* batchesOf(events: AsyncIterable<IREvent>): AsyncGenerator<IREvent[]> {
  for await (const ev of events) yield [ev]
}

/** The events of the batches, one by one (a client encoder without a StreamWriter). */
export async function* eventsOf(batches: AsyncIterable<IREvent[]>): AsyncGenerator<IREvent> {
  for await (const batch of batches) yield* batch
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
  const close = () => {
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
          if (next.done) {
            ended = true
            const end = w.broken()
            return end ? chunk(end) : END
          }
          const batch = next.value
          for (let i = 0; i < batch.length && !w.done; i++) text += w.event(batch[i]!)
        } catch (e) {
          close()
          return chunk(text + w.broken(e))
        }
        if (w.done) close()
        if (text) return chunk(text)
      }
      return END
    },
    async cancel() {
      if (!ended) close()
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
