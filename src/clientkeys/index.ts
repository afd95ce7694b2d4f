/**
 * Client keys: keys with their own limits (client_keys: in the configuration, and runtime keys created through the admin
 * API, kept hashed in the request-log database: SQLite, or the PostgreSQL several instances share; a snapshot of them is
 * kept by RuntimeKeys, so no request waits on the database). Owns identifying a key (constant time over all of them), refusing one
 * that is revoked or expired, admitting a model call against the key's models, budget, tpm, rpm and max_parallel (the
 * counters are a Limiter's), and counting what the call used once it is over. Errors are IRErrors naming the limit and
 * when it resets; the edge renders them in the caller's dialect.
 */
import type { Config } from '../config/schema'
import { err } from '../ir/errors'
import type { IRError } from '../ir/types'
import type { RequestRecord } from '../observe/record'
import { globToRegExp, type Pricer } from '../store/prices'
import { dayOf } from '../store/sql'
import type { AnyRequestStore, BudgetPeriod, ClientKeyStore, StoredClientKey } from '../store/types'
import type { Limiter } from './limiter'
import type { RuntimeKeys } from './runtime'

export { LocalLimiter, type Limiter } from './limiter'
export { RuntimeKeys, POLL_MS } from './runtime'

/** A client key as enforced: the stored fields, where it comes from, its digest and its model patterns. */
export interface ClientKey extends Omit<StoredClientKey, 'hash' | 'created'> {
  source: 'config' | 'runtime'
  digest: Buffer
  created?: number
  modelRes?: RegExp[]
}

/** What GET /admin/keys and `agproxy keys list` show of a key: its limits and its use of them, never the key. */
export interface ClientKeyStatus extends Omit<ClientKey, 'digest' | 'modelRes'> {
  status: 'active' | 'revoked' | 'expired'
  usage: { requestsThisMinute: number; tokensThisMinute: number; running: number; spentUsd?: number; budgetResets?: number }
}

const MINUTE = 60_000
const DAY = 86_400_000

/** SHA-256 of a key, as a Buffer (compared) or hex (stored). */
export const keyDigest = (key: string) => new Bun.CryptoHasher('sha256').update(key).digest() as Buffer
export const keyHash = (key: string) => keyDigest(key).toString('hex')

/** The period `now` is in: its start and end (ms), 00:00 UTC of the day, the week's Monday, the month's 1st. */
export function periodOf(period: BudgetPeriod, now: number): { start: number; end: number } {
  const d = new Date(now)
  const y = d.getUTCFullYear()
  const m = d.getUTCMonth()
  const day = Date.UTC(y, m, d.getUTCDate())
  if (period === 'day') return { start: day, end: day + DAY }
  if (period === 'week') {
    const start = day - ((d.getUTCDay() + 6) % 7) * DAY
    return { start, end: start + 7 * DAY }
  }
  return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) }
}

/** `1 h 5 min`, `42 s`: how long until a reset, for a message. */
export const inWords = (ms: number) => {
  const s = Math.max(1, Math.ceil(ms / 1000))
  if (s < 120) return `${s} s`
  const min = Math.round(s / 60)
  if (min < 120) return `${min} min`
  const h = Math.round(min / 60)
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} days`
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z')
const usdText = (v: number) => `$${v < 0.01 && v > 0 ? v.toPrecision(3) : v.toFixed(2)}`

/** A configured client key as enforced. */
const fromConfig = (k: Config['client_keys'][number]): ClientKey => ({
  name: k.name,
  source: 'config',
  digest: keyDigest(k.key),
  ...limitsOf({ models: k.models, rpm: k.rpm, tpm: k.tpm, maxParallel: k.max_parallel, budget: k.budget, note: k.note }),
  ...(k.expires ? { expires: Date.parse(k.expires) } : {}),
})

/** A runtime key (stored hashed) as enforced. */
const fromStored = (k: StoredClientKey): ClientKey => {
  const { hash, ...rest } = k
  return { ...rest, ...limitsOf(rest), source: 'runtime', digest: Buffer.from(hash, 'hex') }
}

/** The limits, without the absent ones, and the models' patterns compiled. */
function limitsOf(l: Pick<StoredClientKey, 'models' | 'rpm' | 'tpm' | 'maxParallel' | 'budget' | 'note'>) {
  const out: Partial<ClientKey> = {}
  for (const [k, v] of Object.entries(l)) if (v !== undefined) (out as Record<string, unknown>)[k] = v
  if (l.models?.length) out.modelRes = l.models.map(globToRegExp)
  return out
}

export interface ClientKeysOptions {
  config: Config
  limiter: Limiter
  /** the runtime keys' snapshot (the listener's, kept across reloads) */
  runtime: RuntimeKeys
  /** the request log's database, when there is one (its usage seeds the budgets' counters); absent: request_log is off */
  store?: () => AnyRequestStore | undefined
  pricer?: Pricer
  now?: () => number
}

/** An app's client keys. */
export class ClientKeys {
  private configured: ClientKey[]
  private all: ClientKey[]
  /** the runtime snapshot's generation `all` was built from */
  private generation = -1
  /** budget counters seeded from the database this process (`name:periodStart`) */
  private seeded = new Set<string>()
  private readonly now: () => number

  constructor(private readonly o: ClientKeysOptions) {
    this.configured = o.config.client_keys.map(fromConfig)
    this.all = this.configured
    this.now = o.now ?? Date.now
  }

  /** the runtime keys' database, when open */
  private get db(): ClientKeyStore | undefined {
    return this.o.runtime.store
  }

  /** Until the runtime keys are first read (at start, a few ms; at most 2 s): what the front door awaits before identifying. */
  get starting(): Promise<void> | undefined {
    return this.o.runtime.starting
  }

  /** Whether any client key exists (no database call: the runtime keys are a snapshot kept fresh off the requests' path). */
  active(): boolean {
    return this.keys().length > 0
  }

  /** every key: the configured ones, then the runtime snapshot's (rebuilt only when it changed) */
  private keys(): ClientKey[] {
    const rt = this.o.runtime
    if (this.generation !== rt.generation) {
      this.generation = rt.generation
      this.all = [...this.configured, ...rt.keys.map(fromStored)]
    }
    return this.all
  }

  /** The client key one of `candidates` is, comparing digests in constant time over every key. */
  identify(candidates: string[]): ClientKey | undefined {
    let found: ClientKey | undefined
    const all = this.keys()
    for (const c of candidates) {
      const d = keyDigest(c)
      for (const k of all) if (crypto.timingSafeEqual(k.digest, d) && !found) found = k
    }
    return found
  }

  /** Why a key may not be used at all now (revoked, expired): a 403 naming when. */
  refusal(k: ClientKey): IRError | undefined {
    if (k.revoked !== undefined)
      return err('permission', `The client key "${k.name}" was revoked at ${iso(k.revoked)}. Ask the gateway's admin for a new key.`, {
        code: 'key_revoked',
      })
    if (k.expires !== undefined && k.expires <= this.now())
      return err(
        'permission',
        `The client key "${k.name}" expired at ${iso(k.expires)}. Ask the gateway's admin for a new key (or to move its expires later).`,
        { code: 'key_expired' },
      )
    return undefined
  }

  /** Admit a model call by `k` to `model`: models, budget, tpm, then rpm and max_parallel counted. Undefined: admitted, and
   *  `finished` must be called once when the request is over. */
  async admit(k: ClientKey, model: string): Promise<IRError | undefined> {
    if (k.modelRes && !k.modelRes.some(re => re.test(model)))
      return err(
        'permission',
        `The client key "${k.name}" may not use the model "${model.slice(0, 200)}": it is limited to ${k.models?.join(', ')}. ` +
          "Use one of those, or ask the gateway's admin to add the model to the key's models.",
        { param: 'model', code: 'model_not_allowed' },
      )
    const now = this.now()
    const lim = this.o.limiter
    if (k.budget) {
      const spent = await this.spent(k, now)
      if (spent >= k.budget.usd) {
        const { end } = periodOf(k.budget.period, now)
        return err(
          'permission',
          `The client key "${k.name}" has spent its budget of ${usdText(k.budget.usd)} per ${k.budget.period} (${usdText(spent)} used); ` +
            `it resets at ${iso(end)} (in ${inWords(end - now)}). Ask the gateway's admin to raise budget.usd.`,
          { code: 'budget_exceeded' },
        )
      }
    }
    const window = Math.floor(now / MINUTE) * MINUTE
    const resetS = (window + MINUTE - now) / 1000
    if (k.tpm) {
      const used = await lim.get(`tpm:${k.name}:${window}`)
      if (used >= k.tpm)
        return err(
          'rate_limit',
          `The client key "${k.name}" is over its limit of ${k.tpm} tokens per minute (tpm: ${used} used); the window resets in ` +
            `${inWords(resetS * 1000)}. Retry then, or ask the gateway's admin to raise tpm.`,
          { retryAfter: resetS, code: 'rate_limit_exceeded' },
        )
    }
    if (k.maxParallel) {
      const running = await lim.incr(`par:${k.name}`, 1, DAY)
      if (running > k.maxParallel) {
        await lim.incr(`par:${k.name}`, -1, DAY)
        return err(
          'rate_limit',
          `The client key "${k.name}" already has ${k.maxParallel} request(s) running, its limit (max_parallel). ` +
            "Retry when one has finished, or ask the gateway's admin to raise max_parallel.",
          { retryAfter: 1, code: 'rate_limit_exceeded' },
        )
      }
    }
    if (k.rpm) {
      const count = await lim.incr(`rpm:${k.name}:${window}`, 1, MINUTE)
      if (count > k.rpm) {
        if (k.maxParallel) await lim.incr(`par:${k.name}`, -1, DAY)
        return err(
          'rate_limit',
          `The client key "${k.name}" is over its limit of ${k.rpm} requests per minute (rpm); the window resets in ${inWords(resetS * 1000)}. ` +
            "Retry then, or ask the gateway's admin to raise rpm.",
          { retryAfter: resetS, code: 'rate_limit_exceeded' },
        )
      }
    }
    return undefined
  }

  /** An admitted call is over: its slot freed, its tokens and cost counted. Never throws (a subscriber of the request's end). */
  async finished(k: ClientKey, rec: Pick<RequestRecord, 'usage' | 'model' | 'routedModel' | 'provider'>): Promise<void> {
    const lim = this.o.limiter
    const now = this.now()
    try {
      if (k.maxParallel) await lim.incr(`par:${k.name}`, -1, DAY)
      const u = rec.usage
      if (!u) return
      if (k.tpm) await lim.incr(`tpm:${k.name}:${Math.floor(now / MINUTE) * MINUTE}`, u.inputTokens + u.outputTokens, MINUTE)
      const usd = k.budget && this.o.pricer?.(rec.routedModel ?? rec.model, u, rec.provider)
      if (k.budget && usd) {
        const { start, end } = periodOf(k.budget.period, now)
        await this.spent(k, now)
        await lim.incr(`usd:${k.name}:${start}`, usd, end - now + DAY)
      }
    } catch {
      // a counter store that fails loses this count, never the request
    }
  }

  /** USD spent by `k` in its budget's current period. The counter is seeded once per period from the request log's usage,
   *  by whichever app meets it first: a marker beside it in the same counters says it was (the counters outlive an app: a
   *  reload keeps them, several instances share them in Redis; seeding again would count the database's spend twice). */
  private async spent(k: ClientKey, now: number): Promise<number> {
    if (!k.budget) return 0
    const { start, end } = periodOf(k.budget.period, now)
    const counter = `usd:${k.name}:${start}`
    const seed = `${k.name}:${start}`
    if (!this.seeded.has(seed)) {
      this.seeded.add(seed)
      const ttl = end - now + DAY
      if ((await this.o.limiter.incr(`seeded:${seed}`, 1, ttl)) === 1) {
        const before = await this.spentInDatabase(k.name, start)
        if (before) await this.o.limiter.incr(counter, before, ttl)
      }
    }
    return this.o.limiter.get(counter)
  }

  /** what the request log's usage totals say `name` spent since `start` (the counters start from there after a restart) */
  private async spentInDatabase(name: string, start: number): Promise<number> {
    try {
      const rows = (await this.o.store?.()?.usage({ by: ['key'], sinceDay: dayOf(start) })) ?? []
      return rows.find(r => r.clientKey === name)?.costUsd ?? 0
    } catch {
      return 0
    }
  }

  /** Every key with its limits and its use of them (never the key). */
  async list(): Promise<ClientKeyStatus[]> {
    await this.o.runtime.reload()
    const now = this.now()
    const window = Math.floor(now / MINUTE) * MINUTE
    const lim = this.o.limiter
    const out: ClientKeyStatus[] = []
    for (const k of this.keys()) {
      const { digest: _d, modelRes: _m, ...shown } = k
      const status = k.revoked !== undefined ? 'revoked' : k.expires !== undefined && k.expires <= now ? 'expired' : 'active'
      out.push({
        ...shown,
        status,
        usage: {
          requestsThisMinute: await lim.get(`rpm:${k.name}:${window}`),
          tokensThisMinute: await lim.get(`tpm:${k.name}:${window}`),
          running: Math.max(0, await lim.get(`par:${k.name}`)),
          ...(k.budget ? { spentUsd: await this.spent(k, now), budgetResets: periodOf(k.budget.period, now).end } : {}),
        },
      })
    }
    return out
  }

  /** Create a runtime key (the plain key is the caller's to show once); a message when it cannot be. */
  async create(k: Omit<StoredClientKey, 'hash' | 'created'>, key: string): Promise<IRError | undefined> {
    const db = this.db
    if (!db) return this.noDatabase()
    if (this.configured.some(c => c.name === k.name))
      return err('invalid_request', `A client key named "${k.name}" is in the configuration (client_keys); choose another name.`, { param: 'name' })
    // the snapshot as of now: a key just created on another instance is in the database's unique index too
    await this.o.runtime.reload()
    if (this.identify([key]) || this.o.config.api_keys.includes(key))
      return err('invalid_request', 'That key is already in use by another client key or api_key; send another key, or none to have one generated.', {
        param: 'key',
      })
    return this.change(
      k.name,
      () => db.create({ ...k, hash: keyHash(key), created: this.now() }),
      () =>
        err('invalid_request', `A client key named "${k.name}" exists already (revoked keys keep their names); choose another name, or rotate that key.`, {
          param: 'name',
        }),
    )
  }

  /** Revoke a runtime key; a message when it cannot be. */
  revoke(name: string): Promise<IRError | undefined> {
    return this.changeExisting(name, db => db.revoke(name, this.now()))
  }

  /** Give a runtime key a new secret (the old one is refused from now on); a message when it cannot be. */
  rotate(name: string, key: string): Promise<IRError | undefined> {
    return this.changeExisting(name, db => db.rotate(name, keyHash(key)))
  }

  private async changeExisting(name: string, apply: (db: ClientKeyStore) => Promise<boolean>): Promise<IRError | undefined> {
    const db = this.db
    if (!db) return this.noDatabase()
    if (this.configured.some(c => c.name === name))
      return err('invalid_request', `The client key "${name}" is in the configuration (client_keys): change or remove it there and reload agproxy.`)
    return this.change(
      name,
      () => apply(db),
      () => err('not_found', `No active runtime client key is named "${name}"; GET /admin/keys lists them.`),
    )
  }

  /** apply a change to the database; done: the snapshot read again and the other instances told. A database that
   *  refuses (or is away) is a 503 naming it; `none` is the message when no row was changed. */
  private async change(name: string, apply: () => Promise<boolean>, none: () => IRError): Promise<IRError | undefined> {
    let changed: boolean
    try {
      changed = await apply()
    } catch (e) {
      const why = String((e as Error)?.message ?? e)
        .split('\n')[0]
        ?.slice(0, 200)
      return err('unavailable', `The client key "${name}" could not be saved: the database refused (${why}). GET /admin/status says more; try again.`)
    }
    if (!changed) return none()
    await this.o.runtime.changed()
    return undefined
  }

  private noDatabase(): IRError {
    return this.o.store
      ? err('unavailable', "The request log's database is not open, and runtime client keys live there; GET /admin/status says why.")
      : err(
          'invalid_request',
          'Runtime client keys live in the request log, which is off (request_log: false in agproxy.yaml); turn it on, or put the key in client_keys.',
        )
  }
}
