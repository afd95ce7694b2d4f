/**
 * The trace of one request: the front door starts it, the routes, the dispatcher and the stream guards fill it, and it
 * becomes the request's one RequestRecord (record.ts), emitted once when the request is over: when the front door
 * answers, or, for a streamed answer, when the stream ends (whichever comes last). Plain fields only: it is on the
 * request's path, so nothing is formatted here (the subscribers do that).
 */
import type { Dialect, ErrorKind, IRError, IRUsage } from '../ir/types'
import { KIND_STATUS } from '../ir/errors'
import type { EndpointId } from '../dialects/endpoint'
import type { AttemptRecord, Recorder, RequestRecord, StreamEnd } from './record'
import { streamUsage } from './usage'
import { INSTANCE_ID } from '../providers/upstream-call'

/** The error kind a status stands for (a refusal whose error object the trace did not see). */
const KIND_OF_STATUS = new Map<number, ErrorKind>(Object.entries(KIND_STATUS).map(([k, s]) => [s, k as ErrorKind]))

/** The kind of an error status: its own kind, else by class (4xx invalid_request, 5xx upstream). */
export function kindOfStatus(status: number): ErrorKind | undefined {
  if (status < 400 || status === 499) return undefined
  return KIND_OF_STATUS.get(status) ?? (status < 500 ? 'invalid_request' : 'upstream')
}

/** the most of a path, model or message a record keeps */
const PATH_MAX = 300
const MODEL_MAX = 200
const MESSAGE_MAX = 300

const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s)

/** Where a request's client address is found (Bun's server: its socket's, while the request is being answered). */
export interface Peer {
  requestIP(req: Request): { address: string } | null
}

/** A request being served. */
export class Trace {
  /** ms since the epoch, and the monotonic clock at arrival */
  readonly time = Date.now()
  private readonly t0 = performance.now()
  path: string
  dialect: Dialect = 'openai'
  resolved?: string
  endpoint?: EndpointId
  stream = false
  model?: string
  provider?: string
  routedModel?: string
  key?: string
  clientKey?: string
  readonly attempts: AttemptRecord[] = []
  usage?: IRUsage
  errorKind?: ErrorKind
  error?: string
  /** a stream's end, and the error it ended on */
  end?: StreamEnd
  /** told of the record when the request is over (a client key's counters) */
  onEnd?: (rec: RequestRecord) => void
  private status = 0
  private ttfbMs?: number
  /** the front door answered; the answer is a stream still running; the record was emitted */
  private answered = false
  private streaming = false
  private emitted = false
  /** where the client's address is to be found, until the answer (addressFrom) */
  private peer?: Peer
  private peerRequest?: Request

  constructor(
    private readonly recorder: Recorder,
    /** the client's address ('' until resolved, when addressFrom gave where to find it) */
    public client: string,
    readonly method: string,
    path: string,
  ) {
    this.path = clip(path, PATH_MAX)
  }

  /** The client's address is `server`'s for `req`, read only when a record will read it: at once when an observer reads it
   *  now (at arrival it costs ≈ 2.5 µs under load, at the answer ≈ 3.5), else at the answer if one reads it by then (the
   *  socket is gone once the answer is sent: an observer that starts reading while a stream runs sees no address for it). */
  addressFrom(server: Peer, req: Request) {
    if (this.recorder.readsClient) this.client = server.requestIP(req)?.address ?? ''
    else {
      this.peer = server
      this.peerRequest = req
    }
  }

  /** ms since arrival */
  elapsed(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10
  }

  /** the model the client asked for */
  asked(model: string) {
    this.model = clip(model, MODEL_MAX)
  }

  /** the request failed with `e` (the message is already masked where it came from the upstream) */
  failed(e: IRError) {
    this.errorKind = e.kind
    this.error = clip(e.message, MESSAGE_MAX)
  }

  /** tokens as the upstream reported them (fields seen later win) */
  addUsage(u: Partial<IRUsage> | undefined) {
    if (!u) return
    // copied field by field into the trace's own object (no spread of two objects per report: a stream reports often)
    // (once emitted, the record holds the object: a late report goes to a copy)
    if (this.emitted && this.usage) this.usage = { ...this.usage }
    const t = (this.usage ??= { inputTokens: 0, outputTokens: 0 }) as unknown as Record<string, unknown>
    for (const k in u) t[k] = (u as Record<string, unknown>)[k]
  }

  /** the answer is a stream: the record waits for its end (streamEnded) */
  streams() {
    this.streaming = true
  }

  /** the front door's response to the client (its head, and the whole of it unless it streams) */
  answer(status: number) {
    if (this.answered) return
    this.answered = true
    const peer = this.peer
    if (peer) {
      if (this.recorder.readsClient) this.client = peer.requestIP(this.peerRequest as Request)?.address ?? ''
      this.peer = this.peerRequest = undefined
    }
    this.status = status
    this.ttfbMs = this.elapsed()
    if (!this.streaming || this.end) this.emit()
  }

  /** the streamed answer ended, as `end` says; `e`: the error it ended on */
  streamEnded(end: StreamEnd, e?: IRError) {
    if (this.end) return
    // an error the translated stream ended on (tapped from its events) is how it ended, though its bytes closed cleanly
    this.end = end === 'complete' && this.errorKind ? (this.errorKind === 'timeout' ? 'timeout' : 'upstream_error') : end
    if (e) this.failed(e)
    if (this.answered) this.emit()
  }

  /** a relayed (pass-through) stream ended: its tokens and whether it ended on an in-stream error are read from its last
   *  frames (`tail`, decoded only now); `head`: the usage its opening frames reported (Anthropic message_start) */
  relayEnded(end: StreamEnd, e: IRError | undefined, tail: () => string, framing: 'sse' | 'json-array', head?: Partial<IRUsage>) {
    let endedOnError = false
    try {
      this.addUsage(head)
      const last = streamUsage(tail(), framing)
      this.addUsage(last.usage)
      endedOnError = last.error
    } catch {
      // what could not be read is not counted; the stream and its record go on
    }
    this.streamEnded(end === 'complete' && endedOnError ? 'upstream_error' : end, e)
  }

  private emit() {
    if (this.emitted) return
    this.emitted = true
    const a = this.attempts
    let failovers = 0
    for (let i = 1; i < a.length; i++) if (a[i]?.provider !== a[i - 1]?.provider) failovers++
    const last = a.at(-1)
    const rec: RequestRecord = {
      id: Bun.randomUUIDv7(),
      instance: INSTANCE_ID,
      time: this.time,
      client: this.client,
      method: this.method,
      path: this.path,
      resolved: this.resolved,
      status: this.status,
      dialect: this.dialect,
      endpoint: this.endpoint,
      stream: this.stream,
      model: this.model,
      provider: this.provider ?? last?.provider,
      routedModel: this.routedModel ?? last?.model,
      key: this.key ?? (last && !last.error ? last.key : undefined),
      clientKey: this.clientKey,
      attempts: a,
      retries: Math.max(0, a.length - 1),
      failovers,
      latencyMs: this.elapsed(),
      ttfbMs: this.ttfbMs,
      usage: this.usage,
      errorKind: this.errorKind ?? (this.end && this.end !== 'complete' && this.end !== 'client_gone' ? 'upstream' : kindOfStatus(this.status)),
      error: this.error,
      end: this.end,
    }
    this.onEnd?.(rec)
    this.recorder.emit(rec)
  }
}
