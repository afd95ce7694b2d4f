/**
 * Who needs a key, where the key may travel, and what a refusal looks like.
 *
 *   auth_mode           health (/healthz)   docs (/swagger/json)   model routes
 *   off                 open                open                   open
 *   strict              key                 key                    key
 *   all_except_health   open                open                   key
 *   auto                = all_except_health with allow_lan_access, else = off
 *
 * A key travels as `Authorization: Bearer K` (or bare), `x-api-key`, `x-goog-api-key` or `?key=`; any
 * carrier holding a valid key authorizes. A 401 speaks the caller's dialect, names the accepted
 * headers and never echoes the key.
 */
import { describe, test, expect, beforeAll, afterAll } from 'bun:test'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI, ApiError } from '@google/genai'
import { startAgproxy, type TestServer } from './support/agproxy'
import { ANY_MODEL_BODY, NO_PROVIDER, expectDialectError, type Dialect } from './support/front-door'
import { cleanEnv, configFile, startCli, tempDir } from './support/cli'

const KEY = 'sk-agproxy-test-key-0123456789'
const WRONG = 'sk-wrong-SECRET-should-never-be-echoed'

type Mode = 'off' | 'strict' | 'all_except_health' | 'auto'
const MODES: Mode[] = ['off', 'strict', 'all_except_health', 'auto']

/** The four carriers, each putting a key on a request. */
const CARRIERS: Record<string, (k: string) => { headers: Record<string, string>; query: string }> = {
  'Authorization: Bearer': k => ({ headers: { authorization: `Bearer ${k}` }, query: '' }),
  'x-api-key': k => ({ headers: { 'x-api-key': k }, query: '' }),
  'x-goog-api-key': k => ({ headers: { 'x-goog-api-key': k }, query: '' }),
  '?key=': k => ({ headers: {}, query: `?key=${encodeURIComponent(k)}` }),
}

interface Target {
  name: string
  method: string
  path: string
  kind: 'health' | 'docs' | 'model'
  ok: number
  family?: Dialect
}
const TARGETS: Target[] = [
  { name: 'health', method: 'GET', path: '/healthz', kind: 'health', ok: 200 },
  { name: 'docs', method: 'GET', path: '/swagger/json', kind: 'docs', ok: 200 },
  { name: 'OpenAI model route', method: 'POST', path: '/v1/chat/completions', kind: 'model', ok: 503, family: 'openai' },
  { name: 'Anthropic model route', method: 'POST', path: '/v1/messages', kind: 'model', ok: 503, family: 'anthropic' },
]

/** Does this request need a key? */
function needsKey(mode: Mode, lan: boolean, kind: Target['kind']): boolean {
  const effective = mode === 'auto' ? (lan ? 'all_except_health' : 'off') : mode
  if (effective === 'off') return false
  if (effective === 'strict') return true
  return kind === 'model'
}

/** The dialect of a 401: the path family first, then the carrier's headers, else OpenAI. */
function dialectOf(t: Target, carrier?: string): Dialect {
  if (t.family) return t.family
  if (carrier === 'x-goog-api-key' || carrier === '?key=') return 'gemini'
  return 'openai'
}

const AUTH_SHAPE: Record<Dialect, (body: any) => void> = {
  openai: b => expect(b.error).toMatchObject({ code: 'invalid_api_key' }),
  anthropic: b => expect(b.error).toMatchObject({ type: 'authentication_error' }),
  gemini: b => expect(b.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' }),
}

async function send(srv: TestServer, t: Target, carry?: { headers: Record<string, string>; query: string }, extra: Record<string, string> = {}) {
  const headers = { ...(t.method === 'POST' ? { 'content-type': 'application/json' } : {}), ...carry?.headers, ...extra }
  return fetch(`${srv.url}${t.path}${carry?.query ?? ''}`, {
    method: t.method,
    headers,
    body: t.method === 'POST' ? JSON.stringify(ANY_MODEL_BODY) : undefined,
  })
}

/** A refusal: 401, in the dialect, naming the carriers, echoing no key. */
async function expect401(res: Response, dialect: Dialect, hadKey: boolean) {
  const text = await res.text()
  expect({ status: res.status, text: text.slice(0, 200) }).toMatchObject({ status: 401 })
  expect(res.headers.get('x-should-retry')).toBe('false')
  expect(text).not.toContain(WRONG)
  expect(text).not.toContain(KEY)
  const body = JSON.parse(text)
  const message = expectDialectError(dialect, 401, body, res.headers)
  AUTH_SHAPE[dialect](body)
  expect(message).toStartWith(hadKey ? 'The API key is not valid for this agproxy.' : 'An API key is required.')
  for (const carrier of ['Authorization: Bearer <key>', 'x-api-key: <key>', 'x-goog-api-key: <key>', '?key=<key>']) expect(message).toContain(carrier)
}

async function expectPass(res: Response, t: Target) {
  expect({ status: res.status, path: t.path }).toEqual({ status: t.ok, path: t.path })
  if (t.ok === 503) expect(await res.text()).toMatch(NO_PROVIDER)
}

const dataDir = tempDir('agproxy-data-')

describe.each(
  MODES.flatMap(
    m =>
      [
        [m, false],
        [m, true],
      ] as Array<[Mode, boolean]>,
  ),
)('auth_mode %s, allow_lan_access %p', (mode, lan) => {
  let srv: TestServer
  beforeAll(async () => {
    // LAN on, but bound to loopback so the test opens nothing to the network
    srv = await startAgproxy({ auth_mode: mode, api_keys: [KEY], data_dir: dataDir, ...(lan ? { allow_lan_access: true, host: '127.0.0.1' } : {}) })
  })
  afterAll(() => srv.stop(0))

  const outcome = (t: Target) => (needsKey(mode, lan, t.kind) ? '401' : `passes (${t.ok})`)

  for (const t of TARGETS)
    test(`no key: ${t.method} ${t.path} → ${outcome(t)}`, async () => {
      const res = await send(srv, t)
      if (needsKey(mode, lan, t.kind)) await expect401(res, dialectOf(t), false)
      else await expectPass(res, t)
    })

  for (const carrier of Object.keys(CARRIERS))
    for (const t of TARGETS) {
      test(`right key in ${carrier}: ${t.method} ${t.path} → passes (${t.ok})`, async () => {
        await expectPass(await send(srv, t, CARRIERS[carrier]!(KEY)), t)
      })
      test(`wrong key in ${carrier}: ${t.method} ${t.path} → ${outcome(t)}${needsKey(mode, lan, t.kind) ? ` (${dialectOf(t, carrier)})` : ''}`, async () => {
        const res = await send(srv, t, CARRIERS[carrier]!(WRONG))
        if (needsKey(mode, lan, t.kind)) await expect401(res, dialectOf(t, carrier), true)
        else await expectPass(res, t)
      })
    }
})

describe('carriers and edge cases (strict)', () => {
  let srv: TestServer
  beforeAll(async () => {
    srv = await startAgproxy({ auth_mode: 'strict', api_keys: [KEY, 'sk-second-key'] })
  })
  afterAll(() => srv.stop(0))
  const chat = TARGETS[2]!

  test('a stale Authorization plus the right x-api-key passes', async () => {
    await expectPass(await send(srv, chat, { headers: { authorization: `Bearer ${WRONG}`, 'x-api-key': KEY }, query: '' }), chat)
  })

  test('the right key in ?key= passes even with a wrong x-goog-api-key', async () => {
    await expectPass(await send(srv, chat, { headers: { 'x-goog-api-key': WRONG }, query: `?key=${KEY}` }), chat)
  })

  test('a bare (non-Bearer) Authorization value works', async () => {
    await expectPass(await send(srv, chat, { headers: { authorization: KEY }, query: '' }), chat)
  })

  test('"bearer" is case-insensitive', async () => {
    await expectPass(await send(srv, chat, { headers: { authorization: `bearer ${KEY}` }, query: '' }), chat)
  })

  test('any configured key works', async () => {
    await expectPass(await send(srv, chat, { headers: { 'x-api-key': 'sk-second-key' }, query: '' }), chat)
  })

  test('a key that only shares a prefix with a valid one is refused', async () => {
    await expect401(await send(srv, chat, { headers: { 'x-api-key': KEY.slice(0, -1) }, query: '' }), 'openai', true)
    await expect401(await send(srv, chat, { headers: { 'x-api-key': `${KEY}x` }, query: '' }), 'openai', true)
  })

  test('an OPTIONS preflight passes without a key', async () => {
    const res = await fetch(`${srv.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000')
  })

  test('a Google-family request without a key → UNAUTHENTICATED', async () => {
    const res = await fetch(`${srv.url}/v1beta/models/gemini-x:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ANY_MODEL_BODY),
    })
    await expect401(res, 'gemini', false)
  })

  test('with anthropic-version on a neutral path → authentication_error', async () => {
    await expect401(await send(srv, TARGETS[0]!, undefined, { 'anthropic-version': '2023-06-01' }), 'anthropic', false)
  })

  test('each official SDK sees its own authentication error with a wrong key, and gets through with the right one', async () => {
    const oa = (k: string) => new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: k, maxRetries: 0 })
    const e1 = await oa(WRONG)
      .chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] })
      .catch(e => e)
    expect(e1).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(e1.code).toBe('invalid_api_key')
    expect(
      (
        await oa(KEY)
          .chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] })
          .catch(e => e)
      ).status,
    ).toBe(503)

    const an = (k: string) => new Anthropic({ baseURL: srv.url, apiKey: k, maxRetries: 0 })
    const e2 = await an(WRONG)
      .messages.create({ model: 'claude-x', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
      .catch(e => e)
    expect(e2).toBeInstanceOf(Anthropic.AuthenticationError)
    expect(
      (
        await an(KEY)
          .messages.create({ model: 'claude-x', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
          .catch(e => e)
      ).status,
    ).toBe(503)

    const g = (k: string) => new GoogleGenAI({ apiKey: k, httpOptions: { baseUrl: srv.url } })
    const e3 = await g(WRONG)
      .models.generateContent({ model: 'gemini-x', contents: 'hi' })
      .catch(e => e)
    expect(e3).toBeInstanceOf(ApiError)
    expect(e3.status).toBe(401)
    expect(e3.message).not.toContain(WRONG)
    expect(
      (
        await g(KEY)
          .models.generateContent({ model: 'gemini-x', contents: 'hi' })
          .catch(e => e)
      ).status,
    ).toBe(503)
  })
})

describe('LAN on, auth on, no key configured: a key is generated once and kept in data_dir', () => {
  const dir = tempDir('agproxy-lan-')
  const home = tempDir('agproxy-home-')
  const file = join(dir, 'api_key')
  let generated = ''

  test('first start generates, stores (0600) and prints the key', async () => {
    const cfg = configFile('log_level: info\n')
    const run = await startCli(['--config', cfg, '--allow-lan', '--host', '127.0.0.1', '--port', '0'], cleanEnv({ AGPROXY_DATA_DIR: dir }, home))
    try {
      expect(existsSync(file)).toBe(true)
      generated = readFileSync(file, 'utf8').trim()
      expect(generated).toMatch(/^sk-[A-Za-z0-9_-]{48}$/)
      expect(statSync(file).mode & 0o777).toBe(0o600)
      expect(run.stdout).toContain(`generated a key (stored in ${file})`)
      expect(run.stdout).toContain(generated)
      expect(run.stdout).toContain('auth: all_except_health (auto), 1 key(s)')

      const noKey = await fetch(`${run.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(ANY_MODEL_BODY),
      })
      await expect401(noKey, 'openai', false)
      const withKey = await fetch(`${run.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${generated}` },
        body: JSON.stringify(ANY_MODEL_BODY),
      })
      expect(withKey.status).toBe(503)
      expect((await fetch(`${run.url}/healthz`)).status).toBe(200)
    } finally {
      expect(await run.stop()).toBe(0)
    }
  }, 20_000)

  test('a restart reuses the stored key (data_dir from the config file) and does not print it again', async () => {
    expect(generated).not.toBe('')
    const cfg = configFile(`data_dir: ${JSON.stringify(dir)}\n`)
    const run = await startCli(['--config', cfg, '--allow-lan', '--host', '127.0.0.1', '--port', '0'], cleanEnv({}, home))
    try {
      expect(readFileSync(file, 'utf8').trim()).toBe(generated)
      await run.waitFor(/using the API key stored in/)
      expect(run.stdout + run.stderr).not.toContain(generated)
      const withKey = await fetch(`${run.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': generated },
        body: JSON.stringify(ANY_MODEL_BODY),
      })
      expect(withKey.status).toBe(503)
    } finally {
      expect(await run.stop()).toBe(0)
    }
  }, 20_000)

  test('a configured key wins: nothing is generated', async () => {
    const other = tempDir('agproxy-lan-')
    const cfg = configFile('api_keys: [sk-configured]\n')
    const run = await startCli(['--config', cfg, '--allow-lan', '--host', '127.0.0.1', '--port', '0'], cleanEnv({ AGPROXY_DATA_DIR: other }, home))
    try {
      expect(existsSync(join(other, 'api_key'))).toBe(false)
      const res = await fetch(`${run.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'sk-configured' },
        body: JSON.stringify(ANY_MODEL_BODY),
      })
      expect(res.status).toBe(503)
    } finally {
      expect(await run.stop()).toBe(0)
    }
  }, 20_000)
})
