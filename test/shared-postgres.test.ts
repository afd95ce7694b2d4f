/**
 * The request log and usage in a real PostgreSQL (database_url; test/support/servers.ts starts PostgreSQL 15 in a temp
 * cluster): the same rows and answers as SQLite from the same batch (one schema, one query layer), migrations run once
 * by whichever instance comes first, and two agproxy processes sharing one Redis and one PostgreSQL: one request log
 * with both instances' rows, and a 429 learned by one honoured by the other.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SQL } from 'bun'
import { startFake, type Fake } from './fakes/upstream'
import { configFile, cleanEnv, startCli, type Running } from './support/cli'
import { hasPostgres, hasRedis, startPostgres, startRedis, type PostgresServer, type RedisServer } from './support/servers'
import { record } from './support/records'
import { openPostgresStore, numbered, postgresLocation } from '../src/store/postgres'
import { openSqliteStore } from '../src/store/sqlite'
import { DEGRADED_SOURCE, RequestLog } from '../src/store/request-log'
import { createLogger } from '../src/log'
import { SCHEMA_VERSION, toRow } from '../src/store/sql'
import type { StoredRequest } from '../src/store/types'

const ADMIN = 'admin-key-postgres-0123456789'
const O = ['sk-proj-PGSHAREA0000000000000000000001', 'sk-proj-PGSHAREB0000000000000000000002']
const run = hasPostgres() ? describe : describe.skip

let pg: PostgresServer
beforeAll(async () => {
  if (hasPostgres()) pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

/** a fresh database in the test cluster (each test its own) */
async function database(name: string): Promise<string> {
  const admin = new SQL(pg.url)
  await admin.unsafe(`CREATE DATABASE ${name}`)
  await admin.close()
  return pg.url.replace(/\/postgres$/, `/${name}`)
}

test('numbered placeholders and a URL without its password', () => {
  expect(numbered('a = ? AND b IN (?, ?)')).toBe('a = $1 AND b IN ($2, $3)')
  expect(postgresLocation('postgres://agproxy:s3cret@db:5432/log')).toBe('postgres://agproxy@db:5432/log')
})

run('the PostgreSQL store', () => {
  test('the same batch gives the same answers as SQLite (requests, one request, usage); migrations once', async () => {
    const url = await database('parity')
    const rows: StoredRequest[] = [
      { ...record({ id: '01A', time: Date.UTC(2026, 0, 2, 10) }), costUsd: 0.5 },
      {
        ...record({
          id: '01B',
          time: Date.UTC(2026, 0, 2, 11),
          status: 429,
          retries: 1,
          attempts: [
            { provider: 'p', model: 'm', key: 'k1', status: 429, error: 'rate_limit', message: 'slow down', ms: 5 },
            { provider: 'p', model: 'm', key: 'k2', status: 429, ms: 6 },
          ],
        }),
        costUsd: null,
        requestBody: '{"q":1}',
      },
      { ...record({ id: '01C', time: Date.UTC(2026, 0, 3, 9), clientKey: 'team-a' }), costUsd: 0.25 },
    ]
    const lite = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'agproxy-parity-')), 'a.db')).store
    lite.write(rows.map(toRow))
    // two stores at once on a fresh database: the advisory lock lets one migrate, the other finds it done
    const [p, q] = [openPostgresStore(url), openPostgresStore(url)]
    await Promise.all([p.write(rows.slice(0, 2).map(toRow)), q.write(rows.slice(2).map(toRow))])
    expect(await p.requests({})).toEqual(lite.requests({}))
    expect(await p.requests({ status: '4xx' })).toEqual(lite.requests({ status: '4xx' }))
    expect(await p.request('01B')).toEqual(lite.request('01B'))
    for (const by of [[], ['day'], ['key', 'model']] as const) expect(await p.usage({ by: [...by] })).toEqual(lite.usage({ by: [...by] }))
    const info = await p.info()
    expect(info).toMatchObject({ schemaVersion: SCHEMA_VERSION, readOnly: false, rows: 3 })
    expect(info.location).not.toContain(':@')
    const versions = new SQL(url)
    expect(await versions.unsafe('SELECT version FROM schema_version')).toEqual([{ version: SCHEMA_VERSION }])
    await versions.close()
    // retention: the rows before a time go, usage totals stay
    expect(await p.retain(Date.UTC(2026, 0, 3), 1e12)).toBe(2)
    expect((await p.requests({})).map(r => r.id)).toEqual(['01C'])
    expect((await p.usage({ by: [] })).reduce((n, u) => n + u.requests, 0)).toBe(3)
    lite.close()
    await Promise.all([p.close(), q.close()])
  })

  test('a database that is not there: the write rejects (the request log retries), nothing throws at open', async () => {
    const s = openPostgresStore(pg.url.replace(/\/postgres$/, '/missing_db'))
    await expect(s.write([toRow({ ...record({}), costUsd: null })])).rejects.toThrow()
    await s.close()
  })
})

run('the request log on PostgreSQL', () => {
  test('PostgreSQL stopped: one error and a request-log degraded reason, rows kept queued; started again: the rows are written, the reason cleared', async () => {
    const url = await database('faults')
    const lines: string[] = []
    const log = createLogger('debug', l => lines.push(l))
    const target = { degraded: new Map<string, string>(), dropped: { logRows: 0 } }
    const rl = new RequestLog({
      file: postgresLocation(url),
      open: () => ({ store: openPostgresStore(url) }),
      log,
      retention: { days: 30, max_mb: 500 },
      logBodies: false,
      flushMs: 20,
      retryMs: 200,
    })
    rl.attach(target)
    rl.push(record({ id: '01F1' }))
    await until(async () => ((await rl.reader?.requests({})) ?? []).length === 1)
    await pg.pause()
    for (let i = 2; i <= 5; i++) rl.push(record({ id: `01F${i}` }))
    await until(() => target.degraded.has(DEGRADED_SOURCE), 10_000)
    expect(lines.filter(l => l.includes('request log:') && l.includes('ERROR')).length).toBe(1)
    await pg.resume()
    await until(() => !target.degraded.has(DEGRADED_SOURCE), 10_000)
    expect(lines.some(l => l.includes('writing to') && l.includes('again'))).toBe(true)
    await until(async () => ((await rl.reader?.requests({})) ?? []).length === 5, 5000)
    expect(target.dropped.logRows).toBe(0)
    await rl.close()
  }, 40_000)
})

async function until(ok: () => boolean | Promise<boolean>, ms = 3000) {
  const end = Date.now() + ms
  while (
    !(await Promise.resolve()
      .then(ok)
      .catch(() => false))
  ) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await Bun.sleep(20)
  }
}

const runBoth = hasPostgres() && hasRedis() ? describe : describe.skip

runBoth('two agproxy processes, one Redis, one PostgreSQL', () => {
  let o: Fake
  let redis: RedisServer
  const procs: Running[] = []
  beforeAll(async () => {
    o = await startFake('openai')
    redis = await startRedis()
  })
  afterAll(async () => {
    await Promise.all(procs.map(p => p.stop()))
    await o?.stop()
    await redis?.stop()
  })

  test('the request log has both instances rows; a 429 learned by A is honoured by B', async () => {
    const url = await database('shared')
    const yaml = [
      `redis_url: ${redis.url}`,
      `database_url: ${url}`,
      `admin_key: ${ADMIN}`,
      'retry: { max_attempts: 3, max_wait: 0 }',
      'providers:',
      `  - { name: up, type: openai, base_url: ${o.url}, api_keys: [{ key: ${O[0]}, name: k1 }, { key: ${O[1]}, name: k2 }] }`,
    ].join('\n')
    const cfg = configFile(yaml)
    for (let i = 0; i < 2; i++) {
      const p = await startCli(['--config', cfg, '--port', '0'], cleanEnv({ AGPROXY_DATA_DIR: mkdtempSync(join(tmpdir(), 'agproxy-inst-')) }))
      procs.push(p)
      await p.waitFor(/redis: connected/)
    }
    const [a, b] = procs as [Running, Running]
    const chat = (p: Running, prompt: string) =>
      fetch(`${p.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }] }),
      })
    o.handler = r => (r.key === O[0] ? { kind: 'error', status: 429, message: 'rate limited', headers: { 'retry-after': '60' } } : undefined)
    expect((await chat(a, 'on a')).status).toBe(200)
    expect(o.requests.map(r => r.key)).toEqual([O[0], O[1]])
    await Bun.sleep(200)
    for (let i = 0; i < 3; i++) expect((await chat(b, `on b ${i}`)).status).toBe(200)
    expect(o.requests.slice(2).map(r => r.key)).toEqual([O[1], O[1], O[1]])
    // the log is written within ~200 ms; either instance's admin API reads the one database
    let rows: Array<{ instance: string; status: number }> = []
    const end = Date.now() + 5000
    while (Date.now() < end) {
      const res = await fetch(`${b.url}/admin/requests?limit=50`, { headers: { authorization: `Bearer ${ADMIN}` } })
      rows = ((await res.json()) as { requests: typeof rows }).requests
      if (rows.length >= 4) break
      await Bun.sleep(100)
    }
    expect(rows.length).toBe(4)
    expect(new Set(rows.map(r => r.instance)).size).toBe(2)
    const usage = (await (await fetch(`${a.url}/admin/usage?by=provider`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
      rows: Array<{ requests: number }>
    }
    expect(usage.rows[0]?.requests).toBe(4)
  }, 60_000)
})
