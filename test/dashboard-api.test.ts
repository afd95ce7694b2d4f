/**
 * The dashboard's server side: /ui and its assets (public in every auth mode, a strict CSP, ETags, JSON 404 in the
 * caller's dialect), and the admin endpoints it reads: /admin/overview (per-minute statistics of real requests),
 * /admin/clients (the `agproxy clients` text), /admin/try (one prompt in-process, with the route it took).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'
import { clientsText } from '../src/http/banner'
import { UI_CSP } from '../src/routes/ui'
import { RequestStats } from '../src/observe/stats'
import { record } from './support/records'

const ADMIN = 'adm-dashboard-0123456789abcdef'
const CLIENT = 'sk-client-dashboard-0123456789'
let fake: Fake
let srv: TestServer
const admin = (path: string, init: RequestInit = {}, key = ADMIN) =>
  fetch(`${srv.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers } })

beforeAll(async () => {
  fake = await startFake('openai')
  srv = await startAgproxy({
    admin_key: ADMIN,
    auth_mode: 'strict',
    api_keys: [CLIENT],
    providers: [{ name: 'oa', type: 'openai', base_url: fake.url, api_keys: [{ key: 'sk-up-0123456789', name: 'k1' }] }],
  })
})
afterAll(async () => {
  await srv?.stop(0)
  await fake?.stop()
})

describe('/ui', () => {
  test('the page and its assets need no key (even with auth_mode strict) and carry the CSP', async () => {
    for (const path of ['/ui', '/ui/']) {
      const r = await fetch(`${srv.url}${path}`)
      expect(r.status).toBe(200)
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(r.headers.get('content-security-policy')).toBe(UI_CSP)
      expect(r.headers.get('x-content-type-options')).toBe('nosniff')
      const html = await r.text()
      // no inline script or style: only files from this origin
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
      expect(html).not.toMatch(/\sstyle=|<style/)
      expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(m => m[1])).toEqual(['data:,', '/ui/assets/main.css', '/ui/assets/main.js'])
    }
    for (const [file, type] of [
      ['main.js', 'text/javascript; charset=utf-8'],
      ['main.css', 'text/css; charset=utf-8'],
    ]) {
      const r = await fetch(`${srv.url}/ui/assets/${file}`)
      expect(r.status).toBe(200)
      expect(r.headers.get('content-type')).toBe(type!)
      const body = await r.text()
      expect(body.length).toBeGreaterThan(5000)
      expect(body).not.toMatch(/https?:\/\/(?!localhost|127\.0\.0\.1|www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\/[^\s"'`]*\.(?:js|css|woff2?)/i)
      // cached by ETag
      const again = await fetch(`${srv.url}/ui/assets/${file}`, { headers: { 'if-none-match': r.headers.get('etag')! } })
      expect(again.status).toBe(304)
    }
    // uPlot's own stylesheet is in the bundle
    expect(await (await fetch(`${srv.url}/ui/assets/main.css`)).text()).toContain('.u-legend')
  })

  test('an unknown asset is a JSON 404 naming /ui; model paths still need the key', async () => {
    const r = await fetch(`${srv.url}/ui/assets/nope.js`)
    expect(r.status).toBe(404)
    expect(((await r.json()) as { error: { message: string } }).error.message).toContain('open /ui')
    expect((await fetch(`${srv.url}/v1/models`)).status).toBe(401)
    // a POST to /ui is not let in without a key
    expect((await fetch(`${srv.url}/ui`, { method: 'POST' })).status).toBe(401)
  })

  test("the page's own loads are kept out of the request log and the live feed, as the admin API's are", async () => {
    const feed = await admin('/admin/events')
    const reader = feed.body!.getReader()
    await fetch(`${srv.url}/ui`)
    await fetch(`${srv.url}/ui/assets/main.js`)
    await new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: CLIENT, maxRetries: 0 }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'after the page' }],
    })
    let seen = ''
    while (!seen.includes('/v1/chat/completions')) seen += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
    expect(seen).not.toContain('"path":"/ui')
    let paths: string[] = []
    for (let i = 0; i < 50 && !paths.includes('/v1/chat/completions'); i++) {
      await Bun.sleep(50)
      paths = ((await (await admin('/admin/requests?limit=500')).json()) as { requests: Array<{ path: string }> }).requests.map(r => r.path)
    }
    expect(paths).toContain('/v1/chat/completions')
    expect(paths.filter(p => p.startsWith('/ui'))).toEqual([])
  })
})

describe('admin endpoints of the dashboard', () => {
  test('/admin/overview: addresses, auth mode, health, and the requests of the last hour per minute', async () => {
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: CLIENT, maxRetries: 0 })
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one' }] })
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'two' }] })
    const r = await admin('/admin/overview')
    expect(r.status).toBe(200)
    const o = (await r.json()) as any
    expect(o).toMatchObject({ status: 'ok', authMode: 'strict', addresses: { local: `http://127.0.0.1:${srv.port}`, lan: [] }, openStreams: 0, providers: 1 })
    expect(o.hour).toHaveLength(60)
    expect(o.day).toHaveLength(24)
    const last = o.hour.at(-1)
    expect(last.requests).toBeGreaterThanOrEqual(2)
    expect(last.inputTokens + last.outputTokens).toBeGreaterThan(0)
    expect(last.p50Ms).toBeGreaterThan(0)
    expect(o.day.at(-1).requests).toBeGreaterThanOrEqual(2)
    // admin calls are not counted (the feed leaves them out)
    expect(((await admin('/admin/overview').then(r => r.json())) as any).hour.at(-1).requests).toBe(last.requests)
  })

  test('/admin/clients: the text of `agproxy clients` for this instance', async () => {
    const r = (await (await admin('/admin/clients')).json()) as any
    expect(r.origin).toBe(`http://127.0.0.1:${srv.port}`)
    expect(r.text).toBe(clientsText(srv.agproxy.config, srv.port))
    // one entry per client, each as the text has it
    expect(r.clients.map((c: any) => c.client)).toEqual([
      'OpenAI SDKs, Codex CLI, Kilo Code / Roo Code / Cline (OpenAI-compatible), Cherry Studio',
      'Claude Code, Anthropic SDK',
      'Gemini CLI, Google GenAI SDK',
      'Claude Code',
      'Codex CLI',
      'Gemini CLI',
    ])
    for (const c of r.clients) expect(r.text).toContain(c.settings)
    expect(r.clients[3].settings).toBe(`ANTHROPIC_BASE_URL=http://127.0.0.1:${srv.port} ANTHROPIC_API_KEY=<key>`)
    expect(r.families.map((f: any) => f.baseUrl)).toEqual([`http://127.0.0.1:${srv.port}/v1`, `http://127.0.0.1:${srv.port}`, `http://127.0.0.1:${srv.port}`])
  })

  test('/admin/try: one prompt through each dialect, in-process, with the route it took', async () => {
    for (const dialect of ['openai', 'anthropic', 'gemini']) {
      const r = await admin('/admin/try', { method: 'POST', body: JSON.stringify({ dialect, model: 'gpt-4o-mini', prompt: `hello ${dialect}` }) })
      expect(r.status).toBe(200)
      const t = (await r.json()) as any
      expect(t).toMatchObject({ ok: true, status: 200, dialect, provider: 'oa', model: 'gpt-4o-mini', answer: `echo: hello ${dialect}` })
      expect(t.attempts.map((a: any) => [a.provider, a.key, a.status])).toEqual([['oa', 'k1', 200]])
      expect(t.path).toBe(
        dialect === 'openai' ? '/v1/chat/completions' : dialect === 'anthropic' ? '/v1/messages' : '/v1beta/models/gpt-4o-mini:generateContent',
      )
    }
    // the upstream refuses: the error of the call, not a failure of /admin/try
    fake.enqueue({ kind: 'error', status: 400, message: 'The model does not exist.' })
    const bad = (await (
      await admin('/admin/try', { method: 'POST', body: JSON.stringify({ dialect: 'anthropic', model: 'gpt-4o-mini', prompt: 'x' }) })
    ).json()) as any
    expect(bad).toMatchObject({ ok: false, status: 400, provider: 'oa', path: '/v1/messages' })
    expect(bad.error).toContain('The model does not exist.')
    expect(bad.attempts.map((a: any) => [a.key, a.status])).toEqual([['k1', 400]])
    // a bad body is a 400 in the admin API's dialect; a client key cannot use it
    const invalid = await admin('/admin/try', { method: 'POST', body: JSON.stringify({ dialect: 'klingon', model: 'm', prompt: 'x' }) })
    expect(invalid.status).toBe(400)
    expect(((await invalid.json()) as any).error.type).toBe('invalid_request_error')
    expect((await admin('/admin/try', { method: 'POST', body: '{}' }, CLIENT)).status).toBe(403)
  })
})

describe('RequestStats', () => {
  test('per-minute counts, errors, tokens and latency percentiles; older than a day forgotten', () => {
    let now = Date.parse('2026-01-01T12:00:30Z')
    const s = new RequestStats(() => now)
    for (let i = 1; i <= 100; i++)
      s.observe(record({ time: now - 1000, status: i <= 5 ? 500 : 200, latencyMs: i * 10, usage: { inputTokens: 2, outputTokens: 3 } }))
    s.observe(record({ time: now - 3 * 60_000, latencyMs: 50 }))
    const hour = s.series(1, 60)
    expect(hour.at(-1)).toMatchObject({ requests: 100, errors: 5, inputTokens: 200, outputTokens: 300 })
    // within one histogram bucket (×1.25) of the true p50 (500 ms) and p95 (950 ms)
    expect(hour.at(-1)!.p50Ms! / 500).toBeWithin(0.8, 1.26)
    expect(hour.at(-1)!.p95Ms! / 950).toBeWithin(0.8, 1.26)
    expect(hour.at(-4)!.requests).toBe(1)
    expect(hour.at(-2)).toMatchObject({ requests: 0, p50Ms: null })
    const day = s.series(60, 24)
    expect(day.at(-1)!.requests).toBe(101)
    now += 25 * 3_600_000
    s.observe(record({ time: now }))
    for (let i = 0; i < 1600; i++) s.observe(record({ time: now - i * 60_000 }))
    expect(s.series(60, 24).reduce((a, p) => a + p.requests, 0)).toBe(24 * 60 + 1)
    // the minutes kept are bounded (a day and an hour at most)
    expect((s as any).minutes.size).toBeLessThanOrEqual(25 * 60)
  })
})
