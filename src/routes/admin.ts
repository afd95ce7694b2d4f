/**
 * /admin/*: the admin API (the front door lets only the admin key in: src/http/front.ts). Status, the configuration
 * (secrets masked), key pools with enable/disable, the request log and usage (src/store), reload, and /admin/events:
 * finished requests as Server-Sent Events, each reader with a bounded buffer (a slow one loses the oldest, never grows).
 */
import { Elysia, t } from 'elysia'
import type { Config } from '../config/schema'
import type { Dispatcher } from '../dispatch'
import type { AppState } from '../state'
import type { Recorder, RequestRecord } from '../observe/record'
import type { RequestLog } from '../store/request-log'
import type { Pricer } from '../store/prices'
import { parseSince, parseStatus, parseUsageGroups } from '../store/query'
import { SCHEMA_VERSION } from '../store/sql'
import { maskKey } from '../providers/pool'
import { displayUrl } from '../config/display-url'
import { detectDialect, err, renderError, summarize } from '../http/errors'
import { keysStatus } from './status'
import { VERSION } from '../version'
import type { ClientKeys } from '../clientkeys'
import { CLIENT_KEY_NAME, ClientKeyLimits } from '../config/schema'
import { effectiveAuthMode } from '../config/load'
import { generateKey } from '../http/auth'
import { compileOnFirstUse } from '../schema/validate'
import type { RequestStats } from '../observe/stats'
import { clientEntries, clientsText, displayOrigin, lanOrigins } from '../http/banner'
import { clientFamilies } from '../http/clients'
import { tryPrompt, type InProcessCall } from './try'

/** What /admin/reload runs (SIGHUP's reload); `ok` false leaves the running configuration. */
export type ReloadAction = () => { ok: boolean; message: string }

export interface AdminDeps {
  config: Config
  dispatcher: Dispatcher
  state: AppState
  requestLog?: RequestLog
  /** finished requests of every configuration this listener serves (survives reloads) */
  events: Recorder
  pricer: Pricer
  clientKeys: ClientKeys
  reload?: ReloadAction
  startedAt: number
  /** per-minute request statistics (the dashboard's overview charts) */
  stats: RequestStats
  /** the address agproxy listens on */
  listenOrigin: () => string
  /** a call into this app's routes, past the front door (POST /admin/try) */
  call: InProcessCall
}

/** A runtime key created while auth is off: its limits hold when it is sent, but a request without a key (or with a
 *  revoked one) is let through; the answer says so and names the setting. */
export const authOffWarning = (c: Config): { warning?: string } =>
  effectiveAuthMode(c) === 'off'
    ? {
        warning:
          'auth is off (auth_mode: auto, on loopback, with no api_keys or client_keys in the configuration): requests without a key, ' +
          'or with a revoked one, are let through without limits. Set auth_mode: all_except_health (or strict) in agproxy.yaml to require a key.',
      }
    : {}

/** events a slow /admin/events reader may lag behind before the oldest are dropped */
export const EVENTS_BUFFER = 1000
const HEARTBEAT_MS = 15_000

const SECURITY = [{ adminKey: [] }]
/** An admin operation's documentation: what it answers (JSON unless `contentType` says otherwise) and its 401/403. */
const detail = (summary: string, description = summary, contentType = 'application/json') => ({
  tags: ['Admin'],
  summary,
  description: `${description}. Needs the admin key (\`Authorization: Bearer <admin key>\`); a client key gets 403.`,
  security: SECURITY,
  responses: {
    200: {
      description: summary,
      content: { [contentType]: { schema: contentType === 'application/json' ? { type: 'object' as const } : { type: 'string' as const } } },
    },
    401: { description: 'No admin key, or a wrong one' },
    403: { description: 'A client key, or the admin API is off (no admin_key)' },
    default: {
      description: 'An error: `{"error":{"message","type","param","code"}}` (the dialect of the path: OpenAI for /admin)',
      content: { 'application/json': { schema: { type: 'object' as const, properties: { error: { type: 'object' as const } } } } },
    },
  },
})

/** Settings whose values are secrets, wherever they are in the configuration. */
const SECRET = /key|token|secret|passw|credential|authorization|cookie/i

/** The configuration with every secret masked (keys, header values) and URLs without credentials. */
export function redactConfig(value: unknown, name = ''): unknown {
  if (Array.isArray(value)) return value.map(v => redactConfig(v, name))
  if (value && typeof value === 'object') {
    const secretBlock = name === 'headers'
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, secretBlock && typeof v === 'string' ? maskKey(v) : redactConfig(v, k)]))
  }
  if (typeof value === 'string' && SECRET.test(name)) return maskKey(value)
  if (typeof value === 'string' && name === 'base_url') return displayUrl(value)
  return value
}

/** A finished request as the event feed and the API show it (no bodies), with its cost. */
const summary = (r: RequestRecord, pricer: Pricer) => {
  const { requestBody: _q, responseBody: _a, ...rest } = r
  return { ...rest, costUsd: pricer(r.routedModel ?? r.model, r.usage, r.provider) }
}

/** The SSE stream of finished requests for one reader: bounded, heartbeats, unsubscribed when the reader leaves. */
function eventStream(events: Recorder, pricer: Pricer, filter: (r: RequestRecord) => boolean): ReadableStream<Uint8Array> {
  const enc = new TextEncoder()
  const buf: RequestRecord[] = []
  let lost = 0
  let wake: (() => void) | undefined
  let unsubscribe = () => {}
  let beat: ReturnType<typeof setInterval> | undefined
  let ping = false
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        // the head and a first line at once: a client waits for nothing to know it is connected
        controller.enqueue(enc.encode(': connected\n\n'))
        unsubscribe = events.subscribe(r => {
          if (!filter(r)) return
          if (buf.length >= EVENTS_BUFFER) {
            buf.shift()
            lost++
          }
          buf.push(r)
          wake?.()
        })
        beat = setInterval(() => {
          ping = true
          wake?.()
        }, HEARTBEAT_MS)
      },
      async pull(controller) {
        if (!buf.length && !ping) await new Promise<void>(r => (wake = r))
        wake = undefined
        let out = ping ? ': ping\n\n' : ''
        ping = false
        if (lost) out += `event: dropped\ndata: ${JSON.stringify({ dropped: lost })}\n\n`
        lost = 0
        for (const r of buf.splice(0)) out += `event: request\ndata: ${JSON.stringify(summary(r, pricer))}\n\n`
        controller.enqueue(enc.encode(out))
      },
      cancel() {
        unsubscribe()
        clearInterval(beat)
        wake?.()
      },
    },
    { highWaterMark: 0 },
  )
}

const RequestsQuery = t.Object({
  since: t.Optional(t.String({ description: 'a time (ISO 8601, ms since the epoch) or an age: 30m, 24h, 7d' })),
  until: t.Optional(t.String()),
  status: t.Optional(t.String({ description: 'a status (429) or a class (5xx)' })),
  model: t.Optional(t.String()),
  provider: t.Optional(t.String()),
  key: t.Optional(t.String({ description: "the client key's name" })),
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: 500, default: 50 })),
  before: t.Optional(t.String({ description: 'the page after this id (the `next` of the previous page)' })),
})

const NewKey = t.Object(
  {
    name: t.String({ pattern: CLIENT_KEY_NAME, description: '[A-Za-z0-9_.@-], unique; how usage and the request log name the key' }),
    key: t.Optional(t.String({ minLength: 16, description: 'the key itself (default: one is generated)' })),
    ...ClientKeyLimits,
  },
  { additionalProperties: false },
)

const checkNewKey = compileOnFirstUse(NewKey, (v, path) => (path === 'key' ? 'a key (not shown)' : (JSON.stringify(v)?.slice(0, 80) ?? String(v))))

/** A JSON body validated by `check`; a message naming the field when it is not valid (`example`: what a good one looks like). */
async function jsonBody<T>(request: Request, check: (v: unknown) => { path: string; message: string } | undefined, example: string): Promise<T | string> {
  let body: unknown
  try {
    body = await request.json()
  } catch {
    return `The body must be a JSON object such as ${example}.`
  }
  const bad = check(body)
  return bad ? `${bad.path || 'body'}: ${bad.message}` : (body as T)
}

/** The POST /admin/keys body, validated (a key is never echoed). */
const newKeyBody = (request: Request) => jsonBody<typeof NewKey.static>(request, checkNewKey, '{"name": "alice", "rpm": 60}')

/** The limits of a POST /admin/keys body as stored (expires as ms); a message when expires is not a date. */
function limitsOfBody(b: typeof NewKey.static) {
  const expires = b.expires === undefined ? undefined : Date.parse(b.expires)
  if (Number.isNaN(expires)) return `expires: "${b.expires}" is not a date; write an ISO 8601 date or time such as 2026-12-31 or 2026-12-31T18:00:00Z.`
  const out = { name: b.name, models: b.models, rpm: b.rpm, tpm: b.tpm, maxParallel: b.max_parallel, budget: b.budget, expires, note: b.note }
  for (const k of Object.keys(out) as Array<keyof typeof out>) if (out[k] === undefined) delete out[k]
  return out
}

const TryBody = t.Object(
  {
    dialect: t.Union([t.Literal('openai'), t.Literal('anthropic'), t.Literal('gemini')]),
    model: t.String({ minLength: 1, maxLength: 200 }),
    prompt: t.String({ minLength: 1, maxLength: 20000 }),
    max_tokens: t.Optional(t.Integer({ minimum: 1, maximum: 4096 })),
  },
  { additionalProperties: false },
)
const checkTryBody = compileOnFirstUse(TryBody)

/** The POST /admin/try body, validated. */
const tryBody = (request: Request) =>
  jsonBody<typeof TryBody.static>(request, checkTryBody, '{"dialect": "openai", "model": "gpt-4o-mini", "prompt": "Say hello"}')

export const adminRoutes = (d: AdminDeps) => {
  const refuse = (request: Request, status: 'not_found' | 'invalid_request' | 'unavailable', message: string) => {
    const url = new URL(request.url)
    return renderError(detectDialect(url.pathname, request.headers, url.searchParams), err(status, message))
  }
  /** the store, or the answer saying why there is none */
  const store = (request: Request) => {
    const s = d.requestLog?.reader
    if (s) return s
    return refuse(
      request,
      d.requestLog ? 'unavailable' : 'not_found',
      d.requestLog
        ? `The request log's database is not available: ${d.requestLog.problem ?? 'not open yet'}.`
        : 'The request log is off (request_log: false in agproxy.yaml); turn it on to query requests and usage.',
    )
  }
  /** the store's answer (now or awaited), or a 503 in the caller's dialect naming the database's error */
  const asked = async <T>(request: Request, q: () => T | Promise<T>): Promise<T | Response> => {
    try {
      return await q()
    } catch (e) {
      return refuse(request, 'unavailable', `The request log's database did not answer: ${summarize(e)}; check that it is running (database_url).`)
    }
  }
  const setKey =
    (enabled: boolean) =>
    ({ params, request }: { params: { provider: string; name: string }; request: Request }) => {
      const p = d.dispatcher.providers.get(params.provider)
      if (!p) return refuse(request, 'not_found', `No provider is named "${params.provider}"; GET /admin/providers lists them.`)
      if (!p.pool.setEnabled(params.name, enabled))
        return refuse(
          request,
          'not_found',
          `Provider ${p.name} has no key named "${params.name}"; GET /admin/providers lists its keys (by name or masked form).`,
        )
      return { provider: p.name, key: params.name, status: enabled ? 'enabled' : 'disabled' }
    }
  const KeyParams = t.Object({ provider: t.String(), name: t.String() })
  /** the port agproxy listens on (the configured one until it listens) */
  const listenPort = () => Number(new URL(d.listenOrigin()).port) || d.config.port

  return new Elysia({ name: 'admin' })
    .get(
      '/admin/status',
      async () => {
        const s = d.requestLog?.reader
        let db: unknown
        try {
          db = await s?.info()
        } catch (e) {
          db = { error: (e as Error).message }
        }
        return {
          version: VERSION,
          uptimeSeconds: Math.round((Date.now() - d.startedAt) / 1000),
          status: d.state.degraded.size ? 'degraded' : 'ok',
          reasons: [...d.state.degraded].map(([source, why]) => `${source}: ${why}`),
          providers: [...d.dispatcher.providers.values()].map(p => ({ name: p.name, type: p.type, keys: p.pool.size })),
          requestLog: d.requestLog
            ? {
                enabled: true,
                file: d.requestLog.file,
                queued: d.requestLog.queued,
                droppedRows: d.state.dropped.logRows,
                schema: SCHEMA_VERSION,
                database: db,
              }
            : { enabled: false },
        }
      },
      { detail: detail('Version, uptime, health reasons, providers, request-log state') },
    )
    .get(
      '/admin/overview',
      () => {
        const port = listenPort()
        return {
          version: VERSION,
          uptimeSeconds: Math.round((Date.now() - d.startedAt) / 1000),
          status: d.state.degraded.size ? 'degraded' : 'ok',
          reasons: [...d.state.degraded].map(([source, why]) => `${source}: ${why}`),
          authMode: effectiveAuthMode(d.config),
          addresses: { local: displayOrigin(d.config, port), lan: lanOrigins(d.config, port) },
          openStreams: d.state.streams.size,
          providers: d.dispatcher.providers.size,
          requestLog: d.requestLog !== undefined,
          now: Date.now(),
          ...d.stats.windows(),
        }
      },
      {
        detail: detail(
          'The dashboard overview: addresses, auth mode, health, open streams; requests, errors, p50/p95 latency and tokens per minute (last hour) and per hour (last day)',
          'The dashboard overview: listen addresses, auth mode, version, uptime, health, open streams, and per-interval statistics of this process ' +
            '(`hour`: 60 one-minute points, `day`: 24 one-hour points; each `t`, `requests`, `errors`, `p50Ms`, `p95Ms`, `inputTokens`, `outputTokens`)',
        ),
      },
    )
    .get(
      '/admin/clients',
      () => {
        const port = listenPort()
        const origin = displayOrigin(d.config, port)
        return { origin, text: clientsText(d.config, port), clients: clientEntries(d.config, port), families: clientFamilies(origin) }
      },
      { detail: detail("Each client's settings for this instance (the text of `agproxy clients`)") },
    )
    .post(
      '/admin/try',
      async ({ request }) => {
        const body = await tryBody(request)
        return typeof body === 'string' ? refuse(request, 'invalid_request', body) : tryPrompt(d.call, d.state.recorder, body)
      },
      {
        parse: 'none',
        detail: detail(
          'Send one prompt through a dialect and a model, in-process; the answer and the route it took',
          "Send one prompt (non-streaming) through a dialect to a model, in-process through this agproxy's own routes (traced and logged as client " +
            '"dashboard"). The JSON body: `dialect` (openai | anthropic | gemini), `model`, `prompt`, optionally `max_tokens` (default 256). The answer: ' +
            "`{ok, status, dialect, path, provider, model, answer | error, ms, attempts, usage}`: the route a client's call would take",
        ),
      },
    )
    .get('/admin/config', () => redactConfig(d.config), { detail: detail('The running configuration (keys and header values masked)') })
    .get(
      '/admin/providers',
      () => {
        const s = keysStatus(d.dispatcher)
        return { ...s, providers: s.providers.map(p => ({ ...p, baseUrl: displayUrl(d.dispatcher.providers.get(p.name)?.baseUrl ?? '') })) }
      },
      { detail: detail('Providers and their key states (names or masked keys only)') },
    )
    .post('/admin/providers/:provider/keys/:name/disable', setKey(false), {
      params: KeyParams,
      detail: detail('Take a key out of use until it is enabled again'),
    })
    .post('/admin/providers/:provider/keys/:name/enable', setKey(true), {
      params: KeyParams,
      detail: detail('Put a key back in use (also one disabled after an auth failure)'),
    })
    .get('/admin/keys', async () => ({ keys: await d.clientKeys.list() }), {
      detail: detail("Client keys: each one's limits and its use of them (names only, never a key)"),
    })
    .post(
      '/admin/keys',
      async ({ request, set }) => {
        const body = await newKeyBody(request)
        if (typeof body === 'string') return refuse(request, 'invalid_request', body)
        const limits = limitsOfBody(body)
        if (typeof limits === 'string') return refuse(request, 'invalid_request', limits)
        const key = body.key ?? generateKey()
        const refused = await d.clientKeys.create(limits, key)
        if (refused) return renderError('openai', refused)
        set.status = 201
        return { ...limits, key, note: limits.note, shown: 'once: agproxy keeps only its SHA-256', ...authOffWarning(d.config) }
      },
      {
        parse: 'none',
        detail: detail(
          'Create a client key (the key is in this answer only; agproxy keeps its hash)',
          'Create a client key. The JSON body: `name` ([A-Za-z0-9_.@-]), and optionally `key` (else one is generated), `models` (globs), ' +
            '`rpm`, `tpm`, `max_parallel`, `budget` (`{"usd": 5, "period": "day|week|month"}`), `expires` (ISO 8601), `note`. ' +
            'The answer holds the key, this once: agproxy keeps only its SHA-256',
        ),
      },
    )
    .post(
      '/admin/keys/:name/revoke',
      async ({ params }) => {
        const refused = await d.clientKeys.revoke(params.name)
        return refused ? renderError('openai', refused) : { name: params.name, status: 'revoked' }
      },
      { params: t.Object({ name: t.String() }), detail: detail('Revoke a runtime client key (refused from now on)') },
    )
    .post(
      '/admin/keys/:name/rotate',
      async ({ params }) => {
        const key = generateKey()
        const refused = await d.clientKeys.rotate(params.name, key)
        return refused ? renderError('openai', refused) : { name: params.name, key, shown: 'once: agproxy keeps only its SHA-256' }
      },
      { params: t.Object({ name: t.String() }), detail: detail('Give a runtime client key a new secret (the old one is refused from now on)') },
    )
    .get(
      '/admin/requests',
      async ({ query, request }) => {
        const s = store(request)
        if (s instanceof Response) return s
        const now = Date.now()
        const since = query.since ? parseSince(query.since, now) : undefined
        const until = query.until ? parseSince(query.until, now) : undefined
        if (Number.isNaN(since) || Number.isNaN(until))
          return refuse(request, 'invalid_request', 'since/until: expected a time (ISO 8601 or ms since the epoch) or an age such as 30m, 24h, 7d.')
        const status = query.status ? parseStatus(query.status) : undefined
        if (typeof status === 'string') return refuse(request, 'invalid_request', `${status}.`)
        const rows = await asked(request, () => s.requests({ ...query, clientKey: query.key, since, until }))
        if (rows instanceof Response) return rows
        return { requests: rows, next: rows.length === (query.limit ?? 50) ? rows.at(-1)?.id : undefined }
      },
      { query: RequestsQuery, detail: detail('The request log, newest first, paged and filtered') },
    )
    .get(
      '/admin/requests/:id',
      async ({ params, request }) => {
        const s = store(request)
        if (s instanceof Response) return s
        return (
          (await asked(request, () => s.request(params.id))) ??
          refuse(request, 'not_found', `No request ${params.id} in the request log (it may be older than log_retention).`)
        )
      },
      { params: t.Object({ id: t.String() }), detail: detail('One request: attempts, usage, cost, bodies (with log_bodies)') },
    )
    .get(
      '/admin/usage',
      async ({ query, request }) => {
        const s = store(request)
        if (s instanceof Response) return s
        const groups = parseUsageGroups(query.by ?? 'day')
        if (typeof groups === 'string') return refuse(request, 'invalid_request', groups)
        const since = query.since ? parseSince(query.since, Date.now()) : undefined
        if (Number.isNaN(since)) return refuse(request, 'invalid_request', 'since: expected a time (ISO 8601) or an age such as 7d.')
        const rows = await asked(request, () => s.usage({ by: groups, sinceDay: since === undefined ? undefined : new Date(since).toISOString().slice(0, 10) }))
        if (rows instanceof Response) return rows
        return { by: groups, rows }
      },
      {
        query: t.Object({
          since: t.Optional(t.String({ description: 'a day (2026-01-31) or an age: 7d' })),
          by: t.Optional(t.String({ description: 'comma-separated: day, key, model, provider (default day)' })),
        }),
        detail: detail('Usage per day × client key × provider × model: requests, errors, tokens, cost in USD (null = unknown price)'),
      },
    )
    .post(
      '/admin/reload',
      ({ request }) => {
        if (!d.reload) return refuse(request, 'invalid_request', 'This instance was started without a configuration source to reload from.')
        const r = d.reload()
        return r.ok ? { reloaded: true, message: r.message } : refuse(request, 'invalid_request', r.message)
      },
      { detail: detail('Read the configuration again (what SIGHUP does)') },
    )
    .get(
      '/admin/events',
      ({ query, request }) => {
        const status = query.status ? parseStatus(query.status) : undefined
        if (typeof status === 'string') return refuse(request, 'invalid_request', `${status}.`)
        const filter = (r: RequestRecord) =>
          (!status || (r.status >= status.min && r.status < status.max)) && (!query.model || r.model === query.model || r.routedModel === query.model)
        return new Response(eventStream(d.events, d.pricer, filter), {
          headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
        })
      },
      {
        query: t.Object({ status: t.Optional(t.String()), model: t.Optional(t.String()) }),
        detail: detail(
          'Server-Sent Events: each request as it finishes (event: request)',
          'Server-Sent Events: one `event: request` per finished request (the request-log row as JSON), filtered by `status` (e.g. 5xx) and `model`; heartbeats every 15 s; a slow reader gets a `dropped` notice instead of unbounded buffering',
          'text/event-stream',
        ),
      },
    )
}
