/**
 * Watching a fault: agproxy's resident memory and its /healthz while a fault test runs. agproxy runs in the
 * test's own process, so /proc/self/status is agproxy's memory (plus the test's); a /healthz probe that stays
 * fast shows the event loop was never blocked. Shared by the fault tests (Linux: /proc).
 */
import { expect } from 'bun:test'
import { readFileSync } from 'node:fs'
import type { TestServer } from './agproxy'

/** This process's resident set (VmRSS) in MB. */
export const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024

export interface Watched<T> {
  /** what `fault` resolved with */
  result: T
  /** peak RSS during the fault and the settle time, less the RSS before it (after a full GC) */
  grewMb: number
  /** the slowest /healthz answer while the fault ran */
  healthMs: number
}

/** Where the /healthz probe goes, and with which headers (e.g. agproxy's key under auth_mode strict). */
export interface ProbeOptions {
  headers?: Record<string, string>
}

/**
 * Run `fault` against `srv` while watching: a full GC and a baseline VmRSS first, the peak sampled every 20 ms,
 * and a /healthz probe every 50 ms that records the slowest answer and asserts each is a 200. After the fault,
 * `settleMs` more of watching: work the fault leaves behind (a connection drained after the answer) counts too.
 * `srv` is where the probe goes; a fault that stops its own server probes another one in the same process.
 */
export async function whileWatching<T>(srv: TestServer, fault: () => Promise<T>, settleMs = 600, probe: ProbeOptions = {}): Promise<Watched<T>> {
  Bun.gc(true)
  const base = rssMb()
  let peak = base
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb())
  }, 20)
  let done = false
  let healthMs = 0
  const probing = (async () => {
    while (!done) {
      const t0 = performance.now()
      const r = await fetch(`${srv.url}/healthz`, { headers: probe.headers })
      await r.text()
      healthMs = Math.max(healthMs, performance.now() - t0)
      expect(r.status).toBe(200)
      await Bun.sleep(50)
    }
  })()
  try {
    const result = await fault()
    await Bun.sleep(settleMs)
    return { result, grewMb: Math.max(peak, rssMb()) - base, healthMs }
  } finally {
    done = true
    clearInterval(sampler)
    await probing
  }
}
