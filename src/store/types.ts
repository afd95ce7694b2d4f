/**
 * The request store's contract: what the request log writes and what the admin API and CLI read. One interface for
 * every database (src/store/sqlite.ts, the default, and src/store/postgres.ts, database_url), and the runtime client
 * keys kept beside the log (ClientKeyStore). Rows are plain objects.
 */
import type { AttemptRecord, RequestRecord } from '../observe/record'

/** A finished request as the store keeps it: the record, with its cost (USD; null = unknown price). */
export interface StoredRequest extends RequestRecord {
  costUsd: number | null
}

/**
 * A finished request as both stores write it, built once on the request's side (the request log's `push`, src/store/sql.ts
 * `rowOf`) and posted as JSON to the writer thread (row-codec.ts), which binds it as it is: the request table's values in
 * column order, then its attempts (null when the row describes its one attempt), the request body and the response body
 * (null when not logged). Where each value sits: `AT` in src/store/sql.ts.
 */
export type StoredRow = Array<string | number | null>

/** Filters of GET /admin/requests and `agproxy logs`. */
export interface RequestQuery {
  /** ms since the epoch, inclusive */
  since?: number
  until?: number
  /** an exact status, or a class: '5xx', '4xx' */
  status?: string
  model?: string
  provider?: string
  clientKey?: string
  /** newest first; at most 500 */
  limit?: number
  /** the page after this id (ids sort by time) */
  before?: string
}

export type UsageGroup = 'day' | 'key' | 'model' | 'provider'

export interface UsageQuery {
  /** 'YYYY-MM-DD' (UTC), inclusive */
  sinceDay?: string
  untilDay?: string
  by: UsageGroup[]
}

/** One usage row; the grouped columns are set, the others absent. */
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
  /** USD of the priced requests; null when none of them had a known price */
  costUsd: number | null
  /** requests with tokens but no known price (their cost is not in costUsd) */
  unpriced: number
}

export interface StoreInfo {
  /** the database (a path, or a URL without its password) */
  location: string
  schemaVersion: number
  readOnly: boolean
  rows: number
  bytes: number
}

/** `T` now (a synchronous store: SQLite), or a promise of it (a network one: PostgreSQL). */
export type Answer<T, Async extends boolean> = Async extends true ? Promise<T> : T

/** What a database must do for the request log. Calls are synchronous for SQLite; PostgreSQL's (src/store/postgres.ts,
 *  `remote`) answer promises. Callers that take either (AnyRequestStore) await every answer. */
export interface RequestStore<Async extends boolean = false> {
  /** a network database: written off the request's path by promise, not by the writer thread */
  readonly remote?: Async
  /** write the batch in one transaction (requests, attempts, bodies, usage totals); throws (or rejects) on a database error */
  write(batch: StoredRow[]): Answer<void, Async>
  requests(q: RequestQuery): Answer<StoredRequest[], Async>
  request(id: string): Answer<StoredRequest | undefined, Async>
  usage(q: UsageQuery): Answer<UsageRow[], Async>
  /** delete rows older than `before` (ms), then the oldest until the database holds at most `maxBytes`; how many went */
  retain(before: number, maxBytes: number): Answer<number, Async>
  info(): Answer<StoreInfo, Async>
  close(): Answer<void, Async>
  /** the runtime client keys kept in this database (both dialects keep them) */
  readonly clientKeys?: ClientKeyStore
}

/** A budget's period: it resets at 00:00 UTC of each day, each Monday, each 1st of the month. */
export type BudgetPeriod = 'day' | 'week' | 'month'

/** A client key as the database keeps it: the key's SHA-256 (hex), never the key. */
export interface StoredClientKey {
  name: string
  hash: string
  /** model globs it may call (absent: any) */
  models?: string[]
  rpm?: number
  tpm?: number
  maxParallel?: number
  budget?: { usd: number; period: BudgetPeriod }
  /** ms since the epoch */
  expires?: number
  note?: string
  created: number
  revoked?: number
}

/** Where runtime client keys live, SQLite or PostgreSQL: one asynchronous interface (src/clientkeys keeps a snapshot of
 *  list(), read again when version() changes, so no request waits on it). Every change bumps the version in its transaction. */
export interface ClientKeyStore {
  list(): Promise<StoredClientKey[]>
  /** a number that changes with every create, revoke and rotate (by any instance sharing the database) */
  version(): Promise<number>
  /** false when the name is taken (a revoked key keeps its name) */
  create(k: StoredClientKey): Promise<boolean>
  /** false when no live key has that name */
  revoke(name: string, time: number): Promise<boolean>
  /** a new hash for a live key; false when no live key has that name */
  rotate(name: string, hash: string): Promise<boolean>
}

/** SQLite's store or PostgreSQL's. */
export type AnyRequestStore = RequestStore<false> | RequestStore<true>

export type { AttemptRecord, RequestRecord }
