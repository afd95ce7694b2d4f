/**
 * The request store's schema and queries in portable SQL (SQLite and PostgreSQL both run them: `?` placeholders,
 * which a PostgreSQL dialect numbers; ON CONFLICT upserts; no engine-specific functions). Migrations are a numbered
 * list: migration N brings a database at version N-1 to N, once, in a transaction (src/store/sqlite.ts runs them).
 */
import type { RequestRecord } from '../observe/record'
import type { BudgetPeriod, RequestQuery, StoredClientKey, StoredRequest, UsageGroup, UsageQuery, UsageRow } from './types'

/** Migration N is MIGRATIONS[N-1]; append only (a released one never changes). */
export const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE requests (
      id TEXT PRIMARY KEY, instance TEXT NOT NULL, time BIGINT NOT NULL, day TEXT NOT NULL, client TEXT NOT NULL,
      method TEXT NOT NULL, path TEXT NOT NULL, resolved TEXT, status INTEGER NOT NULL, dialect TEXT NOT NULL, endpoint TEXT,
      stream INTEGER NOT NULL, model TEXT, provider TEXT, routed_model TEXT, provider_key TEXT, client_key TEXT,
      retries INTEGER NOT NULL, failovers INTEGER NOT NULL, latency_ms INTEGER NOT NULL, ttfb_ms INTEGER, attempt_ms INTEGER,
      input_tokens BIGINT, output_tokens BIGINT, cached_tokens BIGINT, cache_write_tokens BIGINT, reasoning_tokens BIGINT,
      cost_usd DOUBLE PRECISION, error_kind TEXT, error TEXT, stream_end TEXT)`,
    'CREATE INDEX requests_time ON requests (time)',
    `CREATE TABLE attempts (
      request_id TEXT NOT NULL, seq INTEGER NOT NULL, time BIGINT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
      provider_key TEXT NOT NULL, status INTEGER NOT NULL, error_kind TEXT, message TEXT, ms INTEGER NOT NULL,
      PRIMARY KEY (request_id, seq))`,
    'CREATE INDEX attempts_time ON attempts (time)',
    'CREATE TABLE bodies (request_id TEXT PRIMARY KEY, time BIGINT NOT NULL, request TEXT, response TEXT)',
    'CREATE INDEX bodies_time ON bodies (time)',
    `CREATE TABLE usage_daily (
      day TEXT NOT NULL, client_key TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
      requests BIGINT NOT NULL, errors BIGINT NOT NULL, input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
      cached_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL,
      priced BIGINT NOT NULL, unpriced BIGINT NOT NULL,
      PRIMARY KEY (day, client_key, provider, model))`,
  ],
  [
    `CREATE TABLE client_keys (
      name TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, models TEXT, rpm INTEGER, tpm BIGINT, max_parallel INTEGER,
      budget_usd DOUBLE PRECISION, budget_period TEXT, expires BIGINT, note TEXT, created BIGINT NOT NULL, revoked BIGINT)`,
  ],
  // one number every change to client_keys bumps in its transaction: other instances poll it (one row) to know when to read the keys again
  ['CREATE TABLE client_keys_version (version BIGINT NOT NULL)', 'INSERT INTO client_keys_version (version) VALUES (0)'],
]

export const SCHEMA_VERSION = MIGRATIONS.length

export const CREATE_VERSION_TABLE = 'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)'

const REQUEST_COLUMNS = [
  'id',
  'instance',
  'time',
  'day',
  'client',
  'method',
  'path',
  'resolved',
  'status',
  'dialect',
  'endpoint',
  'stream',
  'model',
  'provider',
  'routed_model',
  'provider_key',
  'client_key',
  'retries',
  'failovers',
  'latency_ms',
  'ttfb_ms',
  'attempt_ms',
  'input_tokens',
  'output_tokens',
  'cached_tokens',
  'cache_write_tokens',
  'reasoning_tokens',
  'cost_usd',
  'error_kind',
  'error',
  'stream_end',
]
const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ')

export const INSERT_REQUEST = `INSERT INTO requests (${REQUEST_COLUMNS.join(', ')}) VALUES (${marks(REQUEST_COLUMNS.length)}) ON CONFLICT (id) DO NOTHING`
export const INSERT_ATTEMPT = `INSERT INTO attempts (request_id, seq, time, provider, model, provider_key, status, error_kind, message, ms)
  VALUES (${marks(10)}) ON CONFLICT (request_id, seq) DO NOTHING`
export const INSERT_BODIES = 'INSERT INTO bodies (request_id, time, request, response) VALUES (?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING'
export const UPSERT_USAGE = `INSERT INTO usage_daily (day, client_key, provider, model, requests, errors, input_tokens, output_tokens, cached_tokens,
  reasoning_tokens, cost_usd, priced, unpriced) VALUES (${marks(13)})
  ON CONFLICT (day, client_key, provider, model) DO UPDATE SET requests = usage_daily.requests + excluded.requests,
  errors = usage_daily.errors + excluded.errors, input_tokens = usage_daily.input_tokens + excluded.input_tokens,
  output_tokens = usage_daily.output_tokens + excluded.output_tokens, cached_tokens = usage_daily.cached_tokens + excluded.cached_tokens,
  reasoning_tokens = usage_daily.reasoning_tokens + excluded.reasoning_tokens, cost_usd = usage_daily.cost_usd + excluded.cost_usd,
  priced = usage_daily.priced + excluded.priced, unpriced = usage_daily.unpriced + excluded.unpriced`

type Value = string | number | null

export const INSERT_CLIENT_KEY = `INSERT INTO client_keys (name, key_hash, models, rpm, tpm, max_parallel, budget_usd, budget_period, expires, note, created)
  VALUES (${marks(11)}) ON CONFLICT (name) DO NOTHING`
export const SELECT_CLIENT_KEYS = 'SELECT * FROM client_keys ORDER BY name'
export const REVOKE_CLIENT_KEY = 'UPDATE client_keys SET revoked = ? WHERE name = ? AND revoked IS NULL'
export const ROTATE_CLIENT_KEY = 'UPDATE client_keys SET key_hash = ? WHERE name = ? AND revoked IS NULL'
export const BUMP_CLIENT_KEYS_VERSION = 'UPDATE client_keys_version SET version = version + 1'
export const SELECT_CLIENT_KEYS_VERSION = 'SELECT version FROM client_keys_version'

/** A client key's row values, in INSERT_CLIENT_KEY order. */
export const clientKeyValues = (k: StoredClientKey): Value[] => [
  k.name,
  k.hash,
  k.models ? JSON.stringify(k.models) : null,
  k.rpm ?? null,
  k.tpm ?? null,
  k.maxParallel ?? null,
  k.budget?.usd ?? null,
  k.budget?.period ?? null,
  k.expires ?? null,
  k.note ?? null,
  k.created,
]

/** A client_keys row as a StoredClientKey (absent columns absent). */
export function toClientKey(row: Record<string, Value>): StoredClientKey {
  const n = (v: Value | undefined) => (v === null || v === undefined ? undefined : Number(v))
  const k: StoredClientKey = {
    name: String(row.name),
    hash: String(row.key_hash),
    models: row.models === null || row.models === undefined ? undefined : (JSON.parse(String(row.models)) as string[]),
    rpm: n(row.rpm),
    tpm: n(row.tpm),
    maxParallel: n(row.max_parallel),
    budget:
      row.budget_usd === null || row.budget_usd === undefined ? undefined : { usd: Number(row.budget_usd), period: String(row.budget_period) as BudgetPeriod },
    expires: n(row.expires),
    note: row.note === null || row.note === undefined ? undefined : String(row.note),
    created: Number(row.created),
    revoked: n(row.revoked),
  }
  for (const key of Object.keys(k) as Array<keyof StoredClientKey>) if (k[key] === undefined) delete k[key]
  return k
}

const DAY_MS = 86_400_000
/** the last day dayOf formatted: a batch's rows are nearly all of one day (formatting one costs ~0.2 µs, twice a row) */
let lastDay = { start: 0, end: 0, text: '' }

/** The UTC day of a time, 'YYYY-MM-DD'. */
export function dayOf(ms: number): string {
  if (ms >= lastDay.start && ms < lastDay.end) return lastDay.text
  const start = Math.floor(ms / DAY_MS) * DAY_MS
  const text = new Date(ms).toISOString().slice(0, 10)
  if (Number.isFinite(start)) lastDay = { start, end: start + DAY_MS, text }
  return text
}

/** The request row's values, in REQUEST_COLUMNS order. */
export function requestValues(r: StoredRequest): Value[] {
  const u = r.usage
  return [
    r.id,
    r.instance,
    r.time,
    dayOf(r.time),
    r.client,
    r.method,
    r.path,
    r.resolved ?? null,
    r.status,
    r.dialect,
    r.endpoint ?? null,
    r.stream ? 1 : 0,
    r.model ?? null,
    r.provider ?? null,
    r.routedModel ?? null,
    r.key ?? null,
    r.clientKey ?? null,
    r.retries,
    r.failovers,
    Math.round(r.latencyMs),
    r.ttfbMs === undefined ? null : Math.round(r.ttfbMs),
    isPlain(r) ? Math.round(r.attempts[0]!.ms) : null,
    u?.inputTokens ?? null,
    u?.outputTokens ?? null,
    u?.cachedInputTokens ?? null,
    u?.cacheCreationInputTokens ?? null,
    u?.reasoningTokens ?? null,
    r.costUsd,
    r.errorKind ?? null,
    r.error ?? null,
    r.end ?? null,
  ]
}

/** One attempt that the request row describes entirely (same provider, model, key and status; no error, no message): the
 *  row keeps only its duration (attempt_ms), and the writer thread's wire row only that number (row-codec.ts). */
export const isPlain = (r: RequestRecord): boolean => {
  const a = r.attempts[0]
  return (
    r.attempts.length === 1 &&
    !!a &&
    a.provider === r.provider &&
    a.model === r.routedModel &&
    a.key === r.key &&
    a.status === r.status &&
    a.error === undefined &&
    a.message === undefined
  )
}

/** The attempt rows of a request: none when it took one attempt (the request row says the same: provider, model, key,
 *  status), one per attempt when it was retried or failed over. */
export const attemptValues = (r: StoredRequest): Value[][] =>
  isPlain(r) ? [] : r.attempts.map((a, seq) => [r.id, seq, r.time, a.provider, a.model, a.key, a.status, a.error ?? null, a.message ?? null, Math.round(a.ms)])

/** The batch's model calls summed per usage row (fewer upserts than one per request). */
export function usageDeltas(batch: StoredRequest[]): Value[][] {
  const sums = new Map<string, number[]>()
  const keys = new Map<string, string[]>()
  // model calls only: listing models, health checks and the like are in the request log but use no tokens
  for (const r of batch) {
    if (!r.endpoint) continue
    const day = dayOf(r.time)
    const clientKey = r.clientKey ?? ''
    const provider = r.provider ?? ''
    const model = r.routedModel ?? r.model ?? ''
    const id = `${day}\u0000${clientKey}\u0000${provider}\u0000${model}`
    let sum = sums.get(id)
    if (!sum) {
      sums.set(id, (sum = [0, 0, 0, 0, 0, 0, 0, 0, 0]))
      keys.set(id, [day, clientKey, provider, model])
    }
    const u = r.usage
    sum[0]! += 1
    if (r.status >= 400 || (r.end !== undefined && r.end !== 'complete')) sum[1]! += 1
    if (u) {
      sum[2]! += u.inputTokens ?? 0
      sum[3]! += u.outputTokens ?? 0
      sum[4]! += u.cachedInputTokens ?? 0
      sum[5]! += u.reasoningTokens ?? 0
    }
    if (r.costUsd !== null) {
      sum[6]! += r.costUsd ?? 0
      sum[7]! += 1
    } else if (u) sum[8]! += 1
  }
  return [...sums].map(([id, sum]) => [...keys.get(id)!, ...sum])
}

/** A `RequestQuery` as a WHERE clause and its values (newest first, paged by id). */
export function requestFilter(q: RequestQuery): { where: string; values: Value[]; limit: number } {
  const conds: string[] = []
  const values: Value[] = []
  const add = (cond: string, ...v: Value[]) => {
    conds.push(cond)
    values.push(...v)
  }
  if (q.since !== undefined) add('time >= ?', q.since)
  if (q.until !== undefined) add('time <= ?', q.until)
  const cls = q.status && /^([1-5])xx$/i.exec(q.status)
  if (cls) add('status >= ? AND status < ?', Number(cls[1]) * 100, Number(cls[1]) * 100 + 100)
  else if (q.status) add('status = ?', Number(q.status))
  if (q.model) add('(model = ? OR routed_model = ?)', q.model, q.model)
  if (q.provider) add('provider = ?', q.provider)
  if (q.clientKey) add('client_key = ?', q.clientKey)
  if (q.before) add('id < ?', q.before)
  const limit = Math.max(1, Math.min(500, Math.floor(q.limit ?? 50)))
  return { where: conds.length ? `WHERE ${conds.join(' AND ')}` : '', values, limit }
}

export const selectRequests = (where: string) => `SELECT * FROM requests ${where} ORDER BY id DESC LIMIT ?`

const GROUP_COLUMN: Record<UsageGroup, string> = { day: 'day', key: 'client_key', model: 'model', provider: 'provider' }

/** The usage query grouped by `q.by` (all four when empty), with its values. */
export function usageSelect(q: UsageQuery): { sql: string; values: Value[] } {
  const cols = (q.by.length ? q.by : (['day', 'key', 'provider', 'model'] as UsageGroup[])).map(g => GROUP_COLUMN[g])
  const conds: string[] = []
  const values: Value[] = []
  if (q.sinceDay) conds.push('day >= ?') && values.push(q.sinceDay)
  if (q.untilDay) conds.push('day <= ?') && values.push(q.untilDay)
  const sums = ['requests', 'errors', 'input_tokens', 'output_tokens', 'cached_tokens', 'reasoning_tokens', 'cost_usd', 'priced', 'unpriced']
  const sql =
    `SELECT ${[...cols, ...sums.map(s => `SUM(${s}) AS ${s}`)].join(', ')} FROM usage_daily ` +
    `${conds.length ? `WHERE ${conds.join(' AND ')}` : ''} GROUP BY ${cols.join(', ')} ORDER BY ${cols.join(', ')}`
  return { sql, values }
}

type Row = Record<string, Value>
const num = (v: Value | undefined) => (v === null || v === undefined ? undefined : Number(v))
const str = (v: Value | undefined) => (v === null || v === undefined ? undefined : String(v))

/** A usage result row as a UsageRow. */
export function toUsageRow(row: Row): UsageRow {
  const priced = Number(row.priced ?? 0)
  const unpriced = Number(row.unpriced ?? 0)
  const out: UsageRow = {
    requests: Number(row.requests ?? 0),
    errors: Number(row.errors ?? 0),
    inputTokens: Number(row.input_tokens ?? 0),
    outputTokens: Number(row.output_tokens ?? 0),
    cachedTokens: Number(row.cached_tokens ?? 0),
    reasoningTokens: Number(row.reasoning_tokens ?? 0),
    costUsd: priced === 0 && unpriced > 0 ? null : Number(row.cost_usd ?? 0),
    unpriced,
  }
  if ('day' in row) out.day = String(row.day)
  if ('client_key' in row) out.clientKey = String(row.client_key)
  if ('provider' in row) out.provider = String(row.provider)
  if ('model' in row) out.model = String(row.model)
  return out
}

/** The single attempt of a request that was not retried, from its row (its attempt row is not written). */
function oneAttempt(row: Row) {
  if (row.attempt_ms === null || row.attempt_ms === undefined) return []
  return [
    { provider: String(row.provider), model: String(row.routed_model), key: String(row.provider_key), status: Number(row.status), ms: Number(row.attempt_ms) },
  ]
}

/** A request row (and its attempt rows, in order) as a StoredRequest. */
export function toStoredRequest(row: Row, attempts: Row[], bodies?: Row): StoredRequest {
  const usage =
    row.input_tokens === null && row.output_tokens === null
      ? undefined
      : {
          inputTokens: Number(row.input_tokens ?? 0),
          outputTokens: Number(row.output_tokens ?? 0),
          ...(row.cached_tokens !== null ? { cachedInputTokens: Number(row.cached_tokens) } : {}),
          ...(row.cache_write_tokens !== null ? { cacheCreationInputTokens: Number(row.cache_write_tokens) } : {}),
          ...(row.reasoning_tokens !== null ? { reasoningTokens: Number(row.reasoning_tokens) } : {}),
        }
  const r = {
    id: String(row.id),
    instance: String(row.instance),
    time: Number(row.time),
    client: String(row.client),
    method: String(row.method),
    path: String(row.path),
    resolved: str(row.resolved),
    status: Number(row.status),
    dialect: String(row.dialect),
    endpoint: str(row.endpoint),
    stream: Number(row.stream) === 1,
    model: str(row.model),
    provider: str(row.provider),
    routedModel: str(row.routed_model),
    key: str(row.provider_key),
    clientKey: str(row.client_key),
    attempts: attempts.length
      ? attempts.map(a => ({
          provider: String(a.provider),
          model: String(a.model),
          key: String(a.provider_key),
          status: Number(a.status),
          error: str(a.error_kind),
          message: str(a.message),
          ms: Number(a.ms),
        }))
      : oneAttempt(row),
    retries: Number(row.retries),
    failovers: Number(row.failovers),
    latencyMs: Number(row.latency_ms),
    ttfbMs: num(row.ttfb_ms),
    usage,
    errorKind: str(row.error_kind),
    error: str(row.error),
    end: str(row.stream_end),
    requestBody: str(bodies?.request),
    responseBody: str(bodies?.response),
    costUsd: num(row.cost_usd) ?? null,
  }
  // absent, not undefined, in JSON and in deep equality
  for (const k of Object.keys(r) as Array<keyof typeof r>) if (r[k] === undefined) delete r[k]
  for (const a of r.attempts) for (const k of Object.keys(a) as Array<keyof typeof a>) if (a[k] === undefined) delete a[k]
  return r as unknown as StoredRequest
}
