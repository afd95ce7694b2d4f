/**
 * The request store's contract: what the request log writes and what the admin API and CLI read. One interface for
 * every database (SQLite today, PostgreSQL later: src/store/sqlite.ts is the first dialect). Rows are plain objects.
 */
import type { AttemptRecord, RequestRecord } from '../observe/record'

/** A finished request as the store keeps it: the record, with its cost (USD; null = unknown price). */
export interface StoredRequest extends RequestRecord {
  costUsd: number | null
}

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

/** What a database must do for the request log. Calls are synchronous for SQLite; a network dialect makes them async. */
export interface RequestStore {
  /** write the batch in one transaction (requests, attempts, bodies, usage totals); throws on a database error */
  write(batch: StoredRequest[]): void
  requests(q: RequestQuery): StoredRequest[]
  request(id: string): StoredRequest | undefined
  usage(q: UsageQuery): UsageRow[]
  /** delete rows older than `before` (ms), then the oldest until the database holds at most `maxBytes`; how many went */
  retain(before: number, maxBytes: number): number
  info(): StoreInfo
  close(): void
}

export type { AttemptRecord, RequestRecord }
