/**
 * Auth and routing see the same path, whatever the Host (issue 8 §1).
 *
 * Elysia reads the path at a fixed offset of the URL (after `http://` + 4 characters), while the front
 * door authorised `new URL(req.url).pathname`: with a Host of 1–3 characters, `/swagger/v1/chat/completions`
 * was authorised as docs (public) and routed as chat, with no key. Now Elysia only gets a request rebuilt on
 * one canonical origin from the authorised path. This file sends every public prefix + every protected route,
 * with odd Hosts (raw sockets: fetch would rewrite the Host), in each auth mode, bound to all interfaces
 * (no Host guard) and to loopback, and checks that no request without a key reaches the upstream.
 */
import { describe, test, expect, beforeAll, afterAll } from 'bun:test'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'
import { ANY_MODEL_BODY, expectDialectError, rawRequest, type Dialect, type RawResponse } from './support/front-door'
import { CANONICAL_ORIGIN } from '../src/http/target'
import { buildConfig } from '../src/config/load'
import { createApp } from '../src/app'
import { silentLogger } from '../src/log'

const KEY = 'sk-agproxy-bypass-test-key-000001'
const UPSTREAM_KEY = 'sk-upstream-bypass-0000000000001'
const BODY = JSON.stringify({ ...ANY_MODEL_BODY, model: 'm' })

const PREFIXES = ['/swagger', '/swagger/', '/health', '/healthz', '/']
interface Route {
  path: string
  method: 'GET' | 'POST'
  dialect: Dialect
}
const ROUTES: Route[] = [
  { path: '/v1/chat/completions', method: 'POST', dialect: 'openai' },
  { path: '/v1/messages', method: 'POST', dialect: 'anthropic' },
  { path: '/v1beta/models/m:generateContent', method: 'POST', dialect: 'gemini' },
  { path: '/agproxy/keys', method: 'GET', dialect: 'openai' },
  { path: '/v1/models', method: 'GET', dialect: 'openai' },
]
const HOSTS = ['a', 'ab', 'abc', 'a:1', '[::1]', '[fe80::1]:8045', 'h'.repeat(300)]

type Mode = 'strict' | 'all_except_health' | 'auto'
type Bind = 'all interfaces' | 'loopback'
const MODES: Mode[] = ['strict', 'all_except_health', 'auto']
const SERVERS = MODES.flatMap(
  m =>
    [
      [m, 'all interfaces'],
      [m, 'loopback'],
    ] as Array<[Mode, Bind]>,
)

/** allow_lan_access binds 0.0.0.0 (the Host guard is off); `auto` with LAN access means all_except_health */
const settingsFor = (mode: Mode, bind: Bind) => ({
  auth_mode: mode,
  api_keys: [KEY],
  ...(mode === 'auto' ? { allow_lan_access: true, ...(bind === 'loopback' ? { host: '127.0.0.1' } : {}) } : { allow_lan_access: bind === 'all interfaces' }),
})

const send = (port: number, r: Route, target: string, host: string, headers: Record<string, string> = {}) =>
  r.method === 'POST'
    ? rawRequest(port, r.method, target, { host, 'content-type': 'application/json', ...headers }, BODY)
    : rawRequest(port, r.method, target, { host, ...headers })

/** Run `fn` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!)
    }),
  )
}

/** What a request without a key must get: the Host guard's 403 (bound to loopback, non-loopback Host); 401 for a
 *  protected path; 404 for a path under /swagger/ (public docs, no such page) when the mode leaves docs open. */
function expected(mode: Mode, bind: Bind, prefix: string, host: string): number {
  if (bind === 'loopback' && host !== '[::1]') return 403
  if (mode !== 'strict' && prefix.startsWith('/swagger')) return 404
  return 401
}

function checkRefusal(res: RawResponse, status: number, dialect: Dialect, what: string) {
  expect({ what, status: res.status, body: res.body.slice(0, 160) }).toMatchObject({ what, status })
  expect(res.headers.get('content-type')).toContain('application/json')
  const message = expectDialectError(dialect, status, JSON.parse(res.body), res.headers)
  if (status === 401) expect(message).toStartWith('An API key is required.')
  if (status === 403) expect(message).toContain('is not allowed: agproxy is bound to loopback')
}

describe.each(SERVERS)('auth_mode %s, bound to %s', (mode, bind) => {
  let fake: Fake
  let srv: TestServer
  beforeAll(async () => {
    fake = await startFake('openai')
    const up = { name: 'up', type: 'openai', base_url: fake.url, api_keys: [UPSTREAM_KEY], models: ['m'] }
    srv = await startAgproxy({ ...settingsFor(mode, bind), providers: [up] })
  })
  afterAll(async () => {
    await srv.stop(0)
    await fake.stop()
  })

  test('no key: public prefix + protected route, odd Hosts → refused in dialect, nothing reaches the upstream', async () => {
    const cases = PREFIXES.flatMap(prefix => ROUTES.flatMap(route => HOSTS.map(host => ({ prefix, route, host }))))
    await pool(cases, 24, async ({ prefix, route, host }) => {
      const res = await send(srv.port, route, prefix + route.path, host)
      checkRefusal(res, expected(mode, bind, prefix, host), route.dialect, `${route.method} ${prefix + route.path} Host ${host.slice(0, 20)}`)
    })
    expect(fake.requests).toHaveLength(0)
  })

  test("no key: the canonical routes → 401 in dialect (or the Host guard's 403)", async () => {
    await pool(
      ROUTES.flatMap(route => HOSTS.map(host => ({ route, host }))),
      24,
      async ({ route, host }) => {
        const status = bind === 'loopback' && host !== '[::1]' ? 403 : 401
        checkRefusal(await send(srv.port, route, route.path, host), status, route.dialect, `${route.method} ${route.path} Host ${host.slice(0, 20)}`)
      },
    )
    expect(fake.requests).toHaveLength(0)
  })

  test('with the key: the canonical routes work; a docs-prefixed path is still not routed to them', async () => {
    const host = bind === 'loopback' ? `127.0.0.1:${srv.port}` : 'a'
    for (const route of ROUTES) {
      const res = await send(srv.port, route, route.path, host, { authorization: `Bearer ${KEY}` })
      expect({ path: route.path, status: res.status, body: res.body.slice(0, 200) }).toMatchObject({ path: route.path, status: 200 })
    }
    const calls = ROUTES.filter(r => r.method === 'POST').length
    expect(fake.requests).toHaveLength(calls)
    expect(fake.requests.every(r => r.key === UPSTREAM_KEY)).toBe(true)
    for (const route of ROUTES) {
      const res = await send(srv.port, route, `/swagger${route.path}`, host, { authorization: `Bearer ${KEY}` })
      checkRefusal(res, 404, route.dialect, `with key: ${route.method} /swagger${route.path}`)
    }
    expect(fake.requests).toHaveLength(calls)
  })
})

describe('the canonical origin', () => {
  test("Elysia's fixed-offset path read gives back exactly the path the front door authorised", () => {
    // what Elysia does (dist/utils.mjs getPath): the path starts at the first "/" from index 11
    const elysiaPath = (url: string) => {
      const s = url.indexOf('/', 11)
      const q = url.indexOf('?', s)
      return q < 0 ? url.slice(s) : url.slice(s, q)
    }
    const raw = [
      '/',
      '//v1/models',
      '/swagger/v1/chat/completions',
      '/a/../v1/messages',
      '/%2e%2e/x',
      '/v1/models/a%2Fb',
      '/x?y',
      '/ü/ä',
      '/v1beta/models/m:generateContent',
      '/;x',
      '/a b',
    ]
    for (const r of raw) {
      const path = new URL(r, 'http://a').pathname
      expect(elysiaPath(`${CANONICAL_ORIGIN + path}?q=1`)).toBe(path)
      expect(new URL(CANONICAL_ORIGIN + path).pathname).toBe(path)
    }
  })
})

describe('GET /agproxy/keys with auth off answers loopback peers only, on the path Elysia routes', () => {
  // in-process: a stub server says the peer is on the LAN
  const app = createApp(buildConfig({ auth_mode: 'off', allow_lan_access: true, port: 0 }), { log: silentLogger })
  const lanPeer = { requestIP: () => ({ address: '192.168.1.20', family: 'IPv4', port: 5000 }), timeout() {} } as any
  const get = (url: string, host: string) => app.fetch(new Request(url, { headers: { host } }), lanPeer)

  test.each([
    ['the route itself', 403, 'http://agproxy.example/agproxy/keys', 'agproxy.example'],
    ['a doubled slash (rewritten to the route)', 403, 'http://agproxy.example//agproxy/keys', 'agproxy.example'],
    ['a trailing slash', 403, 'http://agproxy.example/agproxy/keys/', 'agproxy.example'],
    ['a short Host and a /swagger prefix', 404, 'http://a/swagger/agproxy/keys', 'a'],
    ['a short Host and a /health prefix', 404, 'http://ab/health/agproxy/keys', 'ab'],
  ] as const)('%s → %d', async (_name, status, url, host) => {
    const res = await get(url, host)
    const text = await res.text()
    expect({ status: res.status, text: text.slice(0, 200) }).toMatchObject({ status })
    expect(text).not.toContain('"providers"')
  })
})
