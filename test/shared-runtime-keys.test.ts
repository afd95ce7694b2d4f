/**
 * Runtime client keys shared by several instances (issue 11): kept hashed in the PostgreSQL of database_url, created,
 * revoked and rotated through one instance's admin API and honoured by the others within a second — at once through
 * Redis (each change is published), by polling the keys' version without it. Two real agproxy processes, a real
 * redis-server and PostgreSQL (test/support/servers.ts), the official openai SDK as the client.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SQL } from 'bun'
import OpenAI from 'openai'
import { startFake, type Fake } from './fakes/upstream'
import { cleanEnv, configFile, runCli, startCli, type Running } from './support/cli'
import { hasPostgres, hasRedis, startPostgres, startRedis, type PostgresServer, type RedisServer } from './support/servers'
import { openPostgresStore } from '../src/store/postgres'
import { openSqliteStore } from '../src/store/sqlite'
import type { StoredClientKey } from '../src/store/types'

const ADMIN = 'admin-key-runtime-keys-0123456789'
const UPSTREAM = 'sk-proj-RUNTIMEKEYS00000000000000001'
const runPg = hasPostgres() ? describe : describe.skip
const runBoth = hasPostgres() && hasRedis() ? describe : describe.skip

let pg: PostgresServer
let o: Fake
beforeAll(async () => {
  o = await startFake('openai')
  if (hasPostgres()) pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await o?.stop()
  await pg?.stop()
})

/** a fresh database in the test cluster */
async function database(name: string): Promise<string> {
  const admin = new SQL(pg.url)
  await admin.unsafe(`CREATE DATABASE ${name}`)
  await admin.close()
  return pg.url.replace(/\/postgres$/, `/${name}`)
}

/** two agproxy processes on one configuration (one database_url, and redis_url when given), each its own data_dir */
async function two(databaseUrl: string, redisUrl?: string): Promise<{ a: Running; b: Running; cfg: string; stop: () => Promise<void> }> {
  const yaml = [
    ...(redisUrl ? [`redis_url: ${redisUrl}`] : []),
    `database_url: ${databaseUrl}`,
    `admin_key: ${ADMIN}`,
    // runtime keys alone do not turn auth on (auto turns it on for client_keys in the configuration): a refused key must be refused
    'auth_mode: all_except_health',
    'retry: { max_attempts: 1, max_wait: 0 }',
    'providers:',
    `  - { name: up, type: openai, base_url: ${o.url}, api_keys: [{ key: ${UPSTREAM}, name: k1 }] }`,
  ].join('\n')
  const cfg = configFile(yaml)
  const start = () => startCli(['--config', cfg, '--port', '0'], cleanEnv({ AGPROXY_DATA_DIR: mkdtempSync(join(tmpdir(), 'agproxy-rk-')) }))
  const [a, b] = await Promise.all([start(), start()])
  if (redisUrl) await Promise.all([a.waitFor(/redis: connected/), b.waitFor(/redis: connected/)])
  return { a, b, cfg, stop: async () => void (await Promise.all([a.stop(), b.stop()])) }
}

const admin = (p: Running, path: string, method = 'GET', body?: unknown) =>
  fetch(p.url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })

/** one chat completion through the official SDK: the answer, or the error it threw */
async function chat(p: Running, key: string): Promise<unknown> {
  try {
    return await new OpenAI({ baseURL: `${p.url}/v1`, apiKey: key, maxRetries: 0 }).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    })
  } catch (e) {
    return e
  }
}

/** ms until `ok` holds of a chat on `p` with `key` (it is tried again and again, for up to 3 s) */
async function msUntil(p: Running, key: string, ok: (answer: unknown) => boolean): Promise<{ ms: number; answer: unknown }> {
  const t0 = performance.now()
  let answer: unknown
  do answer = await chat(p, key)
  while (!ok(answer) && performance.now() - t0 < 3000)
  return { ms: performance.now() - t0, answer }
}
const works = (a: unknown) => !(a instanceof Error)

/** create a runtime key through `p`'s admin API; the key, shown this once */
async function create(p: Running, name: string, limits: Record<string, unknown> = {}): Promise<string> {
  const res = await admin(p, '/admin/keys', 'POST', { name, ...limits })
  expect(res.status).toBe(201)
  return ((await res.json()) as { key: string }).key
}

runPg('the PostgreSQL client-key store', () => {
  test('the same rows as SQLite; every change bumps the version; a taken name or no live key is false', async () => {
    const url = await database('keystore')
    const pgStore = openPostgresStore(url)
    const lite = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'agproxy-keys-')), 'k.db')).store
    for (const store of [pgStore.clientKeys!, lite.clientKeys!]) {
      const v0 = await store.version()
      const k: StoredClientKey = { name: 'alice', hash: 'a'.repeat(64), models: ['gpt-*'], rpm: 5, budget: { usd: 2.5, period: 'week' }, created: 1000 }
      expect(await store.create(k)).toBe(true)
      expect(await store.create({ ...k, hash: 'b'.repeat(64) })).toBe(false)
      expect(await store.rotate('alice', 'c'.repeat(64))).toBe(true)
      expect(await store.revoke('alice', 2000)).toBe(true)
      expect(await store.revoke('alice', 3000)).toBe(false)
      expect(await store.rotate('nobody', 'd'.repeat(64))).toBe(false)
      expect(await store.version()).toBe(v0 + 3)
      expect(await store.list()).toEqual([{ ...k, hash: 'c'.repeat(64), revoked: 2000 }])
    }
    lite.close()
    await pgStore.close()
  })
})

runBoth('two instances, one Redis, one PostgreSQL: runtime client keys', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  test('created on A works on B; revoked on A is refused by B within a second; rotated on A: old refused, new works on B; one request log', async () => {
    const { a, b, cfg, stop } = await two(await database('sharedkeys'), redis.url)
    try {
      const key = await create(a, 'team-a', { rpm: 100, note: 'made on A' })
      const made = await msUntil(b, key, works)
      expect(made.answer).not.toBeInstanceOf(Error)
      expect(made.ms).toBeLessThanOrEqual(1000)
      // B's admin API and `agproxy keys list` against B show the key created on A: its name, never the key or its hash
      const listed = await (await admin(b, '/admin/keys')).text()
      expect(listed).toContain('"name":"team-a"')
      expect(listed).toContain('"note":"made on A"')
      expect(listed).not.toContain(key)
      expect(listed).not.toContain(new Bun.CryptoHasher('sha256').update(key).digest('hex'))
      const cli = await runCli(['keys', 'list', '--config', cfg, '--port', new URL(b.url).port], cleanEnv())
      expect(cli.stdout).toMatch(/team-a\s+runtime\s+active/)
      expect(cli.stdout).not.toContain(key)

      expect(works(await chat(a, key))).toBe(true)
      expect((await admin(a, '/admin/keys/team-a/revoke', 'POST')).status).toBe(200)
      const revoked = await msUntil(b, key, x => !works(x))
      expect(revoked.answer).toBeInstanceOf(OpenAI.PermissionDeniedError)
      expect((revoked.answer as Error).message).toContain('"team-a" was revoked at')
      expect(revoked.ms).toBeLessThanOrEqual(1000)

      const old = await create(a, 'team-b')
      expect(works((await msUntil(b, old, works)).answer)).toBe(true)
      const rotated = (await (await admin(a, '/admin/keys/team-b/rotate', 'POST')).json()) as { key: string }
      const refusedOld = await msUntil(b, old, x => !works(x))
      expect(refusedOld.answer).toBeInstanceOf(OpenAI.AuthenticationError)
      expect(refusedOld.ms).toBeLessThanOrEqual(1000)
      const worksNew = await msUntil(b, rotated.key, works)
      expect(worksNew.answer).not.toBeInstanceOf(Error)
      expect(worksNew.ms).toBeLessThanOrEqual(1000)

      // the request log in PostgreSQL: rows from both instances, with the keys' names
      let rows: Array<{ instance: string; clientKey?: string; status: number }> = []
      const instances = () => new Set(rows.filter(r => r.clientKey === 'team-a' && r.status === 200).map(r => r.instance)).size
      // B's refusals of the revoked key are logged too
      const refusals = () => rows.filter(r => r.status === 403).length
      for (let i = 0; i < 50 && (instances() < 2 || !refusals()); i++) {
        await Bun.sleep(100)
        rows = ((await (await admin(a, '/admin/requests?limit=200')).json()) as { requests: typeof rows }).requests
      }
      expect(instances()).toBe(2)
      expect(refusals()).toBeGreaterThan(0)
      expect(JSON.stringify(rows)).not.toContain(key)
    } finally {
      await stop()
    }
  }, 60_000)
})

runPg('two instances, one PostgreSQL, no Redis', () => {
  test('a key revoked on A is refused by B within a second (B polls the keys’ version)', async () => {
    const { a, b, stop } = await two(await database('polledkeys'))
    try {
      const key = await create(a, 'polled')
      const made = await msUntil(b, key, works)
      expect(made.answer).not.toBeInstanceOf(Error)
      expect(made.ms).toBeLessThanOrEqual(1000)
      expect((await admin(a, '/admin/keys/polled/revoke', 'POST')).status).toBe(200)
      const revoked = await msUntil(b, key, x => !works(x))
      expect(revoked.answer).toBeInstanceOf(OpenAI.PermissionDeniedError)
      expect(revoked.ms).toBeLessThanOrEqual(1000)
    } finally {
      await stop()
    }
  }, 60_000)
})
