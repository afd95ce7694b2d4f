/**
 * The retry / failover loop on its own (src/dispatch/retry-loop.ts): a virtual clock, providers with real key pools,
 * scripted attempts. No real time, no network.
 */
import { describe, expect, test } from 'bun:test'
import { runRetryLoop, type LoopClock, type RetryRun } from '../src/dispatch/retry-loop'
import type { Attempt, Answer } from '../src/dispatch/types'
import { KeyPool, type PooledKey } from '../src/providers/pool'
import type { Provider } from '../src/providers/registry'
import type { IRError } from '../src/ir/types'

/** A clock whose sleeps only move its time forward (and record how long they were). */
function virtualClock(start = 1_000_000) {
  let t = start
  const sleeps: number[] = []
  const clock: LoopClock = {
    now: () => t,
    sleep: async (ms, signal) => {
      if (!signal.aborted) {
        sleeps.push(ms)
        t += ms
      }
    },
    random: () => 1,
  }
  return { clock, sleeps }
}

function provider(name: string, keys: string[], now: () => number): Provider {
  return { name, type: 'openai', baseUrl: `http://${name}.invalid/v1`, headers: {}, pool: new KeyPool(name, keys, { now }), models: [] }
}

const OK = (name: string, model: string): Attempt => ({ ok: true, answer: { answer: 'json', body: { ok: true }, provider: name, model } })
const FAIL = (status: number, extra: Partial<Extract<Attempt, { ok: false }>> = {}): Attempt => ({
  ok: false,
  status,
  message: `upstream said ${status}`,
  ...extra,
})

type Script = (p: Provider, key: PooledKey, n: number) => Attempt | Promise<Attempt>

/** A loop run over `providers` (candidates in that order), attempting with `script`. */
function setup(providers: Provider[], script: Script, over: Partial<RetryRun<string>> & { clock: LoopClock }) {
  const calls: string[] = []
  const run: RetryRun<string> = {
    model: 'm',
    candidates: providers.map(p => ({ provider: p.name, model: 'm' })),
    providers: new Map(providers.map(p => [p.name, p])),
    maxAttempts: 10,
    budgetMs: 30_000,
    signal: new AbortController().signal,
    warn: () => {},
    isDown: () => false,
    scrub: m => m,
    prepare: () => ({ plan: 'plan' }),
    attempt: async (p, key) => {
      calls.push(`${p.name}:${key.index}`)
      return script(p, key, calls.length)
    },
    ...over,
  }
  return { run, calls }
}

const isError = (r: Answer | IRError): r is IRError => !('answer' in r)

describe('retry loop', () => {
  test('attempts are capped by maxAttempts; the error names them', async () => {
    const { clock } = virtualClock()
    const a = provider('a', ['k1', 'k2', 'k3'], clock.now)
    const { run, calls } = setup([a], () => FAIL(500), { clock, maxAttempts: 2 })
    const r = await runRetryLoop(run)
    expect(calls).toHaveLength(2)
    expect(isError(r) && r.message).toContain('Tried (2 of at most 2 attempts)')
  })

  test('backoff between attempts grows, and all waiting stays within the budget', async () => {
    const { clock, sleeps } = virtualClock()
    const a = provider('a', ['k1', 'k2', 'k3', 'k4'], clock.now)
    const { run } = setup([a], () => FAIL(500), { clock, budgetMs: 250 })
    await runRetryLoop(run)
    expect(sleeps.slice(0, 2)).toEqual([100, 150]) // 100, then 200 cut to what is left of the 250 ms budget
    expect(sleeps.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(250)
  })

  test('backoff with budget to spare: 100, 200, 400 ms (jitter at its top)', async () => {
    const { clock, sleeps } = virtualClock()
    const a = provider('a', ['k1', 'k2', 'k3', 'k4'], clock.now)
    const { run, calls } = setup([a], (_p, _k, n) => (n < 4 ? FAIL(500) : OK('a', 'm')), { clock })
    const r = await runRetryLoop(run)
    expect(calls).toHaveLength(4)
    expect(sleeps).toEqual([100, 200, 400])
    expect(isError(r)).toBe(false)
  })

  test('every key cooling: waits for the soonest cooldown (retry-after), then tries again', async () => {
    const { clock, sleeps } = virtualClock()
    const a = provider('a', ['k1'], clock.now)
    const script: Script = (_p, _k, n) => (n === 1 ? FAIL(429, { headers: new Headers({ 'retry-after': '3' }) }) : OK('a', 'm'))
    const { run, calls } = setup([a], script, { clock })
    const r = await runRetryLoop(run)
    expect(calls).toEqual(['a:0', 'a:0'])
    expect(sleeps[0]).toBeGreaterThanOrEqual(3000)
    expect(isError(r)).toBe(false)
  })

  test('a cooldown longer than the budget is not waited for: 429 with retry-after', async () => {
    const { clock, sleeps } = virtualClock()
    const a = provider('a', ['k1'], clock.now)
    const { run } = setup([a], () => FAIL(429, { headers: new Headers({ 'retry-after': '60' }) }), { clock, budgetMs: 5000 })
    const r = await runRetryLoop(run)
    expect(sleeps).toEqual([])
    expect(isError(r) && r.kind).toBe('rate_limit')
    expect(isError(r) && r.retryAfter).toBe(60)
  })

  test('a host found down is skipped while a later candidate remains', async () => {
    const { clock } = virtualClock()
    const a = provider('a', ['k1'], clock.now)
    const b = provider('b', ['k1'], clock.now)
    const { run, calls } = setup([a, b], p => OK(p.name, 'm'), { clock, isDown: p => p.name === 'a' })
    const r = await runRetryLoop(run)
    expect(calls).toEqual(['b:0'])
    expect(!isError(r) && r.answer === 'json' && r.provider).toBe('b')
  })

  test('an unreachable host moves on to the next candidate at once (no other key of it is tried)', async () => {
    const { clock } = virtualClock()
    const a = provider('a', ['k1', 'k2'], clock.now)
    const b = provider('b', ['k1'], clock.now)
    const script: Script = p => (p.name === 'a' ? { ok: false, message: 'ECONNREFUSED', unreachable: true } : OK('b', 'm'))
    const { run, calls } = setup([a, b], script, { clock })
    await runRetryLoop(run)
    expect(calls).toEqual(['a:0', 'b:0'])
  })

  test("a non-retryable failure stops the loop with the upstream's status", async () => {
    const { clock } = virtualClock()
    const a = provider('a', ['k1', 'k2'], clock.now)
    const b = provider('b', ['k1'], clock.now)
    const { run, calls } = setup([a, b], () => FAIL(400), { clock })
    const r = await runRetryLoop(run)
    expect(calls).toEqual(['a:0'])
    expect(isError(r) && r.status).toBe(400)
    expect(isError(r) && r.message).toContain('provider a rejected the request')
  })

  test('the client going away ends the loop with `gone`, no further attempt', async () => {
    const { clock } = virtualClock()
    const ac = new AbortController()
    const a = provider('a', ['k1', 'k2', 'k3'], clock.now)
    const { run, calls } = setup(
      [a],
      () => {
        ac.abort()
        return FAIL(500)
      },
      { clock, signal: ac.signal },
    )
    const r = await runRetryLoop(run)
    expect(calls).toHaveLength(1)
    expect(r).toEqual({ answer: 'gone' })
  })

  test("the conversation's key is worked out only for a provider with several keys, and still sticks there", async () => {
    const { clock } = virtualClock()
    const watched = (run: RetryRun<string>) => {
      const seen = { reads: 0 }
      Object.defineProperty(run, 'sticky', {
        get: () => {
          seen.reads++
          return 'conversation-1'
        },
      })
      return seen
    }
    const one = setup([provider('one', ['k1'], clock.now)], () => OK('one', 'm'), { clock })
    const oneSeen = watched(one.run)
    expect(isError(await runRetryLoop(one.run))).toBe(false)
    expect(oneSeen.reads).toBe(0)

    // round robin alone would alternate the two keys; the sticky conversation stays on its first
    const two = provider('two', ['k1', 'k2'], clock.now)
    const keys: number[] = []
    for (let i = 0; i < 3; i++) {
      const { run, calls } = setup([two], () => OK('two', 'm'), { clock })
      const seen = watched(run)
      await runRetryLoop(run)
      expect(seen.reads).toBeGreaterThan(0)
      keys.push(Number(calls[0]!.split(':')[1]))
    }
    expect(new Set(keys).size).toBe(1)
  })

  test('a local plan answers without an attempt', async () => {
    const { clock } = virtualClock()
    const a = provider('a', ['k1'], clock.now)
    const local: Answer = { answer: 'json', body: { n: 1 }, provider: 'a', model: 'm' }
    const { run, calls } = setup([a], () => FAIL(500), { clock, prepare: () => ({ final: local }) })
    expect(await runRetryLoop(run)).toEqual(local)
    expect(calls).toEqual([])
  })
})
