/**
 * The counters behind client-key limits (rpm, tpm, max_parallel, budget), behind one small interface so that several
 * instances can share them (a Redis implementation: INCRBYFLOAT with PEXPIRE in one script). Each counter is a number
 * under a name that already says its window (`rpm:alice:29170000`), forgotten once its window is over.
 */

export type Awaitable<T> = T | Promise<T>

export interface Limiter {
  /** add `n` (may be negative) to counter `key`, created at 0 and forgotten `ttlMs` after its creation; the new total, atomically */
  incr(key: string, n: number, ttlMs: number): Awaitable<number>
  /** the counter's total (0 when absent or forgotten) */
  get(key: string): Awaitable<number>
}

/** This process's counters: a Map, atomic because JS runs one thing at a time; expired counters swept as they are met. */
export class LocalLimiter implements Limiter {
  private counters = new Map<string, { value: number; until: number }>()
  private nextSweep = 0

  constructor(private readonly now: () => number = Date.now) {}

  incr(key: string, n: number, ttlMs: number): number {
    const now = this.now()
    this.sweep(now)
    let c = this.counters.get(key)
    if (!c || c.until <= now) this.counters.set(key, (c = { value: 0, until: now + ttlMs }))
    c.value += n
    return c.value
  }

  get(key: string): number {
    const c = this.counters.get(key)
    return c && c.until > this.now() ? c.value : 0
  }

  /** forget the counters whose window is over (at most once a minute) */
  private sweep(now: number): void {
    if (now < this.nextSweep) return
    this.nextSweep = now + 60_000
    for (const [k, c] of this.counters) if (c.until <= now) this.counters.delete(k)
  }
}
