/**
 * What agproxy observes about a request, and who hears of it. One RequestRecord per request that reaches the
 * front door (refusals included), emitted once, when the request is over (a stream: when it ends). The access
 * log, the request store (SQLite / PostgreSQL), /metrics and the admin event feed all subscribe to the app's
 * Recorder; none of them is on the request's path (emit only queues or counts, never waits).
 */
import type { Dialect, ErrorKind, IRUsage } from '../ir/types'
import type { EndpointId } from '../dialects/endpoint'

/** How a streamed answer ended. */
export type StreamEnd = 'complete' | 'client_gone' | 'upstream_error' | 'timeout' | 'shutdown'

/** One call to one provider with one key (a retried request has several). */
export interface AttemptRecord {
  provider: string
  /** the model as sent upstream */
  model: string
  /** the key's name, or the key masked (sk-…abcd); never the key */
  key: string
  /** the upstream's status; 0 when it could not be reached */
  status: number
  /** the failure's kind (upstream status mapped to an ErrorKind), absent on success */
  error?: ErrorKind
  /** the failure's message, keys masked, clipped */
  message?: string
  /** from the attempt's start to its answer's head (or failure) */
  ms: number
}

export interface RequestRecord {
  /** unique in this database, sortable by time */
  id: string
  /** the agproxy process that served it (several instances share one database) */
  instance: string
  /** arrival, ms since the epoch */
  time: number
  /** the client's address ('' when no observer reads it: Recorder.readsClient) */
  client: string
  method: string
  /** the path as received (clipped to 300 characters) */
  path: string
  /** the path it was resolved to, when tolerant paths rewrote it */
  resolved?: string
  /** the status sent; 499 when the client left before an answer */
  status: number
  dialect: Dialect
  /** the model-call endpoint, absent for other routes */
  endpoint?: EndpointId
  stream: boolean
  /** the model the client asked for (clipped to 200 characters) */
  model?: string
  /** who answered (or was tried last) */
  provider?: string
  routedModel?: string
  /** the provider key that answered, by name or masked */
  key?: string
  /** the client key's name (client keys), or the api_key masked; absent when auth is off */
  clientKey?: string
  attempts: AttemptRecord[]
  /** attempts beyond the first */
  retries: number
  /** moves to another provider (a fallback) */
  failovers: number
  /** arrival to the last byte sent */
  latencyMs: number
  /** arrival to the first byte of the answer's body */
  ttfbMs?: number
  usage?: IRUsage
  /** the error's kind when the request failed (status ≥ 400, or a stream that ended in an error) */
  errorKind?: ErrorKind
  /** the error's message, keys masked, clipped */
  error?: string
  /** streams only */
  end?: StreamEnd
  /** log_bodies: the bodies, keys redacted, capped */
  requestBody?: string
  responseBody?: string
}

export type RequestObserver = (rec: RequestRecord) => void

/** What an observer reads of a record that costs something to find out: `client`, the client's address (~1 µs a request to
 *  resolve from its socket), read always, never, or while `client()` says so (a relay to another Recorder). */
export interface Reads {
  client: boolean | (() => boolean)
}

/** an observer that reads the whole record (the default: an observer that says nothing gets every field) */
const ALL: Reads = { client: true }

/** The app's fan-out of finished requests. An observer that throws is logged by the caller's `onError` and kept. */
export class Recorder {
  private observers: Array<{ fn: RequestObserver; reads: Reads }> = []
  constructor(private onError: (e: unknown) => void = () => {}) {}

  /** hear of every finished request; `reads`: what it reads of a record (every field unless told); returns the unsubscribe */
  subscribe(fn: RequestObserver, reads: Reads = ALL): () => void {
    this.observers = [...this.observers, { fn, reads }]
    return () => {
      this.observers = this.observers.filter(o => o.fn !== fn)
    }
  }

  /** whether anyone listens (lets the hot path skip building a record nobody reads) */
  get active(): boolean {
    return this.observers.length > 0
  }

  /** whether anyone listening reads the client's address (else a record may leave it empty) */
  get readsClient(): boolean {
    for (const { reads } of this.observers) if (reads.client === true || (reads.client !== false && reads.client())) return true
    return false
  }

  emit(rec: RequestRecord): void {
    for (const o of this.observers) {
      try {
        o.fn(rec)
      } catch (e) {
        this.onError(e)
      }
    }
  }
}
