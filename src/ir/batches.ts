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

/** Batches of IR events whose `next()` is already settled when its batch could be made at once (see `settledValue`). */
export type Batches = AsyncIterableIterator<IREvent[]>

type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>

/** an iterator's end, one object for every layer that ends */
export const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined }
const doneBatch = (): Promise<IteratorResult<IREvent[]>> => Promise.resolve(DONE)

/** The value of a promise already fulfilled (Bun.peek), else undefined: a layer that finds its input already there passes
 *  it on at once (a settled promise of its own) instead of awaiting it, so a chunk that has arrived crosses every layer of a
 *  translated stream without a promise hop per layer. */
export function settledValue<T>(p: Promise<T>): { value: T } | undefined {
  return Bun.peek.status(p) === 'fulfilled' ? { value: Bun.peek(p) as T } : undefined
}

/** `it.next()`, a synchronous throw from it as a rejected promise (one path for both to the caller's error handling). */
export function nextOf<T>(it: AsyncIterator<T>): Promise<IteratorResult<T>> {
  try {
    return it.next()
  } catch (e) {
    return Promise.reject(e)
  }
}

/**
 * An SSE body → batches of IR events: one batch per chunk that makes any, each chunk decoded once (one UTF-8 decoder for the
 * body) and split into messages synchronously. An event over `maxEventChars` throws LimitExceeded after the events before it.
 * A body left before its end (a message ended the stream, a limit, the consumer returned) is cancelled: the upstream is released.
 * A chunk already read by the body is decoded at once (`next()` is then settled).
 */
export function sseBatches(body: ReadableStream<Uint8Array>, maxEventChars: number | undefined, d: SseDecoder): Batches {
  return new SseBatches(body, new SseSplitter(maxEventChars), d)
}

class SseBatches implements Batches {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  /** no more batches: the body ended, a message ended the stream, or it failed */
  private over = false
  /** the body was read to its end, or cancelled */
  private ended = false
  /** thrown by the next `next()` (a limit: after the batch of the events before it) */
  private failure: unknown

  constructor(
    private readonly body: ReadableStream<Uint8Array>,
    private readonly sse: SseSplitter,
    private readonly d: SseDecoder,
  ) {
    this.reader = body.getReader()
  }

  [Symbol.asyncIterator]() {
    return this
  }

  next(): Promise<IteratorResult<IREvent[]>> {
    while (true) {
      if (this.failure !== undefined) {
        const e = this.failure
        this.failure = undefined
        return Promise.reject(e)
      }
      if (this.over) return doneBatch()
      let read: Promise<ReadResult>
      try {
        read = this.reader.read()
      } catch (e) {
        this.leave()
        return Promise.reject(e)
      }
      const here = settledValue(read)
      if (!here)
        return read.then(
          r => this.afterRead(r),
          e => this.broke(e),
        )
      const batch = this.batchOf(here.value)
      if (batch) return Promise.resolve(batch)
    }
  }

  return(): Promise<IteratorResult<IREvent[]>> {
    this.failure = undefined
    this.leave()
    return doneBatch()
  }

  private afterRead(r: ReadResult): IteratorResult<IREvent[]> | Promise<IteratorResult<IREvent[]>> {
    const batch = this.batchOf(r)
    return batch ?? this.next()
  }

  private broke(e: unknown): never {
    this.leave()
    throw e
  }

  /** The batch one read makes (undefined: none, read on); a limit is thrown by the next `next()`, after the events before it. */
  private batchOf(r: ReadResult): IteratorResult<IREvent[]> | undefined {
    if (this.over) return DONE
    if (r.done) {
      this.over = true
      this.ended = true
      released.add(this.body)
    }
    const msgs: SSEMessage[] = []
    const events: IREvent[] = []
    try {
      if (r.done) this.sse.end(msgs)
      else this.sse.push(r.value, msgs)
    } catch (e) {
      this.failure = e // after the events of the messages before it
    }
    try {
      for (const msg of msgs) {
        const verdict = this.d.message(msg, events)
        if (verdict === 'end') this.d.end(events)
        if (verdict) {
          this.failure = undefined
          this.leave()
          return { done: false, value: events }
        }
      }
      if (this.failure === undefined && r.done) this.d.end(events)
    } catch (e) {
      // a decoder that fails: nothing of this chunk is passed on
      this.failure = e
      this.leave()
      return undefined
    }
    if (this.failure !== undefined) this.leave()
    if (events.length) return { done: false, value: events }
    return r.done && this.failure === undefined ? DONE : undefined
  }

  /** No more batches; a body not read to its end is cancelled (the upstream is released). */
  private leave() {
    this.over = true
    if (this.ended) return
    this.ended = true
    released.add(this.body)
    this.reader.cancel().catch(() => {})
  }
}

/** The batches, each shown to `see` as it passes (in order); `next()` is settled when the source's is. */
export function seenBatches(batches: AsyncIterable<IREvent[]>, see: (batch: IREvent[]) => void): Batches {
  const it = batches[Symbol.asyncIterator]()
  const seen = (n: IteratorResult<IREvent[]>) => {
    if (!n.done) see(n.value)
    return n
  }
  const self: Batches = {
    [Symbol.asyncIterator]: () => self,
    next() {
      const next = it.next()
      const here = settledValue(next)
      return here ? Promise.resolve(seen(here.value)) : next.then(seen)
    },
    return: () => it.return?.() ?? doneBatch(),
  }
  return self
}

const te = new TextEncoder()

/** What a byte stream's consumer reads: a stream reader's read and cancel. */
export type ByteSource = Pick<ReadableStreamDefaultReader<Uint8Array>, 'read' | 'cancel'>

/** what a written source's read gives */
type Written = { done: false; value: Uint8Array } | typeof DONE

/**
 * The bytes a StreamWriter makes of event batches, read chunk by chunk: one chunk per batch that writes anything, nothing
 * between the read and the batches (no ReadableStream, no generator). A failing source, or one that ends before a terminal
 * event, ends the bytes with the writer's closing text; once the writer is done (or the reader cancels) the source is returned.
 * A batch already there (its `next()` settled) is written at once: the read is then settled too.
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
  /** the text one batch (or the source's end) writes */
  const write = (next: IteratorResult<IREvent[]>): string => {
    let text = ''
    try {
      if (next.done) text = w.broken()
      else for (let i = 0; i < next.value.length && !w.done; i++) text += w.event(next.value[i]!)
    } catch (e) {
      text += w.broken(e)
    }
    return wrote(text)
  }
  /** the text a failing source ends with */
  const broke = (e: unknown): string => wrote(w.broken(e))
  const wrote = (text: string) => {
    if (w.done) {
      stop()
      closing = w.closing?.() ?? ''
    }
    return text
  }
  const chunk = (text: string) => ({ done: false as const, value: te.encode(text) })
  const last = (): Written => {
    if (!closing) return DONE
    const text = closing
    closing = ''
    return chunk(text)
  }
  const read = (): Promise<Written> => {
    while (!ended) {
      const next = nextOf(it)
      const here = settledValue(next)
      if (!here)
        return next.then(
          n => written(write(n)),
          e => written(broke(e)),
        )
      const text = write(here.value)
      if (text) return Promise.resolve(chunk(text))
    }
    return Promise.resolve(last())
  }
  const written = (text: string) => (text ? chunk(text) : read())
  return {
    read,
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
