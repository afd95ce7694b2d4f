/**
 * What the attempt strategies share: the dispatcher's dependencies, one attempt's context, the upstream response
 * as they get it, and reading a whole answer.
 */
import type { Config } from '../config/schema'
import type { Provider } from '../providers/registry'
import type { PooledKey, Redactor } from '../providers/pool'
import { readBodyGuarded, type LiveStream, type StreamLimits } from '../providers/stream-guard'
import type { HostHealth } from '../providers/upstream-call'
import type { Plan } from './plans'
import type { Failure, ModelCall } from './types'

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
  /** the app's knowledge of its upstream hosts */
  hosts: HostHealth
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
  /** vertex: this attempt is the repeat with a new access token, after the cached one got a 401 */
  freshToken?: boolean
}

/** A successful upstream response as the strategies get it. */
export interface Upstreamed {
  res: Response
  /** aborts the upstream call */
  abort(): void
  /** the answer has been read whole: the client's abort need not reach the upstream call any more */
  release(): void
  startedAt: number
  /** epoch ms by which the first content (streams) or the whole answer must have arrived */
  firstDeadline: number
  limits: StreamLimits
}

/** A text answer some APIs give (a transcription as text, srt or vtt): its content type, else undefined. */
const textAnswer = (up: Upstreamed) => {
  const type = up.res.headers.get('content-type') ?? ''
  return /^(text\/(plain|vtt)|application\/x-subrip)\b/i.test(type) ? type : undefined
}

/** The whole (non-streamed) answer, parsed; or why it is not one. `text`: an answer of a text type (textAnswer) is one too,
 *  returned with its content type and no JSON. */
export async function readWhole(
  a: AttemptContext,
  up: Upstreamed,
  text?: boolean,
): Promise<{ ok: true; text: string; json: unknown; contentType?: string } | Failure> {
  const t = a.deps.timeouts
  const read = await readBodyGuarded(up.res, { idleMs: t.idle * 1000, deadline: up.startedAt + t.total * 1000, maxBytes: a.deps.upstreamBodyMax })
  up.release()
  if (!read.ok) {
    up.abort()
    const refused = read.reason === 'too_large'
    return { ok: false, status: read.reason === 'error' || refused ? 502 : 504, message: read.message, refused }
  }
  const body = read.text
  const type = text ? textAnswer(up) : undefined
  if (type) return { ok: true, text: body, json: undefined, contentType: type }
  try {
    return { ok: true, text: body, json: JSON.parse(body) }
  } catch {
    const html = /^\s*</.test(body)
    const message = html
      ? 'the upstream answered 200 with an HTML page instead of JSON'
      : body.trim()
        ? 'the upstream answered 200 with invalid JSON'
        : 'the upstream answered 200 with an empty body'
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
  const innerMessage = inner && typeof inner === 'object' ? (inner as { message?: unknown }).message : undefined
  const m = innerMessage ?? b?.message ?? inner ?? (typeof body === 'string' ? body : undefined)
  if (typeof m === 'string') return m
  if (text && /^\s*</.test(text)) return 'the upstream answered with an HTML error page'
  return (text ?? '').replace(/\s+/g, ' ').trim() || 'no error message'
}
