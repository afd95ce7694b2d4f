/**
 * Providers as configured: the schema (names, types, keys), default base URLs and auth per type, extra
 * headers, base-URL repair (a pasted endpoint, query or trailing slash), zero-config from the standard
 * key variables, and loop detection (a provider whose base_url is agproxy itself).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI } from '@google/genai'
import { buildConfig, ConfigError } from '../src/config/load'
import { buildProviders, DEFAULT_BASE, providersFromEnv, repairBaseUrl, ZERO_CONFIG_MODELS, type WireType } from '../src/providers/registry'
import { createDispatcher } from '../src/dispatch'
import { HOP_HEADER, INSTANCE_ID } from '../src/providers/upstream-call'
import { createLogger, silentLogger } from '../src/log'
import { startFake, type Fake } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { expectDialectError, json } from './support/front-door'

/** the provider types with a fake of their own wire here */
type ProviderType = Exclude<WireType, 'bedrock'>

const fakes = {} as Record<ProviderType, Fake>
beforeAll(async () => {
  for (const t of ['openai', 'anthropic', 'gemini'] as const) fakes[t] = await startFake(t)
})
afterAll(async () => {
  await Promise.all(Object.values(fakes).map(f => f.stop()))
})
const running: TestServer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(s => s.stop(0)))
  Object.values(fakes).forEach(f => f.reset())
})
const start = async (settings: Record<string, unknown>, env: Record<string, string> = {}) => {
  const s = await startAgproxy(settings, env)
  running.push(s)
  return s
}
/** the fake's origin, without the /v1 the openai fake's url carries */
const origin = (f: Fake) => `http://127.0.0.1:${f.port}`

const KEYS = { openai: 'sk-proj-test0000openai0000key0001', anthropic: 'sk-ant-api03-test0000anthropic0001', gemini: 'AIzaTest0000gemini0000key000000001' }

// ───────────── schema ─────────────

describe('providers: config schema', () => {
  const provider = (p: Record<string, unknown>) => () => buildConfig({ providers: [{ name: 'p', type: 'openai', ...p }] })

  test('a full provider entry is accepted', () => {
    const c = buildConfig({
      providers: [
        {
          name: 'my-openai_1',
          type: 'openai',
          base_url: 'https://api.example.com/v1',
          api_keys: ['sk-a', { key: 'sk-b', weight: 2, name: 'backup' }],
          models: ['gpt-4o'],
          headers: { 'x-org': 'acme' },
          strategy: 'fill_first',
        },
        { name: 'claude', type: 'anthropic', api_key: 'sk-ant-x' },
        { name: 'google', type: 'gemini' },
      ],
    })
    expect(c.providers.map(p => [p.name, p.type])).toEqual([
      ['my-openai_1', 'openai'],
      ['claude', 'anthropic'],
      ['google', 'gemini'],
    ])
  })

  test.each([
    ['name with upper case', { name: 'OpenAI' }, /providers.*name/],
    ['name with a space', { name: 'my provider' }, /providers.*name/],
    ['name with a slash (would break provider/model)', { name: 'a/b' }, /providers.*name/],
    ['unknown type', { type: 'azure' }, /providers.*type/],
    ['base_url without scheme', { base_url: 'api.openai.com/v1' }, /providers.*base_url/],
    ['unknown field', { apikey: 'sk-x' }, /providers/],
    ['empty key in api_keys', { api_keys: [''] }, /providers.*api_keys/],
  ])('rejected: %s', (_, p, message) => {
    expect(provider(p)).toThrow(ConfigError)
    expect(provider(p)).toThrow(message)
  })

  test('provider names must be unique', () => {
    expect(() =>
      buildConfig(
        {
          providers: [
            { name: 'p', type: 'openai' },
            { name: 'p', type: 'anthropic' },
          ],
        },
        {},
        {},
        'agproxy.yaml',
      ),
    ).toThrow('agproxy.yaml: providers[1].name: "p" is used twice; provider names must be unique')
  })
})

// ───────────── the provider table ─────────────

describe('providers: defaults per type, keys, headers', () => {
  test('base_url defaults per type', () => {
    const table = buildProviders(
      [
        { name: 'g', type: 'gemini' },
        { name: 'o', type: 'openai' },
        { name: 'a', type: 'anthropic' },
      ],
      silentLogger,
    )
    expect([...table.values()].map(p => [p.name, p.baseUrl])).toEqual([
      ['g', 'https://generativelanguage.googleapis.com'],
      ['o', 'https://api.openai.com/v1'],
      ['a', 'https://api.anthropic.com'],
    ])
  })

  test('api_keys (strings or {key, weight, name}) and api_key all land in the pool; no key → one keyless slot', () => {
    const table = buildProviders(
      [
        {
          name: 'many',
          type: 'openai',
          api_keys: ['sk-one-000000000000000000', { key: 'sk-two-000000000000000000', name: 'backup' }],
          api_key: 'sk-three-0000000000000000',
        },
        { name: 'one', type: 'openai', api_key: 'sk-only-000000000000000000' },
        { name: 'local', type: 'openai', base_url: 'http://127.0.0.1:11434/v1' },
      ],
      silentLogger,
    )
    expect(table.get('many')!.pool.size).toBe(3)
    expect(
      table
        .get('many')!
        .pool.states()
        .map(s => s.name),
    ).toEqual(['sk-…0000', 'backup', 'sk-…0000#3'])
    expect(table.get('one')!.pool.size).toBe(1)
    expect(table.get('local')!.pool.size).toBe(1)
    expect(JSON.stringify(table.get('many')!.pool)).not.toContain('sk-one-000000000000000000')
  })

  // what each type sends upstream, seen by a fake of that type
  const CASES: Array<[ProviderType, (srv: TestServer, headers: Record<string, string>) => Promise<unknown>, string, (rec: any) => void]> = [
    [
      'openai',
      srv =>
        new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'client', maxRetries: 0 }).chat.completions.create({
          model: 'm',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      '/v1/chat/completions',
      rec => expect(rec.headers.authorization).toBe(`Bearer ${KEYS.openai}`),
    ],
    [
      'anthropic',
      (srv, h) =>
        new Anthropic({ baseURL: srv.url, apiKey: 'client', maxRetries: 0, defaultHeaders: h }).messages.create({
          model: 'm',
          max_tokens: 16,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      '/v1/messages',
      rec => {
        expect(rec.headers['x-api-key']).toBe(KEYS.anthropic)
        // pass-through: the version the SDK wrote its body for (translated requests send 2023-06-01, below)
        expect(rec.headers['anthropic-version']).toMatch(/^\d{4}-\d\d-\d\d$/)
        expect(rec.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14')
      },
    ],
    [
      'gemini',
      srv => new GoogleGenAI({ apiKey: 'client', httpOptions: { baseUrl: srv.url } }).models.generateContent({ model: 'm', contents: 'hi' }),
      '/v1beta/models/m:generateContent',
      rec => {
        expect(rec.headers['x-goog-api-key']).toBe(KEYS.gemini)
        expect(rec.query.key).toBeUndefined()
      },
    ],
  ]

  test.each(CASES)('%s: path, auth headers, extra headers, client key not forwarded', async (type, call, path, auth) => {
    const srv = await start({
      providers: [{ name: `up-${type}`, type, base_url: fakes[type].url, api_key: KEYS[type], headers: { 'x-org': 'acme', 'x-extra-tag': 'agproxy-test' } }],
    })
    await call(srv, { 'anthropic-beta': 'interleaved-thinking-2025-05-14' })
    const rec = fakes[type].last()!
    expect(rec.path).toBe(path)
    expect(rec.key).toBe(KEYS[type])
    expect(rec.headers['x-org']).toBe('acme')
    expect(rec.headers['x-extra-tag']).toBe('agproxy-test')
    auth(rec)
    // the client's own credential stays at agproxy
    expect(JSON.stringify(rec.headers)).not.toContain('client')
  })

  test('several keys are used in turn (round robin)', async () => {
    const keys = ['sk-rr-key-one-0000000000', 'sk-rr-key-two-0000000000', 'sk-rr-key-three-00000000']
    const srv = await start({ providers: [{ name: 'o', type: 'openai', base_url: fakes.openai.url, api_keys: keys }] })
    // distinct conversations (the same one would stick to one key, for the upstream's prompt cache)
    for (let i = 0; i < 6; i++) await fetch(`${srv.url}/v1/chat/completions`, json({ model: 'm', messages: [{ role: 'user', content: `conversation ${i}` }] }))
    expect(fakes.openai.requests.map(r => r.key)).toEqual([...keys, ...keys])
  })

  test('anthropic, translated from another dialect: anthropic-version 2023-06-01; anthropic-beta only when the client sent one', async () => {
    const srv = await start({ providers: [{ name: 'a', type: 'anthropic', base_url: fakes.anthropic.url, api_key: KEYS.anthropic }] })
    const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }] }
    expect((await fetch(`${srv.url}/v1/chat/completions`, json(body))).status).toBe(200)
    expect(fakes.anthropic.last()!.headers).toMatchObject({ 'x-api-key': KEYS.anthropic, 'anthropic-version': '2023-06-01' })
    expect(fakes.anthropic.last()!.headers['anthropic-beta']).toBeUndefined()
    await fetch(`${srv.url}/v1/chat/completions`, json(body, { 'anthropic-beta': 'context-1m-2025-08-07' }))
    expect(fakes.anthropic.last()!.headers['anthropic-beta']).toBe('context-1m-2025-08-07')
  })
})

// ───────────── base URL repair ─────────────

describe('base_url repair', () => {
  test.each([
    // openai: the base keeps its version path
    ['openai', 'https://api.openai.com/v1', 'https://api.openai.com/v1', false],
    ['openai', 'https://api.openai.com/v1/', 'https://api.openai.com/v1', true],
    ['openai', 'https://api.openai.com/v1//', 'https://api.openai.com/v1', true],
    ['openai', 'https://api.openai.com/v1/chat/completions', 'https://api.openai.com/v1', true],
    ['openai', 'https://api.openai.com/v1/chat/completions/', 'https://api.openai.com/v1', true],
    ['openai', 'https://api.openai.com/v1/responses', 'https://api.openai.com/v1', true],
    ['openai', 'https://api.openai.com/v1/completions', 'https://api.openai.com/v1', true],
    ['openai', 'https://api.openai.com/v1/embeddings', 'https://api.openai.com/v1', true],
    ['openai', 'https://api.openai.com/v1/models', 'https://api.openai.com/v1', true],
    ['openai', '  https://api.openai.com/v1  ', 'https://api.openai.com/v1', false], // surrounding spaces: trimmed, not worth a warning
    ['openai', 'https://openrouter.ai/api/v1/chat/completions', 'https://openrouter.ai/api/v1', true],
    ['openai', 'https://generativelanguage.googleapis.com/v1beta/openai/chat/completions', 'https://generativelanguage.googleapis.com/v1beta/openai', true],
    ['openai', 'https://api.deepseek.com', 'https://api.deepseek.com', false],
    ['openai', 'http://127.0.0.1:11434/v1', 'http://127.0.0.1:11434/v1', false],
    ['openai', 'https://example.com/models/v1', 'https://example.com/models/v1', false],
    // anthropic: the host root (agproxy appends /v1/messages)
    ['anthropic', 'https://api.anthropic.com', 'https://api.anthropic.com', false],
    ['anthropic', 'https://api.anthropic.com/', 'https://api.anthropic.com', true],
    ['anthropic', 'https://api.anthropic.com/v1', 'https://api.anthropic.com', true],
    ['anthropic', 'https://api.anthropic.com/v1/', 'https://api.anthropic.com', true],
    ['anthropic', 'https://api.anthropic.com/v1/messages', 'https://api.anthropic.com', true],
    ['anthropic', 'https://api.anthropic.com/v1/messages/count_tokens', 'https://api.anthropic.com', true],
    ['anthropic', 'https://api.anthropic.com/v1/models', 'https://api.anthropic.com', true],
    ['anthropic', 'https://api.deepseek.com/anthropic', 'https://api.deepseek.com/anthropic', false],
    ['anthropic', 'https://openrouter.ai/api/v1/messages', 'https://openrouter.ai/api', true],
    // gemini: the host root (agproxy appends /v1beta/models/{m}:…)
    ['gemini', 'https://generativelanguage.googleapis.com', 'https://generativelanguage.googleapis.com', false],
    ['gemini', 'https://generativelanguage.googleapis.com/', 'https://generativelanguage.googleapis.com', true],
    ['gemini', 'https://generativelanguage.googleapis.com/v1beta', 'https://generativelanguage.googleapis.com', true],
    ['gemini', 'https://generativelanguage.googleapis.com/v1beta/', 'https://generativelanguage.googleapis.com', true],
    ['gemini', 'https://generativelanguage.googleapis.com/v1', 'https://generativelanguage.googleapis.com', true],
    ['gemini', 'https://generativelanguage.googleapis.com/v1alpha', 'https://generativelanguage.googleapis.com', true],
    ['gemini', 'https://generativelanguage.googleapis.com/v1beta/models', 'https://generativelanguage.googleapis.com', true],
    ['gemini', 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro', 'https://generativelanguage.googleapis.com', true],
    ['gemini', 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent', 'https://generativelanguage.googleapis.com', true],
    [
      'gemini',
      'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
      'https://generativelanguage.googleapis.com',
      true,
    ],
    [
      'gemini',
      'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent?key=AIzaSyPASTEDKEY000000000000000',
      'https://generativelanguage.googleapis.com',
      true,
    ],
    ['gemini', 'https://gateway.ai.cloudflare.com/v1/acct/gw/google-ai-studio/v1beta', 'https://gateway.ai.cloudflare.com/v1/acct/gw/google-ai-studio', true],
  ] as const)('%s %s → %s', (type, raw, url, changed) => {
    expect(repairBaseUrl(type, raw)).toEqual({ url, changed })
  })

  test('the default base URLs need no repair', () => {
    for (const [type, url] of Object.entries(DEFAULT_BASE)) expect(repairBaseUrl(type as ProviderType, url)).toEqual({ url, changed: false })
  })

  test('one warning line per repaired provider, none for a clean one; a pasted ?key= never reaches the log', () => {
    const lines: string[] = []
    buildProviders(
      [
        {
          name: 'pasted',
          type: 'gemini',
          base_url: 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent?key=AIzaSyPASTEDKEY000000000000000',
        },
        { name: 'clean', type: 'openai', base_url: 'https://api.openai.com/v1' },
        { name: 'slash', type: 'anthropic', base_url: 'https://api.anthropic.com/' },
      ],
      createLogger('debug', l => lines.push(l)),
    )
    expect(lines).toHaveLength(2)
    expect(lines.every(l => !l.includes('\n') && / WARN /.test(l))).toBe(true)
    expect(lines[0]).toContain(
      'provider pasted: base_url "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent?…" reduced to ' +
        '"https://generativelanguage.googleapis.com"',
    )
    expect(lines[1]).toContain('provider slash: base_url "https://api.anthropic.com/" reduced to "https://api.anthropic.com"')
    expect(lines.join('\n')).not.toContain('PASTEDKEY')
  })

  // end to end: a pasted endpoint still reaches the fake's real endpoint, and the start-up log says so once
  test.each([
    ['openai', (f: Fake) => `${f.url}/chat/completions`, '/v1/chat/completions'],
    ['anthropic', (f: Fake) => `${origin(f)}/v1/messages`, '/v1/messages'],
    ['gemini', (f: Fake) => `${origin(f)}/v1beta/models/gemini-2.5-pro:generateContent`, '/v1beta/models/some-model:generateContent'],
  ] as const)('%s: a pasted endpoint in base_url is repaired end to end', async (type, pasted, path) => {
    const srv = await start({ providers: [{ name: 'pasted', type, base_url: pasted(fakes[type]), api_key: KEYS[type] }] })
    const warnings = srv.logs.filter(l => l.includes('base_url'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(`reduced to "${type === 'openai' ? fakes[type].url : origin(fakes[type])}"`)
    const res = await fetch(`${srv.url}/v1/chat/completions`, json({ model: 'some-model', messages: [{ role: 'user', content: 'ping' }] }))
    expect(res.status).toBe(200)
    expect((await res.json()).choices[0].message.content).toBe('echo: ping')
    expect(fakes[type].requests.map(r => r.path)).toEqual([path])
  })
})

// ───────────── zero-config ─────────────

describe('zero-config: providers from the standard key variables', () => {
  test.each([
    ['GEMINI_API_KEY', { GEMINI_API_KEY: 'g-key' }, [['gemini', 'gemini', ['g-key']]]],
    ['GOOGLE_API_KEY', { GOOGLE_API_KEY: 'g-key' }, [['gemini', 'gemini', ['g-key']]]],
    ['GEMINI_API_KEY wins over GOOGLE_API_KEY', { GEMINI_API_KEY: 'g1', GOOGLE_API_KEY: 'g2' }, [['gemini', 'gemini', ['g1']]]],
    ['OPENAI_API_KEY', { OPENAI_API_KEY: 'o-key' }, [['openai', 'openai', ['o-key']]]],
    ['ANTHROPIC_API_KEY', { ANTHROPIC_API_KEY: 'a-key' }, [['anthropic', 'anthropic', ['a-key']]]],
    ['comma-separated keys', { OPENAI_API_KEY: 'o1, o2,,o3 ' }, [['openai', 'openai', ['o1', 'o2', 'o3']]]],
    [
      'all three',
      { ANTHROPIC_API_KEY: 'a', OPENAI_API_KEY: 'o', GEMINI_API_KEY: 'g' },
      [
        ['gemini', 'gemini', ['g']],
        ['openai', 'openai', ['o']],
        ['anthropic', 'anthropic', ['a']],
      ],
    ],
    ['empty variables', { OPENAI_API_KEY: '', ANTHROPIC_API_KEY: ' ' }, []],
    [
      'base URL variables alone',
      { OPENAI_BASE_URL: 'http://127.0.0.1:8045/v1', ANTHROPIC_BASE_URL: 'http://127.0.0.1:8045', GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:8045' },
      [],
    ],
  ] as const)('%s', (_, env, expected) => {
    const { providers } = providersFromEnv(env)
    expect(providers.map(p => [p.name, p.type, p.api_keys])).toEqual(expected as any)
    // never a base_url: the *_BASE_URL variables point at agproxy itself
    expect(providers.every(p => p.base_url === undefined)).toBe(true)
  })

  const ENV = {
    GEMINI_API_KEY: KEYS.gemini,
    OPENAI_API_KEY: KEYS.openai,
    ANTHROPIC_API_KEY: KEYS.anthropic,
    OPENAI_BASE_URL: 'http://127.0.0.1:8045/v1',
    ANTHROPIC_BASE_URL: 'http://127.0.0.1:8045',
    GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:8045',
    GEMINI_BASE_URL: 'http://127.0.0.1:8045',
  }

  test('createDispatcher: the provider table and the routing decisions (no network)', () => {
    const lines: string[] = []
    const d = createDispatcher(
      buildConfig({}),
      createLogger('info', l => lines.push(l)),
      ENV,
    )
    expect([...d.providers.values()].map(p => [p.name, p.type, p.baseUrl, p.pool.size])).toEqual([
      ['gemini', 'gemini', 'https://generativelanguage.googleapis.com', 1],
      ['openai', 'openai', 'https://api.openai.com/v1', 1],
      ['anthropic', 'anthropic', 'https://api.anthropic.com', 1],
    ])
    expect(lines.join('\n')).toContain('no providers configured; using gemini, openai, anthropic from the environment')
    expect(lines.join('\n')).not.toContain(KEYS.openai)
    const route = (m: string) => {
      const r = d.router.resolve(m)
      return r.ok ? `${r.route.target.provider}/${r.route.target.model}` : 'none'
    }
    expect(route('gemini-2.5-pro')).toBe('gemini/gemini-2.5-pro')
    expect(route('gemini-3-pro-preview')).toBe('gemini/gemini-3-pro-preview')
    expect(route('gpt-4o-mini')).toBe('openai/gpt-4o-mini')
    expect(route('o3-mini')).toBe('openai/o3-mini')
    expect(route('text-embedding-3-small')).toBe('openai/text-embedding-3-small')
    expect(route('claude-sonnet-4-5')).toBe('anthropic/claude-sonnet-4-5')
    expect(route('claude-opus-4-20250514')).toBe('anthropic/claude-opus-4-20250514')
    expect(route('anthropic/claude-3-haiku')).toBe('anthropic/claude-3-haiku')
    expect(route('llama-3')).toBe('none') // three providers, no rule names it
  })

  test('one key variable: that provider takes every model', () => {
    const d = createDispatcher(buildConfig({}), silentLogger, { ANTHROPIC_API_KEY: KEYS.anthropic })
    expect([...d.providers.keys()]).toEqual(['anthropic'])
    const r = d.router.resolve('some-other-model')
    expect(r.ok && r.route.target).toEqual({ provider: 'anthropic', model: 'some-other-model' })
  })

  test('configured providers win: the key variables are then ignored', () => {
    const d = createDispatcher(buildConfig({ providers: [{ name: 'mine', type: 'openai', base_url: 'http://127.0.0.1:9/v1' }] }), silentLogger, ENV)
    expect([...d.providers.keys()]).toEqual(['mine'])
  })

  test("GET /v1/models lists the zero-config providers' models, owned by each provider", async () => {
    const srv = await start({}, ENV)
    const list = await new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 }).models.list()
    const owner = Object.fromEntries(list.data.map(m => [m.id, m.owned_by]))
    for (const [type, models] of Object.entries(ZERO_CONFIG_MODELS))
      for (const m of models) {
        expect(owner[m]).toBe(type)
        expect(owner[`${type}/${m}`]).toBe(type)
      }
  })

  test('without providers or key variables, a model call says how to add one (503)', async () => {
    const srv = await start({}, { OPENAI_BASE_URL: 'http://127.0.0.1:8045/v1' })
    const res = await fetch(`${srv.url}/v1/chat/completions`, json({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }))
    expect(expectDialectError('openai', 503, await res.json(), res.headers)).toMatch(/add one under `providers:`.*OPENAI_API_KEY/)
    expect((await (await fetch(`${srv.url}/v1/models`)).json()).data).toEqual([])
  })

  // the default base URLs are the real APIs: for one end-to-end pass, point them at the fakes for a moment
  test("end to end: each key variable's provider is called with its default auth (defaults redirected to fakes)", async () => {
    const saved = { ...DEFAULT_BASE }
    DEFAULT_BASE.openai = fakes.openai.url
    DEFAULT_BASE.anthropic = origin(fakes.anthropic)
    DEFAULT_BASE.gemini = origin(fakes.gemini)
    let srv: TestServer
    try {
      srv = await start({}, ENV)
    } finally {
      Object.assign(DEFAULT_BASE, saved)
    }
    for (const [model, type] of [
      ['gpt-4o', 'openai'],
      ['claude-sonnet-4-5', 'anthropic'],
      ['gemini-2.5-flash', 'gemini'],
    ] as const) {
      const res = await fetch(`${srv.url}/v1/chat/completions`, json({ model, messages: [{ role: 'user', content: 'hi' }] }))
      expect(res.status).toBe(200)
      expect(res.headers.get('x-agproxy-provider')).toBe(type)
      expect(res.headers.get('x-agproxy-model')).toBe(model)
      expect(fakes[type].last()!.key).toBe(KEYS[type])
    }
    // nothing went to the base URL variables' address
    expect(srv.logs.join('\n')).not.toContain('8045')
  })
})

// ───────────── loops ─────────────

describe('a provider pointing back at agproxy → 508, not an endless loop', () => {
  const freePort = () => {
    const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
    const p = s.port!
    s.stop(true)
    return p
  }

  test("a request carrying this instance in x-agproxy-hop is refused with 508, in the caller's dialect", async () => {
    const srv = await start({ providers: [{ name: 'o', type: 'openai', base_url: fakes.openai.url, api_key: KEYS.openai }] })
    const cases = [
      ['openai', '/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'hi' }] }],
      ['anthropic', '/v1/messages', { model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }],
      ['gemini', '/v1beta/models/m:generateContent', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }],
    ] as const
    for (const [dialect, path, body] of cases) {
      const res = await fetch(`${srv.url}${path}`, json(body, { [HOP_HEADER]: `someone-else,${INSTANCE_ID}` }))
      expect(res.status).toBe(508)
      const body2 = await res.json()
      const msg = dialect === 'anthropic' ? body2.error.message : body2.error.message
      expect(msg).toContain('Request loop')
    }
    // too many hops, whoever they were
    const many = Array.from({ length: 9 }, (_, i) => `hop${i}`).join(',')
    const res = await fetch(`${srv.url}/v1/chat/completions`, json(cases[0][2], { [HOP_HEADER]: many }))
    expect(res.status).toBe(508)
    expect(fakes.openai.requests).toHaveLength(0)
  })

  const selfLoop = async (type: ProviderType) => {
    const port = freePort()
    const self = type === 'openai' ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`
    const srv = await start({ port, providers: [{ name: 'self', type, base_url: self, api_key: KEYS[type] }] })
    const t0 = Date.now()
    const res = await fetch(`${srv.url}/v1/chat/completions`, json({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }))
    return { srv, res, body: await res.json(), ms: Date.now() - t0 }
  }

  test.each(['openai', 'anthropic', 'gemini'] as const)(
    '%s provider whose base_url is agproxy itself: bounded, and the client is told why',
    async type => {
      const { srv, body, ms } = await selfLoop(type)
      // one hop, which the inner request refuses at once
      expect(ms).toBeLessThan(12_000)
      expect(body.error.message).toContain('Request loop')
      expect(body.error.message).not.toContain(KEYS[type])
      // the inner requests were refused: at most retry.max_attempts of them
      const refused = srv.logs.filter(l => /attempt \d.* 508 Request loop/.test(l))
      expect(refused.length).toBeGreaterThanOrEqual(1)
      expect(refused.length).toBeLessThanOrEqual(3)
    },
    15_000,
  )

  test.each(['openai', 'anthropic', 'gemini'] as const)('%s: the client of a self-looping provider gets 508 at once, not retried', async type => {
    const { srv, res, ms } = await selfLoop(type)
    expect(res.status).toBe(508)
    expect(ms).toBeLessThan(2000)
    expect(srv.logs.filter(l => /attempt \d.* 508 Request loop/.test(l))).toHaveLength(1)
  })
})
