/**
 * The request log: finished requests queued off the request's path and written in batches: on the writer thread, what
 * is pending every ~200 ms (up to 2000 rows, one message); on the main thread (a network database, tests) transactions
 * of up to 100 rows, the next one after the event loop had its turn. A row is queued already encoded (row-codec.ts: its
 * cost, redaction and body caps applied, one JSON string): a string is all the queue keeps alive, not the record's
 * objects, which would outlive the young generation and cost the collector more than encoding them now. The queue is
 * bounded: when it is full the oldest pending rows are dropped and counted, never a request. A database that cannot be
 * opened or written is a fault, not a failure: one error line, a `request-log` reason in /healthz, writes retried every
 * few seconds, the reason cleared once they succeed again.
 */
import { join } from 'node:path'
import type { Config } from '../config/schema'
import { dataDir } from '../config/load'
import type { Logger } from '../log'
import type { RequestRecord } from '../observe/record'
import { createPricer, type Pricer, type ProviderUrl } from './prices'
import type { Opened } from './sqlite'
import type { AnyRequestStore } from './types'
import type { FromWriter, ToWriter } from './writer-thread'
import { decodeRows, encodeRow } from './row-codec'

/** The writer thread's entry: beside this file; in the executable, where scripts/build.ts embeds it (under src/'s root). */
const WRITER_URL = new URL(import.meta.url.includes('/$bunfs/') ? './store/writer-thread.ts' : './writer-thread.ts', import.meta.url).href

/** the source name of the request log's reason in AppState.degraded */
export const DEGRADED_SOURCE = 'request-log'
/** a logged body is cut to this many characters */
export const BODY_CAP = 64 * 1024

/** Where the request log reports (the serving app's state: listen re-attaches it on reload). */
export interface LogTarget {
  degraded: Map<string, string>
  dropped: { logRows: number }
}

export interface RequestLogOptions {
  file: string
  log: Logger
  retention: { days: number; max_mb: number }
  logBodies: boolean
  pricer?: Pricer
  /** masks keys in logged bodies and messages */
  redact?: (text: string) => string
  flushMs?: number
  batchRows?: number
  /** the most rows posted to the writer thread in one message */
  postRows?: number
  /** pending rows kept at most (the oldest beyond are dropped) */
  maxPending?: number
  /** pending characters (the encoded rows, bodies included) kept at most */
  maxPendingChars?: number
  retryMs?: number
  retentionEveryMs?: number
  now?: () => number
  open?: (file: string) => Omit<Opened, 'store'> & { store: AnyRequestStore }
  /** write on a worker thread (the server); off: on the main thread (tests, and the fallback when no thread starts) */
  thread?: boolean
  /** open the database at its first use (`open()`, a read, a flush), not in the constructor: the server answers its first
   *  requests before (opening SQLite costs a few ms of every start) */
  openLater?: boolean
}

export class RequestLog {
  readonly file: string
  private store?: AnyRequestStore
  /** encoded rows (encodeRow's arrays as JSON), oldest first */
  private pending: string[] = []
  private chars = 0
  private timer?: ReturnType<typeof setTimeout>
  private retryAt = 0
  private nextRetention = 0
  private fault?: string
  private droppedSinceFault = 0
  private target: LogTarget = { degraded: new Map(), dropped: { logRows: 0 } }
  private pricer: Pricer
  private redact: (text: string) => string
  private closed = false
  /** an open was tried (the constructor's, or the first use's with openLater) */
  private openTried = false
  /** the writer thread, and the batch it is writing */
  private worker?: Worker
  /** the database is open here and a writer thread may start (at the first batch) */
  private threadWanted = false
  private inflight?: string[]
  private settle?: () => void
  private readonly o: Required<Omit<RequestLogOptions, 'pricer' | 'redact'>>

  constructor(opts: RequestLogOptions) {
    this.file = opts.file
    this.pricer = opts.pricer ?? createPricer({})
    this.redact = opts.redact ?? (t => t)
    this.o = {
      flushMs: 200,
      batchRows: 100,
      postRows: 2000,
      maxPending: 10_000,
      maxPendingChars: 32 * 1048576,
      retryMs: 5000,
      retentionEveryMs: 10 * 60_000,
      now: Date.now,
      open: file => sqlite().openSqliteStore(file, this.o.now),
      thread: false,
      openLater: false,
      ...opts,
    }
    if (!this.o.openLater) this.open()
  }

  /** Open the database if no open was tried yet (one that fails is tried again with the next flush, every retryMs). */
  open(): void {
    if (!this.openTried && !this.tryOpen()) this.retryAt = this.o.now() + this.o.retryMs
  }

  /** Report to this app's state from now on (its pricing and key masking too); the current fault carries over. */
  attach(target: LogTarget, pricer?: Pricer, redact?: (text: string) => string): void {
    if (this.fault) target.degraded.set(DEGRADED_SOURCE, this.fault)
    target.dropped.logRows = Math.max(target.dropped.logRows, this.target.dropped.logRows)
    this.target = target
    if (pricer) this.pricer = pricer
    if (redact) this.redact = redact
  }

  /** The request's path: queue the record as its encoded row, nothing else (a full queue drops its oldest). */
  push(rec: RequestRecord): void {
    if (this.closed) return
    const row = this.encode(rec)
    this.pending.push(row)
    this.chars += row.length
    while (this.pending.length > this.o.maxPending || this.chars > this.o.maxPendingChars) this.dropOldest()
    // while the writer thread has a batch, its answer schedules the next one
    if (!this.timer && !this.inflight) this.schedule(this.nextFlushMs())
  }

  /** now when a whole batch is pending, else after flushMs (the rows that arrive meanwhile go along) */
  private nextFlushMs(): number {
    return this.pending.length >= (this.worker ? this.o.postRows : this.o.batchRows) ? 0 : this.o.flushMs
  }

  /** The store, when the database is open (the admin API and the runtime client keys read it); opened at the first read. */
  get reader(): AnyRequestStore | undefined {
    this.open()
    return this.store
  }

  /** why the log is not writing, if it is not */
  get problem(): string | undefined {
    return this.fault
  }

  get queued(): number {
    return this.pending.length
  }

  /** Write what is pending (tests, shutdown: all of it; the timer: `batches` transactions of batchRows, then it yields
   *  to the event loop and comes back, so a write never holds requests up for long); false when the database refused. */
  flush(batches = Number.POSITIVE_INFINITY): boolean {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (!this.store && !this.tryOpen()) return this.retryLater()
    if (this.threadWanted && Number.isFinite(batches)) {
      this.threadWanted = false
      this.startWorker()
    }
    if ((this.worker || this.store?.remote) && Number.isFinite(batches)) return this.post()
    const store = this.store?.remote ? undefined : this.store
    for (let n = 0; n < batches && this.pending.length && store; n++) {
      const batch = this.pending.slice(0, this.o.batchRows)
      try {
        store.write(decode(batch))
      } catch (e) {
        this.failed(`cannot write to ${this.file}: ${describe(e)}`)
        return this.retryLater()
      }
      this.pending.splice(0, batch.length)
      this.chars -= charsOf(batch)
    }
    this.recovered()
    if (this.pending.length) this.schedule(0)
    else this.retain()
    return true
  }

  /** Flush and close (shutdown): the writer thread's batch is awaited (a few seconds at most), the rest written here;
   *  later records are ignored. */
  async close(): Promise<void> {
    if (this.inflight) await Promise.race([new Promise<void>(r => (this.settle = r)), Bun.sleep(3000)])
    const worker = this.worker
    this.worker = undefined
    worker?.terminate()
    if (this.inflight) this.requeue()
    if (this.store?.remote) await this.drain()
    else this.flush()
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    await this.store?.close()
    this.store = undefined
  }

  /** A network store at shutdown: what is pending, batch by batch, for a few seconds at most. */
  private async drain(): Promise<void> {
    const until = this.o.now() + 5000
    while (this.pending.length && this.store && this.o.now() < until) {
      const batch = this.take(this.o.batchRows)
      try {
        await this.store.write(decode(batch))
      } catch (e) {
        this.o.log.error(`request log: ${batch.length + this.pending.length} row(s) not written at shutdown: ${describe(e)}`)
        return
      }
    }
  }

  /** Hand the next batch to the writer thread (one at a time; its answer sends the next). */
  private post(): boolean {
    const remote = this.store?.remote ? this.store : undefined
    if (this.inflight || !this.pending.length || !(this.worker || remote)) return true
    const batch = this.take(remote ? this.o.batchRows : this.o.postRows)
    this.inflight = batch
    if (remote) {
      // a network database: its client does the waiting, the event loop serves on meanwhile
      remote.write(decode(batch)).then(
        () => this.answered({ type: 'written' }),
        e => this.answered({ type: 'failed', message: describe(e) }),
      )
      return true
    }
    this.worker!.postMessage({ type: 'write', rows: wire(batch) } satisfies ToWriter)
    return true
  }

  /** The writer thread's answer to its batch. */
  private answered(m: FromWriter): void {
    if (m.type === 'closed') return
    if (m.type === 'written') {
      this.inflight = undefined
      this.recovered()
      if (this.pending.length) this.schedule(this.nextFlushMs())
      else this.retain()
    } else {
      this.requeue()
      if (this.store?.remote) this.dropRemote()
      this.failed(`cannot write to ${this.file}: ${m.message}${m.code && !m.message.includes(m.code) ? ` (${m.code})` : ''}`)
      this.retryLater()
    }
    this.settle?.()
    this.settle = undefined
  }

  /** the batch the writer thread did not write goes back in front of the queue (the queue's bounds hold) */
  private requeue(): void {
    const batch = this.inflight ?? []
    this.inflight = undefined
    this.pending.unshift(...batch)
    this.chars += charsOf(batch)
    while (this.pending.length > this.o.maxPending || this.chars > this.o.maxPendingChars) this.dropOldest()
  }

  /** a network store that failed is let go: the next try opens (connects, migrates) a new one */
  private dropRemote(): void {
    const s = this.store
    this.store = undefined
    Promise.resolve(s?.close()).catch(() => {})
  }

  /** The writer thread, when asked for and it starts; else writes stay on this thread. */
  private startWorker(): void {
    if (!this.o.thread || this.worker) return
    try {
      const w = new Worker(WRITER_URL)
      w.onmessage = (e: MessageEvent<FromWriter>) => this.answered(e.data)
      w.onerror = e => {
        this.o.log.warn(`request log: the writer thread failed (${e.message}); writing on the main thread`)
        this.worker = undefined
        w.terminate()
        if (this.inflight) this.requeue()
        this.settle?.()
      }
      w.postMessage({ type: 'open', file: this.file } satisfies ToWriter)
      ;(w as Worker & { unref?: () => void }).unref?.()
      this.worker = w
    } catch (e) {
      this.o.log.warn(`request log: no writer thread (${describe(e)}); writing on the main thread`)
    }
  }

  /** The row as it is stored (its cost; bodies redacted and capped when log_bodies is on, else none; the error
   *  redacted), encoded as the writer thread receives it. */
  private encode(r: RequestRecord): string {
    const bodies = this.o.logBodies
    return JSON.stringify(
      encodeRow(
        r,
        this.cost(r),
        bodies ? this.body(r.requestBody) : undefined,
        bodies ? this.body(r.responseBody) : undefined,
        r.error && this.redact(r.error),
      ),
    )
  }

  private cost(r: RequestRecord): number | null {
    return this.pricer(r.routedModel ?? r.model, r.usage, r.provider)
  }

  /** a logged body: keys redacted, capped */
  private body(text: string | undefined): string | undefined {
    return text === undefined ? undefined : this.redact(text).slice(0, BODY_CAP)
  }

  /** the oldest `n` pending rows, out of the queue */
  private take(n: number): string[] {
    const batch = this.pending.splice(0, n)
    this.chars -= charsOf(batch)
    return batch
  }

  private dropOldest(): void {
    const r = this.pending.shift()
    if (r) this.chars -= r.length
    this.target.dropped.logRows++
    this.droppedSinceFault++
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (this.o.now() >= this.retryAt) this.flush(1)
      else this.schedule(this.retryAt - this.o.now())
    }, ms)
    this.timer.unref?.()
  }

  private retryLater(): false {
    this.retryAt = this.o.now() + this.o.retryMs
    if (!this.timer && !this.closed) this.schedule(this.o.retryMs)
    return false
  }

  private tryOpen(): boolean {
    this.openTried = true
    try {
      const opened = this.o.open(this.file)
      this.store = opened.store
      // the writer thread starts with the first batch, not here: its start is off the server's
      this.threadWanted = !opened.newerSchema && !opened.store.remote
      if (opened.movedAside)
        this.o.log.error(`request log: ${this.file} was not a readable database; it was moved aside to ${opened.movedAside} and a new one started`)
      if (opened.newerSchema) {
        const why = `${this.file} has schema version ${opened.newerSchema}, newer than this agproxy knows; it is opened read-only (nothing is logged): upgrade agproxy`
        this.o.log.error(`request log: ${why}`)
        this.fault = why
        this.target.degraded.set(DEGRADED_SOURCE, why)
      }
      return true
    } catch (e) {
      this.failed(`cannot open ${this.file}: ${describe(e)}`)
      return false
    }
  }

  private failed(why: string): void {
    const reason = `${why}; requests are served but not logged (check the disk's free space and the file's permissions)`
    if (!this.fault) {
      this.o.log.error(`request log: ${reason}; retrying every ${Math.round(this.o.retryMs / 1000)} s`)
      this.droppedSinceFault = 0
    }
    this.fault = reason
    this.target.degraded.set(DEGRADED_SOURCE, reason)
  }

  private recovered(): void {
    if (!this.fault || this.store === undefined || this.fault.includes('newer than this agproxy')) return
    this.o.log.info(`request log: writing to ${this.file} again${this.droppedSinceFault ? ` (${this.droppedSinceFault} row(s) were dropped meanwhile)` : ''}`)
    this.fault = undefined
    this.target.degraded.delete(DEGRADED_SOURCE)
  }

  /** retention, at most every retentionEveryMs, after a successful flush */
  private retain(): void {
    const now = this.o.now()
    if (now < this.nextRetention || !this.store) return
    this.nextRetention = now + this.o.retentionEveryMs
    const done = (gone: number) =>
      gone && this.o.log.info(`request log: retention deleted ${gone} row(s) (log_retention: ${this.o.retention.days} days, ${this.o.retention.max_mb} MB)`)
    const failed = (e: unknown) => this.o.log.warn(`request log: retention failed: ${describe(e)}`)
    try {
      const gone = this.store.retain(now - this.o.retention.days * 86_400_000, this.o.retention.max_mb * 1048576)
      if (typeof gone === 'number') done(gone)
      else gone.then(done, failed)
    } catch (e) {
      failed(e)
    }
  }
}

/** encoded rows as one message's text (a JSON array) */
const wire = (rows: string[]) => `[${rows.join(',')}]`
/** encoded rows as the StoredRequests to write here (the main thread's store) */
const decode = (rows: string[]) => decodeRows(wire(rows))
const charsOf = (rows: string[]) => {
  let n = 0
  for (const r of rows) n += r.length
  return n
}

/** A database error in one line, with SQLite's code when it has one. */
const describe = (e: unknown) => {
  const code = (e as { code?: string }).code
  const msg = String((e as Error)?.message ?? e)
    .split('\n')[0]
    ?.slice(0, 200)
  return code && !msg?.includes(code) ? `${msg} (${code})` : (msg ?? 'unknown error')
}

/** The SQLite store's module, loaded when the database is first opened (with openLater: after the server's first answers;
 *  bun:sqlite costs ~1 ms of a start). */
const sqlite = () => require('./sqlite') as typeof import('./sqlite')

/** The PostgreSQL store's module, loaded only when database_url is set: its client (bun:sql) costs ~20 ms of a start. */
const postgres = () => require('./postgres') as typeof import('./postgres')

/** Internal tuning (tests): AGPROXY_LOG_RETRY_MS, how soon a failed write or open is tried again. */
export function logTuningFrom(env: Record<string, string | undefined>): Partial<RequestLogOptions> {
  const retry = Number(env.AGPROXY_LOG_RETRY_MS)
  return { thread: true, ...(Number.isFinite(retry) && retry >= 10 ? { retryMs: retry } : {}) }
}

/** The request log of this configuration (data_dir/agproxy.db, or the PostgreSQL of database_url), or none when request_log is off. */
export function openRequestLog(config: Config, log: Logger, opts: Partial<RequestLogOptions> & { urlOf?: ProviderUrl } = {}): RequestLog | undefined {
  if (!config.request_log) return undefined
  const url = config.database_url
  const pg = url ? postgres() : undefined
  return new RequestLog({
    file: url && pg ? pg.postgresLocation(url) : join(dataDir(config), 'agproxy.db'),
    ...(url && pg ? { open: () => ({ store: pg.openPostgresStore(url) }), thread: false } : {}),
    log,
    retention: config.log_retention,
    logBodies: config.log_bodies,
    pricer: createPricer(config.prices, opts.urlOf),
    ...opts,
  })
}
