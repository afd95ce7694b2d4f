/**
 * The pass-through strategy: the upstream speaks the client's dialect, so its answer goes through as bytes
 * (keys masked). A stream is held until its first content frame (so an empty or stalled one can be retried
 * elsewhere), then relayed frame by frame under the stream guards; the endpoint's frame reader says what
 * counts as content, as an error and as a proper end.
 */
import { peekFrames, relayStream } from '../providers/stream-guard'
import { readWhole, htmlInsteadOfStream, type AttemptContext, type Upstreamed } from './attempt-shared'
import type { Plan } from './plans'
import type { FrameBuffer } from '../providers/frames'
import type { Attempt } from './types'
import { inStreamFailure } from './in-stream-failure'
import { streamUsage, usageOf } from '../observe/usage'

type PassThrough = Extract<Plan, { kind: 'pass-through' }>

/** The answer of a same-dialect upstream. */
export async function passThroughAnswer(a: AttemptContext, plan: PassThrough, up: Upstreamed): Promise<Attempt> {
  if (!plan.upstreamStreams) {
    // a multipart API (audio transcriptions) may answer text, srt or vtt
    const whole = await readWhole(a, up, a.call.endpoint.multipart)
    if (!whole.ok) return whole
    a.call.trace?.addUsage(usageOf(whole.json))
    const text = a.deps.redactor.text(whole.text)
    return { ok: true, answer: { answer: 'text', text, contentType: whole.contentType ?? 'application/json', provider: a.provider.name, model: a.model } }
  }
  const html = htmlInsteadOfStream(up)
  if (html) return html
  const body = up.res.body && plan.reframe ? plan.reframe(up.res.body) : up.res.body
  if (!body) return { ok: false, status: 502, message: 'the upstream stream ended without any content' }
  const sse = plan.streamContentType.startsWith('text/event-stream')
  const framing = sse ? 'sse' : 'json-array'
  const peek = await peekFrames(body, plan.frames, framing, Math.max(1, up.firstDeadline - Date.now()))
  if (!peek.ok) {
    up.abort()
    if (peek.reason !== 'error') return { ok: false, status: peek.reason === 'stall' ? 504 : 502, message: peek.message }
    const failure = inStreamFailure(peek.text ?? '')
    return { ok: false, status: failure.status, body: failure.body, message: peek.message }
  }
  const trace = a.call.trace
  trace?.streams()
  // Anthropic reports input tokens at the start (message_start), in the frames already held
  const head = trace && a.call.endpoint.dialect === 'anthropic' ? streamUsage(Buffer.concat(peek.buffered).toString()).usage : undefined
  // a short answer that has arrived whole goes as one body; anything else as the guarded stream
  const stream = await relayStream(peek.buffered, peek.rest as ReadableStreamDefaultReader<Uint8Array>, {
    ...up.limits,
    heartbeatMs: a.deps.heartbeatMs,
    heartbeat: sse,
    errorFrame: plan.errorFrame,
    ends: plan.frames.ends,
    // frame by frame: a break mid-frame ends well-formed, and a key split across chunks is masked whole
    frames: peek.frames as FrameBuffer,
    maxFrameBytes: a.deps.sseEventMax,
    transform: a.deps.maskBytes,
    onEnd: up.abort,
    live: a.deps.streams,
    closed: trace && ((end, e, tail) => trace.relayEnded(end, e, tail, framing, head)),
  })
  if (stream instanceof Uint8Array) up.release()
  return { ok: true, answer: { answer: 'stream', stream, contentType: plan.streamContentType, provider: a.provider.name, model: a.model } }
}
