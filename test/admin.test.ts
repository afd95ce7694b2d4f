/**
 * The admin API (/admin/*) and the CLI that reads it (`agproxy usage`, `agproxy logs`, `agproxy keys`), against a real
 * agproxy. Records are emitted the way src/observe emits them (app.state.recorder.emit) until the trace is on main;
 * the end-to-end rows from official SDK calls are in test/store-e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, statSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAgproxy, type TestServer } from './support/agproxy'
import { record } from './support/records'
import { startFake, type Fake } from './fakes/upstream'
import { buildConfig } from '../src/config/load'
import { listen } from '../src/server'
import { silentLogger } from '../src/log'
import { usageCommand, usageTable } from '../src/cli/usage'
import { logsCommand } from '../src/cli/logs'
import { keysCommand } from '../src/cli/keys'
import { parseArgs } from '../src/cli/args'
import { EVENTS_BUFFER } from '../src/routes/admin'

const ADMIN = 'adm-0123456789abcdef-admin'
const CLIENT = 'sk-client-0123456789abcdef'
const PROVIDER_KEY = 'sk-provider-0123456789abcdef'
let fake: Fake
let srv: TestServer

const admin = (path: string, init: RequestInit = {}, key = ADMIN) => fetch(`${srv.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}` } })
/** poll until the request log has written `n` rows (it flushes every ~200 ms) */
async function rows(n: number, query = '') {
  for (let i = 0; i < 50; i++) {
    const body = (await (await admin(`/admin/requests?limit=500${query}`)).json()) as { requests: Array<{ id: string }> }
    if (body.requests.length >= n) return body.requests
    await Bun.sleep(50)
  }
  throw new Error(`the request log did not reach ${n} rows`)
}
const cliConfig = () => buildConfig({ port: srv.port, admin_key: ADMIN, api_keys: [CLIENT] })

beforeAll(async () => {
  fake = await startFake('openai', { keys: [PROVIDER_KEY] })
  srv = await startAgproxy({
    auth_mode: 'strict',
    api_keys: [CLIENT],
    admin_key: ADMIN,
    providers: [
      {
        name: 'oai',
        type: 'openai',
        base_url: fake.url,
        api_keys: [
          { key: PROVIDER_KEY, name: 'main' },
          { key: `${PROVIDER_KEY}-2`, name: 'spare' },
        ],
      },
    ],
    models: { 'gpt-*': 'oai/*' },
    prices: { 'house-*': { input: 2, output: 4 } },
  })
})
afterAll(async () => {
  await srv.stop(0)
  await fake.stop()
})

describe('the admin key', () => {
  test('no key → 401, a client key → 403, a wrong key → 401, all JSON in the OpenAI shape; the admin key → 200', async () => {
    const none = await fetch(`${srv.url}/admin/status`)
    expect(none.status).toBe(401)
    expect((await none.json()).error).toMatchObject({ code: 'invalid_api_key', message: expect.stringContaining('admin key') })
    const client = await admin('/admin/status', {}, CLIENT)
    expect(client.status).toBe(403)
    expect((await client.json()).error.message).toContain('A client key cannot be used for the admin API')
    expect((await admin('/admin/status', {}, 'adm-wrong-wrong-wrong-wrong')).status).toBe(401)
    const ok = await admin('/admin/status')
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ status: 'ok', providers: [{ name: 'oai', type: 'openai', keys: 2 }], requestLog: { enabled: true } })
  })

  test('the admin key does not open the model routes (it is not a client key)', async () => {
    const res = await admin('/v1/models')
    expect(res.status).toBe(401)
  })

  test('without an admin key configured, /admin is off and says how to turn it on', async () => {
    const plain = await startAgproxy({})
    try {
      const res = await fetch(`${plain.url}/admin/status`, { headers: { authorization: 'Bearer anything-anything' } })
      expect(res.status).toBe(403)
      expect((await res.json()).error.message).toContain('Set admin_key')
    } finally {
      await plain.stop(0)
    }
  })

  test('serve() generates one into data_dir (mode 0600), printed once, reused after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agproxy-admin-'))
    const run = async () => {
      const proc = Bun.spawn(['node_modules/.bin/bun', 'src/index.ts', '--port', '0'], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, AGPROXY_DATA_DIR: dir, NO_COLOR: '1' },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      let out = ''
      const reader = proc.stdout.getReader()
      while (!out.includes('listening on')) {
        const { value, done } = await reader.read()
        if (done) break
        out += new TextDecoder().decode(value)
      }
      proc.kill('SIGTERM')
      await proc.exited
      return out
    }
    const first = await run()
    const key = readFileSync(join(dir, 'admin_key'), 'utf8').trim()
    expect(statSync(join(dir, 'admin_key')).mode & 0o777).toBe(0o600)
    expect(first).toContain(key)
    expect(await run()).not.toContain(key)
  }, 30_000)
})

describe('admin routes', () => {
  test('/admin/config masks every key', async () => {
    const text = await (await admin('/admin/config')).text()
    for (const k of [ADMIN, CLIENT, PROVIDER_KEY]) expect(text).not.toContain(k)
    const config = JSON.parse(text)
    expect(config.admin_key).toBe('adm…dmin')
    expect(config.providers[0].api_keys[0]).toEqual({ key: 'sk-…cdef', name: 'main' })
  })

  test('a key disabled by hand is skipped until enabled; /admin/providers and /agproxy/keys show it', async () => {
    const off = await admin('/admin/providers/oai/keys/main/disable', { method: 'POST' })
    expect(await off.json()).toEqual({ provider: 'oai', key: 'main', status: 'disabled' })
    const providers = await (await admin('/admin/providers')).json()
    expect(providers.providers[0].keys[0]).toMatchObject({ name: 'main', status: 'disabled', manual: true })
    const keys = await (await fetch(`${srv.url}/agproxy/keys`, { headers: { authorization: `Bearer ${CLIENT}` } })).json()
    expect(keys.providers[0].keys[0]).toMatchObject({ status: 'disabled', manual: true })
    fake.reset()
    fake.setDefault({ kind: 'text', text: 'hi' })
    await fetch(`${srv.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    })
    expect(fake.last()?.key).toBe(`${PROVIDER_KEY}-2`)
    await admin('/admin/providers/oai/keys/main/enable', { method: 'POST' })
    expect((await (await admin('/admin/providers')).json()).providers[0].keys[0].status).toBe('active')
    const missing = await admin('/admin/providers/oai/keys/nope/disable', { method: 'POST' })
    expect(missing.status).toBe(404)
    expect((await missing.json()).error.message).toContain('no key named "nope"')
  })

  test('requests, one request and usage agree with the records, cost included (unknown → null)', async () => {
    const recorder = srv.agproxy.state.recorder
    const a = record({ clientKey: 'alice', usage: { inputTokens: 1000, outputTokens: 100 } })
    const b = record({ clientKey: 'bob', status: 503, usage: undefined, errorKind: 'unavailable', error: 'no key' })
    const c = record({ clientKey: 'bob', model: 'house-7b', routedModel: 'house-7b', usage: { inputTokens: 1_000_000, outputTokens: 0 } })
    const d = record({ clientKey: 'bob', model: 'mystery', routedModel: 'mystery', usage: { inputTokens: 10, outputTokens: 10 } })
    for (const r of [a, b, c, d]) recorder.emit(r)
    const listed = await rows(4)
    expect(listed.slice(0, 4).map(r => r.id)).toEqual([d.id, c.id, b.id, a.id])
    const one = await (await admin(`/admin/requests/${a.id}`)).json()
    expect(one).toMatchObject({ id: a.id, status: 200, usage: a.usage, attempts: a.attempts, costUsd: expect.closeTo(0.00021, 8) })
    expect((await admin('/admin/requests/nope')).status).toBe(404)
    const failed = await (await admin('/admin/requests?status=5xx&key=bob')).json()
    expect(failed.requests.map((r: { id: string }) => r.id)).toEqual([b.id])
    const byModel = await (await admin('/admin/usage?by=model')).json()
    const m = Object.fromEntries(byModel.rows.map((r: { model: string }) => [r.model, r]))
    expect(m['house-7b']).toMatchObject({ requests: 1, inputTokens: 1_000_000, costUsd: 2 })
    expect(m.mystery).toMatchObject({ costUsd: null, unpriced: 1 })
    const bad = await admin('/admin/usage?by=team')
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.message).toContain('use day, key, model or provider')
    // a time beyond any date is the caller's mistake (400 naming the parameter), not the database's (it was a 503)
    for (const q of ['/admin/usage?since=99999999999999999999', '/admin/usage?since=99999999999w', '/admin/requests?until=99999999999999999999']) {
      const far = await admin(q)
      expect({ q, status: far.status }).toEqual({ q, status: 400 })
      expect((await far.json()).error.message).toMatch(/^since|until/)
    }

    // the CLI reads the same
    const usage = await usageCommand(cliConfig(), { by: 'key', json: true })
    const byKey = Object.fromEntries(JSON.parse(usage.out).rows.map((r: { clientKey: string; requests: number }) => [r.clientKey, r.requests]))
    expect(byKey).toMatchObject({ alice: 1, bob: 3 })
    const text = await usageCommand(cliConfig(), { by: 'model' })
    expect(text.out).toMatch(/mystery\s+1\s+0\s+10\s+10\s+0\s+0\s+unknown/)
    expect(text.out).toMatch(/house-7b\s+1\s+0\s+1000000\s+0\s+0\s+0\s+\$2\.00/)
    const lines: string[] = []
    const logs = await logsCommand(cliConfig(), { status: '5xx' }, { print: l => lines.push(l) })
    expect(logs.code).toBe(0)
    expect(lines.filter(l => l.includes('key bob'))).toEqual([
      expect.stringMatching(/ 503 POST \/v1\/chat\/completions gpt-4o-mini → oai .* key bob — no key$/),
    ])
    expect(lines.every(l => / 5\d\d /.test(l))).toBe(true)
    // a status filter that is no status is refused, naming it (it matched nothing, silently)
    for (const q of ['/admin/requests?status=abc', '/admin/requests?status=7xx', '/admin/events?status=5xxx']) {
      const refused = await admin(q)
      expect({ q, status: refused.status }).toEqual({ q, status: 400 })
      expect((await refused.json()).error.message).toContain('is not a status; use a status such as 429 or a class such as 5xx')
    }
    expect((await admin('/admin/requests?status=503')).status).toBe(200)
    const wrong = await logsCommand(cliConfig(), { status: 'abc' }, { print: l => lines.push(l) })
    expect(wrong.code).toBe(1)
    expect(wrong.out).toContain('status: "abc" is not a status')
  })

  test('/admin/events streams each finished request; `agproxy logs --follow` prints it', async () => {
    const res = await admin('/admin/events')
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const reader = res.body!.getReader()
    const r = record({ model: 'evt-model' })
    srv.agproxy.state.recorder.emit(r)
    let text = ''
    while (!text.includes(r.id)) text += new TextDecoder().decode((await reader.read()).value)
    expect(text).toContain('event: request\ndata: {')
    await reader.cancel()

    const lines: string[] = []
    const ctl = new AbortController()
    const following = logsCommand(
      cliConfig(),
      { follow: true, model: 'follow-model' },
      { print: l => lines.push(l), fetch: ((u: string, i: RequestInit) => fetch(u, { ...i, signal: ctl.signal })) as typeof fetch },
    )
    await Bun.sleep(300)
    const f = record({ model: 'follow-model', status: 200 })
    srv.agproxy.state.recorder.emit(record({ model: 'other-model' }))
    srv.agproxy.state.recorder.emit(f)
    for (let i = 0; i < 40 && !lines.some(l => l.includes('follow-model')); i++) await Bun.sleep(50)
    expect(lines.filter(l => l.includes('follow-model')).length).toBe(1)
    expect(lines.some(l => l.includes('other-model'))).toBe(false)
    ctl.abort()
    await following.catch(() => {})
  })

  test('a reader that does not read holds at most EVENTS_BUFFER events, then is told how many it lost', async () => {
    const res = await admin('/admin/events')
    const reader = res.body!.getReader()
    // the first pull waits for an event
    const first = reader.read()
    srv.agproxy.state.recorder.emit(record())
    await first
    for (let i = 0; i < EVENTS_BUFFER + 500; i++) srv.agproxy.state.recorder.emit(record({ model: `m${i}` }))
    let text = ''
    while (!text.includes(`"model":"m${EVENTS_BUFFER + 499}"`)) text += new TextDecoder().decode((await reader.read()).value)
    expect(text).toContain('event: dropped\ndata: {"dropped":500}')
    expect(text.slice(text.indexOf('event: dropped')).split('event: request').length - 1).toBe(EVENTS_BUFFER)
    expect(text).toContain(`"model":"m${EVENTS_BUFFER + 499}"`)
    await reader.cancel()
  })

  test('/swagger documents the admin routes under an Admin tag with the admin-key security scheme', async () => {
    const doc = await (await fetch(`${srv.url}/swagger/json`, { headers: { authorization: `Bearer ${CLIENT}` } })).json()
    expect(doc.components.securitySchemes.adminKey).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.paths['/admin/usage'].get).toMatchObject({ tags: ['Admin'], security: [{ adminKey: [] }] })
    expect(doc.paths['/admin/providers/{provider}/keys/{name}/disable'].post.tags).toEqual(['Admin'])
  })
})

describe('POST /admin/reload', () => {
  test('reads the configuration source again (what SIGHUP does); a bad one keeps the running configuration', async () => {
    let providers = [{ name: 'one', type: 'openai', base_url: fake.url, api_keys: ['k1-0123456789'] }]
    let broken = false
    const source = () => {
      if (broken) throw new Error('agproxy.yaml: port: expected a number')
      return buildConfig({ port: 0, admin_key: ADMIN, request_log: false, providers })
    }
    const running = listen(source(), { log: silentLogger, source: () => ({ config: source() }) })
    try {
      const post = () => fetch(`${running.url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } })
      providers = [...providers, { name: 'two', type: 'openai', base_url: fake.url, api_keys: ['k2-0123456789'] }]
      expect(await (await post()).json()).toMatchObject({ reloaded: true, message: expect.stringContaining('two (openai, 1 key)') })
      expect([...running.agproxy.dispatcher.providers.keys()]).toEqual(['one', 'two'])
      broken = true
      const res = await post()
      expect(res.status).toBe(400)
      expect((await res.json()).error.message).toContain('the running one stays')
      expect([...running.agproxy.dispatcher.providers.keys()]).toEqual(['one', 'two'])
      // with request_log off, the log routes say so
      const off = await fetch(`${running.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN}` } })
      expect(off.status).toBe(404)
      expect((await off.json()).error.message).toContain('request_log: false')
    } finally {
      await running.stop(0)
    }
  })
})

describe('the CLI', () => {
  test('usage/logs options parse; they are refused elsewhere', () => {
    expect(parseArgs(['usage', '--since', '30d', '--by', 'model', '--json'])).toMatchObject({
      command: 'usage',
      opts: { since: '30d', by: 'model', json: true },
    })
    expect(parseArgs(['logs', '--follow', '--status', '5xx'])).toMatchObject({ command: 'logs', opts: { follow: true, status: '5xx' } })
    expect(parseArgs(['--follow']).error).toContain('agproxy logs')
  })

  test('usageTable: a total line; unknown cost says unknown', () => {
    const t = usageTable(
      ['model'],
      [{ model: 'a', requests: 1, errors: 0, inputTokens: 1, outputTokens: 1, cachedTokens: 0, reasoningTokens: 0, costUsd: null, unpriced: 1 }],
    )
    expect(t.split('\n').at(-1)).toMatch(/^TOTAL\s+1\s+0\s+1\s+1\s+0\s+0\s+unknown$/)
  })

  test('without the admin key the CLI says where to find it', async () => {
    const r = await usageCommand(buildConfig({ port: srv.port, data_dir: mkdtempSync(join(tmpdir(), 'agproxy-nokey-')) }), {}, { env: {} })
    expect(r.code).toBe(1)
    expect(r.out).toContain('no admin key found')
  })

  test('agproxy keys sends the --api-key / AGPROXY_API_KEYS key even when its own config has auth off', async () => {
    // the CLI's config: auth_mode auto (off on loopback) but a key given by flag or env
    const r = await keysCommand(buildConfig({ port: srv.port }, { apiKeys: [CLIENT] }))
    expect(r.out).not.toContain('wants an API key')
    expect(r).toMatchObject({ code: 0, out: expect.stringContaining('oai (openai, round_robin)') })
    const viaEnv = await keysCommand(buildConfig({ port: srv.port }, {}, { AGPROXY_API_KEYS: CLIENT }))
    expect(viaEnv.code).toBe(0)
  })
})
