/**
 * One HTTP call to a provider with one key: URL, auth headers per provider type, the client's abort,
 * and a deadline for the response headers to arrive.
 */
import type { Provider } from './registry'

export const HOP_HEADER = 'x-agproxy-hop'
/** identifies this process in x-agproxy-hop, for loop detection */
export const INSTANCE_ID = crypto.randomUUID().slice(0, 12)

export interface UpstreamRequest {
  /** path relative to the provider base URL, may carry a query string */
  path: string
  body: string | Uint8Array
  /** headers the client sent that the provider type understands (anthropic-beta, …) */
  forward?: Record<string, string>
}

export type CallOutcome =
  | { ok: true; res: Response; controller: AbortController }
  | { ok: false; status?: number; headers?: Headers; body?: unknown; text?: string; network?: string }

export function authHeaders(p: Provider, key: string): Record<string, string> {
  if (!key) return {}
  switch (p.type) {
    case 'openai': return { authorization: `Bearer ${key}` }
    case 'anthropic': return { 'x-api-key': key }
    case 'gemini': return { 'x-goog-api-key': key }
  }
}

export async function callUpstream(p: Provider, key: string, req: UpstreamRequest, opts: { signal: AbortSignal; headersTimeoutMs: number; hops: string[] }): Promise<CallOutcome> {
  const controller = new AbortController()
  const onAbort = () => controller.abort(opts.signal.reason)
  if (opts.signal.aborted) controller.abort()
  else opts.signal.addEventListener('abort', onAbort, { once: true })
  const timer = setTimeout(() => controller.abort(new Error('timeout')), opts.headersTimeoutMs)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'user-agent': 'agproxy',
    ...(p.type === 'anthropic' ? { 'anthropic-version': '2023-06-01' } : {}),
    ...req.forward,
    ...p.headers,
    ...authHeaders(p, key),
    [HOP_HEADER]: [...opts.hops, INSTANCE_ID].join(','),
  }
  try {
    const res = await fetch(p.baseUrl + req.path, { method: 'POST', headers, body: req.body as BodyInit, signal: controller.signal, redirect: 'follow' })
    clearTimeout(timer)
    if (res.ok) {
      // once streaming, only the client's abort ends the call (guards handle idle time)
      return { ok: true, res, controller }
    }
    const text = await readCapped(res, 65536)
    opts.signal.removeEventListener('abort', onAbort)
    let body: unknown
    try { body = JSON.parse(text) } catch { body = undefined }
    return { ok: false, status: res.status, headers: res.headers, body, text }
  } catch (e) {
    clearTimeout(timer)
    opts.signal.removeEventListener('abort', onAbort)
    const reason = controller.signal.aborted
      ? (opts.signal.aborted ? 'client closed the connection' : `no response within ${Math.round(opts.headersTimeoutMs / 1000)} s`)
      : ((e as Error).message || String(e)).replace(/\s+/g, ' ').slice(0, 200)
    return { ok: false, network: reason }
  }
}

async function readCapped(res: Response, max: number): Promise<string> {
  try {
    const buf = await res.arrayBuffer()
    return new TextDecoder().decode(buf.byteLength > max ? buf.slice(0, max) : buf)
  } catch {
    return ''
  }
}
