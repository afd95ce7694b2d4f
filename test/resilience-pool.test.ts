/**
 * The key pool, end to end through a running agproxy: rotation per strategy (and weights) from the config,
 * sticky conversations, cooldowns from each upstream hint format (retry-after, Google RetryInfo, Anthropic
 * anthropic-ratelimit-*-reset), the escalating ladder without a hint, the long quota cooldown, disabled keys
 * (401, 403, Gemini's 400 API_KEY_INVALID), and the state as GET /agproxy/keys and `agproxy keys` show it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { networkInterfaces } from 'node:os'
import { startFake, type Behaviour, type Fake } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { call, keyState, keyStates, provider } from './support/resilience'
import { cleanEnv, configFile, runCli } from './support/cli'
import { KEYS_PATH, statusGate } from '../src/routes/status'
import { keysTable } from '../src/cli/keys'
import { buildConfig } from '../src/config/load'
import { at } from './support/at'

const O = ['sk-proj-POOLA00000000000000000000001', 'sk-proj-POOLB00000000000000000000002', 'sk-proj-POOLC00000000000000000000003']
const A = ['sk-ant-api03-POOLA000000000000000001', 'sk-ant-api03-POOLB000000000000000002']
const G = ['AIzaSyPOOLA0000000000000000000000001', 'AIzaSyPOOLB0000000000000000000000002', 'AIzaSyPOOLC0000000000000000000000003']
const named = (keys: string[], prefix = 'k') => keys.map((key, i) => ({ key, name: `${prefix}${i + 1}` }))

let o: Fake, a: Fake, g: Fake
beforeAll(async () => {
  ;[o, a, g] = await Promise.all([startFake('openai'), startFake('anthropic'), startFake('gemini')])
})
afterAll(async () => {
  await Promise.all([o.stop(), a.stop(), g.stop()])
})
const running: TestServer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(s => s.stop(0)))
  for (const f of [o, a, g]) f.reset()
})
async function start(settings: Record<string, unknown>) {
  const srv = await startAgproxy({ retry: { max_attempts: 3, max_wait: 0 }, ...settings })
  running.push(srv)
  return srv
}
/** n requests with different conversations (stickiness would otherwise keep one key) */
async function spread(srv: TestServer, n: number) {
  for (let i = 0; i < n; i++) expect((await call(srv, 'openai', 'gpt-4o', { prompt: `question ${i}` })).status).toBe(200)
  return o.requests.map(r => O.indexOf(r.key!) + 1)
}
const approx = (until: number | undefined, now: number, seconds: number, slack = 1.5) => {
  expect(until).toBeDefined()
  const left = (until! - now) / 1000
  expect(left).toBeGreaterThan(seconds - slack)
  expect(left).toBeLessThanOrEqual(seconds + 0.05)
}

describe('rotation from the config: providers[].strategy and api_keys entries {key, weight, name}', () => {
  test.each([
    ['round_robin (default)', undefined, named(O), [1, 2, 3, 1, 2, 3]],
    ['round_robin, weights 2/1/1', 'round_robin', [{ key: O[0], weight: 2 }, { key: O[1] }, { key: O[2] }], [1, 2, 3, 1, 1, 2, 3, 1]],
    ['fill_first', 'fill_first', named(O), [1, 1, 1, 1]],
    ['least_used', 'least_used', named(O), [1, 2, 3, 1, 2, 3]],
  ] as const)('%s', async (_n, strategy, keys, want) => {
    const srv = await start({ providers: [provider('up', o, keys as any, strategy ? { strategy } : {})] })
    expect(await spread(srv, want.length)).toEqual([...want])
    const s = await keyStates(srv)
    expect(s.providers[0]!.strategy).toBe(strategy ?? 'round_robin')
  })

  test('fill_first moves on while the first key cools', async () => {
    const srv = await start({ providers: [provider('up', o, named(O), { strategy: 'fill_first' })] })
    o.handler = rec => (rec.key === O[0] && o.requests.length === 1 ? { kind: 'error', status: 429, retryDelaySeconds: 30, message: 'slow down' } : undefined)
    expect(await spread(srv, 3)).toEqual([1, 2, 2, 2])
  })
})

describe('sticky conversations: same conversation → same key while it is healthy', () => {
  const srvWith = () =>
    start({ providers: [provider('up', o, named(O)), provider('claude', a, named(A, 'c'))], models: { 'claude-*': 'claude/*', 'gpt-*': 'up/*' } })

  test.each([
    [
      'Claude Code x-claude-code-session-id',
      (i: number, turn: number) => ({ prompt: `turn ${turn}`, headers: { 'x-claude-code-session-id': `session-${i}` } }),
    ],
    ['OpenAI user', (i: number, turn: number) => ({ prompt: `turn ${turn}`, extra: { user: `user-${i}` } })],
    ['OpenAI prompt_cache_key', (i: number, turn: number) => ({ prompt: `turn ${turn}`, extra: { prompt_cache_key: `cache-${i}` } })],
  ] as const)('%s', async (_n, opts) => {
    const srv = await srvWith()
    // three conversations, interleaved, four turns each
    for (let turn = 0; turn < 4; turn++) for (let i = 0; i < 3; i++) expect((await call(srv, 'openai', 'gpt-4o', opts(i, turn))).status).toBe(200)
    const byConv = new Map<string, Set<string>>()
    o.requests.forEach((r, n) => {
      const conv = String(n % 3)
      byConv.set(conv, (byConv.get(conv) ?? new Set()).add(r.key!))
    })
    for (const keys of byConv.values()) expect(keys.size).toBe(1)
    // and the conversations were spread over the keys (round robin for new ones)
    expect(new Set(o.requests.map(r => r.key)).size).toBe(3)
  })

  test('Anthropic metadata.user_id', async () => {
    const srv = await srvWith()
    for (let turn = 0; turn < 3; turn++)
      for (const u of ['u1', 'u2']) await call(srv, 'anthropic', 'claude-x', { prompt: `turn ${turn}`, extra: { metadata: { user_id: u } } })
    const keysOf = (u: string) => new Set(a.requests.filter(r => r.body.metadata?.user_id === u).map(r => r.key))
    expect(keysOf('u1').size).toBe(1)
    expect(keysOf('u2').size).toBe(1)
    expect([...keysOf('u1')][0]).not.toBe([...keysOf('u2')][0])
  })

  test('without an id: the system prompt + first user turn', async () => {
    const srv = await srvWith()
    const conv = (first: string, later: string[]) => ({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: first },
        ...later.flatMap(l => [
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: l },
        ]),
      ],
    })
    for (let turn = 0; turn < 3; turn++) {
      for (const first of ['plan a trip', 'fix my code']) {
        const later = Array.from({ length: turn }, (_, i) => `more ${i}`)
        await fetch(`${srv.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(conv(first, later)),
        })
      }
    }
    const keysOf = (first: string) => new Set(o.requests.filter(r => r.body.messages[1].content === first).map(r => r.key))
    expect(keysOf('plan a trip').size).toBe(1)
    expect(keysOf('fix my code').size).toBe(1)
    expect([...keysOf('plan a trip')][0]).not.toBe([...keysOf('fix my code')][0])
  })

  test('a conversation moves when its key cools, and stays on the new key', async () => {
    const srv = await srvWith()
    const h = { 'x-claude-code-session-id': 'moving' }
    await call(srv, 'openai', 'gpt-4o', { headers: h })
    const home = o.requests[0]!.key
    o.handler = rec => (rec.key === home ? { kind: 'error', status: 503 } : undefined)
    await call(srv, 'openai', 'gpt-4o', { headers: h, prompt: 'second' })
    const moved = o.requests.at(-1)!.key
    expect(moved).not.toBe(home)
    o.handler = undefined
    for (let i = 0; i < 3; i++) await call(srv, 'openai', 'gpt-4o', { headers: h, prompt: `turn ${i}` })
    expect(o.requests.slice(-3).map(r => r.key)).toEqual([moved, moved, moved])
  })
})

describe('cooldowns honour each hint format', () => {
  test('retry-after (OpenAI)', async () => {
    const srv = await start({ providers: [provider('up', o, named(O), { strategy: 'fill_first' })] })
    o.enqueue({ kind: 'error', status: 429, retryDelaySeconds: 17, message: 'Too many requests, slow down.' })
    expect((await call(srv, 'openai', 'gpt-4o')).status).toBe(200)
    const k = await keyState(srv, 'up', 'k1')
    expect(k.status).toBe('active') // OpenAI's rate limits are per model: the key still serves other models
    approx(k.models?.['gpt-4o']?.until, k.now, 17)
    expect(k.models!['gpt-4o']!.reason).toContain('retry-after')
  })

  test('Google RetryInfo.retryDelay, scoped to the model the quota names', async () => {
    const srv = await start({ providers: [provider('google', g, named(G), { strategy: 'fill_first' })] })
    g.enqueue({ kind: 'error', status: 429, retryDelaySeconds: 23 })
    expect((await call(srv, 'gemini', 'gemini-2.5-pro')).status).toBe(200)
    const k = await keyState(srv, 'google', 'k1')
    expect(k.status).toBe('active') // other models may still use the key
    approx(k.models?.['gemini-2.5-pro']?.until, k.now, 23)
    expect(k.models!['gemini-2.5-pro']!.reason).toContain('RetryInfo')
    // a request for another model still gets k1; one for the limited model moves to k2
    await call(srv, 'gemini', 'gemini-2.5-flash', { prompt: 'other model' })
    await call(srv, 'gemini', 'gemini-2.5-pro', { prompt: 'same model' })
    expect(g.requests.slice(-2).map(r => r.key)).toEqual([G[0], G[1]])
  })

  test('Anthropic anthropic-ratelimit-*-reset (no retry-after)', async () => {
    const srv = await start({ providers: [provider('claude', a, named(A), { strategy: 'fill_first' })] })
    a.enqueue({ kind: 'error', status: 429, retryDelaySeconds: 12, headers: { 'retry-after': '' } })
    expect((await call(srv, 'anthropic', 'claude-x')).status).toBe(200)
    const k = await keyState(srv, 'claude', 'k1')
    expect(k.status).toBe('active') // Anthropic's rate limits are per model (class)
    approx(k.models?.['claude-x']?.until, k.now, 12, 2) // the reset instant has whole-second precision
    expect(k.models!['claude-x']!.reason).toContain('anthropic-ratelimit reset')
  })

  test('no hint: the escalating ladder starts at 5 s', async () => {
    const srv = await start({ providers: [provider('up', o, named(O), { strategy: 'fill_first' })] })
    o.enqueue({ kind: 'error', status: 429, message: 'Too many requests.', headers: { 'x-ratelimit-reset-requests': '', 'retry-after': '' } })
    await call(srv, 'openai', 'gpt-4o')
    const k = await keyState(srv, 'up', 'k1')
    approx(k.models?.['gpt-4o']?.until, k.now, 5)
    expect(k.models!['gpt-4o']!.reason).toContain('backoff step 1')
  })

  test('quota exhausted (insufficient_quota): a long cooldown', async () => {
    const srv = await start({ providers: [provider('up', o, named(O), { strategy: 'fill_first' })] })
    o.enqueue({
      kind: 'error',
      status: 429,
      body: {
        error: {
          message: 'You exceeded your current quota, please check your plan and billing details.',
          type: 'insufficient_quota',
          param: null,
          code: 'insufficient_quota',
        },
      },
    })
    await call(srv, 'openai', 'gpt-4o')
    const k = await keyState(srv, 'up', 'k1')
    approx(k.until, k.now, 3600, 5)
    expect(k.reason).toContain('quota spent')
  })

  test('5xx and network errors: a short cooldown', async () => {
    const srv = await start({ providers: [provider('up', o, named(O), { strategy: 'fill_first' })] })
    o.enqueue({ kind: 'error', status: 502 })
    await call(srv, 'openai', 'gpt-4o')
    const k = await keyState(srv, 'up', 'k1')
    approx(k.until, k.now, 2)
  })
})

describe('cooldowns are capped by retry.max_cooldown and scoped to the model the 429 was for', () => {
  const HUGE = 999_999_999 // seconds: about 31 years
  const modelOf = (rec: { body: any; path: string }) => rec.body?.model ?? /models\/([^:]+)/.exec(rec.path)?.[1]
  const fakeOf = { openai: () => o, anthropic: () => a, gemini: () => g }
  const noRetryAfter = { 'retry-after': '' }
  const geminiMessage = { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: `Resource exhausted. Please retry in ${HUGE}s.` } }
  const SOURCES: Array<[string, keyof typeof fakeOf, string, Behaviour, string]> = [
    ['retry-after', 'openai', 'gpt-4o', { kind: 'error', status: 429, retryDelaySeconds: HUGE, message: 'Too many requests, slow down.' }, 'retry-after'],
    ['x-ratelimit-reset-requests', 'openai', 'gpt-4o', { kind: 'error', status: 429, retryDelaySeconds: HUGE, headers: noRetryAfter }, 'x-ratelimit reset'],
    ['Google RetryInfo', 'gemini', 'gemini-2.5-pro', { kind: 'error', status: 429, retryDelaySeconds: HUGE }, 'RetryInfo'],
    ['Gemini "Please retry in" message', 'gemini', 'gemini-2.5-pro', { kind: 'error', status: 429, body: geminiMessage }, 'message'],
    [
      'anthropic-ratelimit-*-reset',
      'anthropic',
      'claude-opus-4-1',
      { kind: 'error', status: 429, retryDelaySeconds: HUGE, headers: noRetryAfter },
      'anthropic-ratelimit reset',
    ],
    [
      'the ladder (no hint; first step 5 s)',
      'openai',
      'gpt-4o',
      { kind: 'error', status: 429, message: 'Too many requests.', headers: { 'x-ratelimit-reset-requests': '', ...noRetryAfter } },
      'backoff step 1',
    ],
  ]
  const onlyKey = { openai: O[0]!, anthropic: A[0]!, gemini: G[0]! }
  test.each(SOURCES)('%s: capped, and another model on the same key still answers', async (_n, type, model, behaviour, source) => {
    const fake = fakeOf[type]()
    const srv = await start({ retry: { max_attempts: 3, max_wait: 0, max_cooldown: 3 }, providers: [provider('up', fake, named([onlyKey[type]]))] })
    fake.handler = rec => (modelOf(rec) === model ? behaviour : undefined)
    const limited = await call(srv, type, model)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('3') // what the client is told to wait is capped too
    expect(await limited.text()).toContain('Retry in 3 s')
    const k = await keyState(srv, 'up', 'k1')
    expect(k.status).toBe('active')
    approx(k.models?.[model]?.until, k.now, 3)
    expect(k.models![model]!.reason).toContain(source)
    expect(k.models![model]!.reason).toContain('capped by retry.max_cooldown (3 s)')
    // the same key, another model: goes through
    const other = await call(srv, type, `${model}-other`, { prompt: 'another model' })
    expect(other.status).toBe(200)
    expect(fake.requests.map(r => modelOf(r))).toEqual([model, `${model}-other`])
  })

  test('retry-after: 999999999 with the default max_cooldown: one hour, for that model only', async () => {
    const srv = await start({ providers: [provider('up', o, named([O[0]!]))] })
    o.handler = rec => (rec.body?.model === 'gpt-4o' ? { kind: 'error', status: 429, retryDelaySeconds: HUGE, message: 'Too many requests.' } : undefined)
    const limited = await call(srv, 'openai', 'gpt-4o')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('3600')
    const k = await keyState(srv, 'up', 'k1')
    approx(k.models?.['gpt-4o']?.until, k.now, 3600)
    expect((await call(srv, 'openai', 'gpt-4o-mini')).status).toBe(200)
    expect((await call(srv, 'openai', 'gpt-4o', { prompt: 'again' })).status).toBe(429) // and gpt-4o is not retried upstream meanwhile
    expect(o.requests.map(r => r.body.model)).toEqual(['gpt-4o', 'gpt-4o-mini'])
  })

  test('a spent quota on the key (insufficient_quota) holds every model, capped', async () => {
    const srv = await start({ retry: { max_attempts: 3, max_wait: 0, max_cooldown: 120 }, providers: [provider('up', o, named([O[0]!]))] })
    const message = 'You exceeded your current quota, please check your plan and billing details.'
    o.enqueue({ kind: 'error', status: 429, body: { error: { message, type: 'insufficient_quota', param: null, code: 'insufficient_quota' } } })
    const limited = await call(srv, 'openai', 'gpt-4o')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('120')
    const k = await keyState(srv, 'up', 'k1')
    expect(k.status).toBe('cooling')
    approx(k.until, k.now, 120)
    expect(k.reason).toContain('quota spent, capped by retry.max_cooldown (2 min)')
    expect((await call(srv, 'openai', 'gpt-4o-mini')).status).toBe(429)
    expect(o.requests).toHaveLength(1)
  })

  test('retry.max_cooldown is validated', () => {
    expect(() => buildConfig({ retry: { max_cooldown: 0 } })).toThrow(/retry\.max_cooldown/)
    expect(buildConfig({ retry: { max_attempts: 2 } }).retry.max_cooldown).toBe(3600)
  })
})

describe('disabled keys', () => {
  test.each([401, 403])('%d disables the key with the reason, until the config is reloaded', async status => {
    const srv = await start({ providers: [provider('up', o, named(O), { strategy: 'fill_first' })] })
    o.enqueue({ kind: 'error', status, message: status === 401 ? 'Incorrect API key provided.' : 'Project does not have access.' })
    expect((await call(srv, 'openai', 'gpt-4o')).status).toBe(200)
    const k = await keyState(srv, 'up', 'k1')
    expect(k.status).toBe('disabled')
    expect(k.reason).toContain(`${status} from upstream`)
    await call(srv, 'openai', 'gpt-4o', { prompt: 'again' })
    expect(o.requests.map(r => r.key)).toEqual([O[0], O[1], O[1]])
  })

  test('Gemini 400 API_KEY_INVALID disables the key (end to end)', async () => {
    const google = await startFake('gemini', { keys: [at(G, 1), at(G, 2)] }) // G[0] is "not valid"
    try {
      const srv = await start({ providers: [provider('google', google, named(G), { strategy: 'fill_first' })] })
      const res = await call(srv, 'anthropic', 'gemini-2.5-flash')
      expect(res.status).toBe(200)
      const k = await keyState(srv, 'google', 'k1')
      expect(k.status).toBe('disabled')
      expect(k.reason).toContain('API key not valid')
      expect(google.requests.map(r => r.key)).toEqual([G[0], G[1]])
    } finally {
      await google.stop()
    }
  })
})

describe('GET /agproxy/keys', () => {
  test('names or masked keys only, never a raw key; per-model cooldowns listed', async () => {
    const srv = await start({
      providers: [provider('up', o, [{ key: at(O, 0), name: 'work' }, at(O, 1)]), provider('google', g, [at(G, 0)])],
      models: { 'gemini-*': 'google/*' },
    })
    g.enqueue({ kind: 'error', status: 429, retryDelaySeconds: 30 })
    await call(srv, 'gemini', 'gemini-2.5-pro')
    const text = await (await fetch(`${srv.url}/agproxy/keys`)).text()
    for (const k of [...O, ...G]) expect(text).not.toContain(k)
    const s = JSON.parse(text)
    expect(s.providers.map((p: any) => [p.name, p.type, p.keys.map((k: any) => k.name)])).toEqual([
      ['up', 'openai', ['work', 'sk-…0002']],
      ['google', 'gemini', ['AIz…0001']],
    ])
    expect(s.providers[1].keys[0].models['gemini-2.5-pro'].reason).toContain('429')
  })

  test('behind auth when auth is on', async () => {
    const srv = await start({ auth_mode: 'strict', api_keys: ['agproxy-admin-key-01'], providers: [provider('up', o, [at(O, 0)])] })
    expect((await fetch(`${srv.url}/agproxy/keys`)).status).toBe(401)
    expect((await fetch(`${srv.url}/agproxy/keys`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    expect((await fetch(`${srv.url}/agproxy/keys`, { headers: { authorization: 'Bearer agproxy-admin-key-01' } })).status).toBe(200)
  })

  test('with auth off: loopback peers only', async () => {
    const config = buildConfig({ auth_mode: 'off' })
    const req = new Request('http://agproxy.local:8045/agproxy/keys')
    const from = (address: string) => ({ requestIP: () => ({ address, family: 'IPv4', port: 5000 }) }) as any
    expect(statusGate(KEYS_PATH, req, from('127.0.0.1'), config, 'openai')).toBeUndefined()
    expect(statusGate(KEYS_PATH, req, from('::1'), config, 'openai')).toBeUndefined()
    expect(statusGate(KEYS_PATH, req, from('::ffff:127.0.0.1'), config, 'openai')).toBeUndefined()
    const lan = statusGate(KEYS_PATH, req, from('192.168.1.20'), config, 'openai')
    expect(lan?.status).toBe(403)
    expect((await lan!.json()).error.message).toContain('only on this machine while auth is off')
    // other paths are not gated; with auth on the front door decides
    expect(statusGate('/v1/models', new Request('http://x/v1/models'), from('192.168.1.20'), config, 'openai')).toBeUndefined()
    expect(statusGate(KEYS_PATH, req, from('192.168.1.20'), buildConfig({ auth_mode: 'strict', api_keys: ['k'] }), 'openai')).toBeUndefined()

    // and for real, when this machine has a non-loopback address to connect from
    const lanIp = Object.values(networkInterfaces())
      .flat()
      .find(i => i && i.family === 'IPv4' && !i.internal)?.address
    if (!lanIp) return
    const srv = await start({ host: '0.0.0.0', auth_mode: 'off', providers: [provider('up', o, [at(O, 0)])] })
    expect((await fetch(`http://127.0.0.1:${srv.port}/agproxy/keys`)).status).toBe(200)
    const remote = await fetch(`http://${lanIp}:${srv.port}/agproxy/keys`).catch(() => undefined)
    if (remote) expect(remote.status).toBe(403)
  })
})

describe('agproxy keys', () => {
  test("prints the running instance's pools as a table (never a raw key)", async () => {
    const srv = await start({
      auth_mode: 'strict',
      api_keys: ['agproxy-admin-key-02'],
      providers: [provider('up', o, [{ key: at(O, 0), name: 'work' }, at(O, 1), at(O, 2)], { strategy: 'fill_first' })],
    })
    o.handler = rec =>
      rec.key === O[0]
        ? { kind: 'error', status: 429, retryDelaySeconds: 41, message: 'slow down' }
        : rec.key === O[1]
          ? { kind: 'error', status: 403, message: `key ${O[1]} is suspended` }
          : undefined
    await fetch(`${srv.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer agproxy-admin-key-02' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    })
    const file = configFile(`port: ${srv.port}\nhost: 127.0.0.1\nauth_mode: strict\napi_keys: [agproxy-admin-key-02]\n`)
    const r = await runCli(['keys', '--config', file], cleanEnv())
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^PROVIDER\s+KEY\s+STATUS\s+FOR\s+USES\s+FAILS\s+REASON$/)
    // a rate limit is the model's (OpenAI limits are per model): the key stays active, its gpt-4o line cools
    expect(lines[1]).toMatch(/^up \(openai, fill_first\)\s+work \(sk-…0001\)\s+active\s+1\s+1$/)
    expect(lines[2]).toMatch(/^\s+└ model gpt-4o\s+cooling\s+4[01] s\s+429 from upstream: slow down \(cooling 41 s, retry-after, model gpt-4o\)$/)
    expect(lines[3]).toMatch(/sk-…0002\s+disabled\s+until reload\s+1\s+1\s+403 from upstream: key sk-…0002 is suspended$/)
    expect(lines[4]).toMatch(/sk-…0003\s+active\s+1\s+0$/)
    for (const k of O) expect(r.stdout).not.toContain(k)
  })

  test('nothing listening → exit 1 with a hint', async () => {
    const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
    const port = s.port
    s.stop(true)
    const r = await runCli(['keys', '--config', configFile(`port: ${port}\n`)], cleanEnv())
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`no agproxy answered at http://127.0.0.1:${port}`)
  })

  test('the table, unit', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(keysTable({ now, providers: [] })).toBe('No providers are configured.')
    const t = keysTable({
      now,
      providers: [
        {
          name: 'google',
          type: 'gemini',
          strategy: 'round_robin',
          keys: [
            {
              name: 'AIz…0001',
              masked: 'AIz…0001',
              status: 'active',
              uses: 3,
              failures: 1,
              models: { 'gemini-2.5-pro': { until: now + 30_000, reason: '429 from upstream (cooling 30 s, RetryInfo, model gemini-2.5-pro)' } },
            },
          ],
        },
      ],
    })
    expect(t.split('\n')).toEqual([
      'PROVIDER                      KEY                       STATUS   FOR   USES  FAILS  REASON',
      'google (gemini, round_robin)  AIz…0001                  active         3     1',
      '                                └ model gemini-2.5-pro  cooling  30 s               429 from upstream (cooling 30 s, RetryInfo, model gemini-2.5-pro)',
    ])
  })
})
