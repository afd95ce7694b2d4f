/**
 * The request store (src/store): rows as written and read back, usage totals and their cost, retention, migrations,
 * the bounded queue, and a database that is corrupted or newer than this agproxy.
 */
import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RequestLog, DEGRADED_SOURCE } from '../src/store/request-log'
import { openSqliteStore } from '../src/store/sqlite'
import { createPricer, costAt } from '../src/store/prices'
import { SCHEMA_VERSION, dayOf, toRow } from '../src/store/sql'
import { parseSince, parseUsageGroups } from '../src/store/query'
import type { RequestStore } from '../src/store/types'
import { createLogger } from '../src/log'
import type { IRUsage } from '../src/ir/types'
import { calcPrice } from '@pydantic/genai-prices'
import { record } from './support/records'

/** the SQLite store behind a request log (synchronous answers) */
const sqliteOf = (log: RequestLog) => log.reader as RequestStore

const dir = () => mkdtempSync(join(tmpdir(), 'agproxy-store-'))
const quiet = () => {
  const lines: string[] = []
  return { lines, log: createLogger('debug', l => lines.push(l)) }
}
const target = () => ({ degraded: new Map<string, string>(), dropped: { logRows: 0 } })
const newLog = (file: string, over: Partial<ConstructorParameters<typeof RequestLog>[0]> = {}) => {
  const q = quiet()
  const t = target()
  const log = new RequestLog({ file, log: q.log, retention: { days: 30, max_mb: 500 }, logBodies: false, ...over })
  log.attach(t)
  return { log, lines: q.lines, target: t }
}

describe('dayOf', () => {
  test('the UTC day of each time, whatever day the time before it was on (it remembers the last day it formatted)', () => {
    const midnight = Date.UTC(2026, 11, 8)
    const times = [midnight - 1, midnight, midnight + 1, midnight - 1, midnight + 86_399_999, midnight + 86_400_000, -1, 0, midnight - 1, midnight]
    expect(times.map(dayOf)).toEqual(times.map(t => new Date(t).toISOString().slice(0, 10)))
    expect(dayOf(midnight - 1)).toBe('2026-12-07')
    expect(dayOf(midnight)).toBe('2026-12-08')
    expect(dayOf(-1)).toBe('1969-12-31')
  })
})

describe('prices', () => {
  test('configured prices win (exact, then glob); cached input and reasoning at their own price', () => {
    const price = createPricer({ 'my-model': { input: 1, output: 2 }, 'gpt-4o-*': { input: 10, output: 20, cached_input: 5 } })
    expect(price('my-model', { inputTokens: 1_000_000, outputTokens: 500_000 })).toBeCloseTo(2)
    expect(price('gpt-4o-mini', { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 400_000 })).toBeCloseTo(6 + 2)
    expect(costAt({ input: 1, output: 2, reasoning: 4 }, { inputTokens: 0, outputTokens: 1_000_000, reasoningTokens: 500_000 })).toBeCloseTo(3)
  })

  test('the bundled table prices known models; unknown models are null, never 0', () => {
    const price = createPricer({})
    expect(price('gpt-4o-mini', { inputTokens: 1000, outputTokens: 100 })).toBeCloseTo(0.00021, 8)
    expect(price('claude-sonnet-4-20250514', { inputTokens: 1000, outputTokens: 100 }, undefined)).toBeGreaterThan(0)
    expect(price('my-local-llama', { inputTokens: 1000, outputTokens: 100 })).toBeNull()
    expect(price('gpt-4o-mini', undefined)).toBeNull()
  })

  test('a remembered table price is the table price (cache reads and writes, tiers)', () => {
    const price = createPricer({})
    const cases: Array<[string, IRUsage]> = [
      ['gpt-4o-mini', { inputTokens: 5000, outputTokens: 300, cachedInputTokens: 1000 }],
      ['claude-sonnet-4-20250514', { inputTokens: 5000, outputTokens: 300, cachedInputTokens: 1000, cacheCreationInputTokens: 2000 }],
      ['gemini-2.5-pro', { inputTokens: 3000, outputTokens: 300 }],
      ['gemini-2.5-pro', { inputTokens: 300_000, outputTokens: 300 }],
    ]
    for (const [model, u] of cases) {
      const table = calcPrice(
        {
          input_tokens: u.inputTokens,
          output_tokens: u.outputTokens,
          cache_read_tokens: u.cachedInputTokens ?? 0,
          cache_write_tokens: u.cacheCreationInputTokens ?? 0,
        },
        model,
      )?.total_price
      expect([price(model, u), price(model, u)]).toEqual([table!, expect.closeTo(table!, 12)])
    }
  })
})

describe('queries', () => {
  test('since: ages, ISO and ms; usage groupings', () => {
    expect(parseSince('7d', 10 * 86_400_000)).toBe(3 * 86_400_000)
    expect(parseSince('2026-01-02', 0)).toBe(Date.parse('2026-01-02'))
    expect(parseSince('yesterday', 0)).toBeNaN()
    // no date at all (new Date(t).toISOString() would throw)
    expect(parseSince('99999999999999999999', 0)).toBeNaN()
    expect(parseSince('99999999999w', 0)).toBeNaN()
    expect(parseSince('8640000000000000', 0)).toBe(8.64e15)
    expect(parseUsageGroups('day,model')).toEqual(['day', 'model'])
    expect(parseUsageGroups('team')).toContain('use day, key, model or provider')
  })
})

describe('the request store', () => {
  test('a request is written with its attempts, read back as recorded, and summed into usage with its cost', () => {
    const file = join(dir(), 'agproxy.db')
    const { log } = newLog(file, { pricer: createPricer({ 'local-*': { input: 1, output: 1 } }) })
    const ok = record({ usage: { inputTokens: 1000, outputTokens: 100, cachedInputTokens: 200, reasoningTokens: 10 } })
    const retried = record({
      status: 200,
      retries: 1,
      attempts: [
        { provider: 'oai', model: 'gpt-4o-mini', key: 'main', status: 429, error: 'rate_limit', message: '429 from upstream', ms: 5 },
        { provider: 'oai', model: 'gpt-4o-mini', key: 'spare', status: 200, ms: 9 },
      ],
      key: 'spare',
    })
    const failed = record({ status: 502, usage: undefined, errorKind: 'upstream', error: 'upstream answered 500', clientKey: 'bob' })
    const local = record({ model: 'local-llama', routedModel: 'local-llama', provider: 'ollama', usage: { inputTokens: 10, outputTokens: 10 } })
    const unknown = record({ model: 'mystery', routedModel: 'mystery', provider: 'ollama', usage: { inputTokens: 10, outputTokens: 10 } })
    const listing = record({ method: 'GET', path: '/v1/models', endpoint: undefined, model: undefined, provider: undefined, usage: undefined })
    for (const r of [ok, retried, failed, local, unknown, listing]) log.push(r)
    expect(log.queued).toBe(6)
    expect(log.flush()).toBe(true)
    const store = sqliteOf(log)
    const back = store.request(retried.id)!
    expect(back.attempts).toEqual(retried.attempts)
    expect(back.costUsd).toBeCloseTo(0.00021, 8)
    expect({ ...back, costUsd: undefined }).toEqual({ ...retried, costUsd: undefined } as never)
    expect(store.request(unknown.id)!.costUsd).toBeNull()
    // one plain attempt is kept in the request row itself (no attempt row), and read back the same
    expect(store.request(ok.id)!.attempts).toEqual(ok.attempts)
    expect(store.request(failed.id)!.attempts).toEqual(failed.attempts)
    expect(store.requests({ status: '5xx' }).map(r => r.id)).toEqual([failed.id])
    expect(store.requests({ clientKey: 'bob' }).map(r => r.id)).toEqual([failed.id])
    // every request is in the log; only model calls are in usage
    expect(store.request(listing.id)?.path).toBe('/v1/models')
    expect(store.requests({ limit: 2, before: listing.id }).map(r => r.id)).toEqual([unknown.id, local.id])
    expect(store.requests({ limit: 2, before: local.id }).map(r => r.id)).toEqual([failed.id, retried.id])

    const byModel = Object.fromEntries(store.usage({ by: ['model'] }).map(u => [u.model, u]))
    expect(byModel['gpt-4o-mini']).toMatchObject({
      requests: 3,
      errors: 1,
      inputTokens: 2000,
      outputTokens: 200,
      cachedTokens: 200,
      reasoningTokens: 10,
      unpriced: 0,
    })
    expect(byModel['local-llama']).toMatchObject({ requests: 1, costUsd: 0.00002, unpriced: 0 })
    // unknown price: shown as unknown, not 0
    expect(byModel.mystery).toMatchObject({ requests: 1, costUsd: null, unpriced: 1 })
    const byKey = store.usage({ by: ['key'] })
    expect(byKey.map(u => [u.clientKey, u.requests])).toEqual([
      ['alice', 4],
      ['bob', 1],
    ])
    log.close()
  })

  test('bodies are kept only with log_bodies, keys redacted and capped', () => {
    const file = join(dir(), 'agproxy.db')
    const secret = 'sk-client-secret-0123456789abcdef'
    const { log } = newLog(file, { logBodies: true, redact: t => t.replaceAll(secret, 'sk-…cdef') })
    const r = record({ requestBody: `{"key":"${secret}","x":"${'a'.repeat(100_000)}"}`, responseBody: '{"ok":true}' })
    log.push(r)
    log.flush()
    const back = sqliteOf(log).request(r.id)!
    expect(back.requestBody).not.toContain(secret)
    expect(back.requestBody).toContain('sk-…cdef')
    expect(back.requestBody!.length).toBe(64 * 1024)
    expect(back.responseBody).toBe('{"ok":true}')
    log.close()

    const off = newLog(join(dir(), 'agproxy.db'))
    const r2 = record({ requestBody: '{"a":1}' })
    off.log.push(r2)
    off.log.flush()
    expect(sqliteOf(off.log).request(r2.id)!.requestBody).toBeUndefined()
    off.log.close()
  })

  test('a full queue drops its oldest rows and counts them; push never writes', () => {
    const file = join(dir(), 'agproxy.db')
    const { log, target } = newLog(file, { maxPending: 3 })
    const rs = [record(), record(), record(), record(), record()]
    for (const r of rs) log.push(r)
    expect(log.queued).toBe(3)
    expect(target.dropped.logRows).toBe(2)
    expect(sqliteOf(log).requests({}).length).toBe(0)
    log.flush()
    expect(
      sqliteOf(log)
        .requests({})
        .map(r => r.id)
        .reverse(),
    ).toEqual(rs.slice(2).map(r => r.id))
    log.close()
  })

  test('a queued row keeps no record alive (the queue holds its encoded row: the collector never carries records for ~200 ms)', () => {
    const { log } = newLog(join(dir(), 'agproxy.db'))
    const refs: Array<WeakRef<object>> = []
    const ids: string[] = []
    // pushed in a function of its own, so no stack slot of this one holds a record
    const pushSome = () => {
      for (let i = 0; i < 50; i++) {
        const r = record({ usage: { inputTokens: 10 + i, outputTokens: 5 }, error: `failed ${i}` })
        refs.push(new WeakRef(r), new WeakRef(r.attempts))
        ids.push(r.id)
        log.push(r)
      }
    }
    pushSome()
    Bun.gc(true)
    expect(refs.filter(r => r.deref() !== undefined).length).toBeLessThan(5)
    expect(log.queued).toBe(50)
    log.flush()
    const rows = sqliteOf(log).requests({ limit: 100 })
    expect(rows.map(r => r.id).sort()).toEqual(ids.sort())
    expect(rows.find(r => r.id === ids[7])).toMatchObject({ usage: { inputTokens: 17, outputTokens: 5 }, error: 'failed 7' })
    log.close()
  })

  test('rows are written within ~200 ms without a flush call', async () => {
    const { log } = newLog(join(dir(), 'agproxy.db'))
    log.push(record())
    await Bun.sleep(400)
    expect(log.queued).toBe(0)
    expect(sqliteOf(log).requests({}).length).toBe(1)
    log.close()
  })

  test('on a writer thread (as the server runs it): rows are written off the main thread; close() waits for the batch in flight', async () => {
    const file = join(dir(), 'agproxy.db')
    const { log, lines } = newLog(file, { thread: true })
    const rs = Array.from({ length: 250 }, () => record())
    for (const r of rs) log.push(r)
    for (let i = 0; i < 100 && log.queued; i++) await Bun.sleep(20)
    await log.close()
    expect(lines.filter(l => l.includes('writer thread'))).toEqual([])
    const { store } = openSqliteStore(file)
    expect(store.info().rows).toBe(250)
    store.close()
  })

  test('retention: rows older than days go, then the oldest beyond max_mb; usage totals stay', () => {
    const file = join(dir(), 'agproxy.db')
    const { store } = openSqliteStore(file)
    const day = 86_400_000
    const now = Date.now()
    const old = record({ time: now - 40 * day })
    store.write([toRow({ ...old, costUsd: null })])
    const big = Array.from({ length: 400 }, (_, i) => ({ ...record({ time: now - 1000 + i, error: 'x'.repeat(5000) }), costUsd: null }))
    store.write(big.map(toRow))
    expect(store.retain(now - 30 * day, 1e12)).toBe(1)
    expect(store.request(old.id)).toBeUndefined()
    const before = store.info().rows
    const gone = store.retain(now - 30 * day, 1 * 1048576)
    expect(gone).toBeGreaterThan(0)
    expect(store.info().rows).toBe(before - gone)
    // the newest are kept
    expect(store.request(big.at(-1)!.id)).toBeDefined()
    expect(store.request(big[0]!.id)).toBeUndefined()
    expect(store.usage({ by: [] }).reduce((n, u) => n + u.requests, 0)).toBe(401)
    store.close()
  })
})

describe('migrations and damaged files', () => {
  test('a new database is at the current schema version; reopening keeps its rows', () => {
    const file = join(dir(), 'agproxy.db')
    const a = openSqliteStore(file)
    const r = record()
    a.store.write([toRow({ ...r, costUsd: null })])
    expect(a.store.info().schemaVersion).toBe(SCHEMA_VERSION)
    a.store.close()
    const b = openSqliteStore(file)
    expect(b.store.request(r.id)?.id).toBe(r.id)
    b.store.close()
  })

  test('a database at version 0 (only schema_version) is migrated on open', () => {
    const file = join(dir(), 'agproxy.db')
    const db = new Database(file)
    db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (0)')
    db.close()
    const { store } = openSqliteStore(file)
    expect(store.info().schemaVersion).toBe(SCHEMA_VERSION)
    store.write([toRow({ ...record(), costUsd: 1 })])
    store.close()
  })

  test('a newer schema than this agproxy knows: opened read-only, said once, degraded; it still answers queries', () => {
    const file = join(dir(), 'agproxy.db')
    const a = openSqliteStore(file)
    const r = record()
    a.store.write([toRow({ ...r, costUsd: null })])
    a.store.close()
    const db = new Database(file)
    db.exec(`UPDATE schema_version SET version = ${SCHEMA_VERSION + 1}`)
    db.close()
    const { log, lines, target } = newLog(file)
    expect(lines.filter(l => l.includes('newer than this agproxy')).length).toBe(1)
    expect(target.degraded.get(DEGRADED_SOURCE)).toContain('read-only')
    expect(sqliteOf(log).request(r.id)?.id).toBe(r.id)
    log.push(record())
    expect(log.flush()).toBe(false)
    log.close()
  })

  test('a corrupted file is moved aside (not lost), a fresh database starts, one error says so', () => {
    const d = dir()
    const file = join(d, 'agproxy.db')
    const a = openSqliteStore(file)
    a.store.write([toRow({ ...record(), costUsd: null })])
    a.store.close()
    // garbage over the header
    const junk = Buffer.alloc(4096, 0x5a)
    writeFileSync(file, junk)
    const { log, lines, target } = newLog(file)
    const aside = readdirSync(d).filter(f => f.startsWith('agproxy.db.corrupt-') && !f.endsWith('-wal'))
    expect(aside.length).toBe(1)
    expect(existsSync(join(d, aside[0]!))).toBe(true)
    expect(lines.filter(l => l.includes('ERROR') && l.includes('moved aside')).length).toBe(1)
    const r = record()
    log.push(r)
    expect(log.flush()).toBe(true)
    expect(sqliteOf(log).request(r.id)?.id).toBe(r.id)
    expect(target.degraded.size).toBe(0)
    log.close()
  })
})
