/**
 * One attempt: one call to one provider with one key, under the plan for that provider. The upstream call and
 * its failures are handled here; what a successful answer becomes is the plan kind's own strategy
 * (attempt-pass-through.ts, attempt-translated.ts).
 */
import type { Config } from '../config/schema'
import type { IRError } from '../ir/types'
import type { Provider } from '../providers/registry'
import type { PooledKey, Redactor } from '../providers/pool'
import { callUpstream } from '../providers/upstream-call'
import { readBodyGuarded, errorText, type LiveStream, type StreamLimits } from '../providers/stream-guard'
import { IRErrorValue } from '../ir/errors'
import type { Plan } from './plans'
import type { Attempt, Failure, ModelCall } from './types'
import { passThroughAnswer } from './attempt-pass-through'
import { translatedAnswer } from './attempt-translated'

/** What every attempt of a dispatcher shares (built once per app). */
export interface DispatchDeps {
  timeouts: Config['timeouts']
  heartbeatMs: number
  /** masks every configured key in text and bytes */
  redactor: Redactor
  /** answer bytes with every configured key masked; undefined when no key is configured */
  maskBytes?: (c: Uint8Array) => Uint8Array
  /** a message about `provider` with every key masked */
  scrub(msg: string, provider: Provider): string
  upstreamBodyMax: number
  sseEventMax: number
  /** the streams clients are still reading */
  streams: Set<LiveStream>
}

/** A plan that calls the upstream. */
export type UpstreamPlan = Exclude<Plan, { kind: 'local' }>

/** One attempt's inputs. */
export interface AttemptContext {
  call: ModelCall
  provider: Provider
  key: PooledKey
  model: string
  hops: string[]
  plan: UpstreamPlan
  deps: DispatchDeps
}

/** A successful upstream response as the strategies get it. */
export interface Upstreamed {
  res: Response
  /** aborts the upstream call */
  abort(): void
  startedAt: number
  /** epoch ms by which the first content (streams) or the whole answer must have arrived */
  firstDeadline: number
  limits: StreamLimits
}

const upstreamStreams = (plan: UpstreamPlan) => (plan.kind === 'pass-through' ? plan.upstreamStreams : !!plan.stream)

/** Headers the client sent that the provider type understands. */
function forwarded(a: AttemptContext): Record<string, string> {
  const forward: Record<string, string> = {}
  if (a.provider.type !== 'anthropic') return forward
  const beta = a.call.request.headers.get('anthropic-beta')
  if (beta) forward['anthropic-beta'] = beta
  const version = a.call.request.headers.get('anthropic-version')
  if (version && a.plan.kind === 'pass-through') forward['anthropic-version'] = version
  return forward
}

/** One call to one provider with one key; on success, the client's answer (first content already seen for streams).
 *  Throws IRErrorValue when the upstream encoder refuses the request. */
export async function attempt(a: AttemptContext): Promise<Attempt> {
  const t = a.deps.timeouts
  const startedAt = Date.now()
  const scrub = (e: IRError) => ({ ...e, message: a.deps.scrub(e.message, a.provider) })
  const limits: StreamLimits = { idleMs: t.idle * 1000, totalMs: t.total * 1000, startedAt, scrub }
  const { path, body } = a.plan.request(a.model)
  // streams must show content within first_token; a whole (non-streamed) answer may take up to total
  const firstDeadline = startedAt + (upstreamStreams(a.plan) ? Math.min(t.first_token, t.total) : t.total) * 1000
  const out = await callUpstream(a.provider, a.key.key, { path, body, forward: forwarded(a) }, {
    signal: a.call.request.signal, connectTimeoutMs: t.connect * 1000, headersDeadline: firstDeadline, hops: a.hops,
  })
  if (!out.ok) {
    if (out.network) return { ok: false, message: out.network, unreachable: out.why === 'connect' }
    return { ok: false, status: out.status, headers: out.headers, body: out.body, message: upstreamMessage(out.body, out.text) }
  }
  const up: Upstreamed = { res: out.res, abort: () => out.controller.abort(), startedAt, firstDeadline, limits }
  try {
    return a.plan.kind === 'pass-through' ? await passThroughAnswer(a, a.plan, up) : await translatedAnswer(a, a.plan, up)
  } catch (e) {
    up.abort()
    if (e instanceof IRErrorValue) return { ok: false, status: 502, message: e.error.message }
    return { ok: false, status: 502, message: `the upstream answer could not be read (${errorText(e)})` }
  }
}

/** The whole (non-streamed) answer, parsed; or why it is not one. */
export async function readWhole(a: AttemptContext, up: Upstreamed): Promise<{ ok: true; text: string; json: unknown } | Failure> {
  const t = a.deps.timeouts
  const read = await readBodyGuarded(up.res, { idleMs: t.idle * 1000, deadline: up.startedAt + t.total * 1000, maxBytes: a.deps.upstreamBodyMax })
  if (!read.ok) {
    up.abort()
    const refused = read.reason === 'too_large'
    return { ok: false, status: read.reason === 'error' || refused ? 502 : 504, message: read.message, refused }
  }
  const text = read.text
  try {
    return { ok: true, text, json: JSON.parse(text) }
  } catch {
    const html = /^\s*</.test(text)
    const message = html ? 'the upstream answered 200 with an HTML page instead of JSON'
      : text.trim() ? 'the upstream answered 200 with invalid JSON' : 'the upstream answered 200 with an empty body'
    return { ok: false, status: 502, message }
  }
}

/** A stream answered with an HTML page (a login wall, a proxy's error page): a failure, not a stream. */
export function htmlInsteadOfStream(up: Upstreamed): Failure | undefined {
  if (!/text\/html/i.test(up.res.headers.get('content-type') ?? '')) return undefined
  up.abort()
  return { ok: false, status: 502, message: 'the upstream answered 200 with an HTML page instead of a stream' }
}

/** An upstream's error message, whatever its dialect; whole (the caller masks keys, then cuts it). */
export function upstreamMessage(body: unknown, text?: string): string {
  const b = body as { error?: { message?: unknown } | unknown; message?: unknown } | undefined
  const inner = b && typeof b === 'object' ? b.error : undefined
  const m = (inner && typeof inner === 'object' ? (inner as { message?: unknown }).message : undefined) ?? b?.message ?? inner ?? (typeof body === 'string' ? body : undefined)
  if (typeof m === 'string') return m
  if (text && /^\s*</.test(text)) return 'the upstream answered with an HTML error page'
  return (text ?? '').replace(/\s+/g, ' ').trim() || 'no error message'
}
