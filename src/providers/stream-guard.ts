/**
 * Stream guards. Before the first byte reaches the client: wait for the first content (so a stream
 * that ends empty or stalls can be retried elsewhere). After it: idle and total deadlines, SSE
 * heartbeats while the upstream is silent, and a well-formed in-dialect error instead of a cut.
 */
import { IRErrorValue, type IREvent, type IRError } from '../ir/types'
import { LimitExceeded } from '../ir/limits'
import { err } from '../ir/errors'
import type { FrameReader } from '../dialects/frames'
import { FrameBuffer, endsSseFrame, nextSseBoundary, type Framing } from './frames'
import type { StreamEnd } from '../observe/record'
import { after, at, type Deadline } from './deadlines'
import { DONE, nextOf, settledValue } from '../ir/batches'

export type Peek<T> =
  | {
      ok: true
      buffered: T[]
      /** translated: the batches after `buffered`; pass-through: the body's reader */
      rest: AsyncIterator<T[]> | ReadableStreamDefaultReader<Uint8Array>
      /** pass-through: the frame buffer that cut `buffered` into complete frames and holds back the incomplete rest */
      frames?: FrameBuffer
    }
  | { ok: false; reason: 'empty' | 'stall' | 'error' | 'too_large'; error?: IRError; message: string /** bytes seen (pass-through) */; text?: string }

/** The first content token: text or thinking, a tool call (its start names the tool), redacted thinking.
 *  An empty text/thinking block start is not one (Anthropic opens the block before the model has produced
 *  anything; a stall or error right after it can still be retried elsewhere). */
const isContentEvent = (e: IREvent) =>
  (e.type === 'block_start' && (e.block.type === 'tool_call' || e.block.type === 'redacted_thinking')) ||
  ((e.type === 'text_delta' || e.type === 'thinking_delta') && e.text !== '') ||
  e.type === 'tool_args_delta'

/** An exception's message, one line, without Bun's "pass `verbose: true`" advice. */
export function errorText(e: unknown): string {
  const m = (e as Error)?.message ?? String(e)
  return (m || (e as Error)?.name || 'unknown error')
    .replace(/\s*For more information, pass `verbose: true`[^.]*\.?/i, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200)
}

/** A promise that resolves 'timeout' after `ms`, cancellable (on the shared deadline timer: deadlines.ts). */
export function deadline(ms: number) {
  let d: Deadline | undefined
  const promise = new Promise<'timeout'>(r => {
    d = after(ms, () => r('timeout'))
  })
  return { promise, clear: () => d?.cancel() }
}

/** Pull batches of IR events until the first content event; `buffered` ends with the rest of its batch (it arrived with it).
 *  Batches already there are taken at once (no deadline armed; settled at once when they hold the first content). */
export function peekEvents(batches: AsyncIterable<IREvent[]>, timeoutMs: number): Promise<Peek<IREvent>> {
  const it = batches[Symbol.asyncIterator]()
  const buffered: IREvent[] = []
  const until = Date.now() + timeoutMs
  let d: ReturnType<typeof deadline> | undefined
  /** the verdict on one batch; undefined: no content yet, read on */
  const judge = (next: IteratorResult<IREvent[]> | 'timeout'): Peek<IREvent> | undefined => {
    if (next === 'timeout') {
      it.return?.()?.catch(() => {})
      return { ok: false, reason: 'stall', message: `the upstream sent no content within ${ms(timeoutMs)} (timeouts.first_token)` }
    }
    if (next.done) return { ok: false, reason: 'empty', message: 'the upstream stream ended without any content' }
    const batch = next.value
    for (let i = 0; i < batch.length; i++) {
      const ev = batch[i]!
      if (ev.type === 'error') return { ok: false, reason: 'error', error: ev.error, message: ev.error.message }
      // a finish with no content is an empty answer (Gemini's blocked / zero-token replies end here)
      if (isContentEvent(ev) || ev.type === 'finish') {
        for (let j = i; j < batch.length; j++) buffered.push(batch[j]!)
        return { ok: true, buffered, rest: it }
      }
      buffered.push(ev)
    }
    return undefined
  }
  const broke = (e: unknown): Peek<IREvent> => {
    if (e instanceof LimitExceeded) return { ok: false, reason: 'too_large', error: e.error, message: e.error.message }
    return { ok: false, reason: 'error', message: `the upstream stream broke before any content (${(e as Error).message})` }
  }
  const waited = async (next: Promise<IteratorResult<IREvent[]>>): Promise<Peek<IREvent>> => {
    try {
      const verdict = judge(await Promise.race([next, (d ??= deadline(Math.max(1, until - Date.now()))).promise]))
      return verdict ?? peek()
    } catch (e) {
      return broke(e)
    }
  }
  const peek = (): Promise<Peek<IREvent>> => {
    while (true) {
      const next = nextOf(it)
      const here = settledValue(next)
      if (!here) return waited(next)
      const verdict = judge(here.value)
      if (verdict) return Promise.resolve(verdict)
    }
  }
  const result = peek()
  if (Bun.peek.status(result) !== 'pending') return result
  return result.finally(() => d?.clear())
}

export interface StreamLimits {
  idleMs: number
  totalMs: number
  /** epoch ms the attempt started (the total limit counts from here); default: when the guard starts */
  startedAt?: number
  /** applied to every error that reaches the client (e.g. to mask provider keys) */
  scrub?: (e: IRError) => IRError
}

/** `: ping` interval while an SSE stream is silent */
export const DEFAULT_HEARTBEAT_MS = 15_000

const ms = (n: number) => (n >= 10_000 ? `${Math.round(n / 1000)} s` : `${+(n / 1000).toFixed(2)} s`)

/** What a guarded event stream tells its observer: the usage of its finish, the error it ends on. */
export interface EventTap {
  usage(u: IREvent & { type: 'finish' }): void
  error(e: IRError): void
}

/** Replay the buffered events, then the rest, batch by batch, turning idle/total timeouts and exceptions into an error
 *  event (a batch with an error ends at it). `tap` hears of the finish and of the error the stream ends on. A batch
 *  already there is passed on at once (`next()` settled, no timer); only a wait for the upstream arms the watchdog. */
export function guardEvents(buffered: IREvent[], rest: AsyncIterator<IREvent[]>, limits: StreamLimits, tap?: EventTap): AsyncIterableIterator<IREvent[]> {
  return new GuardedEvents(buffered, rest, limits, tap)
}

/** guardEvents' batches. */
class GuardedEvents implements AsyncIterableIterator<IREvent[]> {
  private readonly end: number
  private readonly scrub: (e: IRError) => IRError
  private finished = false
  /** nothing more to pass on (an error was, or the end) */
  private over = false
  private buffered: IREvent[] | undefined
  /** one timer for the stream's waits, armed at the first one */
  private readonly watchdog = new Watchdog()

  constructor(
    buffered: IREvent[],
    private readonly rest: AsyncIterator<IREvent[]>,
    private readonly limits: StreamLimits,
    private readonly tap?: EventTap,
  ) {
    this.end = (limits.startedAt ?? Date.now()) + limits.totalMs
    this.scrub = limits.scrub ?? ((e: IRError) => e)
    this.buffered = buffered.length ? buffered : undefined
  }

  [Symbol.asyncIterator]() {
    return this
  }

  next(): Promise<IteratorResult<IREvent[]>> {
    if (this.over) return Promise.resolve(DONE)
    const buffered = this.buffered
    if (buffered) {
      this.buffered = undefined
      return Promise.resolve(this.pass(buffered))
    }
    let next: Promise<IteratorResult<IREvent[]>>
    try {
      next = this.rest.next()
    } catch (e) {
      return Promise.resolve(this.broke(e))
    }
    const here = settledValue(next)
    return here ? Promise.resolve(this.take(here.value)) : this.wait(next)
  }

  return(): Promise<IteratorResult<IREvent[]>> {
    this.close()
    return Promise.resolve(DONE)
  }

  private async wait(next: Promise<IteratorResult<IREvent[]>>): Promise<IteratorResult<IREvent[]>> {
    const left = Math.max(1, Math.min(this.limits.idleMs, this.end - Date.now()))
    try {
      return this.take(await Promise.race([next, this.watchdog.wait(left)]))
    } catch (e) {
      return this.broke(e)
    } finally {
      this.watchdog.stop()
    }
  }

  /** A batch, the end, or a timeout, as the client gets it. */
  private take(next: IteratorResult<IREvent[]> | 'timeout'): IteratorResult<IREvent[]> {
    // the total limit is checked per batch; the watchdog covers silence
    if (next !== 'timeout' && !next.done && Date.now() >= this.end) next = 'timeout'
    if (next === 'timeout') {
      const message =
        Date.now() >= this.end
          ? `The answer exceeded the total time limit (timeouts.total); it is incomplete.`
          : `The upstream went silent for ${ms(this.limits.idleMs)} mid-answer (timeouts.idle); the answer is incomplete.`
      return this.last(err('timeout', message))
    }
    if (next.done) {
      if (this.finished) {
        this.close()
        return DONE
      }
      return this.last(err('upstream', 'The upstream stream ended before the answer was complete (no finish reason); the answer is incomplete.'))
    }
    return this.pass(next.value)
  }

  /** An exception of the source: an IR error thrown by a decoder (e.g. a limit) is already what the client should read. */
  private broke(e: unknown): IteratorResult<IREvent[]> {
    return this.last(
      e instanceof IRErrorValue ? e.error : err('upstream', `The upstream connection broke mid-answer (${errorText(e)}); the answer is incomplete.`),
    )
  }

  /** the batch as the client gets it: up to an error (scrubbed), told to `tap` */
  private pass(batch: IREvent[]): IteratorResult<IREvent[]> {
    for (let i = 0; i < batch.length; i++) {
      const ev = batch[i]!
      if (ev.type === 'finish') {
        this.finished = true
        this.tap?.usage(ev)
      } else if (ev.type === 'error') {
        this.close()
        return { done: false, value: [...batch.slice(0, i), this.fail(this.scrub(ev.error))] }
      }
    }
    return { done: false, value: batch }
  }

  /** the stream's last batch: `error` (scrubbed) */
  private last(error: IRError): IteratorResult<IREvent[]> {
    this.close()
    return { done: false, value: [this.fail(this.scrub(error))] }
  }

  private fail(error: IRError): IREvent {
    this.tap?.error(error)
    return { type: 'error', error }
  }

  private close() {
    if (this.over) return
    this.over = true
    this.watchdog.clear()
    this.rest.return?.()?.catch(() => {})
  }
}

// ───────────── bytes (same-dialect pass-through) ─────────────

/** Read raw chunks until the endpoint's frame reader sees content in a complete frame; an error frame before it
 *  ends the peek (its message, and the text so far for the status it stands for). On content, `buffered` are the
 *  complete frames read so far and `frames` holds back the incomplete rest: the relay goes on from them. */
export async function peekFrames(body: ReadableStream<Uint8Array>, reader: FrameReader, framing: Framing, timeoutMs: number): Promise<Peek<Uint8Array>> {
  const source = body.getReader()
  /** the complete frames read so far (with what `frames` holds back: every byte that arrived) */
  const buffered: Uint8Array[] = []
  const frames = new FrameBuffer(framing)
  const td = new TextDecoder()
  let size = 0
  const ok = (): Peek<Uint8Array> => ({ ok: true, buffered, rest: source, frames })
  /** what arrived so far, as text (at most its first 64 KB): only built for an error, to find the status it stands for */
  const seen = () => new TextDecoder().decode(Buffer.concat([...buffered, frames.peekHeld() ?? new Uint8Array(0)]).subarray(0, 65536))
  /** the verdict on complete frames */
  const judge = (piece: Uint8Array | undefined): Peek<Uint8Array> | undefined => {
    if (!piece) return undefined
    buffered.push(piece)
    const v = scanFrames(piece, framing, reader, td)
    if (v.content) return ok()
    if (v.error !== undefined) return { ok: false, reason: 'error', message: v.error, text: seen() }
    return undefined
  }
  const until = Date.now() + timeoutMs
  let d: ReturnType<typeof deadline> | undefined
  try {
    while (true) {
      let next: Awaited<ReturnType<typeof source.read>> | 'timeout'
      try {
        const read = source.read()
        // a chunk already here (the first one usually is) needs no timer: the deadline is armed at the first wait
        next =
          Bun.peek.status(read) === 'fulfilled'
            ? (Bun.peek(read) as Awaited<typeof read>)
            : await Promise.race([read, (d ??= deadline(Math.max(1, until - Date.now()))).promise])
      } catch (e) {
        return { ok: false, reason: 'error', message: `the upstream stream broke before any content (${errorText(e)})` }
      }
      if (next === 'timeout') {
        source.cancel().catch(() => {})
        return { ok: false, reason: 'stall', message: `the upstream sent no content within ${ms(timeoutMs)} (timeouts.first_token)` }
      }
      if (next.done) {
        const last = judge(frames.drain())
        if (last && !last.ok) return last
        return { ok: false, reason: 'empty', message: 'the upstream stream ended without any content' }
      }
      size += next.value.length
      const verdict = judge(frames.push(next.value))
      if (verdict && !verdict.ok) source.cancel().catch(() => {})
      if (verdict) return verdict
      if (reader.begun && begun(reader.begun, frames, td)) return ok()
      if (size > 1_000_000) return ok()
    }
  } finally {
    d?.clear()
  }
}

/** What the frame reader says of complete frames: content anywhere in them wins over an error among them. SSE frames are
 *  read one at a time up to the first content frame, so most of a first chunk that holds the whole answer is never decoded. */
function scanFrames(piece: Uint8Array, framing: Framing, reader: FrameReader, td: TextDecoder): { content: boolean; error?: string } {
  if (framing !== 'sse') return reader.scan(td.decode(piece))
  let error: string | undefined
  for (let start = 0; start < piece.length; ) {
    const end = nextSseBoundary(piece, start)
    const v = reader.scan(td.decode(piece.subarray(start, end)))
    if (v.content) return v
    if (error === undefined) error = v.error
    start = end
  }
  return { content: false, error }
}

/** Has the incomplete frame held back begun a content frame (by the reader's `begun`)? */
function begun(test: (partial: string) => boolean, frames: FrameBuffer, td: TextDecoder): boolean {
  const held = frames.peekHeld()
  return !!held && test(td.decode(held))
}

const te = new TextEncoder()
const utf8 = new TextDecoder()
export const PING = te.encode(': ping\n\n')

/** The most a relayed stream may hold back as one incomplete frame; past it the stream ends with an error frame.
 *  (The SSE event cap: a setting, limits.sse_event_mb, is on its way.) */
/** how far back from a piece's end its last frames are looked for */
const LAST_FRAMES_BYTES = 4096

/** The text of a piece's last frames: from the last blank line within its last LAST_FRAMES_BYTES (a cut at a line end, so
 *  whole UTF-8); undefined when the piece is short (decoded whole anyway) or no blank line is that close to its end. */
function lastFramesText(piece: Uint8Array, td: TextDecoder): string | undefined {
  if (piece.length <= LAST_FRAMES_BYTES) return undefined
  let end = piece.length
  while (end > 0 && (piece[end - 1] === 10 || piece[end - 1] === 13 || piece[end - 1] === 32)) end--
  for (let i = end - 1; i > 1 && i >= end - LAST_FRAMES_BYTES; i--) {
    const c = piece[i]
    if ((c === 10 || c === 13) && piece[i - 1] === c) return td.decode(piece.subarray(i - 1))
    if (c === 10 && piece[i - 1] === 13 && piece[i - 2] === 10) return td.decode(piece.subarray(i - 2))
  }
  return undefined
}

/** how much of a stream's last relayed frames the end check keeps (besides the very last piece, kept whatever its size) */
const TAIL_BYTES = 64 * 1024

export const MAX_FRAME_BYTES = 16 * 1048576

/**
 * The last complete frames a relayed stream sent, for the end check and the trace. Whether the stream ended properly is
 * judged once, when the upstream closes, from the last pieces relayed (a terminal frame is among them): nothing is
 * decoded or scanned per chunk on the hot path. Pieces are complete frames (whole UTF-8 too), kept by reference: the last
 * one always, earlier ones while they add up to TAIL_BYTES. Without `ends` nothing is kept.
 */
class Tail {
  private readonly pieces: Uint8Array[] = []
  private bytes = 0
  constructor(private readonly ends?: (frames: string) => boolean) {}

  see(piece: Uint8Array) {
    if (!this.ends) return
    const tail = this.pieces
    tail.push(piece)
    this.bytes += piece.byteLength
    while (tail.length > 1 && this.bytes - (tail[0]?.byteLength ?? 0) >= TAIL_BYTES) this.bytes -= tail.shift()?.byteLength ?? 0
  }

  /** Do the frames kept end the stream properly (always, without `ends`)? */
  endedProperly(): boolean {
    const ends = this.ends
    if (!ends) return true
    const td = new TextDecoder()
    const tail = this.pieces
    // the last frames of the last piece first (the terminal frame is almost always there), then every piece from the last back
    const last = tail.at(-1)
    const lastFrames = last && lastFramesText(last, td)
    if (lastFrames && ends(lastFrames)) return true
    for (let i = tail.length - 1; i >= 0; i--) if (ends(td.decode(tail[i]))) return true
    return false
  }

  /** the text of the frames kept: one decode of them joined, not one per piece */
  text = (): string => {
    const tail = this.pieces
    return tail.length === 1 ? utf8.decode(tail[0]) : utf8.decode(Buffer.concat(tail, this.bytes))
  }
}

type RelayOptions = Parameters<typeof guardedByteStream>[2] & { frames: FrameBuffer }

/** how long a relay whose frames already end the stream waits for the upstream's body to end (it follows at once) */
const END_GRACE_MS = 25
/** the most a relay reads ahead to answer as one body: past it (a long answer, or a compressed one decoded as it is
 *  read) the guarded stream relays it as the client reads, holding no more */
const WHOLE_MAX_BYTES = 256 * 1024

/**
 * A pass-through stream after its peek: when the rest of it has arrived (a short answer comes at once: at most
 * WHOLE_MAX_BYTES), the whole answer as one body — the same bytes the guarded stream would send (complete frames masked, the end check, an error frame
 * after an incomplete end), with no stream to pump. Frames that already end the stream wait up to END_GRACE_MS for the
 * upstream's body to end too. Otherwise the guarded stream (guardedByteStream), from where the reading stopped.
 */
export async function relayStream(
  buffered: Uint8Array[],
  source: ReadableStreamDefaultReader<Uint8Array>,
  opts: RelayOptions,
): Promise<ReadableStream<Uint8Array> | Uint8Array> {
  const frames = opts.frames
  const maxHeld = opts.maxFrameBytes ?? MAX_FRAME_BYTES
  const pieces = buffered.slice()
  const tail = new Tail(opts.ends)
  let size = 0
  for (const p of pieces) {
    tail.see(p)
    size += p.byteLength
  }
  while (true) {
    if (size > WHOLE_MAX_BYTES) return guardedByteStream(pieces, source, opts)
    const read = source.read()
    let next: Awaited<typeof read> | 'timeout'
    if (Bun.peek.status(read) === 'fulfilled') next = Bun.peek(read) as Awaited<typeof read>
    else {
      // a chunk still on its way (or an error): the guarded stream takes over from this read, unless what arrived
      // already ends the stream (only the body's end is to come)
      if (!opts.ends || !tail.endedProperly()) return guardedByteStream(pieces, source, { ...opts, pending: read })
      const d = deadline(END_GRACE_MS)
      try {
        next = await Promise.race([read, d.promise])
      } catch {
        next = 'timeout'
      } finally {
        d.clear()
      }
      if (next === 'timeout') return guardedByteStream(pieces, source, { ...opts, pending: read })
    }
    if (next.done) break
    const piece = frames.push(next.value)
    size += next.value.byteLength
    if (piece) {
      pieces.push(piece)
      tail.see(piece)
    }
    // an event over the limit: the guarded stream ends it with its error
    if (frames.size > maxHeld) return guardedByteStream(pieces, source, opts)
  }
  // a last frame without its blank line is relayed at a clean end (and may be the one that ends it)
  const rest = frames.drain()
  if (rest) tail.see(rest)
  const transform = opts.transform ?? ((c: Uint8Array) => c)
  const out = pieces.map(transform)
  if (tail.endedProperly()) {
    if (rest) out.push(transform(rest))
    opts.closed?.('complete', undefined, tail.text)
    if (opts.alwaysEnd) opts.onEnd?.()
    return out.length === 1 ? (out[0] as Uint8Array) : Buffer.concat(out)
  }
  // as the guarded stream ends: the incomplete last frame dropped, the error frame after the complete ones
  const scrub = opts.scrub ?? ((e: IRError) => e)
  const e = scrub(err('upstream', 'The upstream stream ended before the answer was complete; the answer is incomplete.'))
  opts.closed?.('upstream_error', e, tail.text)
  out.push(frames.errorAfter(opts.errorFrame(e)))
  opts.onEnd?.()
  return Buffer.concat(out)
}

/** A stream a client is still reading, as its registry holds it: `end(e)` ends it from outside with `e` (shutdown). */
export interface LiveStream {
  end(e: IRError): void
}

/**
 * A byte stream with heartbeats: while `source` is silent for `heartbeatMs`, emit `: ping` (only at frame
 * boundaries, and only when `heartbeat` is on — SSE). Idle/total limits, a broken connection, or a clean end
 * that `complete` says is premature end it with `errorFrame(error)`. Cancelling it (client gone) cancels the source.
 * With `framing`, only complete frames are relayed (frames.ts): a break mid-frame drops the incomplete one, so the
 * error frame follows a complete frame and the client can parse it.
 */
export function guardedByteStream(
  buffered: Uint8Array[],
  source: Pick<ReadableStreamDefaultReader<Uint8Array>, 'read' | 'cancel'>,
  opts: StreamLimits & {
    heartbeatMs: number
    heartbeat: boolean
    errorFrame: (e: IRError) => Uint8Array
    /** called when the stream ends early (error or client gone), to abort the upstream call */
    onEnd?: () => void
    /** call onEnd on a clean end too */
    alwaysEnd?: boolean
    /** applied to everything sent but heartbeats and error frames (e.g. key masking); with `framing`, to complete frames */
    transform?: (chunk: Uint8Array) => Uint8Array
    /** relay complete frames only, holding back an incomplete one (at most `maxFrameBytes`, default MAX_FRAME_BYTES) */
    framing?: Framing
    /** the peek's frame buffer (instead of `framing`): `buffered` are the complete frames it cut, relayed as they are,
     *  and it holds back the incomplete rest */
    frames?: FrameBuffer
    maxFrameBytes?: number
    /** does a run of complete frames properly end the stream (the endpoint's frame reader; needs `framing` or `frames`)?
     *  A clean end before one did is reported as an incomplete answer */
    ends?: (frames: string) => boolean
    /** the stream is in this registry while it runs (it leaves it when it ends, however it ends), so it can be ended from outside */
    live?: Set<LiveStream>
    /** told once how the stream ended (`e`: the error it ended on); `tail()`: the text of its last relayed frames (with `ends`) */
    closed?: (end: StreamEnd, e: IRError | undefined, tail: () => string) => void
    /** a read of `source` already made (relayStream), whose chunk comes first */
    pending?: ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>
  },
): ReadableStream<Uint8Array> {
  const end = (opts.startedAt ?? Date.now()) + opts.totalMs
  const scrub = opts.scrub ?? ((e: IRError) => e)
  const transform = opts.transform ?? ((c: Uint8Array) => c)
  let lastData = Date.now()
  let atBoundary = true
  let pending: ReturnType<typeof source.read> | undefined = opts.pending
  let done = false
  const tail = new Tail(opts.ends)
  const see = (piece: Uint8Array) => tail.see(piece)
  const endedProperly = () => tail.endedProperly()
  const frames = opts.frames ?? (opts.framing ? new FrameBuffer(opts.framing) : undefined)
  const maxHeld = opts.maxFrameBytes ?? MAX_FRAME_BYTES
  const tailText = tail.text
  /** ended from outside by shutdown (LiveStream.end) */
  let shutdown = false
  const watchdog = new Watchdog()
  const finish = (c: ReadableStreamDefaultController<Uint8Array>, e?: IRError) => {
    if (done) return
    done = true
    watchdog.clear()
    opts.live?.delete(handle)
    opts.closed?.(!e ? 'complete' : shutdown ? 'shutdown' : e.kind === 'timeout' ? 'timeout' : 'upstream_error', e && scrub(e), tailText)
    if (e) {
      // an incomplete frame is dropped (framing), or at least its line closed, so that the error frame parses
      frames?.clear()
      if (!atBoundary) c.enqueue(te.encode('\n\n'))
      const frame = opts.errorFrame(scrub(e))
      c.enqueue(frames ? frames.errorAfter(frame) : frame)
    } else {
      const rest = frames?.drain()
      if (rest) c.enqueue(transform(rest))
    }
    c.close()
    // a clean pass-through end consumed the upstream body: nothing to abort (aborting a finished fetch is not
    // free); a translated stream may end cleanly on an upstream that is still open (idle timeout), so it always aborts
    if (e || opts.alwaysEnd) opts.onEnd?.()
  }
  /** Send `chunk` (with framing: the frames it completes); false when nothing could be sent yet. */
  const relay = (c: ReadableStreamDefaultController<Uint8Array>, chunk: Uint8Array): boolean => {
    if (!frames) {
      atBoundary = endsSseFrame(chunk)
      c.enqueue(transform(chunk))
      return true
    }
    const out = frames.push(chunk)
    if (out) send(c, out)
    return overflowed(c) || !!out
  }
  /** Send complete frames. */
  const send = (c: ReadableStreamDefaultController<Uint8Array>, piece: Uint8Array) => {
    see(piece)
    c.enqueue(transform(piece))
  }
  /** Ends the stream when the incomplete frame held back is over the limit. */
  const overflowed = (c: ReadableStreamDefaultController<Uint8Array>): boolean => {
    if (!frames || frames.size <= maxHeld) return false
    source.cancel().catch(() => {})
    const mb = +(maxHeld / 1048576).toFixed(2)
    finish(
      c,
      err(
        'upstream',
        `The upstream sent more than ${mb} MB without ending a stream event (limits.sse_event_mb); the answer is incomplete. Raise limits.sse_event_mb if the upstream's events are really that large.`,
      ),
    )
    return true
  }
  // ended from outside: the error frame goes after the last complete frame sent (as in finish)
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  const handle: LiveStream = {
    end: e => {
      if (done || !controller) return
      shutdown = true
      source.cancel().catch(() => {})
      finish(controller, e)
    },
  }
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        if (opts.frames) {
          for (const b of buffered) send(c, b)
          overflowed(c)
        } else for (const b of buffered) if (!done) relay(c, b)
        controller = c
        if (!done) opts.live?.add(handle)
      },
      async pull(c) {
        if (done) return
        while (true) {
          const read = (pending ??= source.read())
          let next: Awaited<typeof read> | 'timeout'
          if (Bun.peek.status(read) === 'fulfilled') {
            // the chunk is already here: no timer needed (the common case under load)
            next = Bun.peek(read) as Awaited<typeof read>
          } else {
            const wait = Math.max(1, Math.min(opts.heartbeat ? opts.heartbeatMs : Infinity, opts.idleMs - (Date.now() - lastData), end - Date.now()))
            try {
              next = await Promise.race([read, watchdog.wait(wait)])
            } catch (e) {
              pending = undefined
              return finish(c, err('upstream', `The upstream connection broke mid-answer (${errorText(e)}); the answer is incomplete.`))
            } finally {
              watchdog.stop()
            }
          }
          if (done) return
          if (next === 'timeout') {
            if (Date.now() >= end) {
              source.cancel().catch(() => {})
              return finish(c, err('timeout', 'The answer exceeded the total time limit (timeouts.total); it is incomplete.'))
            }
            if (Date.now() - lastData >= opts.idleMs) {
              source.cancel().catch(() => {})
              return finish(c, err('timeout', `The upstream went silent for ${ms(opts.idleMs)} mid-answer (timeouts.idle); the answer is incomplete.`))
            }
            if (opts.heartbeat && atBoundary) {
              c.enqueue(PING)
              return
            }
            continue
          }
          pending = undefined
          if (next.done) {
            // a last frame without its blank line is relayed at a clean end (and may be the one that ends it)
            const rest = frames?.drain()
            if (rest) see(rest)
            if (!endedProperly()) return finish(c, err('upstream', 'The upstream stream ended before the answer was complete; the answer is incomplete.'))
            if (rest) c.enqueue(transform(rest))
            return finish(c)
          }
          lastData = Date.now()
          if (relay(c, next.value)) return
        }
      },
      cancel() {
        if (!done) opts.closed?.('client_gone', undefined, tailText)
        done = true
        watchdog.clear()
        opts.live?.delete(handle)
        source.cancel().catch(() => {})
        opts.onEnd?.()
      },
    },
    { highWaterMark: 0 },
  )
}

/**
 * One deadline for all the waits of a stream (a translated stream waits for nearly every chunk), on the shared deadline
 * timer (deadlines.ts): `wait(ms)` resolves 'timeout' after `ms` unless `stop()` comes first. The deadline is not taken
 * out and put back per wait: when it fires early (it was set for an earlier wait, which never ends later than a new one)
 * it is set again for what is left. A stream that never waits sets none.
 */
class Watchdog {
  #deadline: Deadline | undefined
  #until = 0
  #wake: ((v: 'timeout') => void) | undefined

  wait(ms: number): Promise<'timeout'> {
    this.#until = Date.now() + ms
    const p = new Promise<'timeout'>(r => {
      this.#wake = r
    })
    this.#deadline ??= at(this.#until, this.#fire)
    return p
  }

  /** the wait is over (what it guarded came first) */
  stop() {
    this.#wake = undefined
  }

  /** the stream ended: no deadline left behind */
  clear() {
    this.#wake = undefined
    this.#deadline?.cancel()
    this.#deadline = undefined
  }

  #fire = () => {
    this.#deadline = undefined
    const wake = this.#wake
    if (!wake) return
    if (this.#until > Date.now()) this.#deadline = at(this.#until, this.#fire)
    else {
      this.#wake = undefined
      wake('timeout')
    }
  }
}

/** bodies up to this size with a content-length (and no content-encoding) are read in one go */
const FAST_READ_MAX = 8 * 1048576

export type BodyRead = { ok: true; text: string } | { ok: false; reason: 'idle' | 'total' | 'error' | 'too_large'; message: string }

const mb = (bytes: number) => `${+(bytes / 1048576).toFixed(1)} MB`

/** The message for an upstream answer over `maxBytes` once decompressed. */
const tooLarge = (maxBytes: number): BodyRead => ({
  ok: false,
  reason: 'too_large',
  message:
    `the upstream answer is larger than ${mb(maxBytes)} once decompressed (limits.upstream_body_mb); ` +
    'raise limits.upstream_body_mb in agproxy.yaml if answers this large are expected',
})

/** Which deadline ran out while a body was being read. */
const timedOut = (limits: { idleMs: number; deadline: number }): BodyRead =>
  Date.now() >= limits.deadline
    ? { ok: false, reason: 'total', message: 'the upstream answer took longer than the total time limit (timeouts.total)' }
    : { ok: false, reason: 'idle', message: `the upstream went silent for ${ms(limits.idleMs)} while sending its answer (timeouts.idle)` }

/** A compressed body: fetch decompresses it, so its content-length says nothing about the size that is read. */
const encoded = (h: Headers) => {
  const e = h.get('content-encoding')
  return !!e && !/^\s*identity\s*$/i.test(e)
}

/**
 * Read a whole (non-streamed) body within an idle limit between chunks, an absolute deadline and at most
 * `maxBytes` of decoded bytes. A plain body with a small content-length is read natively in one go; a
 * compressed one (content-length is then the compressed size) is counted chunk by chunk as it is decoded.
 */
export async function readBodyGuarded(res: Response, limits: { idleMs: number; deadline: number; maxBytes: number }): Promise<BodyRead> {
  const body = res.body
  if (!body) return { ok: true, text: '' }
  const max = limits.maxBytes
  const length = Number(res.headers.get('content-length') ?? NaN)
  const plain = !encoded(res.headers)
  if (plain && length > max) {
    body.cancel().catch(() => {})
    return tooLarge(max)
  }
  // fast path: a body with a length was produced whole before it was sent, so it arrives at once;
  // one deadline for all of it instead of a timer per chunk
  if (plain && length >= 0 && length <= FAST_READ_MAX) {
    const read = res.text()
    // a body already received whole (a small answer usually is) is read at once: no deadline to arm
    if (Bun.peek.status(read) === 'fulfilled') return { ok: true, text: Bun.peek(read) as string }
    const d = deadline(Math.max(1, Math.min(limits.idleMs, limits.deadline - Date.now())))
    try {
      const text = await Promise.race([read, d.promise])
      if (text !== 'timeout') return { ok: true, text }
      body.cancel().catch(() => {})
      return timedOut(limits)
    } catch (e) {
      return { ok: false, reason: 'error', message: `the upstream answer could not be read (${errorText(e)})` }
    } finally {
      d.clear()
    }
  }
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  // one watchdog for the whole body (a compressed one arrives in many small chunks): it only wakes the
  // read when the idle or total limit has really run out, and otherwise re-arms itself for what is left
  let lastData = Date.now()
  let wake: ((v: 'timeout') => void) | undefined
  const left = () => Math.max(1, Math.min(limits.idleMs - (Date.now() - lastData), limits.deadline - Date.now()))
  const check = () => {
    if (Date.now() >= limits.deadline || Date.now() - lastData >= limits.idleMs) wake?.('timeout')
    else watchdog = setTimeout(check, left())
  }
  let watchdog = setTimeout(check, left())
  try {
    while (true) {
      const read = reader.read()
      let next: Awaited<typeof read> | 'timeout'
      if (Bun.peek.status(read) === 'fulfilled') next = Bun.peek(read) as Awaited<typeof read>
      else {
        try {
          next = await Promise.race([
            read,
            new Promise<'timeout'>(r => {
              wake = r
            }),
          ])
        } catch (e) {
          return { ok: false, reason: 'error', message: `the upstream answer could not be read (${errorText(e)})` }
        }
      }
      if (next === 'timeout') {
        reader.cancel().catch(() => {})
        return timedOut(limits)
      }
      if (next.done) break
      lastData = Date.now()
      size += next.value.byteLength
      if (size > max) {
        reader.cancel().catch(() => {})
        return tooLarge(max)
      }
      chunks.push(next.value)
    }
  } finally {
    clearTimeout(watchdog)
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') }
}
