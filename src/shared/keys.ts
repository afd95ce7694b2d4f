/**
 * Key states shared by several instances through Redis: what one KeyPool learns (a rate-limit or quota cooldown, a key
 * refused or disabled by hand, enabled again, a conversation's sticky key) is published, and every other instance's
 * pool of that provider applies it. Picking a key never waits on Redis: the states arrive by pub/sub and are read in
 * full at start and after Redis comes back. What a pool learns while Redis is away is sent once it is back.
 *
 * Redis holds per provider `agproxy:keys:<provider>` (cooldowns and failure disables, each field with its end; the hash
 * expires after the longest cooldown) and `agproxy:disabled:<provider>` (disables by hand, until enabled again).
 *
 * Sticky conversations are the one event a busy gateway has per request (each new conversation on a pool of several
 * keys): they are not stored, and they are sent in batches, one PUBLISH every STICKY_BATCH_MS, so Redis adds no round
 * trip per request.
 */
import type { KeyEvent, KeyPool } from '../providers/pool'
import type { SharedRedis } from './redis'

const CHANNEL = 'keys'
/** how long a key refused by the upstream (401/403) stays disabled on the other instances */
const AUTH_DISABLE_MS = 3_600_000
/** events kept while Redis is away, to send once it is back */
const MAX_MISSED = 1000
/** how long a new conversation's key waits to be sent with the others (another instance may pick its own until then) */
export const STICKY_BATCH_MS = 20
/** sticky events sent in one message at most (a burst is sent in several) */
const STICKY_BATCH_MAX = 500

// store the state (or drop a key's states) and tell the others, in one round trip
const SHARE = `if ARGV[1] == 'enable' then
  for _, k in ipairs({KEYS[1], KEYS[2]}) do
    for _, f in ipairs(redis.call('HKEYS', k)) do
      if string.sub(f, 1, #ARGV[2]) == ARGV[2] then redis.call('HDEL', k, f) end
    end
  end
elseif ARGV[1] == 'manual' then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
elseif ARGV[1] == 'expiring' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
end
return redis.call('PUBLISH', KEYS[3], ARGV[5])`

interface Message {
  from: string
  provider: string
  event: KeyEvent & { until?: number }
}

/** Sticky conversations learned since the last batch: [provider, key name, sticky value] each. */
interface StickyBatch {
  from: string
  sticky: Array<[string, string, string]>
}

/** Carries the pools' KeyEvents through Redis; `attach` the pools of each configuration served (a reload's new ones). */
export class SharedKeys {
  private pools = new Map<string, KeyPool>()
  private missed: Message[] = []
  private sticky: Array<[string, string, string]> = []
  private stickyTimer?: ReturnType<typeof setTimeout>
  private readonly id = crypto.randomUUID()

  constructor(
    private readonly redis: SharedRedis,
    private readonly now: () => number = Date.now,
  ) {
    void redis.subscribe(CHANNEL, m => this.received(m))
    redis.onRecover(() => void this.resync())
  }

  /** Share these pools' states from now on (the previous configuration's pools are let go) and read the shared ones. */
  attach(pools: Iterable<KeyPool>): void {
    for (const p of this.pools.values()) p.onShare = undefined
    this.pools = new Map()
    for (const p of pools) {
      this.pools.set(p.provider, p)
      p.onShare = e => this.share(p.provider, e)
    }
    void this.load()
  }

  /** Read every provider's shared states into its pool (at attach and after a recovery). */
  async load(): Promise<void> {
    const now = this.now()
    for (const [provider, pool] of this.pools) {
      for (const hash of [this.redis.key('keys', provider), this.redis.key('disabled', provider)]) {
        const flat = await this.redis.call<string[] | Record<string, string>>('HGETALL', [hash], 1000)
        for (const value of Object.values(asRecord(flat))) {
          const e = parse<KeyEvent & { until?: number }>(value)
          if (e && (e.until === undefined || e.until > now)) pool.applyShared(e)
        }
      }
    }
  }

  private share(provider: string, event: KeyEvent): void {
    if (event.type === 'sticky') {
      this.shareSticky(provider, event.key, event.sticky)
      return
    }
    const msg: Message = {
      from: this.id,
      provider,
      event: event.type === 'disable' && !event.manual ? { ...event, until: this.now() + AUTH_DISABLE_MS } : event,
    }
    if (!this.redis.up) {
      this.missed.push(msg)
      if (this.missed.length > MAX_MISSED) this.missed.shift()
      return
    }
    void this.send(msg)
  }

  /** a new conversation's key, sent with the others learned within STICKY_BATCH_MS (none kept while Redis is away) */
  private shareSticky(provider: string, key: string, sticky: string): void {
    if (!this.redis.up) return
    this.sticky.push([provider, key, sticky])
    if (this.sticky.length >= STICKY_BATCH_MAX) this.sendSticky()
    else if (!this.stickyTimer) this.stickyTimer = setTimeout(() => this.sendSticky(), STICKY_BATCH_MS)
  }

  private sendSticky(): void {
    if (this.stickyTimer) clearTimeout(this.stickyTimer)
    this.stickyTimer = undefined
    if (!this.sticky.length) return
    const batch: StickyBatch = { from: this.id, sticky: this.sticky }
    this.sticky = []
    this.redis.publish(CHANNEL, JSON.stringify(batch))
  }

  private async send(msg: Message): Promise<void> {
    const { provider, event } = msg
    const field = event.type === 'cool' && event.model ? `${event.key}\u0000${event.model}` : `${event.key}\u0000`
    const json = JSON.stringify(msg)
    const mode = event.type === 'enable' ? 'enable' : event.type === 'disable' && event.manual ? 'manual' : 'expiring'
    const ttl = 'until' in event && event.until ? Math.max(1, Math.ceil(event.until - this.now())) : 1
    const keys = [this.redis.key('keys', provider), this.redis.key('disabled', provider), this.redis.key(CHANNEL)]
    const args = [mode, mode === 'enable' ? `${event.key}\u0000` : field, JSON.stringify(event), String(ttl), json]
    if ((await this.redis.call('EVAL', [SHARE, '3', ...keys, ...args])) === undefined) this.missed.push(msg)
  }

  private received(text: string): void {
    const m = parse<Message & StickyBatch>(text)
    if (!m || m.from === this.id) return
    if (Array.isArray(m.sticky)) {
      for (const [provider, key, sticky] of m.sticky) this.pools.get(provider)?.applyShared({ type: 'sticky', key, sticky })
      return
    }
    if (!m.event) return
    const e = m.event
    if (e.until !== undefined && e.until <= this.now()) return
    this.pools.get(m.provider)?.applyShared(e)
  }

  /** Redis is back: send what was learned meanwhile, then read what the others learned. */
  private async resync(): Promise<void> {
    const missed = this.missed
    this.missed = []
    for (const m of missed) await this.send(m)
    await this.load()
  }
}

/** HGETALL's answer as a record (the client answers RESP3 maps as objects, RESP2 as a flat list). */
function asRecord(flat: string[] | Record<string, string> | undefined): Record<string, string> {
  if (!flat) return {}
  if (!Array.isArray(flat)) return flat
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
  return out
}

function parse<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}
