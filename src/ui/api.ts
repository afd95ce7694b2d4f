/**
 * The dashboard's client of the admin API: the admin key lives in this tab's sessionStorage and travels only in the
 * Authorization header (never in a URL). A 401 logs the page out. The live feed is read with fetch (EventSource
 * cannot send a header), parsing Server-Sent Events from the body.
 */
const STORE = 'agproxy.adminKey'

export const adminKey = (): string | null => sessionStorage.getItem(STORE)
export const saveKey = (key: string) => sessionStorage.setItem(STORE, key)

/** Forget the key and tell the page (it shows the login again). */
export function logout(message?: string) {
  sessionStorage.removeItem(STORE)
  dispatchEvent(new CustomEvent('agproxy:logout', { detail: message }))
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** The error message of an error answer in any dialect's shape. */
async function messageOf(res: Response): Promise<string> {
  const text = await res.text()
  try {
    const j = JSON.parse(text)
    return j?.error?.message ?? j?.message ?? text
  } catch {
    return text || `${res.status} ${res.statusText}`
  }
}

/** Headers of an admin call with `key` (default: the stored one). */
const headersOf = (key = adminKey() ?? '', json = false): Record<string, string> => ({
  authorization: `Bearer ${key}`,
  ...(json ? { 'content-type': 'application/json' } : {}),
})

/** Check a key: the status answer, or the refusal's message. */
export async function checkKey(key: string): Promise<{ ok: true } | { ok: false; message: string }> {
  const res = await fetch('/admin/status', { headers: headersOf(key) })
  return res.ok ? { ok: true } : { ok: false, message: await messageOf(res) }
}

/** GET (or POST with `body`) an admin path; throws ApiError with the server's message. */
export async function api<T>(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: headersOf(undefined, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (res.status === 401) logout('The admin key was refused; log in again.')
  if (!res.ok) throw new ApiError(res.status, await messageOf(res))
  return (await res.json()) as T
}

/** Read /admin/events until `signal` aborts, calling `onRecord` per finished request; `onState` with the connection's state. */
export async function tail(onRecord: (r: RequestRow) => void, onState: (s: 'live' | 'reconnecting') => void, signal: AbortSignal) {
  while (!signal.aborted) {
    try {
      const res = await fetch('/admin/events', { headers: headersOf(), signal })
      if (res.status === 401) return logout('The admin key was refused; log in again.')
      if (!res.ok || !res.body) throw new Error(String(res.status))
      onState('live')
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let buf = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buf += value
        let cut = buf.indexOf('\n\n')
        while (cut >= 0) {
          const frame = buf.slice(0, cut)
          buf = buf.slice(cut + 2)
          const event = /^event: (.*)$/m.exec(frame)?.[1]
          const data = frame
            .split('\n')
            .filter(l => l.startsWith('data: '))
            .map(l => l.slice(6))
            .join('\n')
          if (event === 'request' && data) onRecord(JSON.parse(data) as RequestRow)
          cut = buf.indexOf('\n\n')
        }
      }
    } catch {
      if (signal.aborted) return
    }
    onState('reconnecting')
    await new Promise(r => setTimeout(r, 2000))
  }
}

export interface Usage {
  inputTokens: number
  outputTokens: number
  cachedTokens?: number
  reasoningTokens?: number
}

export interface Attempt {
  provider: string
  model: string
  key: string
  status: number
  error?: string
  message?: string
  ms: number
}

/** A finished request as the feed and the request log give it. */
export interface RequestRow {
  id: string
  time: number
  client: string
  method: string
  path: string
  resolved?: string
  status: number
  dialect: string
  endpoint?: string
  stream: boolean
  model?: string
  provider?: string
  routedModel?: string
  key?: string
  clientKey?: string
  attempts: Attempt[]
  retries: number
  failovers: number
  latencyMs: number
  ttfbMs?: number
  usage?: Usage
  errorKind?: string
  error?: string
  end?: string
  costUsd: number | null
  requestBody?: string
  responseBody?: string
}

export interface StatsPoint {
  t: number
  requests: number
  errors: number
  p50Ms: number | null
  p95Ms: number | null
  inputTokens: number
  outputTokens: number
}

export interface Overview {
  version: string
  uptimeSeconds: number
  status: 'ok' | 'degraded'
  reasons: string[]
  authMode: string
  addresses: { local: string; lan: string[] }
  openStreams: number
  providers: number
  requestLog: boolean
  now: number
  hour: StatsPoint[]
  day: StatsPoint[]
}

export interface KeyState {
  name: string
  masked: string
  status: 'active' | 'cooling' | 'disabled'
  until?: number
  reason?: string
  uses: number
  failures: number
  manual?: boolean
  models?: Record<string, { until: number; reason: string }>
}

export interface Providers {
  now: number
  providers: Array<{ name: string; type: string; strategy: string; baseUrl: string; keys: KeyState[] }>
}

export interface ClientKey {
  name: string
  source?: string
  status: 'active' | 'revoked' | 'expired'
  models?: string[]
  rpm?: number
  tpm?: number
  maxParallel?: number
  budget?: { usd: number; period: string }
  expires?: number
  note?: string
  created?: number
  revoked?: number
  usage: { requestsThisMinute: number; tokensThisMinute: number; running: number; spentUsd?: number; budgetResets?: number }
}

export interface UsageRow {
  day?: string
  clientKey?: string
  provider?: string
  model?: string
  requests: number
  errors: number
  inputTokens: number
  outputTokens: number
  cachedTokens: number
  reasoningTokens: number
  costUsd: number | null
  unpriced: number
}

export interface Clients {
  origin: string
  text: string
  /** each client's settings: the entries of `text` */
  clients: Array<{ client: string; settings: string }>
  families: Array<{ dialect: string; clients: string; setting: string; baseUrl: string }>
}

export interface TryResult {
  ok: boolean
  status: number
  dialect: string
  path: string
  provider?: string
  model?: string
  answer?: string
  error?: string
  ms: number
  attempts: Attempt[]
}
