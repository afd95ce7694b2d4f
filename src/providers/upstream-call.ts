/**
 * One HTTP call to a provider with one key: URL, auth headers per provider type, the client's abort,
 * a connect deadline (timeouts.connect) and a deadline for the response headers to arrive.
 *
 * Bun's fetch has no connect timeout of its own, so the TCP connect is raced: while the request is on
 * its way, a bare TCP connection to the same host (or to the proxy fetch will use) is opened; if that
 * cannot connect within `connectTimeoutMs` and no response has arrived, the call is abandoned as a
 * connect failure, which the dispatcher fails over. An origin that answered recently is not probed.
 */
import type { Provider } from './registry'
import { azureAuth } from './azure'
import { bedrockAuth } from './bedrock'
import { errorText } from './stream-guard'
import { after } from './deadlines'

export const HOP_HEADER = 'x-agproxy-hop'
/** identifies this process in x-agproxy-hop, for loop detection */
export const INSTANCE_ID = crypto.randomUUID().slice(0, 12)

export interface UpstreamRequest {
  /** path relative to the provider base URL, may carry a query string */
  path: string
  body: string | Uint8Array
  /** the body's content type (default application/json; a multipart body keeps its boundary) */
  contentType?: string
  /** headers the client sent that the provider type understands (anthropic-beta, …) */
  forward?: Record<string, string>
}

export interface CallOptions {
  /** the client's request signal: its abort ends the upstream call (at once, or at LINK_AFTER_MS into the call) */
  signal: AbortSignal
  /** the TCP connection must be up within this */
  connectTimeoutMs: number
  /** epoch ms by which the response headers must have arrived */
  headersDeadline: number
  hops: string[]
  /** the app's knowledge of its upstream hosts (reachable lately, down) */
  hosts: HostHealth
  /** for error bodies that stall: how long to wait for the rest of an error body */
  errorBodyMs?: number
}

export type CallOutcome =
  | {
      ok: true
      res: Response
      controller: AbortController
      /** the answer has been read whole: the client's abort need not reach the call any more */
      release(): void
    }
  | { ok: false; status?: number; headers?: Headers; body?: unknown; text?: string; network?: string; why?: 'client' | 'connect' | 'headers' | 'network' }

/** A network failure that says the host cannot be reached at all (so no other key of that provider can help). */
export const CONNECT_FAILURE =
  /ECONNREFUSED|ConnectionRefused|Unable to connect|Failed to connect|could not connect|ENOTFOUND|EAI_AGAIN|getaddrinfo|DNS|EHOSTUNREACH|ENETUNREACH/i

/** The auth header of a provider type for one key (none for a keyless provider). */
export function authHeaders(p: Provider, key: string): Record<string, string> {
  if (!key) return {}
  if (p.azure) return azureAuth(p.azure, key)
  switch (p.type) {
    case 'openai':
      return { authorization: `Bearer ${key}` }
    case 'anthropic':
      return { 'x-api-key': key }
    case 'gemini':
      return { 'x-goog-api-key': key }
    default:
      return { authorization: `Bearer ${key}` }
  }
}

/** The headers of a call, made afresh: the content type, the client's forwarded headers, the provider's, the key's and the hop. */
function headersOf(p: Provider, key: string, req: UpstreamRequest, url: string, hops: string[]): Record<string, string> {
  return {
    'content-type': req.contentType ?? 'application/json',
    accept: 'application/json, text/event-stream',
    'user-agent': 'agproxy',
    'accept-encoding': ACCEPT_ENCODING,
    ...(p.type === 'anthropic' ? { 'anthropic-version': '2023-06-01' } : {}),
    ...req.forward,
    ...p.headers,
    // bedrock: SigV4 signs the final URL and body
    ...(p.bedrock && key ? bedrockAuth(p.bedrock, key, url, req.body) : authHeaders(p, key)),
    [HOP_HEADER]: [...hops, INSTANCE_ID].join(','),
  }
}

/** per provider, per key: the headers of a call that has nothing of its own (the usual one), made once as a Headers object
 *  (fetch only reads them, and copies a Headers natively: ≈ 7-10 µs less a call than reading a plain object's properties) */
const PLAIN_HEADERS = new WeakMap<Provider, Map<string, Headers>>()

/** The headers of a call: a JSON call with no forwarded header and no earlier hop to a provider that signs nothing per
 *  call (not Bedrock) gets its provider's and key's headers made once; any other is made afresh. */
function upstreamHeaders(p: Provider, key: string, req: UpstreamRequest, url: string, hops: string[]): Record<string, string> | Headers {
  if (req.contentType !== undefined || hops.length || p.bedrock || (req.forward && Object.keys(req.forward).length)) return headersOf(p, key, req, url, hops)
  let byKey = PLAIN_HEADERS.get(p)
  if (!byKey) PLAIN_HEADERS.set(p, (byKey = new Map()))
  let headers = byKey.get(key)
  if (!headers) {
    // a Vertex key is an access token, renewed hourly: the few latest are kept
    if (byKey.size >= 16) byKey.clear()
    byKey.set(key, (headers = new Headers(headersOf(p, key, req, url, hops))))
  }
  return headers
}

/** How long an upstream call runs before the client's abort is linked to it (an event listener on the client's signal
 *  costs ~2 % of a small call): a client that leaves before then ends the call when the link is made. */
export const LINK_AFTER_MS = 50

const seconds = (ms: number) => (ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${+(ms / 1000).toFixed(2)} s`)

export async function callUpstream(p: Provider, key: string, req: UpstreamRequest, opts: CallOptions): Promise<CallOutcome> {
  const controller = new AbortController()
  let why: 'client' | 'connect' | 'headers' | undefined
  let connectError = ''
  const stop = (w: typeof why) => {
    if (!controller.signal.aborted) {
      why = w
      controller.abort(new Error(w))
    }
  }
  // the client's abort is linked to the call once it has run LINK_AFTER_MS: a quick call never pays for the link
  const onAbort = () => stop('client')
  let linked = false
  const link = () => {
    if (opts.signal.aborted) return stop('client')
    linked = true
    opts.signal.addEventListener('abort', onAbort, { once: true })
  }
  const linking = opts.signal.aborted ? undefined : after(LINK_AFTER_MS, link)
  if (!linking) stop('client')
  const release = () => {
    linking?.cancel()
    if (linked) opts.signal.removeEventListener('abort', onAbort)
    linked = false
  }
  const headersMs = Math.max(1, opts.headersDeadline - Date.now())
  const deadline = after(headersMs, () => stop('headers'))
  const url = p.baseUrl + req.path
  let answered = false
  const probe = probeConnect(url, opts.connectTimeoutMs, opts.hosts)
  if (probe)
    probe.then(e => {
      if (e && !answered) {
        connectError = e
        stop('connect')
      }
    })

  const headers = upstreamHeaders(p, key, req, url, opts.hops)
  const done = () => {
    deadline.cancel()
    release()
  }
  try {
    // timeout: false: Bun's own 5-minute socket idle timer would cut long thinking pauses; the stream guards bound idle time
    // decompress: false: agproxy decodes the body itself, lazily (see `decoded`)
    const init = { method: 'POST', headers, body: req.body as BodyInit, signal: controller.signal, redirect: 'follow', timeout: false, decompress: false }
    const res = decoded(await fetch(url, init as RequestInit))
    answered = true
    opts.hosts.markReachable(url)
    deadline.cancel()
    if (res.ok) {
      // once streaming, only the client's abort (or the guards, through `controller`) ends the call
      return { ok: true, res, controller, release }
    }
    const text = await readCapped(res, 65536, opts.errorBodyMs ?? 10_000, controller)
    done()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    return { ok: false, status: res.status, headers: res.headers, body, text }
  } catch (e) {
    answered = true
    done()
    const reason =
      why === 'client'
        ? 'client closed the connection'
        : why === 'connect'
          ? connectError
          : why === 'headers'
            ? `no response within ${seconds(headersMs)}`
            : errorText(e)
    const kind = why ?? (CONNECT_FAILURE.test(reason) ? 'connect' : 'network')
    if (kind === 'connect') opts.hosts.markUnreachable(url)
    return { ok: false, network: reason, why: kind }
  }
}

/** content-encoding → the DecompressionStream format that undoes it */
const CODINGS: Record<string, CompressionFormat> = {
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  br: 'brotli' as CompressionFormat,
  zstd: 'zstd' as CompressionFormat,
}
/** what agproxy can decode (Bun's own default list) */
const ACCEPT_ENCODING = 'gzip, deflate, br, zstd'

/**
 * The answer with its body decoded as it is read. fetch's own decoding, once a body is dropped part-way, still
 * decodes everything already received (half a megabyte of gzip is 512 MB: measured 150-250 MB and up to a second on
 * fetch's HTTP thread, while every other upstream call waits); a DecompressionStream decodes only what is pulled,
 * in 64 KB chunks, and dropping it drops the rest. An unknown coding is left as it is.
 */
function decoded(res: Response): Response {
  const coding = res.headers.get('content-encoding')
  if (!coding || !res.body) return res
  const steps = coding
    .toLowerCase()
    .split(',')
    .map(c => c.trim())
    .filter(c => c && c !== 'identity')
  if (steps.some(c => !CODINGS[c])) return res
  let body = res.body
  // codings are listed in the order they were applied: undo the last first
  for (const c of steps.reverse()) body = body.pipeThrough(new DecompressionStream(CODINGS[c]!))
  const headers = new Headers(res.headers)
  headers.delete('content-encoding')
  headers.delete('content-length')
  return new Response(body, { status: res.status, statusText: res.statusText, headers })
}

/** An error body, at most `max` bytes and `ms` long (a stalled error body must not hold the attempt). */
async function readCapped(res: Response, max: number, ms: number, controller: AbortController): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  const timer = setTimeout(() => {
    reader.cancel().catch(() => {})
    controller.abort()
  }, ms)
  try {
    while (size < max) {
      const { value, done } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
    // end the call too: cancelling the reader alone leaves the connection open and the upstream sending
    if (size >= max) {
      reader.cancel().catch(() => {})
      controller.abort()
    }
  } catch {
    // keep what arrived
  } finally {
    clearTimeout(timer)
  }
  const all = new Uint8Array(Math.min(size, max))
  let at = 0
  for (const c of chunks) {
    const n = Math.min(c.byteLength, all.length - at)
    all.set(c.subarray(0, n), at)
    at += n
    if (at >= all.length) break
  }
  return new TextDecoder().decode(all)
}

// ───────────── connect deadline ─────────────

const REACHABLE_MS = 30_000
const UNREACHABLE_MS = 10_000

/** the origins of the URLs seen, each parsed once (providers' base URLs and their paths: a few; bounded anyway) */
const ORIGINS = new Map<string, string | undefined>()

const originOf = (url: string): string | undefined => {
  if (ORIGINS.has(url)) return ORIGINS.get(url)
  let origin: string | undefined
  try {
    origin = new URL(url).origin
  } catch {
    origin = undefined
  }
  if (ORIGINS.size >= 1000) ORIGINS.clear()
  ORIGINS.set(url, origin)
  return origin
}

/** Set `key` last in a bounded insertion-ordered map (the oldest entry goes past 1000). */
function setLast(m: Map<string, number>, key: string, v: number) {
  m.delete(key)
  m.set(key, v)
  if (m.size > 1000) {
    const oldest = m.keys().next().value
    if (oldest !== undefined) m.delete(oldest)
  }
}

/** What an app knows of its upstream hosts: which answered lately (no connect probe needed), which refused a
 *  connect moments ago (skipped while a fallback remains). One per app (src/state.ts): a reload starts afresh. */
export class HostHealth {
  /** origin → when it last answered or accepted a connection */
  private readonly reachable = new Map<string, number>()
  /** origin → until when it is considered down after a failed connect */
  private readonly unreachable = new Map<string, number>()

  markReachable(url: string) {
    const o = originOf(url)
    if (!o) return
    const now = Date.now()
    // marked within the last second and not down since: nothing changes (every call marks its origin)
    const seen = this.reachable.get(o)
    if (seen !== undefined && now - seen < 1000 && !this.unreachable.has(o)) return
    this.unreachable.delete(o)
    setLast(this.reachable, o, now)
  }

  markUnreachable(url: string) {
    const o = originOf(url)
    if (!o) return
    this.reachable.delete(o)
    setLast(this.unreachable, o, Date.now() + UNREACHABLE_MS)
  }

  /** A connect to this provider's host failed within the last few seconds (and nothing has answered since). */
  down(p: Pick<Provider, 'baseUrl'>): boolean {
    const o = originOf(p.baseUrl)
    const until = o ? this.unreachable.get(o) : undefined
    return until !== undefined && until > Date.now()
  }

  /** The origin answered or accepted a connection within the last REACHABLE_MS. */
  recentlyReached(origin: string): boolean {
    const seen = this.reachable.get(origin)
    return seen !== undefined && Date.now() - seen < REACHABLE_MS
  }
}

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443 }

/** The host fetch will open a TCP connection to: the proxy from the environment, if one applies, else the target. */
export function connectTarget(target: URL, env: Record<string, string | undefined> = process.env): { hostname: string; port: number } | undefined {
  const scheme = target.protocol
  const get = (n: string) => env[n] || env[n.toLowerCase()]
  const proxy = scheme === 'https:' ? (get('HTTPS_PROXY') ?? get('ALL_PROXY')) : (get('HTTP_PROXY') ?? get('ALL_PROXY'))
  let host = target
  if (proxy && !noProxy(target.hostname, get('NO_PROXY'))) {
    try {
      host = new URL(proxy.includes('://') ? proxy : `http://${proxy}`)
    } catch {
      return undefined
    }
  }
  const port = host.port ? Number(host.port) : DEFAULT_PORT[host.protocol]
  if (!port) return undefined
  return { hostname: host.hostname.replace(/^\[|\]$/g, ''), port }
}

function noProxy(hostname: string, list: string | undefined): boolean {
  if (!list) return false
  const h = hostname.toLowerCase()
  return list
    .split(/[,\s]+/)
    .filter(Boolean)
    .some(e => {
      const entry = e.toLowerCase().replace(/:\d+$/, '')
      if (entry === '*') return true
      const bare = entry.replace(/^\*?\./, '')
      return h === bare || h.endsWith(`.${bare}`)
    })
}

/** undefined when no probe is needed; else resolves undefined once connected, or with an error message. */
function probeConnect(url: string, ms: number, hosts: HostHealth): Promise<string | undefined> | undefined {
  const origin = originOf(url)
  if (!origin || hosts.recentlyReached(origin)) return undefined
  const u = new URL(url)
  const to = connectTarget(u)
  if (!to) return undefined
  const where = `${to.hostname}:${to.port}`
  return new Promise(resolve => {
    let settled = false
    const settle = (v: string | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (v === undefined) hosts.markReachable(url)
      resolve(v)
    }
    const timer = setTimeout(() => settle(`could not connect to ${where} within ${seconds(ms)} (timeouts.connect)`), Math.min(ms, 2_147_483_647))
    try {
      Bun.connect({
        hostname: to.hostname,
        port: to.port,
        socket: {
          open(s) {
            s.end()
            settle(undefined)
          },
          data() {},
          error() {},
          connectError(_s, e) {
            settle(`could not connect to ${where} (${e ? errorText(e) : 'connection failed'})`)
          },
        },
      }).then(
        () => {},
        e => settle(`could not connect to ${where} (${errorText(e)})`),
      )
    } catch (e) {
      settle(`could not connect to ${where} (${errorText(e)})`)
    }
  })
}
