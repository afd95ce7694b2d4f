/**
 * The PostgreSQL dialect of the request store (`database_url`, Bun's built-in SQL client), for several instances
 * sharing one request log and usage: the portable SQL of src/store/sql.ts with `?` numbered `$1…`, the same numbered
 * migrations (run once, under an advisory lock, whichever instance starts first), and what only PostgreSQL says (the
 * tables' size), and the runtime client keys (src/clientkeys) every instance shares. Every call is async; the store
 * connects and migrates on first use, so opening never blocks or throws.
 */
import { SQL } from 'bun'
import {
  BUMP_CLIENT_KEYS_VERSION,
  CREATE_VERSION_TABLE,
  INSERT_CLIENT_KEY,
  REVOKE_CLIENT_KEY,
  ROTATE_CLIENT_KEY,
  SELECT_CLIENT_KEYS,
  SELECT_CLIENT_KEYS_VERSION,
  clientKeyValues,
  toClientKey,
  INSERT_ATTEMPT,
  INSERT_BODIES,
  INSERT_REQUEST,
  MIGRATIONS,
  SCHEMA_VERSION,
  UPSERT_USAGE,
  attemptValues,
  requestFilter,
  REQUEST_VALUES,
  bodiesValues,
  selectRequests,
  toStoredRequest,
  toUsageRow,
  usageDeltas,
  usageSelect,
} from './sql'
import type { ClientKeyStore, RequestQuery, RequestStore, StoreInfo, StoredClientKey, StoredRequest, StoredRow, UsageQuery, UsageRow } from './types'

type Row = Record<string, string | number | null>
type Value = string | number | null

/** any number the migrations' lock is known by (the same on every instance) */
const MIGRATION_LOCK = 0x61677078

/** `?` placeholders numbered for PostgreSQL (the portable SQL has no `?` inside literals). */
export function numbered(sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

/** the write statements, numbered once */
const PG = {
  insertRequest: numbered(INSERT_REQUEST),
  insertAttempt: numbered(INSERT_ATTEMPT),
  insertBodies: numbered(INSERT_BODIES),
  upsertUsage: numbered(UPSERT_USAGE),
  insertClientKey: numbered(INSERT_CLIENT_KEY),
  revokeClientKey: numbered(REVOKE_CLIENT_KEY),
  rotateClientKey: numbered(ROTATE_CLIENT_KEY),
}

/** `postgres://user:password@host/db` → `postgres://user@host/db` (for messages and /admin/status: never the password). */
export const postgresLocation = (url: string) => url.replace(/(\/\/[^:@/]*):[^@/]*@/, '$1@')

/** The request store in the PostgreSQL at `url` (connected and migrated at its first call). */
export function openPostgresStore(url: string): RequestStore<true> {
  return new PostgresStore(url)
}

class PostgresStore implements RequestStore<true> {
  readonly remote = true as const
  readonly clientKeys: ClientKeyStore
  private readonly sql: SQL
  private readonly ready: Promise<number>

  constructor(private readonly url: string) {
    this.sql = new SQL(url, { max: 4, idleTimeout: 30, connectionTimeout: 5 })
    this.ready = this.migrate()
    // a failure is the first call's to report (RequestLog retries with a new store)
    this.ready.catch(() => {})
    this.clientKeys = {
      list: async () => (await this.query(SELECT_CLIENT_KEYS)).map(toClientKey),
      version: async () => Number((await this.query(SELECT_CLIENT_KEYS_VERSION))[0]?.version ?? 0),
      create: (k: StoredClientKey) => this.changeKeys(PG.insertClientKey, clientKeyValues(k)),
      revoke: (name: string, time: number) => this.changeKeys(PG.revokeClientKey, [time, name]),
      rotate: (name: string, hash: string) => this.changeKeys(PG.rotateClientKey, [hash, name]),
    }
  }

  /** one client_keys row changed by `text`, and the keys' version bumped with it (one transaction); false when no row was */
  private async changeKeys(text: string, values: Value[]): Promise<boolean> {
    await this.ready
    return this.sql.begin(async tx => {
      const changed = Number(((await tx.unsafe(text, values)) as { count?: number }).count ?? 0) === 1
      if (changed) await tx.unsafe(BUMP_CLIENT_KEYS_VERSION)
      return changed
    })
  }

  /** Bring the schema to SCHEMA_VERSION, each migration once, in its own transaction; the version found. */
  private async migrate(): Promise<number> {
    return this.sql.begin(async tx => {
      await tx.unsafe(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`)
      await tx.unsafe(CREATE_VERSION_TABLE)
      const rows = (await tx.unsafe('SELECT version FROM schema_version')) as Array<{ version: number }>
      let version = rows[0]?.version ?? 0
      if (!rows.length) await tx.unsafe('INSERT INTO schema_version (version) VALUES (0)')
      const found = version
      while (version < SCHEMA_VERSION) {
        for (const stmt of MIGRATIONS[version] ?? []) await tx.unsafe(stmt)
        version++
        await tx.unsafe('UPDATE schema_version SET version = $1', [version])
      }
      return Math.max(found, version)
    })
  }

  private async query(text: string, values: Value[] = []): Promise<Row[]> {
    await this.ready
    return (await this.sql.unsafe(numbered(text), values)) as Row[]
  }

  async write(batch: StoredRow[]): Promise<void> {
    const version = await this.ready
    if (version > SCHEMA_VERSION)
      throw new Error(`the database's schema (version ${version}) is newer than this agproxy knows (${SCHEMA_VERSION}); it is read-only`)
    if (!batch.length) return
    await this.sql.begin(async tx => {
      for (const r of batch) {
        await tx.unsafe(PG.insertRequest, r.slice(0, REQUEST_VALUES))
        for (const a of attemptValues(r)) await tx.unsafe(PG.insertAttempt, a)
        const bodies = bodiesValues(r)
        if (bodies) await tx.unsafe(PG.insertBodies, bodies)
      }
      for (const u of usageDeltas(batch)) await tx.unsafe(PG.upsertUsage, u)
    })
  }

  async requests(q: RequestQuery): Promise<StoredRequest[]> {
    const { where, values, limit } = requestFilter(q)
    const rows = await this.query(selectRequests(where), [...values, limit])
    if (!rows.length) return []
    const ids = rows.map(r => String(r.id))
    const attempts = await this.query(`SELECT * FROM attempts WHERE request_id IN (${ids.map(() => '?').join(', ')}) ORDER BY request_id, seq`, ids)
    const byId = Map.groupBy(attempts, a => String(a.request_id))
    return rows.map(r => toStoredRequest(r, byId.get(String(r.id)) ?? []))
  }

  async request(id: string): Promise<StoredRequest | undefined> {
    const [row] = await this.query('SELECT * FROM requests WHERE id = ?', [id])
    if (!row) return undefined
    const attempts = await this.query('SELECT * FROM attempts WHERE request_id = ? ORDER BY seq', [id])
    const [bodies] = await this.query('SELECT * FROM bodies WHERE request_id = ?', [id])
    return toStoredRequest(row, attempts, bodies)
  }

  async usage(q: UsageQuery): Promise<UsageRow[]> {
    const { sql, values } = usageSelect(q)
    return (await this.query(sql, values)).map(toUsageRow)
  }

  async retain(before: number, maxBytes: number): Promise<number> {
    if ((await this.ready) > SCHEMA_VERSION) return 0
    let gone = await this.deleteUpTo(before, false)
    for (let round = 0; round < 20 && (await this.bytes()) > maxBytes; round++) {
      const rows = await this.count()
      if (!rows) break
      const n = Math.max(1, Math.ceil(rows * 0.1))
      const [cut] = await this.query('SELECT time FROM requests ORDER BY time LIMIT 1 OFFSET ?', [n - 1])
      if (!cut) break
      gone += await this.deleteUpTo(Number(cut.time), true)
    }
    return gone
  }

  /** delete the rows before `time` (or up to it, inclusive) from every table but the usage totals */
  private async deleteUpTo(time: number, inclusive: boolean): Promise<number> {
    const op = inclusive ? '<=' : '<'
    await this.ready
    return this.sql.begin(async tx => {
      const gone = (await tx.unsafe(`DELETE FROM requests WHERE time ${op} $1`, [time])) as { count?: number }
      await tx.unsafe(`DELETE FROM attempts WHERE time ${op} $1`, [time])
      await tx.unsafe(`DELETE FROM bodies WHERE time ${op} $1`, [time])
      return Number(gone.count ?? 0)
    })
  }

  private async count(): Promise<number> {
    return Number((await this.query('SELECT count(*) AS n FROM requests'))[0]?.n ?? 0)
  }

  /** the request log's tables with their indexes (usage totals are kept whatever the size) */
  private async bytes(): Promise<number> {
    const [row] = await this.query("SELECT pg_total_relation_size('requests') + pg_total_relation_size('attempts') + pg_total_relation_size('bodies') AS bytes")
    return Number(row?.bytes ?? 0)
  }

  async info(): Promise<StoreInfo> {
    const version = await this.ready
    return {
      location: postgresLocation(this.url),
      schemaVersion: version,
      readOnly: version > SCHEMA_VERSION,
      rows: await this.count(),
      bytes: await this.bytes(),
    }
  }

  close(): Promise<void> {
    return this.sql.close()
  }
}
