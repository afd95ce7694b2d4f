/**
 * Client keys (issue 11 §1): keys with their own limits, from client_keys: and created at runtime through the admin API
 * and `agproxy keys create|list|revoke|rotate`. Each limit is checked through the official SDKs of each dialect (their
 * error classes and statuses), raw responses for the bodies and retry-after, and the name (never the key) in the request
 * log, /metrics and usage.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { ApiError, GoogleGenAI } from '@google/genai'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'
import { cleanEnv, configFile, runCli, tempDir } from './support/cli'
import { LocalLimiter, keyHash, periodOf, type ClientKeyStatus } from '../src/clientkeys'
import type { UsageRow } from '../src/store/types'
import { buildConfig, ConfigError, effectiveAuthMode } from '../src/config/load'
import { parseArgs } from '../src/cli/args'
import type { Dialect } from '../src/ir/types'

const ADMIN = 'adm-0123456789abcdef-clientkeys'
const PLAIN = 'sk-plain-api-key-0123456789'
const K = (n: string) => `sk-client-${n}-0123456789abcdef`
const MODEL: Record<Dialect, string> = { openai: 'gpt-4o-mini', anthropic: 'claude-test-model', gemini: 'gemini-2.5-flash' }
const DIALECTS: Dialect[] = ['openai', 'anthropic', 'gemini']

let oai: Fake
let ant: Fake
let gem: Fake
let srv: TestServer
let dataDir: string

const settings = () => ({
  data_dir: dataDir,
  admin_key: ADMIN,
  api_keys: [PLAIN],
  providers: [
    { name: 'oai', type: 'openai', base_url: oai.url, api_keys: ['sk-upstream-oai-0123456789'] },
    { name: 'ant', type: 'anthropic', base_url: ant.url, api_keys: ['sk-ant-upstream-0123456789'] },
    { name: 'gem', type: 'gemini', base_url: gem.url, api_keys: ['AIza-upstream-0123456789abc'] },
  ],
  models: { 'gpt-*': 'oai/*', 'claude-*': 'ant/*', 'gemini-*': 'gem/*' },
  prices: { 'gpt-4o-mini': { input: 1000, output: 1000 } },
  client_keys: [
    { name: 'models-only', key: K('models'), models: ['gpt-4o-mini', 'claude-*', 'gemini-2.5-*'], note: 'docs team' },
    ...DIALECTS.map(d => ({ name: `rpm-${d}`, key: K(`rpm-${d}`), rpm: 1 })),
    { name: 'burst', key: K('burst'), rpm: 5 },
    { name: 'reload', key: K('reload'), rpm: 1 },
    { name: 'tokens', key: K('tokens'), tpm: 20 },
    { name: 'one-at-a-time', key: K('parallel'), max_parallel: 1 },
    { name: 'budget', key: K('budget'), budget: { usd: 0.01, period: 'month' } },
    { name: 'expired', key: K('expired'), expires: '2020-01-01' },
  ],
})

beforeAll(async () => {
  oai = await startFake('openai')
  ant = await startFake('anthropic')
  gem = await startFake('gemini')
  dataDir = tempDir()
  srv = await startAgproxy(settings())
})
afterAll(async () => {
  await srv.stop(0)
  for (const f of [oai, ant, gem]) await f.stop()
})

/** one model call through the dialect's official SDK: the answer, or the error it threw */
async function sdkCall(d: Dialect, key: string, model = MODEL[d], url = srv.url): Promise<unknown> {
  const messages = [{ role: 'user' as const, content: 'hi' }]
  try {
    if (d === 'openai') return await new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 }).chat.completions.create({ model, messages })
    if (d === 'anthropic') return await new Anthropic({ baseURL: url, apiKey: key, maxRetries: 0 }).messages.create({ model, max_tokens: 8, messages })
    return await new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: url } }).models.generateContent({ model, contents: 'hi' })
  } catch (e) {
    return e
  }
}

/** the same call as raw HTTP: status, headers, JSON body */
async function rawCall(d: Dialect, key: string, model = MODEL[d], url = srv.url) {
  const body =
    d === 'gemini'
      ? { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }
      : { model, messages: [{ role: 'user', content: 'hi' }], ...(d === 'anthropic' ? { max_tokens: 8 } : {}) }
  const path = d === 'openai' ? '/v1/chat/completions' : d === 'anthropic' ? '/v1/messages' : `/v1beta/models/${model}:generateContent`
  const headers: Record<string, string> =
    d === 'openai'
      ? { authorization: `Bearer ${key}` }
      : d === 'anthropic'
        ? { 'x-api-key': key, 'anthropic-version': '2023-06-01' }
        : { 'x-goog-api-key': key }
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any }
}

/** the dialect's error class and status, and its message */
function expectSdkError(d: Dialect, e: unknown, status: 401 | 403 | 429) {
  if (d === 'openai') {
    const cls = { 401: OpenAI.AuthenticationError, 403: OpenAI.PermissionDeniedError, 429: OpenAI.RateLimitError }[status]
    expect(e).toBeInstanceOf(cls)
  } else if (d === 'anthropic') {
    const cls = { 401: Anthropic.AuthenticationError, 403: Anthropic.PermissionDeniedError, 429: Anthropic.RateLimitError }[status]
    expect(e).toBeInstanceOf(cls)
  } else expect(e).toBeInstanceOf(ApiError)
  expect((e as { status: number }).status).toBe(status)
  // the SDKs' messages carry the body: Anthropic's error object, the genai JSON text
  if (d === 'anthropic') return (e as { error: { error: { message: string } } }).error.error.message
  if (d === 'gemini') return JSON.parse((e as Error).message).error.message
  return (e as Error).message
}

/** the error's message from a raw body in any dialect, checking the dialect's shape */
function messageOf(d: Dialect, body: any): string {
  if (d === 'openai') expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  if (d === 'anthropic') expect(body.type).toBe('error')
  if (d === 'gemini') expect(typeof body.error.status).toBe('string')
  return body.error.message
}

const admin = (path: string, init: RequestInit = {}, url = srv.url) =>
  fetch(url + path, { ...init, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...init.headers } })

describe('limits of configured client keys, in each dialect', () => {
  test.each(DIALECTS)('%s: a model outside the key’s globs → permission error naming the key and its models; an allowed one works', async d => {
    const ok = await sdkCall(d, K('models'))
    expect(ok).not.toBeInstanceOf(Error)
    const other = { openai: 'gpt-4o', anthropic: 'gpt-4o', gemini: 'gemini-1.5-pro' }[d]
    const msg = expectSdkError(d, await sdkCall(d, K('models'), other), 403)
    expect(msg).toContain('"models-only"')
    expect(msg).toContain('gpt-4o-mini, claude-*, gemini-2.5-*')
    const raw = await rawCall(d, K('models'), other)
    expect(raw.status).toBe(403)
    expect(messageOf(d, raw.body)).toContain(`may not use the model "${other}"`)
  })

  test.each(DIALECTS)('%s: over rpm → 429 with retry-after (seconds to the minute’s end) naming the limit', async d => {
    expect(await sdkCall(d, K(`rpm-${d}`))).not.toBeInstanceOf(Error)
    const msg = expectSdkError(d, await sdkCall(d, K(`rpm-${d}`)), 429)
    expect(msg).toContain(`"rpm-${d}" is over its limit of 1 requests per minute (rpm)`)
    const raw = await rawCall(d, K(`rpm-${d}`))
    expect(raw.status).toBe(429)
    expect(Number(raw.retryAfter)).toBeGreaterThanOrEqual(1)
    expect(Number(raw.retryAfter)).toBeLessThanOrEqual(60)
    expect(messageOf(d, raw.body)).toMatch(/the window resets in \d+ s/)
  })

  test.each(DIALECTS)('%s: an expired key → permission error naming when it expired', async d => {
    const msg = expectSdkError(d, await sdkCall(d, K('expired')), 403)
    expect(msg).toContain('"expired" expired at 2020-01-01T00:00:00Z')
    // where no key is needed (the health check), an expired one is not held against the caller
    expect((await fetch(`${srv.url}/healthz`, { headers: { authorization: `Bearer ${K('expired')}` } })).status).toBe(200)
  })

  test.each(DIALECTS)('%s: an unknown key is still 401 (authentication), an api_key still works without limits', async d => {
    expectSdkError(d, await sdkCall(d, K('nobody')), 401)
    // client_keys turn auth on (auth_mode auto): no key at all is refused too
    expect((await rawCall(d, '')).status).toBe(401)
    for (let i = 0; i < 3; i++) expect(await sdkCall(d, PLAIN)).not.toBeInstanceOf(Error)
  })

  test('rpm under concurrent load: of 12 at once with rpm 5, exactly 5 succeed and 7 get 429 with retry-after', async () => {
    // a fresh minute, so the window cannot turn over in the middle of the burst
    const left = 60_000 - (Date.now() % 60_000)
    if (left < 3000) await Bun.sleep(left + 50)
    const all = await Promise.all(Array.from({ length: 12 }, () => rawCall('openai', K('burst'))))
    expect(all.filter(r => r.status === 200).length).toBe(5)
    const refused = all.filter(r => r.status === 429)
    expect(refused.length).toBe(7)
    for (const r of refused) expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1)
  })

  test('a reload keeps the counters: the minute’s requests still count against rpm', async () => {
    const left = 60_000 - (Date.now() % 60_000)
    if (left < 3000) await Bun.sleep(left + 50)
    const b = await startAgproxy({ ...settings(), data_dir: tempDir() })
    try {
      expect((await rawCall('openai', K('reload'), MODEL.openai, b.url)).status).toBe(200)
      b.reload(buildConfig({ port: 0, ...settings() }, {}, {}, 'test-config'))
      expect((await rawCall('openai', K('reload'), MODEL.openai, b.url)).status).toBe(429)
    } finally {
      await b.stop(0)
    }
  })

  test('tpm: once the minute’s tokens reach it, 429 naming tpm', async () => {
    oai.enqueue({ kind: 'text', text: 'ok', usage: { input: 15, output: 10 } })
    expect(await sdkCall('openai', K('tokens'))).not.toBeInstanceOf(Error)
    // counted when the request is over
    await Bun.sleep(50)
    const msg = expectSdkError('openai', await sdkCall('openai', K('tokens')), 429)
    expect(msg).toContain('over its limit of 20 tokens per minute (tpm: 25 used)')
    expectSdkError('anthropic', await sdkCall('anthropic', K('tokens')), 429)
  })

  test('max_parallel 1: a second request while one runs → 429; once it ended, the next one goes', async () => {
    oai.enqueue({ kind: 'slow', text: 'one two three four', chunkDelayMs: 150 })
    const first = rawCall('openai', K('parallel'))
    await Bun.sleep(100)
    const second = await rawCall('openai', K('parallel'))
    expect(second.status).toBe(429)
    expect(second.retryAfter).toBe('1')
    expect(second.body.error.message).toContain('already has 1 request(s) running, its limit (max_parallel)')
    expect((await first).status).toBe(200)
    await Bun.sleep(50)
    expect((await rawCall('openai', K('parallel'))).status).toBe(200)
  })

  test('max_parallel: a stream holds its slot until it ends', async () => {
    oai.enqueue({ kind: 'slow', text: 'one two three four', chunkDelayMs: 150 })
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: K('parallel'), maxRetries: 0 })
    const stream = await client.chat.completions.create({ model: MODEL.openai, messages: [{ role: 'user', content: 'hi' }], stream: true })
    expectSdkError('openai', await sdkCall('openai', K('parallel')), 429)
    for await (const _ of stream) {
      // read to the end
    }
    await Bun.sleep(50)
    expect(await sdkCall('openai', K('parallel'))).not.toBeInstanceOf(Error)
  })

  test('budget: once a period’s cost reaches it, 403 naming the budget and when it resets', async () => {
    oai.enqueue({ kind: 'text', text: 'ok', usage: { input: 11, output: 7 } })
    expect(await sdkCall('openai', K('budget'))).not.toBeInstanceOf(Error)
    await Bun.sleep(50)
    const msg = expectSdkError('openai', await sdkCall('openai', K('budget')), 403)
    const { end } = periodOf('month', Date.now())
    expect(msg).toContain('"budget" has spent its budget of $0.01 per month ($0.02 used)')
    expect(msg).toContain(`it resets at ${new Date(end).toISOString().replace('.000Z', 'Z')}`)
    const e = await sdkCall('gemini', K('budget'))
    expectSdkError('gemini', e, 403)
  })

  test('budget: a reload does not count the period’s spend twice (the kept counters are seeded from the database once)', async () => {
    const s = { ...settings(), data_dir: tempDir() }
    s.client_keys = [...s.client_keys, { name: 'spend-once', key: K('spend-once'), budget: { usd: 1, period: 'month' } }]
    const b = await startAgproxy(s)
    const spent = async () =>
      ((await (await admin('/admin/keys', {}, b.url)).json()) as { keys: ClientKeyStatus[] }).keys.find(k => k.name === 'spend-once')?.usage.spentUsd
    try {
      // 10 tokens at 1000 USD per million: $0.01
      oai.enqueue({ kind: 'text', text: 'ok', usage: { input: 5, output: 5 } })
      expect(await sdkCall('openai', K('spend-once'), MODEL.openai, b.url)).not.toBeInstanceOf(Error)
      // the spend is in the request log's usage before the reload
      for (let i = 0; i < 50; i++) {
        const rows = ((await (await admin('/admin/usage?by=key', {}, b.url)).json()) as { rows: UsageRow[] }).rows
        if (rows.some(r => r.clientKey === 'spend-once' && (r.costUsd ?? 0) > 0)) break
        await Bun.sleep(100)
      }
      expect(await spent()).toBeCloseTo(0.01, 6)
      b.reload(buildConfig({ port: 0, ...s }, {}, {}, 'test-config'))
      expect(await spent()).toBeCloseTo(0.01, 6)
    } finally {
      await b.stop(0)
    }
  })

  test('the request log, usage and /metrics name the key, never show it', async () => {
    let rows: Array<{ clientKey?: string; status: number }> = []
    for (let i = 0; i < 40 && !rows.length; i++) {
      await Bun.sleep(100)
      rows = ((await (await admin('/admin/requests?key=models-only')).json()) as { requests: typeof rows }).requests
    }
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every(r => r.clientKey === 'models-only')).toBe(true)
    const usage = await (await admin('/admin/usage?by=key')).json()
    expect(JSON.stringify(usage)).toContain('"clientKey":"models-only"')
    const metrics = await (await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${PLAIN}` } })).text()
    expect(metrics).toContain('agproxy_client_requests_total{client_key="models-only",status_class="2xx"}')
    expect(metrics).toContain('agproxy_client_requests_total{client_key="burst",status_class="4xx"} 7')
    const everything = JSON.stringify(await (await admin('/admin/requests?limit=500')).json()) + metrics + JSON.stringify(usage)
    for (const k of settings().client_keys) expect(everything).not.toContain(k.key)
  })
})

describe('runtime keys: the admin API', () => {
  test('create shows the key once; list shows names, limits and usage, never a key or its hash', async () => {
    const res = await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'ci-bot', rpm: 100, models: ['gpt-*'], note: 'CI' }) })
    expect(res.status).toBe(201)
    const made = (await res.json()) as { name: string; key: string }
    expect(made.name).toBe('ci-bot')
    expect(made.key).toMatch(/^sk-[A-Za-z0-9_-]{48}$/)
    expect(await sdkCall('openai', made.key)).not.toBeInstanceOf(Error)
    const listed = await (await admin('/admin/keys')).text()
    expect(listed).not.toContain(made.key)
    expect(listed).not.toContain(keyHash(made.key))
    expect(listed).not.toContain(K('models'))
    const ci = (JSON.parse(listed) as { keys: any[] }).keys.find(k => k.name === 'ci-bot')
    expect(ci).toMatchObject({ name: 'ci-bot', source: 'runtime', status: 'active', rpm: 100, models: ['gpt-*'], note: 'CI' })
    expect(ci.usage.requestsThisMinute).toBe(1)
    // a model outside its globs: refused like a configured key's
    expectSdkError('anthropic', await sdkCall('anthropic', made.key), 403)
  })

  test('the database keeps the hash, never the key', async () => {
    const res = await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'hashed', key: K('given-by-admin') }) })
    expect(res.status).toBe(201)
    const { Database } = await import('bun:sqlite')
    const db = new Database(`${dataDir}/agproxy.db`, { readonly: true })
    const row = db.query('SELECT key_hash FROM client_keys WHERE name = ?').get('hashed') as { key_hash: string }
    db.close()
    expect(row.key_hash).toBe(keyHash(K('given-by-admin')))
    const file = await Bun.file(`${dataDir}/agproxy.db`).text()
    expect(file).not.toContain(K('given-by-admin'))
  })

  test('bad bodies and names are refused with the field at fault (a key is never echoed); a taken name too', async () => {
    const bad = await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'x', key: 'short-secret' }) })
    expect(bad.status).toBe(400)
    const text = await bad.text()
    expect(text).toContain('key:')
    expect(text).not.toContain('short-secret')
    const taken = await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'models-only' }) })
    expect(taken.status).toBe(400)
    expect(((await taken.json()) as any).error.message).toContain('is in the configuration (client_keys)')
    const expires = await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'when', expires: '2026-13-45' }) })
    expect(((await expires.json()) as any).error.message).toContain('expires: "2026-13-45" is not a date')
    expect((await admin('/admin/keys/nobody/revoke', { method: 'POST' })).status).toBe(404)
    expect((await admin('/admin/keys/models-only/rotate', { method: 'POST' })).status).toBe(400)
  })

  test('revoke: refused at once here, and within a second by a second instance on the same database', async () => {
    const made = (await (await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'short-lived' }) })).json()) as { key: string }
    const b = await startAgproxy(settings())
    try {
      expect(await sdkCall('openai', made.key, MODEL.openai, b.url)).not.toBeInstanceOf(Error)
      expect((await admin('/admin/keys/short-lived/revoke', { method: 'POST' })).status).toBe(200)
      const here = expectSdkError('openai', await sdkCall('openai', made.key), 403)
      expect(here).toMatch(/"short-lived" was revoked at \d{4}-\d\d-\d\dT/)
      // the refusal's row in the request log names the key it refused
      let refusals: Array<{ clientKey?: string }> = []
      for (let i = 0; i < 40 && !refusals.length; i++) {
        await Bun.sleep(50)
        refusals = ((await (await admin('/admin/requests?status=403&key=short-lived')).json()) as { requests: typeof refusals }).requests
      }
      expect(refusals.map(r => r.clientKey)).toEqual(['short-lived'])
      const t0 = Date.now()
      let there: unknown
      do there = await sdkCall('openai', made.key, MODEL.openai, b.url)
      while (!(there instanceof Error) && Date.now() - t0 < 2000)
      expect(Date.now() - t0).toBeLessThanOrEqual(1100)
      expectSdkError('openai', there, 403)
    } finally {
      await b.stop(0)
    }
  })

  test('rotate: the old key is refused (401), the new one works', async () => {
    const made = (await (await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'rotating' }) })).json()) as { key: string }
    const rotated = (await (await admin('/admin/keys/rotating/rotate', { method: 'POST' })).json()) as { key: string }
    expect(rotated.key).not.toBe(made.key)
    expectSdkError('openai', await sdkCall('openai', made.key), 401)
    expect(await sdkCall('gemini', rotated.key)).not.toBeInstanceOf(Error)
  })

  test('created while auth is off: the answer warns that keyless and revoked requests are let through, naming auth_mode', async () => {
    const open = await startAgproxy({ data_dir: tempDir(), admin_key: ADMIN, providers: settings().providers, models: settings().models })
    try {
      const made = (await (await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'on-open' }) }, open.url)).json()) as any
      expect(made.warning).toContain('auth is off')
      expect(made.warning).toContain('auth_mode: all_except_health')
    } finally {
      await open.stop(0)
    }
    const guarded = (await (await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'on-guarded' }) })).json()) as any
    expect(guarded.warning).toBeUndefined()
  })

  test('a client key cannot open the admin API', async () => {
    const r = await fetch(`${srv.url}/admin/keys`, { headers: { authorization: `Bearer ${K('models')}` } })
    expect(r.status).toBe(403)
    expect(await r.text()).toContain('A client key cannot be used for the admin API')
  })
})

describe('agproxy keys create|list|revoke|rotate', () => {
  test('through the running instance with the admin key', async () => {
    const cfg = configFile(`port: ${srv.port}\nadmin_key: ${ADMIN}\n`)
    const run = (...a: string[]) => runCli([...a, '--config', cfg], cleanEnv())
    const created = await run('keys', 'create', 'cli-key', '--rpm', '7', '--models', 'gpt-*,claude-*', '--budget', '2.5/week', '--note', 'from the CLI')
    expect(created.code).toBe(0)
    const key = /\n {2}(sk-\S+)\n/.exec(created.stdout)?.[1] ?? ''
    expect(key).toMatch(/^sk-/)
    expect(created.stdout).toContain('shown this once')
    expect(await sdkCall('openai', key)).not.toBeInstanceOf(Error)

    const list = await run('keys', 'list')
    expect(list.code).toBe(0)
    expect(list.stdout).toContain('NAME')
    expect(list.stdout).toMatch(/cli-key\s+runtime\s+active\s+gpt-\*,claude-\*\s+1\/7/)
    expect(list.stdout).toContain('per week')
    expect(list.stdout).not.toContain(key)
    for (const k of settings().client_keys) expect(list.stdout).not.toContain(k.key)

    const rotated = await run('keys', 'rotate', 'cli-key')
    expect(rotated.code).toBe(0)
    const fresh = /\n {2}(sk-\S+)\n/.exec(rotated.stdout)?.[1] ?? ''
    expectSdkError('openai', await sdkCall('openai', key), 401)
    expect(await sdkCall('openai', fresh)).not.toBeInstanceOf(Error)

    const revoked = await run('keys', 'revoke', 'cli-key')
    expect(revoked.code).toBe(0)
    expectSdkError('openai', await sdkCall('openai', fresh), 403)
    const again = await run('keys', 'revoke', 'cli-key')
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('No active runtime client key is named "cli-key"')
  })

  test('arguments', () => {
    expect(parseArgs(['keys', 'create', 'bob', '--rpm', '5'])).toMatchObject({ command: 'keys', keysAction: 'create', keyName: 'bob', opts: { rpm: '5' } })
    expect(parseArgs(['keys', 'list'])).toMatchObject({ command: 'keys', keysAction: 'list' })
    expect(parseArgs(['keys'])).toEqual({ command: 'keys', flags: {} })
    expect(parseArgs(['keys', 'revoke']).error).toContain('keys revoke needs the client key')
    expect(parseArgs(['keys', 'list', '--rpm', '5']).error).toContain('--rpm is an option of agproxy keys create')
  })
})

describe('units', () => {
  test('LocalLimiter: counts, forgets at the end of its window', () => {
    let now = 1000
    const l = new LocalLimiter(() => now)
    expect(l.incr('a', 1, 60_000)).toBe(1)
    expect(l.incr('a', 2, 60_000)).toBe(3)
    expect(l.get('a')).toBe(3)
    now += 60_000
    expect(l.get('a')).toBe(0)
    expect(l.incr('a', 1, 60_000)).toBe(1)
  })

  test('periods: the UTC day, the week from Monday, the calendar month', () => {
    const t = Date.parse('2026-12-09T15:00:00Z') // a Wednesday
    expect(periodOf('day', t)).toEqual({ start: Date.parse('2026-12-09T00:00:00Z'), end: Date.parse('2026-12-10T00:00:00Z') })
    expect(periodOf('week', t)).toEqual({ start: Date.parse('2026-12-07T00:00:00Z'), end: Date.parse('2026-12-14T00:00:00Z') })
    expect(periodOf('month', t)).toEqual({ start: Date.parse('2026-12-01T00:00:00Z'), end: Date.parse('2027-01-01T00:00:00Z') })
  })

  test('config: names unique, a key used once, expires a date; client keys turn auth on (auto)', () => {
    const build =
      (client_keys: unknown[], more = {}) =>
      () =>
        buildConfig({ client_keys, ...more })
    expect(
      build([
        { name: 'a', key: K('1') },
        { name: 'a', key: K('2') },
      ]),
    ).toThrow('client_keys[1].name: "a" is used twice')
    expect(build([{ name: 'a', key: K('1') }], { api_keys: [K('1')] })).toThrow('client_keys[0].key: the same key is given twice')
    expect(build([{ name: 'a', key: K('1'), expires: '2026-02-31x' }])).toThrow(ConfigError)
    expect(build([{ name: 'a b', key: K('1') }])).toThrow('client_keys[0].name')
    expect(build([{ name: 'a', key: K('1'), budget: { usd: 5, period: 'year' } }])).toThrow('client_keys[0].budget.period')
    expect(effectiveAuthMode(buildConfig({ client_keys: [{ name: 'a', key: K('1') }] }))).toBe('all_except_health')
    expect(effectiveAuthMode(buildConfig({}))).toBe('off')
  })
})
