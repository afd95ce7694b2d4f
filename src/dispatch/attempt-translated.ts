/**
 * The translated strategy: the upstream's answer (a whole JSON body, or a stream of IR events) becomes the
 * client's wire format. A stream is held until its first content event, then re-encoded under the guards
 * (heartbeats, idle/total limits, a well-formed error frame if anything breaks).
 */
import { peekEvents, guardEvents, guardedByteStream } from '../providers/stream-guard'
import { readWhole, htmlInsteadOfStream, type AttemptContext, type Upstreamed } from './attempt-shared'
import type { Plan } from './plans'
import type { IRError, IREvent, IRUsage } from '../ir/types'
import type { Attempt } from './types'
import { usageOf } from '../observe/usage'
import { settledValue, wasReleased, type ByteSource } from '../ir/batches'

type Translated = Extract<Plan, { kind: 'translated' }>

/** The answer of an upstream of another dialect, translated. */
export async function translatedAnswer(a: AttemptContext, plan: Translated, up: Upstreamed): Promise<Attempt> {
  const by = { provider: a.provider.name, model: a.model }
  if (!plan.stream) {
    const whole = await readWhole(a, up)
    if (!whole.ok) return whole
    a.call.trace?.addUsage(usageOf(whole.json))
    // masked after translation: what the client gets is what must hold no key
    const text = a.deps.redactor.text(JSON.stringify(plan.decodeJson(whole.json)))
    return { ok: true, answer: { answer: 'text', text, contentType: 'application/json;charset=utf-8', ...by } }
  }
  const html = htmlInsteadOfStream(up)
  if (html) return html
  const body = up.res.body
  if (!body) return { ok: false, status: 502, message: 'the upstream stream ended without any content' }
  const peek = await peekEvents(plan.stream.decode(body), Math.max(1, up.firstDeadline - Date.now()))
  if (!peek.ok) {
    up.abort()
    if (peek.reason === 'too_large') return { ok: false, status: 502, message: peek.message, refused: true }
    const status = peek.error?.status ?? (peek.reason === 'stall' ? 504 : 502)
    return { ok: false, status, body: peek.error ? { error: { message: peek.error.message } } : undefined, message: peek.message }
  }
  const trace = a.call.trace
  trace?.streams()
  const tap = trace && { usage: (ev: { usage: IRUsage }) => trace.addUsage(ev.usage), error: (e: IRError) => trace.failed(e) }
  const encoded = plan.stream.encode(guardEvents(peek.buffered, peek.rest as AsyncIterator<IREvent[]>, up.limits, tap))
  // the upstream is released however the stream ends, unless its decoder did (read its body to the end, or cancelled it):
  // aborting a finished call is not free
  const release = () => wasReleased(body) || up.abort()
  // a short answer that has arrived whole goes as one body (no stream to pump)
  const arrived = await arrivedWhole(encoded)
  if (arrived.done) {
    const transform = a.deps.maskBytes ?? ((c: Uint8Array) => c)
    trace?.streamEnded('complete', undefined)
    release()
    up.release()
    const whole = arrived.pieces.length === 1 ? arrived.pieces[0]! : Buffer.concat(arrived.pieces)
    return { ok: true, answer: { answer: 'stream', stream: transform(whole), contentType: plan.streamContentType, ...by } }
  }
  // else the guarded stream from there: heartbeats (SSE), a well-formed end if the encoder throws, the upstream released at the end
  const stream = guardedByteStream(arrived.pieces, encoded, {
    idleMs: Infinity,
    totalMs: Number.MAX_SAFE_INTEGER / 2,
    heartbeatMs: a.deps.heartbeatMs,
    heartbeat: plan.streamContentType.startsWith('text/event-stream'),
    errorFrame: plan.errorFrame,
    scrub: up.limits.scrub,
    transform: a.deps.maskBytes,
    onEnd: release,
    alwaysEnd: true,
    live: a.deps.streams,
    closed: trace && ((end, e) => trace.streamEnded(end, e)),
    pending: arrived.pending,
  })
  return { ok: true, answer: { answer: 'stream', stream, contentType: plan.streamContentType, ...by } }
}

/** the most a translated stream reads ahead to answer as one body (past it, it streams as the client reads) */
const WHOLE_MAX_BYTES = 256 * 1024

const NEXT_TURN = Symbol('next turn')
/** resolves once the event loop has turned: a read not settled by then waits for the upstream */
const nextTurn = () => new Promise<typeof NEXT_TURN>(r => setImmediate(() => r(NEXT_TURN)))

/** The client's bytes read while they come without waiting for the upstream (what arrived is translated in microtasks): all of
 *  them (`done`) for an answer that had arrived whole, else those so far and the read still pending. */
async function arrivedWhole(source: ByteSource): Promise<{ pieces: Uint8Array[]; done?: true; pending?: ReturnType<ByteSource['read']> }> {
  const pieces: Uint8Array[] = []
  let size = 0
  while (size <= WHOLE_MAX_BYTES) {
    const read = source.read()
    // a read the layers settled at once (what arrived was translated synchronously) needs no turn of the loop
    const next = settledValue(read)?.value ?? (await Promise.race([read, nextTurn()]))
    if (next === NEXT_TURN) return { pieces, pending: read }
    if (next.done) return { pieces, done: true }
    pieces.push(next.value)
    size += next.value.byteLength
  }
  return { pieces }
}
