/**
 * The retry / failover loop: for each candidate (the routed target, then its fallbacks) pick a key, attempt,
 * and on a retryable failure (before any byte reached the client) try the next key, then the next candidate;
 * when every key is cooling, wait for the soonest within the retry budget and go again. Time and sleep are
 * injected (`clock`), so it is tested without real time or network (test/retry-loop.test.ts).
 */
import type { IRError } from '../ir/types'
import { IRErrorValue, err } from '../ir/errors'
import type { Provider } from '../providers/registry'
import { clipLine, type PooledKey } from '../providers/pool'
import type { Target } from '../routing/models'
import { clientError, exhausted, MAX_MESSAGE } from './failures'
import type { Answer, Attempt, Failure } from './types'

/** Time, as the loop sees it. */
export interface LoopClock {
  now(): number
  /** resolves after `ms`, or at once when `signal` aborts */
  sleep(ms: number, signal: AbortSignal): Promise<void>
  /** in [0, 1): the backoff's jitter */
  random(): number
}

/** Sleep `ms`, or less if `signal` aborts. */
export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>(resolve => {
    if (signal.aborted || ms <= 0) return resolve()
    const t = setTimeout(() => {
      signal.removeEventListener('abort', stop)
      resolve()
    }, ms)
    const stop = () => {
      clearTimeout(t)
      resolve()
    }
    signal.addEventListener('abort', stop, { once: true })
  })

/** The real clock. */
export const realClock: LoopClock = { now: Date.now, sleep, random: Math.random }

/** A result that ends the loop. */
export type Final = Answer | IRError

/** One loop run: the candidates, the limits, and how to plan and attempt (`P`: the plan type). */
export interface RetryRun<P> {
  /** the model the client asked for (messages) */
  model: string
  candidates: Target[]
  providers: Map<string, Provider>
  maxAttempts: number
  budgetMs: number
  signal: AbortSignal
  /** the conversation's key for stickiness; read only for a provider with more than one key (it may be a lazy getter) */
  sticky?: string
  clock: LoopClock
  warn(line: string): void
  /** the provider's host was found unreachable moments ago */
  isDown(p: Provider): boolean
  /** `msg` with every key masked */
  scrub(msg: string, p: Provider): string
  /** once per provider: its plan, or a result that ends the loop (an answer made locally). May throw IRErrorValue. */
  prepare(p: Provider, target: Target): { plan: P } | { final: Final }
  /** one attempt with one key. May throw IRErrorValue (the request cannot be encoded for this provider). */
  attempt(p: Provider, key: PooledKey, model: string, plan: P): Promise<Attempt>
  /** told of each attempt made, and how long it took (ms): the request's trace */
  attempted?(p: Provider, key: PooledKey, model: string, result: Attempt, ms: number): void
}

/** A provider/model the loop has called on (the final error describes each one's keys), with its provider's plan when it was the
 *  first of that provider to be planned. */
interface Used<P> {
  provider: Provider
  model: string
  prepared?: { plan: P }
}

/** What one run has done so far; the lists of what failed are made at the first failure (an answer at once needs none). */
interface LoopState<P> {
  attempts: number
  /** ms slept so far, out of the budget */
  waited: number
  tried?: string[]
  missing?: string[]
  /** each provider/model once, in the order first called on (a few: scanned, not hashed) */
  used: Used<P>[]
  last?: Failure
}

const GONE: Answer = { answer: 'gone' }

/** Run the loop to an answer or an error. */
export async function runRetryLoop<P>(run: RetryRun<P>): Promise<Final> {
  const s: LoopState<P> = { attempts: 0, waited: 0, used: [] }
  try {
    for (let round = 0; s.attempts < run.maxAttempts; round++) {
      const before = s.attempts
      const final = await runRound(run, s, round)
      if (final) return final
      if (s.attempts >= run.maxAttempts || run.signal.aborted) break
      if (!(await waitForCooldown(run, s, before))) break
      if (run.signal.aborted) return GONE
    }
  } catch (e) {
    // the upstream encoder refused the request (e.g. something the provider type cannot express)
    if (e instanceof IRErrorValue) return e.error
    throw e
  }
  if (run.signal.aborted) return GONE
  const used = s.used.map(u => ({ provider: u.provider, model: u.model }))
  const tried = [...(s.missing ?? []), ...(s.tried ?? [])]
  return exhausted({ model: run.model, tried, used, attempts: s.attempts, max: run.maxAttempts, last: s.last, now: run.clock.now() })
}

/** Every candidate once; a result when one ends the loop. */
async function runRound<P>(run: RetryRun<P>, s: LoopState<P>, round: number): Promise<Final | undefined> {
  const candidates = run.candidates
  for (let i = 0; i < candidates.length; i++) {
    if (s.attempts >= run.maxAttempts) return undefined
    const target = candidates[i] as Target
    const provider = run.providers.get(target.provider)
    if (!provider) {
      if (round === 0) (s.missing ??= []).push(`${target.provider}: no such provider`)
      continue
    }
    if (skipDown(run, provider, i, round)) {
      if (round === 0) (s.missing ??= []).push(`${provider.name}: skipped, its host could not be reached moments ago`)
      continue
    }
    const prepared = planFor(run, s, useOf(s, provider, target.model), target)
    if ('final' in prepared) return prepared.final
    const final = await tryKeys(run, s, provider, target, prepared.plan)
    if (final) return final
  }
  return undefined
}

/** A host that just refused or timed out a connect is skipped while a later candidate remains (and not retried). */
function skipDown<P>(run: RetryRun<P>, provider: Provider, i: number, round: number): boolean {
  if (!run.isDown(provider)) return false
  if (round > 0) return true
  return run.candidates.slice(i + 1).some(c => {
    const p = run.providers.get(c.provider)
    return !!p && !run.isDown(p)
  })
}

/** The provider/model among those called on, added when new. */
function useOf<P>(s: LoopState<P>, provider: Provider, model: string): Used<P> {
  for (const u of s.used) if (u.provider === provider && u.model === model) return u
  const u: Used<P> = { provider, model }
  s.used.push(u)
  return u
}

/** The provider's plan, made once per call (kept with the first of its provider/models to be planned). */
function planFor<P>(run: RetryRun<P>, s: LoopState<P>, use: Used<P>, target: Target): { plan: P } | { final: Final } {
  for (const u of s.used) if (u.prepared && u.provider.name === use.provider.name) return u.prepared
  const prepared = run.prepare(use.provider, target)
  if ('plan' in prepared) use.prepared = prepared
  return prepared
}

/** The provider's keys, one attempt each, until one answers, a failure ends the loop, or none is left. */
async function tryKeys<P>(run: RetryRun<P>, s: LoopState<P>, provider: Provider, target: Target, plan: P): Promise<Final | undefined> {
  // the keys tried so far: none at the first pick (no set to make), the one before added at each later pick
  let exclude: Set<string> | undefined
  let key: PooledKey | undefined
  while (s.attempts < run.maxAttempts) {
    if (key) (exclude ??= new Set()).add(key.key)
    // one key: nothing to stick to (the conversation's key is not even worked out)
    key = provider.pool.pick({ model: target.model, sticky: provider.pool.size > 1 ? run.sticky : undefined, exclude })
    if (!key) return undefined
    // jittered exponential backoff, within the retry budget (spent budget: retry at once)
    if (s.attempts > 0) await wait(run, s, Math.min(2000, 100 * 2 ** (s.attempts - 1)) * (0.5 + run.clock.random() / 2))
    if (run.signal.aborted) return GONE
    s.attempts++
    const started = run.attempted ? run.clock.now() : 0
    const result = await run.attempt(provider, key, target.model, plan)
    run.attempted?.(provider, key, target.model, result, run.clock.now() - started)
    if (result.ok) {
      provider.pool.success(key)
      return result.answer
    }
    // the client left: not the key's fault, and nobody is waiting for an answer
    if (run.signal.aborted) return GONE
    const verdict = judge(run, s, { provider, key, model: target.model }, result)
    if (verdict !== 'next-key') return verdict === 'next-candidate' ? undefined : verdict
  }
  return undefined
}

type Verdict = Final | 'next-key' | 'next-candidate'

/** A failed attempt: the key's fate in its pool, the log line, and what the loop does next. */
function judge<P>(run: RetryRun<P>, s: LoopState<P>, at: { provider: Provider; key: PooledKey; model: string }, result: Failure): Verdict {
  const { provider, key, model } = at
  const n = `${s.attempts}/${run.maxAttempts}`
  // masked first, then cut: a cut could split a key and leave part of it unmasked
  const message = run.scrub(result.message, provider).slice(0, MAX_MESSAGE)
  if (result.refused) {
    provider.pool.success(key)
    run.warn(`attempt ${n}: ${provider.name}/${model} key ${key.name}: refused: ${message} (not retried)`)
    return err('upstream', `provider ${provider.name}: ${message}`)
  }
  if (result.status === 508) {
    // the provider's base_url leads back into an agproxy: no key or retry can fix that
    run.warn(`attempt ${n} failed: ${provider.name}/${model} key ${key.name}: 508 ${message} (not retryable)`)
    return err('loop', `Request loop: provider ${provider.name} (base_url ${provider.baseUrl}) leads back into agproxy: ${message}`, { status: 508 })
  }
  const verdict = provider.pool.failure(key, { status: result.status, headers: result.headers, body: result.body, model })
  s.last = { ...result, message }
  const label = `${provider.name}/${model} key ${key.name}: ${result.status ?? 'error'} ${clipLine(message, 200)}`
  s.tried ??= []
  s.tried.push(label)
  const retryable = verdict.retryable && result.retryable !== false
  run.warn(`attempt ${n} failed: ${label}${retryable ? '' : ' (not retryable)'}`)
  if (!retryable) return clientError({ ...result, message }, provider)
  // the host is unreachable: no other key of this provider can help, move on to the fallbacks
  return result.unreachable ? 'next-candidate' : 'next-key'
}

/** Every candidate key is cooling (or was tried): wait for the soonest if the budget allows. False: stop. */
async function waitForCooldown<P>(run: RetryRun<P>, s: LoopState<P>, before: number): Promise<boolean> {
  const next = s.used.map(u => u.provider.pool.nextAvailable(u.model)).filter((x): x is number => x !== undefined)
  if (!next.length) return false
  const delay = Math.max(0, Math.min(...next) - run.clock.now())
  if (delay > run.budgetMs - s.waited) return false
  if (s.attempts === before && delay === 0) return false // nothing to try and nothing to wait for
  await wait(run, s, delay + 5)
  return true
}

/** Sleep within the retry budget. */
async function wait<P>(run: RetryRun<P>, s: LoopState<P>, ms: number): Promise<void> {
  const d = Math.min(ms, run.budgetMs - s.waited)
  if (d <= 0) return
  await run.clock.sleep(d, run.signal)
  s.waited += d
}
