/**
 * IR events in batches: a translated stream moves the events of one upstream chunk together (decoded, guarded,
 * encoded and written as one piece), instead of one asynchronous hop per event. Adapters between batches and
 * single events, for codecs that work event by event, and the byte stream of a synchronous StreamWriter.
 */
import { streamFrom } from './sse'
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

/** The wire text of each batch, as one chunk. */
async function* written(batches: AsyncIterable<IREvent[]>, w: StreamWriter): AsyncGenerator<Uint8Array> {
  try {
    for await (const batch of batches) {
      let text = ''
      for (let i = 0; i < batch.length && !w.done; i++) text += w.event(batch[i]!)
      if (text) yield te.encode(text)
      if (w.done) return
    }
  } catch (e) {
    yield te.encode(w.broken(e))
    return
  }
  const end = w.broken()
  if (end) yield te.encode(end)
}

/** The byte stream a StreamWriter makes of event batches: one chunk per batch; cancelling it returns the source. */
export const writeStream = (batches: AsyncIterable<IREvent[]>, w: StreamWriter): ReadableStream<Uint8Array> => streamFrom(written(batches, w))
