/**
 * The Redis connection several instances share (`redis_url`, Bun's built-in client): every call is bounded by a few
 * ms and never throws. Redis going away is a fault, not a failure: one warning, a `redis` reason in /healthz, the
 * callers' local fallback meanwhile, a probe every second, and one info line (and the `onRecover` hooks) when it is back.
 *
 * Counters (`SharedCounters`): fixed-window counts (`incr`) and parallel slots (`acquire`/`release`), each one Lua
 * script, so N instances counting at once never lose an increment (no read-then-write). Without Redis they count locally.
 */
import { RedisClient } from 'bun'
import type { Logger } from '../log'

/** the source name of Redis's reason in AppState.degraded */
export const REDIS_SOURCE = 'redis'
/** the budget of one Redis call on a request's path; past it the call counts as failed and the local state answers */
export const CALL_TIMEOUT_MS = 25
const PREFIX = 'agproxy:'
/** calls too slow for this long, with no answer between: Redis counts as away */
const STALL_MS = 1000

/** Where Redis trouble is reported (the serving app's state: listen re-attaches it on reload). */
export interface DegradedTarget {
  degraded: Map<string, string>
}

/** Counters shared by every instance (rate, parallel and budget limits use them); local to this process without Redis. */
export interface SharedCounters {
  /** add `by` (a fraction or negative too: USD of a budget, a slot given back) to `key`'s count in its window of
   *  `windowMs` (the window opens at its first increment); the new count, atomically. The shape of the client keys' Limiter. */
  incr(key: string, by: number, windowMs: number): Promise<number>
  /** `key`'s count in its current window (0 when none) */
  get(key: string): Promise<number>
  /** the same, with the ms until the window closes (a 429's retry-after) */
  hit(key: string, by: number, windowMs: number): Promise<{ count: number; resetMs: number }>
  /** take one of `limit` parallel slots of `key` (held at most `ttlMs`: a crashed instance's slots come back); false when all are taken */
  acquire(key: string, limit: number, ttlMs?: number): Promise<boolean>
  /** give back a slot `acquire` took */
  release(key: string): Promise<void>
}

// count in a window: INCRBY, and the window's expiry when it has none yet (its first increment)
const HIT = `local n = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) t = tonumber(ARGV[2]) end
return {n, t}`
// a parallel slot: taken only under the limit; the expiry is a safety net for an instance that died holding slots
const ACQUIRE = `local n = redis.call('INCR', KEYS[1])
if n > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`
const RELEASE = `local n = redis.call('DECR', KEYS[1])
if n < 0 then redis.call('SET', KEYS[1], 0) end
return n`

/** Counters in this process only (no Redis, or Redis away). */
export class LocalCounters implements SharedCounters {
  private readonly windows = new Map<string, { count: number; until: number }>()
  private readonly slots = new Map<string, number>()
  constructor(private readonly now: () => number = Date.now) {}

  async incr(key: string, by: number, windowMs: number): Promise<number> {
    return (await this.hit(key, by, windowMs)).count
  }

  async hit(key: string, by: number, windowMs: number): Promise<{ count: number; resetMs: number }> {
    return this.hitNow(key, by, windowMs)
  }

  /** synchronous, for the fallback inside a shared call */
  hitNow(key: string, by: number, windowMs: number): { count: number; resetMs: number } {
    const now = this.now()
    let w = this.windows.get(key)
    if (!w || w.until <= now) {
      if (this.windows.size > 100_000) for (const [k, v] of this.windows) if (v.until <= now) this.windows.delete(k)
      w = { count: 0, until: now + windowMs }
      this.windows.set(key, w)
    }
    w.count += by
    return { count: w.count, resetMs: w.until - now }
  }

  async get(key: string): Promise<number> {
    const w = this.windows.get(key)
    return w && w.until > this.now() ? w.count : 0
  }

  async acquire(key: string, limit: number): Promise<boolean> {
    return this.acquireNow(key, limit)
  }

  acquireNow(key: string, limit: number): boolean {
    const n = this.slots.get(key) ?? 0
    if (n >= limit) return false
    this.slots.set(key, n + 1)
    return true
  }

  async release(key: string): Promise<void> {
    const n = (this.slots.get(key) ?? 0) - 1
    if (n > 0) this.slots.set(key, n)
    else this.slots.delete(key)
  }
}

export interface SharedRedisOptions {
  log: Logger
  /** ms a call may take (default CALL_TIMEOUT_MS) */
  timeoutMs?: number
  /** ms between probes while Redis is away (default 1000) */
  probeMs?: number
}

/** `redis://user:pass@host` → `redis://host` (for messages: never the password). */
export const redisLocation = (url: string) => url.replace(/\/\/[^@/]*@/, '//')

/** The shared connection: commands, pub/sub, the fault and its recovery. */
export class SharedRedis implements SharedCounters {
  readonly local = new LocalCounters()
  private client: RedisClient
  private subscriber?: RedisClient
  private readonly subscriptions = new Map<string, (message: string) => void>()
  private readonly recoverHooks = new Set<() => void>()
  /** the channels the subscriber connection listens to */
  private readonly subscribed = new Set<string>()
  /** subscriber set-ups, one after the other (two at once would close each other's connection) */
  private subscribing: Promise<void> = Promise.resolve()
  private target: DegradedTarget = { degraded: new Map() }
  private fault?: string
  private probe?: ReturnType<typeof setInterval>
  private probing = false
  /** when Redis last answered a call */
  private lastAnswer = Date.now()
  /** the first connect: calls made before it ends wait for it (once) */
  private ready?: Promise<void>
  private closed = false
  private readonly timeoutMs: number
  private readonly probeMs: number
  private readonly log: Logger

  constructor(
    readonly url: string,
    opts: SharedRedisOptions,
  ) {
    this.log = opts.log
    this.timeoutMs = opts.timeoutMs ?? CALL_TIMEOUT_MS
    this.probeMs = opts.probeMs ?? 1000
    this.client = this.connect()
    this.ready = this.start()
  }

  /** up: the last call worked (or none failed yet) */
  get up(): boolean {
    return !this.fault
  }

  /** why Redis is not used, if it is not */
  get problem(): string | undefined {
    return this.fault
  }

  /** Report to this app's state from now on; the current fault carries over. */
  attach(target: DegradedTarget): void {
    if (this.fault) target.degraded.set(REDIS_SOURCE, this.fault)
    this.target = target
  }

  /** run `hook` when Redis comes back (to send again what was learned meanwhile, to read what others learned) */
  onRecover(hook: () => void): () => void {
    this.recoverHooks.add(hook)
    return () => this.recoverHooks.delete(hook)
  }

  /** The command's answer, or undefined when Redis is away, slow or refuses it (then it is marked away). */
  async call<T = unknown>(command: string, args: string[], timeoutMs = this.timeoutMs): Promise<T | undefined> {
    if (this.ready) await this.ready
    if (this.fault || this.closed) return undefined
    try {
      const sent = this.client.send(command, args)
      // an answer that comes late still says Redis is there (under load it is the event loop that is late, not Redis)
      sent.then(
        () => {
          this.lastAnswer = Date.now()
        },
        () => {},
      )
      return (await within(sent, timeoutMs, command)) as T
    } catch (e) {
      // one slow answer (a burst queued on the connection) is this call's local fallback; Redis is away when it is
      // the connection that failed, or nothing has answered, even late, for a second
      if (!(e instanceof SlowAnswer) || Date.now() - this.lastAnswer > STALL_MS) this.failed(e)
      return undefined
    }
  }

  /** publish `message` on `channel` (fire and forget) */
  publish(channel: string, message: string): void {
    void this.call('PUBLISH', [PREFIX + channel, message])
  }

  /** `listener` gets every message on `channel` from now on (subscribed again after a recovery). Channels named before
   *  the first connect ends are listened to before it is logged. */
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    const name = PREFIX + channel
    this.subscriptions.set(name, listener)
    if (this.ready) await this.ready
    // while Redis is away, the recovery subscribes every channel
    if (!this.fault && !this.closed) await this.serially(() => (this.subscribed.has(name) ? undefined : this.listen(name)))
  }

  /** a key under agproxy's prefix */
  key(...parts: string[]): string {
    return PREFIX + parts.join(':')
  }

  async incr(key: string, by: number, windowMs: number): Promise<number> {
    return (await this.hit(key, by, windowMs)).count
  }

  async hit(key: string, by: number, windowMs: number): Promise<{ count: number; resetMs: number }> {
    const r = await this.call<[number, number]>('EVAL', [HIT, '1', this.key('n', key), String(by), String(Math.max(1, Math.ceil(windowMs)))])
    return Array.isArray(r) ? { count: Number(r[0]), resetMs: Number(r[1]) } : this.local.hitNow(key, by, windowMs)
  }

  async get(key: string): Promise<number> {
    const r = await this.call<string | null>('GET', [this.key('n', key)])
    return r === undefined ? this.local.get(key) : Number(r ?? 0)
  }

  async acquire(key: string, limit: number, ttlMs = 3_600_000): Promise<boolean> {
    const r = await this.call<number>('EVAL', [ACQUIRE, '1', this.key('p', key), String(limit), String(Math.ceil(ttlMs))])
    return r === undefined ? this.local.acquireNow(key, limit) : Number(r) === 1
  }

  async release(key: string): Promise<void> {
    if ((await this.call('EVAL', [RELEASE, '1', this.key('p', key)])) === undefined) await this.local.release(key)
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.probe) clearInterval(this.probe)
    this.probe = undefined
    for (const c of [this.client, this.subscriber]) quietClose(c)
  }

  // ───────────── internals ─────────────

  private connect(): RedisClient {
    // no offline queue: a call while disconnected fails at once (the local state answers), never waits
    const c = new RedisClient(this.url, { connectionTimeout: 1000, autoReconnect: false, enableOfflineQueue: false })
    c.onclose = e => {
      if (!this.closed && c === this.client) this.failed(e ?? new Error('connection closed'))
    }
    return c
  }

  private async start(): Promise<void> {
    try {
      await within(this.client.connect(), 2000, 'connect')
      // the channels named so far are listened to before the connect is logged (an instance is then ready to hear the others)
      await this.serially(() => this.subscribeAll())
      if (!this.fault)
        this.log.info(`redis: connected to ${redisLocation(this.url)}; cooldowns, disabled keys, sticky sessions, counters and client keys are shared`)
    } catch (e) {
      this.failed(e)
    }
    this.ready = undefined
  }

  /** run `setUp` after the subscriber set-ups before it */
  private serially(setUp: () => Promise<void> | undefined): Promise<void> {
    this.subscribing = this.subscribing.then(setUp)
    return this.subscribing
  }

  /** a fresh subscriber connection listening to every channel (the first connect, a recovery) */
  private async subscribeAll(): Promise<void> {
    if (!this.subscriptions.size || this.closed) return
    try {
      quietClose(this.subscriber)
      this.subscribed.clear()
      const sub = new RedisClient(this.url, { connectionTimeout: 1000, autoReconnect: false, enableOfflineQueue: false })
      sub.onclose = e => {
        if (!this.closed && sub === this.subscriber) this.failed(e ?? new Error('subscriber connection closed'))
      }
      this.subscriber = sub
      await within(sub.connect(), 1000, 'connect')
      for (const channel of this.subscriptions.keys()) await this.listen(channel)
    } catch (e) {
      this.failed(e)
    }
  }

  /** the subscriber connection listens to `channel` too (a new one when there is none) */
  private async listen(channel: string): Promise<void> {
    const sub = this.subscriber
    if (!sub) return this.subscribeAll()
    try {
      await within(
        sub.subscribe(channel, m => this.subscriptions.get(channel)?.(String(m))),
        1000,
        'SUBSCRIBE',
      )
      this.subscribed.add(channel)
    } catch (e) {
      this.failed(e)
    }
  }

  private failed(e: unknown): void {
    if (this.closed) return
    const why = `${redisLocation(this.url)} is not answering (${String((e as Error)?.message ?? e).split('\n')[0]}); each instance uses its own key states and counters until it is back`
    if (!this.fault) this.log.warn(`redis: ${why}; retrying every ${Math.round(this.probeMs / 1000)} s`)
    this.fault = why
    this.target.degraded.set(REDIS_SOURCE, why)
    if (!this.probe) {
      this.probe = setInterval(() => void this.tryRecover(), this.probeMs)
      this.probe.unref?.()
    }
  }

  /** a fresh connection and a PING; on success the fault ends and the hooks run */
  private async tryRecover(): Promise<void> {
    if (this.probing || this.closed) return
    this.probing = true
    try {
      quietClose(this.client)
      this.client = this.connect()
      await within(this.client.connect(), 1000, 'connect')
      await within(this.client.send('PING', []), 500, 'PING')
      if (this.probe) clearInterval(this.probe)
      this.probe = undefined
      this.fault = undefined
      this.lastAnswer = Date.now()
      this.target.degraded.delete(REDIS_SOURCE)
      this.log.info(`redis: ${redisLocation(this.url)} answers again; sharing state again`)
      await this.serially(() => this.subscribeAll())
      for (const hook of this.recoverHooks) hook()
    } catch {
      /* still away: the next probe tries again */
    } finally {
      this.probing = false
    }
  }
}

function quietClose(c: RedisClient | undefined): void {
  if (!c) return
  c.onclose = null
  try {
    c.close()
  } catch {
    /* already closed */
  }
}

/** a call past its time budget */
class SlowAnswer extends Error {}

/** `p`, or a rejection (SlowAnswer) after `ms` */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SlowAnswer(`${what} took more than ${ms} ms`)), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}
