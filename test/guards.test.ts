/**
 * Guards that run before auth.
 *
 * - Host: bound to loopback, agproxy answers only requests addressed to localhost, 127.0.0.1 or [::1]
 *   (a DNS-rebinding page reaches 127.0.0.1 under its own host name).
 * - Origin: with auth off, a browser page may use agproxy only from an allowed origin — local pages
 *   on any port and desktop-app schemes by default, plus `cors_origins` ("*" for all).
 * - Content type: model routes take JSON bodies only.
 *
 * Every refusal speaks the caller's dialect.
 */
import { describe, test, expect, beforeAll, afterAll } from 'bun:test'
import { buildConfig } from '../src/config/load'
import { createApp } from '../src/app'
import { silentLogger } from '../src/log'
import { startAgproxy, type TestServer } from './support/agproxy'
import { ANY_MODEL_BODY, NO_PROVIDER, expectDialectError, json, rawExchange, rawRequest, type Dialect } from './support/front-door'
import { isLoopbackAddress } from '../src/http/guards'

const CHAT = '/v1/chat/completions'
const MESSAGES = '/v1/messages'
const GENERATE = '/v1beta/models/gemini-x:generateContent'

describe('Host guard (bound to loopback)', () => {
  let srv: TestServer
  beforeAll(async () => {
    srv = await startAgproxy()
  })
  afterAll(() => srv.stop(0))

  test("Bun's fetch sends the Host header we set (so these tests test the server, not the client)", async () => {
    const res = await fetch(`${srv.url}/healthz`, { headers: { host: 'evil.example' } })
    expect(res.status).toBe(403)
  })

  test.each(['localhost:PORT', '127.0.0.1:PORT', '[::1]:PORT', 'localhost', 'LocalHost:PORT'])('Host %s passes', async host0 => {
    const host = host0.replace('PORT', String(srv.port))
    const res = await fetch(`${srv.url}/healthz`, { headers: { host } })
    expect(res.status).toBe(200)
    // byte for byte too
    expect((await rawRequest(srv.port, 'GET', '/healthz', { host })).status).toBe(200)
  })

  const REFUSED: Array<[host: string, path: string, headers: Record<string, string>, dialect: Dialect]> = [
    ['evil.example', '/healthz', {}, 'openai'],
    ['evil.example:PORT', CHAT, {}, 'openai'],
    ['localhost.evil.example', MESSAGES, {}, 'anthropic'],
    ['127.0.0.1.nip.io', GENERATE, {}, 'gemini'],
    ['evil.example', '/healthz', { 'anthropic-version': '2023-06-01' }, 'anthropic'],
    ['evil.example', '/v1/models', { 'x-goog-api-key': 'k' }, 'gemini'],
    ['192.168.1.20:PORT', '/healthz', {}, 'openai'],
  ]
  test.each(REFUSED)('Host %s on %s %o → 403 (%s)', async (host0, path, headers, dialect) => {
    const host = host0.replace('PORT', String(srv.port))
    const res = await fetch(
      `${srv.url}${path}`,
      path === '/healthz' || path === '/v1/models' ? { headers: { ...headers, host } } : json(ANY_MODEL_BODY, { ...headers, host }),
    )
    expect(res.status).toBe(403)
    expect(res.headers.get('x-should-retry')).toBe('false')
    const message = expectDialectError(dialect, 403, await res.json(), res.headers)
    expect(message).toContain(`Host "${host}" is not allowed`)
    expect(message).toContain('allow_lan_access')
  })
})

describe('Host guard (bound to all interfaces)', () => {
  // not started: bound to 0.0.0.0 would open a port to the network; the fetch handler is enough
  const app = createApp(buildConfig({ allow_lan_access: true, api_keys: ['sk-k'], port: 0 }), { log: silentLogger })

  test('any Host is answered: the key protects instead', async () => {
    const res = await app.fetch(new Request('http://evil.example/healthz', { headers: { host: 'evil.example' } }))
    expect(res.status).toBe(200)
    const noKey = await app.fetch(
      new Request(`http://evil.example${CHAT}`, {
        method: 'POST',
        headers: { host: 'evil.example', 'content-type': 'application/json' },
        body: JSON.stringify(ANY_MODEL_BODY),
      }),
    )
    expect(noKey.status).toBe(401)
  })
})

describe('a Host no URL can be built from → 400 in the dialect of the path, one log line', () => {
  const body = JSON.stringify(ANY_MODEL_BODY)
  const PATHS: Array<[path: string, dialect: Dialect]> = [
    [CHAT, 'openai'],
    [MESSAGES, 'anthropic'],
    [GENERATE, 'gemini'],
  ]
  /** [what, the Host line sent (none for HTTP/1.0 without one), what the message and the log line quote] */
  const HOSTS: Array<[what: string, line: string | undefined, quoted: string]> = [
    ['HTTP/1.0 without a Host', undefined, 'no Host header'],
    ['an empty Host', 'Host:', 'an empty Host header'],
    ['userinfo in the Host', 'Host: 127.0.0.1:80@evil.com', 'Host header "127.0.0.1:80@evil.com"'],
    ['a port above 65535', 'Host: a:99999', 'Host header "a:99999"'],
    ['a port that is not a number', 'Host: a:x', 'Host header "a:x"'],
    ['a space in the Host', 'Host: a b', 'Host header "a b"'],
    ['a tab in the Host', 'Host: a\tb', 'Host header "a\tb"'],
    ['two Host headers', 'Host: a\r\nHost: b', 'Host header "a, b"'],
  ]
  const request = (path: string, line: string | undefined) =>
    `POST ${path} HTTP/1.${line ? 1 : 0}\r\n${line ? `${line}\r\n` : ''}Connection: close\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`

  describe.each(['loopback', 'all interfaces'])('bound to %s', bind => {
    let srv: TestServer
    beforeAll(async () => {
      srv = await startAgproxy(bind === 'loopback' ? {} : { allow_lan_access: true, api_keys: ['sk-k'] })
    })
    afterAll(() => srv.stop(0))

    test.each(HOSTS)('%s', async (_what, line, quoted) => {
      for (const [path, dialect] of PATHS) {
        const res = await rawExchange(srv.port, request(path, line))
        expect({ path, status: res.status, body: res.body.slice(0, 200) }).toMatchObject({ path, status: 400 })
        const message = expectDialectError(dialect, 400, JSON.parse(res.body), res.headers)
        expect(message).toContain(quoted)
        expect(message).toContain('send the address of this agproxy')
      }
      // one line for this Host (three requests), no stack, and the server goes on
      const lines = srv.logs.filter(l => l.includes(quoted))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain('WARN')
      expect(srv.logs.join('\n')).not.toMatch(/\n\s+at |internal error/)
      expect((await rawRequest(srv.port, 'GET', '/healthz')).status).toBe(200)
    })
  })
})

describe('Host guard: loopback is the address actually bound, in any spelling', () => {
  test.each([
    ['127.1', true],
    ['127.0.0.2', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['2130706433', true],
    ['0x7f.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['[::]', false],
    ['192.168.1.20', false],
    ['fd00::2', false],
    ['example.com', false],
    ['', false],
  ] as const)('%s → %p', (address, loopback) => {
    expect(isLoopbackAddress(address)).toBe(loopback)
  })

  // each binds where the test runs; one that cannot bind here (no IPv6) is skipped
  const canBind = (hostname: string) => {
    try {
      Bun.serve({ port: 0, hostname, fetch: () => new Response() }).stop(true)
      return true
    } catch {
      return false
    }
  }
  const BINDS = [
    ['127.1', '127.0.0.1'],
    ['127.0.0.2', '127.0.0.2'],
    ['0:0:0:0:0:0:0:1', '[::1]'],
  ]
  test.each(BINDS)('host: %s → a foreign Host gets 403 in dialect', async (host, connect) => {
    if (!canBind(host)) return
    const srv = await startAgproxy({ host })
    try {
      const base = `http://${connect}:${srv.port}`
      for (const [path, dialect] of [
        ['/healthz', 'openai'],
        [MESSAGES, 'anthropic'],
        [GENERATE, 'gemini'],
      ] as const) {
        const res = await fetch(base + path, path === '/healthz' ? { headers: { host: 'evil.example' } } : json(ANY_MODEL_BODY, { host: 'evil.example' }))
        expect({ path, status: res.status }).toEqual({ path, status: 403 })
        expect(expectDialectError(dialect, 403, await res.json(), res.headers)).toContain('Host "evil.example" is not allowed')
      }
      // the address the client dialled, in the spelling it used, is answered
      for (const ok of [`${host.includes(':') ? `[${host}]` : host}:${srv.port}`, `${connect}:${srv.port}`, `localhost:${srv.port}`])
        expect({ ok, status: (await fetch(`${base}/healthz`, { headers: { host: ok } })).status }).toEqual({ ok, status: 200 })
    } finally {
      await srv.stop(0)
    }
  })

  test('in-process (not listening), the configured bind host decides', async () => {
    const app = createApp(buildConfig({ host: '127.1', port: 0 }), { log: silentLogger })
    expect((await app.fetch(new Request('http://evil.example/healthz', { headers: { host: 'evil.example' } }))).status).toBe(403)
    expect((await app.fetch(new Request('http://127.1/healthz', { headers: { host: '127.1' } }))).status).toBe(200)
  })
})

describe('Origin guard, auth off', () => {
  let srv: TestServer
  beforeAll(async () => {
    srv = await startAgproxy()
  })
  afterAll(() => srv.stop(0))

  const ALLOWED = [
    'http://localhost:3000',
    'https://localhost',
    'http://127.0.0.1:5173',
    'http://[::1]:8080',
    'app://x',
    'file://',
    'tauri://localhost',
    'vscode-webview://x',
    'vscode-file://vscode-app',
  ]
  test.each(ALLOWED)('Origin %s passes, with CORS headers', async origin => {
    const res = await fetch(`${srv.url}${CHAT}`, json(ANY_MODEL_BODY, { origin }))
    expect(res.status).toBe(503)
    expect(await res.text()).toMatch(NO_PROVIDER)
    expect(res.headers.get('access-control-allow-origin')).toBe(origin)
    expect(res.headers.get('vary')).toContain('Origin')
    expect(res.headers.get('access-control-expose-headers')).toContain('x-agproxy-resolved-path')
  })

  const REFUSED: Array<[origin: string, path: string, dialect: Dialect]> = [
    ['https://evil.example', '/healthz', 'openai'],
    ['https://evil.example', CHAT, 'openai'],
    ['https://evil.example', MESSAGES, 'anthropic'],
    ['https://evil.example', GENERATE, 'gemini'],
    ['null', CHAT, 'openai'],
    ['http://localhost.evil.example', MESSAGES, 'anthropic'],
    ['http://evil.example:3000', CHAT, 'openai'],
    ['chrome-extension://abcdef', CHAT, 'openai'],
  ]
  test.each(REFUSED)('Origin %s on %s → 403 (%s) saying how to allow it', async (origin, path, dialect) => {
    const res = await fetch(`${srv.url}${path}`, path === '/healthz' ? { headers: { origin } } : json(ANY_MODEL_BODY, { origin }))
    expect(res.status).toBe(403)
    expect(res.headers.has('access-control-allow-origin')).toBe(false)
    const message = expectDialectError(dialect, 403, await res.json(), res.headers)
    expect(message).toContain(`Origin "${origin}" is not allowed`)
    expect(message).toContain(`cors_origins: ["${origin}"]`)
  })

  test('requests without an Origin are unaffected, and get no CORS headers', async () => {
    const res = await fetch(`${srv.url}${CHAT}`, json(ANY_MODEL_BODY))
    expect(res.status).toBe(503)
    expect(res.headers.has('access-control-allow-origin')).toBe(false)
  })

  test('CORS preflight from an allowed origin → 204 with the allow headers', async () => {
    const res = await fetch(`${srv.url}${MESSAGES}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:3000',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-api-key, anthropic-version, content-type',
      },
    })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000')
    expect(res.headers.get('access-control-allow-methods')).toContain('POST')
    expect(res.headers.get('access-control-allow-headers')).toBe('x-api-key, anthropic-version, content-type')
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0)
  })

  test.each([
    [CHAT, 'openai'],
    [MESSAGES, 'anthropic'],
    [GENERATE, 'gemini'],
  ] as const)('CORS preflight from another origin on %s → 403 (%s)', async (path, dialect) => {
    const res = await fetch(`${srv.url}${path}`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
    expect(res.status).toBe(403)
    expect(res.headers.has('access-control-allow-origin')).toBe(false)
    expectDialectError(dialect, 403, await res.json(), res.headers)
  })
})

describe('cors_origins', () => {
  let listed: TestServer
  let all: TestServer
  beforeAll(async () => {
    listed = await startAgproxy({ cors_origins: ['https://ok.example', 'https://Trailing.example/'] })
    all = await startAgproxy({ cors_origins: ['*'] })
  })
  afterAll(async () => {
    await listed.stop(0)
    await all.stop(0)
  })

  test.each(['https://ok.example', 'https://trailing.example', 'http://localhost:3000'])('a listed (or default) origin passes: %s', async origin => {
    const res = await fetch(`${listed.url}${CHAT}`, json(ANY_MODEL_BODY, { origin }))
    expect(res.status).toBe(503)
    expect(res.headers.get('access-control-allow-origin')).toBe(origin)
    const pre = await fetch(`${listed.url}${CHAT}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } })
    expect(pre.status).toBe(204)
  })

  test('an unlisted origin is still refused', async () => {
    const res = await fetch(`${listed.url}${CHAT}`, json(ANY_MODEL_BODY, { origin: 'https://evil.example' }))
    expect(res.status).toBe(403)
  })

  test.each(['https://evil.example', 'https://anything.example:8443'])('"*" allows every origin: %s', async origin => {
    const res = await fetch(`${all.url}${CHAT}`, json(ANY_MODEL_BODY, { origin }))
    expect(res.status).toBe(503)
    expect(res.headers.get('access-control-allow-origin')).toBe(origin)
  })
})

describe('Origin with auth on: the key protects, any origin may try', () => {
  let srv: TestServer
  beforeAll(async () => {
    srv = await startAgproxy({ auth_mode: 'strict', api_keys: ['sk-k'] })
  })
  afterAll(() => srv.stop(0))

  test('a foreign origin with the key passes, with CORS headers', async () => {
    const res = await fetch(`${srv.url}${CHAT}`, json(ANY_MODEL_BODY, { origin: 'https://evil.example', authorization: 'Bearer sk-k' }))
    expect(res.status).toBe(503)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://evil.example')
  })

  test('without the key it is a 401 the page can read (CORS headers present)', async () => {
    const res = await fetch(`${srv.url}${CHAT}`, json(ANY_MODEL_BODY, { origin: 'https://evil.example' }))
    expect(res.status).toBe(401)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://evil.example')
  })
})

describe('model routes accept only JSON bodies', () => {
  let srv: TestServer
  beforeAll(async () => {
    srv = await startAgproxy()
  })
  afterAll(() => srv.stop(0))
  const body = JSON.stringify(ANY_MODEL_BODY)

  const REFUSED: Array<[type: string, path: string, dialect: Dialect]> = [
    ['text/plain', CHAT, 'openai'],
    ['text/plain;charset=UTF-8', MESSAGES, 'anthropic'],
    ['application/x-www-form-urlencoded', CHAT, 'openai'],
    ['application/x-www-form-urlencoded', GENERATE, 'gemini'],
    ['multipart/form-data; boundary=x', MESSAGES, 'anthropic'],
    ['text/html', '/v1/embeddings', 'openai'],
  ]
  test.each(REFUSED)('Content-Type %s on %s → 415 (%s)', async (type, path, dialect) => {
    const res = await fetch(`${srv.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body })
    expect(res.status).toBe(415)
    const message = expectDialectError(dialect, 415, await res.json(), res.headers)
    expect(message).toContain(`Content-Type "${type}" is not accepted`)
    expect(message).toContain('application/json')
  })

  test('a form body built by fetch is refused (415)', async () => {
    const res = await fetch(`${srv.url}${MESSAGES}`, { method: 'POST', body: new URLSearchParams({ model: 'x' }) })
    expect(res.status).toBe(415)
  })

  test.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON'])('Content-Type %s is accepted', async type => {
    const res = await fetch(`${srv.url}${CHAT}`, { method: 'POST', headers: { 'content-type': type }, body })
    expect(res.status).toBe(503)
    expect(await res.text()).toMatch(NO_PROVIDER)
  })

  test.each([CHAT, MESSAGES, GENERATE])('no Content-Type at all is accepted on %s', async path => {
    const res = await rawRequest(srv.port, 'POST', path, {}, body)
    expect(res.status).toBe(503)
    expect(res.body).toMatch(NO_PROVIDER)
  })

  test('telemetry sinks are not model routes: any body is fine', async () => {
    const res = await fetch(`${srv.url}/api/event_logging/batch`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })
    expect(res.status).toBe(204)
  })
})
