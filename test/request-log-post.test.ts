/**
 * The request log's way to its writer thread: what is pending goes in one message (not one per 100 rows), rows encoded
 * by position (src/store/row-codec.ts), and what the thread writes is exactly what was recorded.
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RequestLog } from '../src/store/request-log'
import { decodeRows, encodeRow } from '../src/store/row-codec'
import { openSqliteStore } from '../src/store/sqlite'
import type { StoredRequest } from '../src/store/types'
import { createLogger } from '../src/log'
import { record } from './support/records'
import { toRow } from '../src/store/sql'

/** records of every shape a row can take */
const shapes = () => [
  record(),
  record({ clientKey: undefined, usage: undefined, ttfbMs: undefined, endpoint: undefined, model: undefined, provider: undefined, routedModel: undefined }),
  record({
    status: 502,
    retries: 2,
    failovers: 1,
    key: undefined,
    errorKind: 'upstream',
    error: 'upstream said "no" with sk-…abcd',
    attempts: [
      { provider: 'oai', model: 'gpt-4o-mini', key: 'main', status: 500, error: 'upstream', message: 'boom', ms: 3 },
      { provider: 'oai', model: 'gpt-4o-mini', key: 'second', status: 0, error: 'unavailable', ms: 1 },
      { provider: 'ant', model: 'claude-x', key: 'sk-…wxyz', status: 502, error: 'upstream', message: 'bad gateway\nline two', ms: 250 },
    ],
  }),
  record({ stream: true, end: 'client_gone', status: 499, resolved: '/v1/chat/completions', path: '/chat/completions' }),
  record({ usage: { inputTokens: 10, outputTokens: 5, cachedInputTokens: 4, cacheCreationInputTokens: 2, reasoningTokens: 1 } }),
  // one attempt the row does not describe (another status): kept as an attempt
  record({ status: 200, attempts: [{ provider: 'oai', model: 'gpt-4o-mini', key: 'main', status: 201, ms: 9 }] }),
  record({ path: '/v1/models', method: 'GET', endpoint: undefined, attempts: [], usage: undefined, model: 'ünïcødé ✓ "quoted"' }),
]

describe('rows to the writer thread', () => {
  test('decoded rows are the stored rows that were encoded', () => {
    const fractions = record({ latencyMs: 20.7, ttfbMs: 3.25, attempts: [{ provider: 'oai', model: 'gpt-4o-mini', key: 'main', status: 200, ms: 1.5 }] })
    const rows = [...shapes(), fractions].map((r, i): StoredRequest => ({ ...r, costUsd: i % 2 ? null : 0.000123 * i }))
    rows[0] = { ...rows[0]!, requestBody: '{"a":1}', responseBody: 'ok' }
    const wire = JSON.stringify(rows.map(r => encodeRow(r, r.costUsd, r.requestBody, r.responseBody, r.error)))
    const back = decodeRows(wire)
    expect(back).toEqual(rows.map(toRow))
    // about half the text of the rows as objects
    expect(wire.length).toBeLessThan(JSON.stringify(rows).length * 0.7)
  })

  test('masked keys travel one byte a character (a row of Latin-1 text stays Latin-1: cheaper to stringify, post, parse, bind)', () => {
    const r: StoredRequest = {
      ...record({
        key: 'sk-…abcd',
        clientKey: 'team-…wxyz',
        status: 502,
        attempts: [
          { provider: 'oai', model: 'gpt-4o-mini', key: 'sk-…abcd', status: 500, error: 'upstream', ms: 3 },
          { provider: 'oai', model: 'gpt-4o-mini', key: 'sk-…efgh', status: 502, error: 'upstream', ms: 4 },
        ],
      }),
      costUsd: null,
    }
    const lone: StoredRequest = {
      ...record({ key: 'sk-…abcd', attempts: [{ provider: 'oai', model: 'gpt-4o-mini', key: 'sk-…abcd', status: 200, ms: 2 }] }),
      costUsd: 0.5,
    }
    for (const row of [r, lone]) {
      const wire = JSON.stringify([encodeRow(row, row.costUsd)])
      expect([...wire].filter(c => c.charCodeAt(0) > 0xff)).toEqual([])
      expect(decodeRows(wire)).toEqual([toRow(row)])
    }
  })

  test('what is pending goes to the writer thread in one message, and is written as recorded', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'agproxy-post-')), 'agproxy.db')
    // the timer would flush after 10 s: here the test calls what it calls
    const log = new RequestLog({ file, log: createLogger('error'), retention: { days: 30, max_mb: 500 }, logBodies: false, thread: true, flushMs: 10_000 })
    const rs = Array.from({ length: 1000 }, (_, i) => shapes()[i % 7]!)
    for (const r of rs) log.push(r)
    log.flush(1) // the timer's call: one message
    expect(log.queued).toBe(0)
    await log.close()
    const { store } = openSqliteStore(file)
    expect(store.info().rows).toBe(1000)
    for (const r of rs.slice(0, 7)) {
      const got = store.request(r.id)
      expect(got?.attempts).toEqual(r.attempts)
      expect(got?.usage).toEqual(r.usage)
      expect(got?.error).toEqual(r.error)
      expect(got?.status).toBe(r.status)
    }
    store.close()
  })
})
