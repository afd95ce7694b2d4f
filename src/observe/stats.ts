/**
 * Request statistics over time for the dashboard's overview: per minute, the last 24 hours, in memory (nothing on the
 * request's path: fed by the admin event feed after a request is over). Each minute keeps counts, tokens and a
 * logarithmic latency histogram, so p50/p95 of a minute or of an hour are estimates within one bucket (±12 %).
 */
import type { RequestRecord } from './record'

const MINUTE = 60_000
const KEEP_MINUTES = 24 * 60
/** latency histogram: bucket i holds latencies up to BASE^i ms (1 ms … ~11 min) */
const BASE = 1.25
const BUCKETS = 61

interface Minute {
  requests: number
  errors: number
  inputTokens: number
  outputTokens: number
  latency: Uint32Array
}

/** One point of a series: `t` the start of its interval (ms since the epoch). */
export interface StatsPoint {
  t: number
  requests: number
  errors: number
  p50Ms: number | null
  p95Ms: number | null
  inputTokens: number
  outputTokens: number
}

const bucketOf = (ms: number) => Math.min(BUCKETS - 1, Math.max(0, Math.ceil(Math.log(Math.max(ms, 1)) / Math.log(BASE))))

/** The latency at quantile `q` of a histogram (the bucket's upper bound), null when it is empty. */
function quantile(h: Uint32Array, q: number): number | null {
  let total = 0
  for (const n of h) total += n
  if (!total) return null
  let seen = 0
  for (let i = 0; i < h.length; i++) {
    seen += h[i] ?? 0
    if (seen >= q * total) return Math.round(BASE ** i)
  }
  return null
}

/** Per-minute request statistics of the last 24 hours; `observe` is a Recorder subscriber. */
export class RequestStats {
  private readonly minutes = new Map<number, Minute>()

  constructor(private readonly now: () => number = Date.now) {}

  readonly observe = (r: RequestRecord): void => {
    const m = Math.floor(r.time / MINUTE)
    let b = this.minutes.get(m)
    if (!b) {
      b = { requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, latency: new Uint32Array(BUCKETS) }
      this.minutes.set(m, b)
      if (this.minutes.size > KEEP_MINUTES + 60) this.prune()
    }
    b.requests++
    if (r.status >= 400 || r.errorKind) b.errors++
    b.inputTokens += r.usage?.inputTokens ?? 0
    b.outputTokens += r.usage?.outputTokens ?? 0
    const i = bucketOf(r.latencyMs)
    b.latency[i] = (b.latency[i] ?? 0) + 1
  }

  private prune() {
    const oldest = Math.floor(this.now() / MINUTE) - KEEP_MINUTES
    for (const k of this.minutes.keys()) if (k < oldest) this.minutes.delete(k)
  }

  /** `count` points of `stepMinutes` each, the last one holding the current minute; oldest first. */
  series(stepMinutes: number, count: number): StatsPoint[] {
    const last = Math.floor(this.now() / MINUTE)
    const out: StatsPoint[] = []
    for (let i = count - 1; i >= 0; i--) {
      const end = last - i * stepMinutes
      const h = new Uint32Array(BUCKETS)
      const p = { t: (end - stepMinutes + 1) * MINUTE, requests: 0, errors: 0, inputTokens: 0, outputTokens: 0 }
      for (let m = end - stepMinutes + 1; m <= end; m++) {
        const b = this.minutes.get(m)
        if (!b) continue
        p.requests += b.requests
        p.errors += b.errors
        p.inputTokens += b.inputTokens
        p.outputTokens += b.outputTokens
        for (let j = 0; j < BUCKETS; j++) h[j] = (h[j] ?? 0) + (b.latency[j] ?? 0)
      }
      out.push({ ...p, p50Ms: quantile(h, 0.5), p95Ms: quantile(h, 0.95) })
    }
    return out
  }

  /** The last hour per minute and the last day per hour. */
  windows(): { hour: StatsPoint[]; day: StatsPoint[] } {
    return { hour: this.series(1, 60), day: this.series(60, 24) }
  }
}
