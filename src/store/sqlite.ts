/**
 * The SQLite dialect of the request store (bun:sqlite, WAL): opening (a corrupted file is moved aside, a newer schema
 * is opened read-only), migrations, and what only SQLite says (PRAGMAs, the database's size, incremental vacuum).
 * The SQL itself is the portable one of src/store/sql.ts.
 */
import { Database, type Statement } from 'bun:sqlite'
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
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
  insertRequests,
  REQUEST_VALUES,
  bodiesValues,
  MIGRATIONS,
  SCHEMA_VERSION,
  UPSERT_USAGE,
  attemptValues,
  requestFilter,
  selectRequests,
  toStoredRequest,
  toUsageRow,
  usageDeltas,
  usageSelect,
} from './sql'
import type { ClientKeyStore, RequestQuery, RequestStore, StoreInfo, StoredClientKey, StoredRequest, StoredRow, UsageQuery, UsageRow } from './types'

/** What opening found worth telling: a file moved aside, a schema newer than this binary. */
export interface Opened {
  store: RequestStore
  /** the corrupted file's new name, when it was moved aside */
  movedAside?: string
  /** the database's schema version, when newer than this binary knows (then the store is read-only) */
  newerSchema?: number
}

type Row = Record<string, string | number | null>
type Value = string | number | null

/** a row's request-table values into `to` from `at` */
function copyValues(row: StoredRow, to: Value[], at: number): Value[] {
  for (let c = 0; c < REQUEST_VALUES; c++) to[at + c] = row[c] ?? null
  return to
}

/** SQLite's answer to a file that is not (or no longer) a database. */
const isCorrupt = (e: unknown) => /SQLITE_(NOTADB|CORRUPT)|not a database|malformed/i.test(`${(e as { code?: string }).code ?? ''} ${(e as Error)?.message}`)

/** Open (or create) the database at `file`. A file SQLite cannot read as a database is renamed `<file>.corrupt-<time>`
 *  (its -wal too) and a fresh one created; any other failure throws (the caller retries later). */
export function openSqliteStore(file: string, now = Date.now): Opened {
  mkdirSync(dirname(file), { recursive: true })
  try {
    return open(file)
  } catch (e) {
    if (!isCorrupt(e) || !existsSync(file)) throw e
    const aside = `${file}.corrupt-${new Date(now()).toISOString().replace(/[:.]/g, '-')}`
    renameSync(file, aside)
    if (existsSync(`${file}-wal`)) renameSync(`${file}-wal`, `${aside}-wal`)
    rmSync(`${file}-shm`, { force: true })
    return { ...open(file), movedAside: aside }
  }
}

function open(file: string): Opened {
  const db = new Database(file, { create: true })
  try {
    db.exec('PRAGMA busy_timeout = 5000')
    // a fresh file: let deletes give space back (must precede the first table)
    const fresh = (db.query('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n === 0
    if (fresh) db.exec('PRAGMA auto_vacuum = INCREMENTAL')
    db.exec('PRAGMA journal_mode = WAL')
    // WAL + NORMAL: a committed batch survives the process being killed (not a power cut: fine for a log)
    db.exec('PRAGMA synchronous = NORMAL')
    const version = migrate(db)
    return { store: new SqliteStore(db, file, version), ...(version > SCHEMA_VERSION ? { newerSchema: version } : {}) }
  } catch (e) {
    db.close()
    throw e
  }
}

/** Bring the schema to SCHEMA_VERSION, each migration once, in its own transaction; the version found. */
function migrate(db: Database): number {
  db.exec(CREATE_VERSION_TABLE)
  const row = db.query('SELECT version FROM schema_version').get() as { version: number } | null
  let version = row?.version ?? 0
  if (!row) db.exec('INSERT INTO schema_version (version) VALUES (0)')
  const found = version
  while (version < SCHEMA_VERSION) {
    const next = version + 1
    db.transaction(() => {
      for (const sql of MIGRATIONS[next - 1] ?? []) db.exec(sql)
      db.query('UPDATE schema_version SET version = ?').run(next)
    })()
    version = next
  }
  return Math.max(found, version)
}

/** The runtime client keys in SQLite (the portable SQL of sql.ts); synchronous underneath, answered as promises. */
class SqliteClientKeys implements ClientKeyStore {
  constructor(private readonly db: Database) {}
  async list(): Promise<StoredClientKey[]> {
    return (this.db.query(SELECT_CLIENT_KEYS).all() as Row[]).map(toClientKey)
  }
  async version(): Promise<number> {
    return Number((this.db.query(SELECT_CLIENT_KEYS_VERSION).get() as Row | null)?.version ?? 0)
  }
  async create(k: StoredClientKey): Promise<boolean> {
    return this.change(INSERT_CLIENT_KEY, clientKeyValues(k))
  }
  async revoke(name: string, time: number): Promise<boolean> {
    return this.change(REVOKE_CLIENT_KEY, [time, name])
  }
  async rotate(name: string, hash: string): Promise<boolean> {
    return this.change(ROTATE_CLIENT_KEY, [hash, name])
  }
  /** one row changed by `sql`, and the version bumped with it (one transaction); false when no row was */
  private change(sql: string, values: Array<string | number | null>): boolean {
    return this.db.transaction(() => {
      const changed = this.db.query(sql).run(...values).changes === 1
      if (changed) this.db.query(BUMP_CLIENT_KEYS_VERSION).run()
      return changed
    })()
  }
}

/** request rows bound per statement when a batch has that many left (a statement a row costs ≈ 2 µs a row more) */
const ROWS_PER_INSERT = 64

class SqliteStore implements RequestStore {
  readonly clientKeys: ClientKeyStore
  private readonly insertRequest: Statement
  private readonly insertRequests: Statement
  private readonly insertAttempt: Statement
  private readonly insertBodies: Statement
  private readonly upsertUsage: Statement
  private readonly writeAll: (batch: StoredRow[]) => void
  readonly readOnly: boolean

  constructor(
    private readonly db: Database,
    private readonly file: string,
    private readonly version: number,
  ) {
    this.readOnly = version > SCHEMA_VERSION
    this.clientKeys = new SqliteClientKeys(db)
    this.insertRequest = db.prepare(INSERT_REQUEST)
    this.insertRequests = db.prepare(insertRequests(ROWS_PER_INSERT))
    this.insertAttempt = db.prepare(INSERT_ATTEMPT)
    this.insertBodies = db.prepare(INSERT_BODIES)
    this.upsertUsage = db.prepare(UPSERT_USAGE)
    const many: Value[] = new Array(ROWS_PER_INSERT * REQUEST_VALUES)
    const one: Value[] = new Array(REQUEST_VALUES)
    this.writeAll = db.transaction((batch: StoredRow[]) => {
      let i = 0
      for (; i + ROWS_PER_INSERT <= batch.length; i += ROWS_PER_INSERT) {
        for (let k = 0; k < ROWS_PER_INSERT; k++) copyValues(batch[i + k]!, many, k * REQUEST_VALUES)
        this.insertRequests.run(...many)
      }
      for (; i < batch.length; i++) this.insertRequest.run(...copyValues(batch[i]!, one, 0))
      for (const r of batch) {
        for (const a of attemptValues(r)) this.insertAttempt.run(...a)
        const bodies = bodiesValues(r)
        if (bodies) this.insertBodies.run(...bodies)
      }
      for (const u of usageDeltas(batch)) this.upsertUsage.run(...u)
    })
  }

  write(batch: StoredRow[]): void {
    if (this.readOnly) throw new Error(`the database's schema (version ${this.version}) is newer than this agproxy knows (${SCHEMA_VERSION}); it is read-only`)
    if (batch.length) this.writeAll(batch)
  }

  requests(q: RequestQuery): StoredRequest[] {
    const { where, values, limit } = requestFilter(q)
    const rows = this.db.query(selectRequests(where)).all(...values, limit) as Row[]
    if (!rows.length) return []
    const attempts = this.db
      .query(`SELECT * FROM attempts WHERE request_id IN (${rows.map(() => '?').join(', ')}) ORDER BY request_id, seq`)
      .all(...rows.map(r => String(r.id))) as Row[]
    const byId = Map.groupBy(attempts, a => String(a.request_id))
    return rows.map(r => toStoredRequest(r, byId.get(String(r.id)) ?? []))
  }

  request(id: string): StoredRequest | undefined {
    const row = this.db.query('SELECT * FROM requests WHERE id = ?').get(id) as Row | null
    if (!row) return undefined
    const attempts = this.db.query('SELECT * FROM attempts WHERE request_id = ? ORDER BY seq').all(id) as Row[]
    const bodies = this.db.query('SELECT * FROM bodies WHERE request_id = ?').get(id) as Row | null
    return toStoredRequest(row, attempts, bodies ?? undefined)
  }

  usage(q: UsageQuery): UsageRow[] {
    const { sql, values } = usageSelect(q)
    return (this.db.query(sql).all(...values) as Row[]).map(toUsageRow)
  }

  retain(before: number, maxBytes: number): number {
    if (this.readOnly) return 0
    let gone = this.deleteUpTo(before, false)
    for (let round = 0; round < 20 && this.usedBytes() > maxBytes; round++) {
      const rows = this.count()
      if (!rows) break
      // the oldest share that should bring it under the limit, and a margin so it does not run every flush
      const share = Math.min(0.5, (this.usedBytes() - maxBytes) / this.usedBytes() + 0.05)
      const n = Math.max(1, Math.ceil(rows * share))
      const cut = this.db.query('SELECT time FROM requests ORDER BY time LIMIT 1 OFFSET ?').get(n - 1) as { time: number } | null
      if (!cut) break
      gone += this.deleteUpTo(cut.time, true)
    }
    if (gone) this.db.exec('PRAGMA incremental_vacuum')
    return gone
  }

  /** delete the rows before `time` (or up to it, inclusive) from every table but the usage totals */
  private deleteUpTo(time: number, inclusive: boolean): number {
    const op = inclusive ? '<=' : '<'
    let gone = 0
    this.db.transaction(() => {
      gone = this.db.query(`DELETE FROM requests WHERE time ${op} ?`).run(time).changes
      this.db.query(`DELETE FROM attempts WHERE time ${op} ?`).run(time)
      this.db.query(`DELETE FROM bodies WHERE time ${op} ?`).run(time)
    })()
    return gone
  }

  private count(): number {
    return (this.db.query('SELECT count(*) AS n FROM requests').get() as { n: number }).n
  }

  /** the pages in use (freed pages are reused before the file grows) */
  private usedBytes(): number {
    const page = (this.db.query('PRAGMA page_size').get() as { page_size: number }).page_size
    const pages = (this.db.query('PRAGMA page_count').get() as { page_count: number }).page_count
    const free = (this.db.query('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count
    return (pages - free) * page
  }

  info(): StoreInfo {
    let bytes = 0
    for (const f of [this.file, `${this.file}-wal`]) bytes += existsSync(f) ? statSync(f).size : 0
    return { location: this.file, schemaVersion: this.version, readOnly: this.readOnly, rows: this.count(), bytes }
  }

  close(): void {
    // a clean shutdown leaves one self-contained file (no -wal to carry along)
    try {
      this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    } catch {
      /* read-only or failing: the WAL stays, SQLite replays it at the next open */
    }
    // a statement left open would keep the file open after close (SQLite defers the close until it is finalized)
    for (const s of [this.insertRequest, this.insertRequests, this.insertAttempt, this.insertBodies, this.upsertUsage]) s.finalize()
    this.db.close()
  }
}
