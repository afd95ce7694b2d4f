/**
 * The request store's schema and queries in portable SQL (SQLite and PostgreSQL both run them: `?` placeholders,
 * which a PostgreSQL dialect numbers; ON CONFLICT upserts; no engine-specific functions). Migrations are a numbered
 * list: migration N brings a database at version N-1 to N, once, in a transaction (src/store/sqlite.ts runs them).
 */
import type { RequestRecord } from '../observe/record'
import { parseStatus } from './query'
import type { BudgetPeriod, RequestQuery, StoredClientKey, StoredRequest, StoredRow, UsageGroup, UsageQuery, UsageRow } from './types'

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

/** the insert of `rows` request rows in one statement (SQLite binds 31 values a row once, not a statement a row) */
export const insertRequests = (rows: number) =>
  `INSERT INTO requests (${REQUEST_COLUMNS.join(', ')}) VALUES ${Array.from({ length: rows }, () => `(${marks(REQUEST_COLUMNS.length)})`).join(', ')} ON CONFLICT (id) DO NOTHING`
export const INSERT_REQUEST = insertRequests(1)
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

/** A request's attempt as its StoredRow carries it: provider, model, key, status, error kind, message, ms. */
export type AttemptTuple = [string, string, string, number, string | null, string | null, number]

const col = (name: string) => REQUEST_COLUMNS.indexOf(name)
/** where a StoredRow keeps what the writer reads of it */
export const AT = {
  id: col('id'),
  time: col('time'),
  day: col('day'),
  status: col('status'),
  endpoint: col('endpoint'),
  model: col('model'),
  provider: col('provider'),
  routedModel: col('routed_model'),
  key: col('provider_key'),
  clientKey: col('client_key'),
  input: col('input_tokens'),
  output: col('output_tokens'),
  cached: col('cached_tokens'),
  cacheWrite: col('cache_write_tokens'),
  reasoning: col('reasoning_tokens'),
  cost: col('cost_usd'),
  end: col('stream_end'),
  attempts: REQUEST_COLUMNS.length,
  requestBody: REQUEST_COLUMNS.length + 1,
  responseBody: REQUEST_COLUMNS.length + 2,
}
/** how many values of a StoredRow the request table takes */
export const REQUEST_VALUES = REQUEST_COLUMNS.length

const same = (k: string) => k

/** A finished request as its StoredRow: `costUsd` its price (null = unknown), the bodies when logged, `error` the message
 *  as stored (redacted); `key` writes each key (masked already) as the row should carry it (row-codec.ts: one byte a
 *  character). */
export function rowOf(
  r: RequestRecord,
  costUsd: number | null,
  requestBody?: string,
  responseBody?: string,
  error = r.error,
  key: (k: string) => string = same,
): StoredRow {
  const u = r.usage
  const plain = isPlain(r)
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
    r.key === undefined ? null : key(r.key),
    r.clientKey === undefined ? null : key(r.clientKey),
    r.retries,
    r.failovers,
    Math.round(r.latencyMs),
    r.ttfbMs === undefined ? null : Math.round(r.ttfbMs),
    plain ? Math.round(r.attempts[0]!.ms) : null,
    u?.inputTokens ?? null,
    u?.outputTokens ?? null,
    u?.cachedInputTokens ?? null,
    u?.cacheCreationInputTokens ?? null,
    u?.reasoningTokens ?? null,
    costUsd,
    r.errorKind ?? null,
    error ?? null,
    r.end ?? null,
    // biome-ignore lint/suspicious/noExplicitAny: the attempts travel as one value of the row
    (plain ? null : r.attempts.map(a => [a.provider, a.model, key(a.key), a.status, a.error ?? null, a.message ?? null, Math.round(a.ms)])) as any,
    requestBody ?? null,
    responseBody ?? null,
  ]
}

/** A stored request (tests, a caller holding one) as its StoredRow. */
export const toRow = (r: StoredRequest): StoredRow => rowOf(r, r.costUsd, r.requestBody, r.responseBody)

/** One attempt that the request row describes entirely (same provider, model, key and status; no error, no message): the
 *  row keeps only its duration (attempt_ms), no attempt rows. */
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

/** none: the row describes its one attempt (most rows; one shared empty list) */
const NO_ATTEMPTS: readonly Value[][] = []

/** The attempt rows of a StoredRow (in INSERT_ATTEMPT order): none when it describes its one attempt. */
export function attemptValues(row: StoredRow): readonly Value[][] {
  const attempts = row[AT.attempts] as unknown as AttemptTuple[] | null
  if (!attempts) return NO_ATTEMPTS
  return attempts.map((a, seq) => [row[AT.id]!, seq, row[AT.time]!, ...a])
}

/** The bodies row of a StoredRow (INSERT_BODIES order), or none when no body was logged. */
export function bodiesValues(row: StoredRow): Value[] | undefined {
  const req = row[AT.requestBody] ?? null
  const res = row[AT.responseBody] ?? null
  return req === null && res === null ? undefined : [row[AT.id]!, row[AT.time]!, req, res]
}

/** The batch's model calls summed per usage row (fewer upserts than one per request), in UPSERT_USAGE order. */
export function usageDeltas(batch: StoredRow[]): Value[][] {
  // day → client key → provider → model → the row's values (no key string built per request)
  const days = new Map<string, Map<string, Map<string, Map<string, Value[]>>>>()
  const out: Value[][] = []
  const n = (v: Value | undefined) => (typeof v === 'number' ? v : 0)
  const within = <T>(m: Map<string, T>, k: string, fresh: () => T): T => {
    let v = m.get(k)
    if (v === undefined) m.set(k, (v = fresh()))
    return v
  }
  for (const r of batch) {
    // model calls only: listing models, health checks and the like are in the request log but use no tokens
    if (r[AT.endpoint] === null) continue
    const day = r[AT.day] as string
    const clientKey = (r[AT.clientKey] ?? '') as string
    const provider = (r[AT.provider] ?? '') as string
    const model = (r[AT.routedModel] ?? r[AT.model] ?? '') as string
    const models = within(
      within(
        within(days, day, () => new Map()),
        clientKey,
        () => new Map(),
      ),
      provider,
      () => new Map(),
    )
    const sum = within(models, model, () => {
      const row: Value[] = [day, clientKey, provider, model, 0, 0, 0, 0, 0, 0, 0, 0, 0]
      out.push(row)
      return row
    }) as number[]
    sum[4]! += 1
    const end = r[AT.end]
    if ((r[AT.status] as number) >= 400 || (end !== null && end !== 'complete')) sum[5]! += 1
    const used = r[AT.input] !== null || r[AT.output] !== null || r[AT.cached] !== null || r[AT.reasoning] !== null || r[AT.cacheWrite] !== null
    if (used) {
      sum[6]! += n(r[AT.input])
      sum[7]! += n(r[AT.output])
      sum[8]! += n(r[AT.cached])
      sum[9]! += n(r[AT.reasoning])
    }
    const cost = r[AT.cost]
    if (typeof cost === 'number') {
      sum[10]! += cost
      sum[11]! += 1
    } else if (used) sum[12]! += 1
  }
  return out
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
  const status = q.status ? parseStatus(q.status) : undefined
  // (one that is no status matches nothing: the admin API refuses it before)
  if (typeof status === 'string') add('status < ?', 0)
  else if (status) add('status >= ? AND status < ?', status.min, status.max)
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
