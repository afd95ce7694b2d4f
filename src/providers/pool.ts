/**
 * The key pool of one provider: which API key to use next, and what to do with a key after a failure.
 * Pure state + an injectable clock; no HTTP. Failure bodies/headers are read by cooldown.ts.
 *
 * Raw keys never leave through states(), describe(), reasons, or JSON/inspect of a PooledKey
 * (`key` is non-enumerable and toJSON masks). `Redactor` masks them in text and bytes an upstream sends back.
 *
 * Stickiness: a sticky value (conversation id, see sticky.ts) seen for the first time gets its key from the
 * strategy (so fill_first, weights and least_used hold for new conversations), and keeps it (remembered, bounded
 * memo). When that key is unusable the strategy picks another and the conversation *stays* on the new key even
 * after the old one recovers — moving twice would waste the upstream prompt cache twice.
 */
import { classifyFailure, type FailureInput } from './cooldown.ts'

export type Strategy = 'round_robin' | 'fill_first' | 'least_used'

export interface KeySpec {
  key: string
  weight?: number
  name?: string
}

export interface KeyState {
  /** configured name, or the masked key */
  name: string
  masked: string
  status: 'active' | 'cooling' | 'disabled'
  /** epoch ms, when cooling */
  until?: number
  reason?: string
  uses: number
  failures: number
  /** disabled by hand (POST /admin/providers/{provider}/keys/{name}/disable) until enabled again */
  manual?: boolean
  /** per-model cooldowns still running */
  models?: Record<string, { until: number; reason: string }>
}

/** A change to a key's state worth telling other instances (src/shared/keys.ts carries it through Redis); `key` is
 *  the key's name (the same configuration names it the same on every instance), never the key. */
export type KeyEvent =
  | { type: 'cool'; key: string; model?: string; until: number; reason: string; label: string; kind: 'rate' | 'quota' }
  | { type: 'disable'; key: string; reason: string; label: string; manual?: boolean }
  | { type: 'enable'; key: string }
  | { type: 'sticky'; key: string; sticky: string }

export interface PooledKey {
  readonly key: string
  readonly index: number
  readonly name: string
  readonly masked: string
}

export interface PoolOptions {
  strategy?: Strategy
  now?: () => number
  /** cooldowns for 429s without a hint; consecutive ones climb, capped at the last step */
  ladderMs?: number[]
  /** cooldown when an allowance is spent (per-day quota, insufficient_quota) */
  quotaCooldownMs?: number
  /** cooldown after 408/5xx/529 or a network error */
  serverErrorCooldownMs?: number
  /** no cooldown is longer, whatever its source (upstream hint, ladder, quota): retry.max_cooldown */
  maxCooldownMs?: number
}

export interface FailureOutcome {
  retryable: boolean
  cooldownMs?: number
  disabled?: boolean
  reason: string
}

/** Upstream hints are trusted from this floor up to maxCooldownMs. */
const MIN_HINT_MS = 1000
/** maxCooldownMs when not given (retry.max_cooldown's default) */
const DEFAULT_MAX_COOLDOWN_MS = 3_600_000
const STICKY_MEMO = 10_000
/** an upstream's message in a failure reason is cut to this many characters */
const MAX_REASON = 300

/** One line, at most `n` characters. Cut only text already masked (a cut could split a key and leave part of it). */
export const clipLine = (text: string, n: number) => {
  const t = text.replace(/\s+/g, ' ').trim()
  return t.length > n ? `${t.slice(0, n - 1)}…` : t
}

/** 'sk-…abcd': first 3 chars + '…' + last 4; keys under 20 chars are fully masked. */
export function maskKey(key: string): string {
  return key.length < 20 ? '****' : `${key.slice(0, 3)}…${key.slice(-4)}`
}

/** Keys shorter than this are not masked in answer bodies: they are placeholders of keyless servers ("ollama", "EMPTY",
 *  "lm-studio"), and masking them would corrupt every answer that mentions the word. Real provider keys are far longer. */
export const MIN_REDACTED_KEY = 12

/** `raw` as bytes, and those bytes read as latin1 (one character per byte) */
interface Secret {
  raw: string
  bytes: Buffer
  latin1: string
  masked: string
  maskedBytes: Buffer
}

/** windows-1252 (WHATWG's "latin1"): one character per byte, distinct bytes → distinct characters, so a key's bytes
 *  are in a chunk exactly where its latin1 image is in the chunk's latin1 text */
const latin1 = new TextDecoder('latin1')
/** chunks up to this size are searched as latin1 text (cheaper than Buffer.includes' per-call cost); larger ones as
 *  bytes (Buffer.includes is cheaper per byte). An SSE frame of a token delta is 150–400 bytes. */
const SMALL_CHUNK = 512

/**
 * Masks raw keys (maskKey) in text and bytes: error messages, and answer bodies, where an upstream may echo any
 * configured key. Keys are few, so each is looked for on its own (a native search per key); longest first, so a key
 * that contains another is masked whole. Raw keys are private: not in JSON or inspect output.
 */
export class Redactor {
  readonly #secrets: Secret[]

  /** `keys` of at least `minLength` characters (shorter ones are ignored); duplicates are dropped. */
  constructor(keys: Iterable<string>, minLength = MIN_REDACTED_KEY) {
    const raws = [...new Set([...keys].map(k => k.trim()))].filter(k => k.length >= minLength).sort((a, b) => b.length - a.length)
    this.#secrets = raws.map(raw => {
      const bytes = Buffer.from(raw)
      return { raw, bytes, latin1: latin1.decode(bytes), masked: maskKey(raw), maskedBytes: Buffer.from(maskKey(raw)) }
    })
  }

  /** One redactor for the keys of several (e.g. every provider's pool), keeping those of at least `minLength`. */
  static of(parts: Iterable<Redactor>, minLength = MIN_REDACTED_KEY): Redactor {
    return new Redactor(
      [...parts].flatMap(r => r.#secrets.map(s => s.raw)),
      minLength,
    )
  }

  /** how many keys it masks */
  get size() {
    return this.#secrets.length
  }

  /** `text` with every key replaced by its masked form. */
  text(text: string): string {
    let out = text
    for (const s of this.#secrets) if (out.includes(s.raw)) out = out.replaceAll(s.raw, s.masked)
    return out
  }

  /** Same for bytes (a split character stays intact); the chunk itself when no key is in it (the common case: no copy). */
  bytes(chunk: Uint8Array): Uint8Array {
    if (!this.#secrets.length || !this.#holdsKey(chunk)) return chunk
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    for (const s of this.#secrets) if (buf.includes(s.bytes)) buf = replaceBytes(buf, s.bytes, s.maskedBytes)
    return buf
  }

  #holdsKey(chunk: Uint8Array): boolean {
    if (chunk.length <= SMALL_CHUNK) {
      const text = latin1.decode(chunk)
      for (const s of this.#secrets) if (text.includes(s.latin1)) return true
      return false
    }
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    for (const s of this.#secrets) if (buf.includes(s.bytes)) return true
    return false
  }

  toJSON() {
    return { keys: this.size }
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Redactor(${this.size} keys)`
  }
}

/** `buf` with every `find` replaced by `put` (a new buffer). */
function replaceBytes(buf: Buffer, find: Buffer, put: Buffer): Buffer {
  const parts: Buffer[] = []
  let from = 0
  for (let i = buf.indexOf(find); i >= 0; i = buf.indexOf(find, from)) {
    parts.push(buf.subarray(from, i), put)
    from = i + find.length
  }
  parts.push(buf.subarray(from))
  return Buffer.concat(parts)
}

class Handle implements PooledKey {
  declare readonly key: string
  constructor(
    key: string,
    readonly index: number,
    readonly name: string,
    readonly masked: string,
  ) {
    Object.defineProperty(this, 'key', { value: key, enumerable: false })
    Object.freeze(this)
  }
  toJSON() {
    return { index: this.index, name: this.name, masked: this.masked }
  }
  toString() {
    return this.name
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `PooledKey(${this.name})`
  }
}

interface Cooldown {
  until: number
  reason: string
  label: string
  kind: 'rate' | 'quota' | 'server'
}

interface Slot {
  pk: Handle
  weight: number
  current: number // smooth weighted round robin
  uses: number
  failures: number
  streak: number // consecutive rate limits, for the ladder
  /** hard: a rate limit or spent quota, key-wide; the key is not used until it ends */
  cool?: Cooldown
  /** soft: after a server error / network failure / stall; the key is used only when no healthy key is left */
  soft?: Cooldown
  disabled?: { reason: string; label: string; manual?: boolean }
  models: Map<string, Cooldown>
}

const normModel = (m?: string) => m?.replace(/^models\//, '') || undefined

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))} ms`
  if (ms < 100_000) return `${Math.ceil(ms / 1000)} s`
  if (ms < 7_200_000) return `${Math.ceil(ms / 60_000)} min`
  return `${Math.round(ms / 3_600_000)} h`
}

export class KeyPool {
  readonly provider: string
  private readonly slots: Slot[]
  private readonly strategy: Strategy
  private readonly now: () => number
  private readonly ladder: number[]
  private readonly quotaMs: number
  private readonly serverMs: number
  private readonly maxMs: number
  private readonly sticky = new Map<string, number>()
  /** this pool's keys (4+ characters), for messages about its own failures */
  readonly redactor: Redactor
  /** told of each rate-limit or quota cooldown, disable, enable and new sticky conversation (never of applyShared's) */
  onShare?: (e: KeyEvent) => void

  constructor(provider: string, keys: Array<string | KeySpec>, opts: PoolOptions = {}) {
    this.provider = provider
    this.strategy = opts.strategy ?? 'round_robin'
    this.now = opts.now ?? Date.now
    this.ladder = opts.ladderMs?.length ? opts.ladderMs : [5_000, 30_000, 300_000]
    this.quotaMs = opts.quotaCooldownMs ?? 3_600_000
    this.serverMs = opts.serverErrorCooldownMs ?? 2_000
    this.maxMs = opts.maxCooldownMs ?? DEFAULT_MAX_COOLDOWN_MS
    // an empty key is allowed only as the one slot of a keyless provider (a local Ollama / vLLM)
    const specs = keys.map(k => (typeof k === 'string' ? { key: k } : k)).filter(s => s.key?.trim() || keys.length === 1)
    const names = new Set<string>()
    this.slots = specs.map((s, index) => {
      const key = s.key.trim()
      const masked = maskKey(key)
      let name = s.name?.trim() || masked
      if (names.has(name)) name = `${name}#${index + 1}`
      names.add(name)
      const weight = Number.isFinite(s.weight) && s.weight! > 0 ? s.weight! : 1
      return { pk: new Handle(key, index, name, masked), weight, current: 0, uses: 0, failures: 0, streak: 0, models: new Map() }
    })
    this.redactor = new Redactor(
      this.slots.map(s => s.pk.key),
      4,
    )
  }

  get size() {
    return this.slots.length
  }

  /** A usable key for `model`: not rate-limited (key-wide or for that model), not disabled, not in `exclude`
   *  (raw keys or names already tried in this request). Keys in a short cooldown after a server error are used
   *  only when no healthy key is left (the one that failed longest ago first): 5xx and network trouble are rarely
   *  the key's fault, and treating them as hard would turn a burst of upstream errors into a pool-wide outage.
   *  `sticky`: see the file comment. */
  pick(opts: { model?: string; sticky?: string; exclude?: Set<string> } = {}): PooledKey | undefined {
    const now = this.now()
    const model = normModel(opts.model)
    const usable = this.slots.filter(s => this.availableAt(s, model) <= now && !opts.exclude?.has(s.pk.key) && !opts.exclude?.has(s.pk.name))
    if (!usable.length) return undefined
    const healthy = usable.filter(s => (s.soft?.until ?? 0) <= now)
    const ok = healthy.length ? healthy : [usable.reduce((a, b) => (b.soft!.until < a.soft!.until ? b : a))]
    let chosen: Slot | undefined
    if (opts.sticky) {
      const want = this.sticky.get(opts.sticky)
      if (want !== undefined) chosen = ok.find(s => s.pk.index === want)
    }
    chosen ??= this.byStrategy(ok)
    if (this.onShare && opts.sticky && this.sticky.get(opts.sticky) !== chosen.pk.index)
      this.onShare({ type: 'sticky', key: chosen.pk.name, sticky: opts.sticky })
    if (opts.sticky) this.remember(opts.sticky, chosen.pk.index)
    chosen.uses++
    return chosen.pk
  }

  /** The call made with `key` worked: the rate-limit ladder starts over and a soft (server-error) cooldown ends.
   *  Rate-limit cooldowns are kept. */
  success(key: PooledKey): void {
    const slot = this.slotOf(key)
    if (slot) {
      slot.streak = 0
      slot.soft = undefined
    }
  }

  /** Record a failed call made with `key` (status undefined = network error) and say whether to try another key.
   *  A PooledKey from an older pool is matched by its key, or ignored. */
  failure(key: PooledKey, f: FailureInput): FailureOutcome {
    const now = this.now()
    const v = classifyFailure(f, now)
    // masked before it is cut, so a key across the cut cannot leak in part
    const msg = clipLine(this.redact(v.message), MAX_REASON)
    const base = (v.label === 'network' ? 'network error' : `${f.status} from upstream`) + (msg ? `: ${msg}` : '')
    const slot = this.slotOf(key)
    if (v.kind === 'request') return { retryable: false, reason: base }
    if (slot) slot.failures++
    if (v.kind === 'auth') {
      if (slot) slot.disabled = { reason: base, label: v.label }
      if (slot) this.onShare?.({ type: 'disable', key: slot.pk.name, reason: base, label: v.label })
      return { retryable: true, disabled: true, reason: base }
    }

    let ms: number
    const why: string[] = []
    const model = normModel(v.model)
    if (v.kind === 'server') ms = this.serverMs
    else {
      const streak = slot ? ++slot.streak : 1
      const hint = v.hintMs === undefined ? undefined : Math.max(MIN_HINT_MS, v.hintMs)
      if (v.kind === 'quota') ms = Math.max(this.quotaMs, hint ?? 0)
      else ms = hint ?? this.ladder[Math.min(streak, this.ladder.length) - 1]!
      why.push(v.kind === 'quota' ? 'quota spent' : (v.hintSource ?? `backoff step ${Math.min(streak, this.ladder.length)}`))
    }
    if (ms > this.maxMs) why.push(`capped by retry.max_cooldown (${formatMs(this.maxMs)})`)
    ms = Math.ceil(Math.min(ms, this.maxMs))
    if (model) why.push(`model ${model}`)
    const reason = `${base} (cooling ${formatMs(ms)}${why.map(w => `, ${w}`).join('')})`
    if (slot) {
      const cd: Cooldown = { until: now + ms, reason, label: v.label, kind: v.kind === 'server' ? 'server' : v.kind === 'quota' ? 'quota' : 'rate' }
      if (cd.kind === 'server') {
        if (!slot.soft || slot.soft.until <= cd.until) slot.soft = cd
      } else if (this.coolSlot(slot, cd, model)) this.onShare?.({ type: 'cool', key: slot.pk.name, ...(model ? { model } : {}), ...cd } as KeyEvent)
    }
    return { retryable: true, cooldownMs: ms, reason }
  }

  /** Take a change another instance made (KeyEvent, through src/shared): the same state, told to no one. */
  applyShared(e: KeyEvent): void {
    const slot = this.slots.find(s => s.pk.name === e.key)
    if (!slot) return
    if (e.type === 'cool') this.coolSlot(slot, { until: e.until, reason: e.reason, label: e.label, kind: e.kind }, normModel(e.model))
    else if (e.type === 'disable') slot.disabled = { reason: e.reason, label: e.label, ...(e.manual ? { manual: true } : {}) }
    else if (e.type === 'enable') this.clearSlot(slot)
    else this.remember(e.sticky, slot.pk.index)
  }

  /** Epoch ms when the first rate-limited key can serve `model` again (for retry-after); undefined if one can
   *  now (a key in a soft cooldown after a server error can), or if every key is disabled. */
  soonestAvailable(model?: string): number | undefined {
    const now = this.now()
    const m = normModel(model)
    let soonest: number | undefined
    for (const s of this.slots) {
      if (s.disabled) continue
      const t = this.availableAt(s, m)
      if (t <= now) return undefined
      soonest = Math.min(soonest ?? t, t)
    }
    return soonest
  }

  /** No key can serve `model` now, and every key not disabled is held by a rate-limit or quota cooldown
   *  (not by a short cooldown after a server error): the 429-with-retry-after situation. */
  rateLimited(model?: string): boolean {
    const now = this.now()
    const m = normModel(model)
    let cooling = 0
    for (const s of this.slots) {
      if (s.disabled) continue
      if (this.availableAt(s, m) <= now) return false
      cooling++
    }
    return cooling > 0
  }

  /** Epoch ms when the first non-disabled key can serve `model` (may be ≤ now); undefined when every key is disabled. */
  nextAvailable(model?: string): number | undefined {
    const m = normModel(model)
    let soonest: number | undefined
    for (const s of this.slots) if (!s.disabled) soonest = Math.min(soonest ?? Infinity, this.availableAt(s, m))
    return soonest
  }

  states(): KeyState[] {
    const now = this.now()
    return this.slots.map(s => {
      const st: KeyState = { name: s.pk.name, masked: s.pk.masked, status: 'active', uses: s.uses, failures: s.failures }
      const cool = [s.cool, s.soft].filter((c): c is Cooldown => !!c && c.until > now).sort((a, b) => b.until - a.until)[0]
      if (s.disabled) Object.assign(st, { status: 'disabled', reason: s.disabled.reason }, s.disabled.manual ? { manual: true } : {})
      else if (cool) Object.assign(st, { status: 'cooling', until: cool.until, reason: cool.reason })
      const models = [...s.models].filter(([, c]) => c.until > now)
      if (models.length) st.models = Object.fromEntries(models.map(([m, c]) => [m, { until: c.until, reason: c.reason }]))
      return st
    })
  }

  /** Take the key named `name` out of use by hand, or put it back (a key disabled after an auth failure too; its
   *  cooldowns end). False when the pool has no key of that name. */
  setEnabled(name: string, enabled: boolean): boolean {
    const slot = this.slots.find(s => s.pk.name === name)
    if (!slot) return false
    if (enabled) this.clearSlot(slot)
    else slot.disabled = { reason: 'disabled by hand (admin API); enable it again with POST …/enable', label: 'admin', manual: true }
    const d = slot.disabled
    this.onShare?.(d ? { type: 'disable', key: name, reason: d.reason, label: d.label, manual: true } : { type: 'enable', key: name })
    return true
  }

  /** a key back in use: not disabled, no cooldown, the ladder from its first step */
  private clearSlot(slot: Slot): void {
    slot.disabled = undefined
    slot.cool = slot.soft = undefined
    slot.streak = 0
    slot.models.clear()
  }

  /** a hard cooldown on the slot (key-wide, or for `model`) unless a longer one runs; true when it was set */
  private coolSlot(slot: Slot, cd: Cooldown, model: string | undefined): boolean {
    const prev = model ? slot.models.get(model) : slot.cool
    if (prev && prev.until > cd.until) return false
    if (model) slot.models.set(model, cd)
    else slot.cool = cd
    return true
  }

  /** the names of the keys disabled by hand */
  manuallyDisabled(): string[] {
    return this.slots.filter(s => s.disabled?.manual).map(s => s.pk.name)
  }

  /** "3 keys of provider google: 2 cooling (429, 41 s), 1 disabled (403)" */
  describe(model?: string): string {
    const now = this.now()
    const m = normModel(model)
    let active = 0
    const cooling = { n: 0, labels: new Set<string>(), soonest: Infinity }
    const disabled = { n: 0, labels: new Set<string>() }
    for (const s of this.slots) {
      if (s.disabled) {
        disabled.n++
        disabled.labels.add(s.disabled.label)
        continue
      }
      const c = this.blocking(s, m, now)
      if (!c) {
        active++
        continue
      }
      cooling.n++
      cooling.labels.add(c.label)
      cooling.soonest = Math.min(cooling.soonest, c.until)
    }
    const parts: string[] = []
    if (active) parts.push(`${active} active`)
    if (cooling.n) parts.push(`${cooling.n} cooling (${[...cooling.labels].join('/')}, ${formatMs(cooling.soonest - now)})`)
    if (disabled.n) parts.push(`${disabled.n} disabled (${[...disabled.labels].join('/')})`)
    const n = this.slots.length
    return `${n} key${n === 1 ? '' : 's'} of provider ${this.provider}${parts.length ? `: ${parts.join(', ')}` : ''}`
  }

  toJSON() {
    return { provider: this.provider, strategy: this.strategy, keys: this.states() }
  }

  // ───────────── internals ─────────────

  private byStrategy(ok: Slot[]): Slot {
    if (this.strategy === 'fill_first') return ok[0]!
    if (this.strategy === 'least_used') return ok.reduce((a, b) => (b.uses < a.uses ? b : a))
    // smooth weighted round robin (nginx): raise each by its weight, take the highest, lower it by the total
    let total = 0
    let best = ok[0]!
    for (const s of ok) {
      s.current += s.weight
      total += s.weight
      if (s.current > best.current) best = s
    }
    best.current -= total
    return best
  }

  /** epoch ms from which the slot can serve `model` (Infinity when disabled) */
  private availableAt(s: Slot, model?: string): number {
    if (s.disabled) return Infinity
    return Math.max(s.cool?.until ?? 0, (model && s.models.get(model)?.until) || 0)
  }

  /** the cooldown currently running on the slot for `model`: a hard one (rate limit / quota) if any, else the
   *  soft one; the latest if several */
  private blocking(s: Slot, model: string | undefined, now: number): Cooldown | undefined {
    const live = (c: Cooldown | undefined): c is Cooldown => !!c && c.until > now
    const hard = [s.cool, model ? s.models.get(model) : undefined].filter(live)
    return (hard.length ? hard : [s.soft].filter(live)).sort((a, b) => b.until - a.until)[0]
  }

  private slotOf(key: PooledKey): Slot | undefined {
    const s = this.slots[key.index]
    return s && s.pk === key ? s : this.slots.find(x => x.pk.key === key.key)
  }

  private remember(sticky: string, index: number) {
    this.sticky.delete(sticky)
    this.sticky.set(sticky, index)
    if (this.sticky.size > STICKY_MEMO) this.sticky.delete(this.sticky.keys().next().value!)
  }

  /** `text` with every key of this pool replaced by its masked form. */
  redact(text: string): string {
    return this.redactor.text(text)
  }
}
