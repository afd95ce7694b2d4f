/**
 * Model routing: `models:` aliases and globs (most specific wins, deterministically), `provider/model`,
 * the provider that advertises the model, the only provider, else a 404 model_not_found in the caller's
 * dialect naming what is available. Unit tests of createModelRouter, then end to end through fakes:
 * x-agproxy-provider / x-agproxy-model on the answer, and the model the upstream actually received.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { ApiError, GoogleGenAI } from '@google/genai'
import { createModelRouter } from '../src/routing/models'
import type { Config, ProviderConfig } from '../src/config/schema'
import { startFake, type Fake, type ProviderType } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { expectDialectError, json } from './support/front-door'

// ───────────── unit: createModelRouter ─────────────

const PROVIDERS: ProviderConfig[] = [
  { name: 'oa', type: 'openai', models: ['gpt-4o', 'shared-model'] },
  { name: 'an', type: 'anthropic', models: ['claude-sonnet-4-5'] },
  { name: 'gm', type: 'gemini', models: ['gemini-2.5-pro', 'shared-model', 'Mixed-Case-Model'] },
]

const MODELS: Config['models'] = {
  fast: 'gm/gemini-2.5-flash',
  smart: { target: 'an/claude-opus-4-1', fallbacks: ['oa/gpt-4.1', 'nowhere/x', 'gm/gemini-2.5-pro'] },
  'claude-*': 'an/*',
  'claude-3-*': 'oa/legacy-*', // more specific than claude-*: wins whatever the order
  'gpt-4*': 'oa/*',
  'gpt-*': 'gm/gemini-2.5-flash',
  '*-preview': { target: 'gm/*', fallbacks: ['oa/*'] },
  'gemini-?.?-flash': 'gm/gemini-2.5-flash-lite',
  'bare-alias': 'gpt-4o', // a bare target: the provider that advertises it
  'star-alias': 'oa/*-2024', // `*` in an exact alias's target: the asked name
  'oa/gpt-4o': 'an/claude-sonnet-4-5', // an exact alias beats provider/model
  broken: 'nowhere-model', // names no provider, no provider advertises it, and there are several
  CaseAlias: 'oa/gpt-4o-mini',
}

const router = createModelRouter({ models: MODELS }, PROVIDERS)
const show = (model: string, r = router) => {
  const x = r.resolve(model)
  return x.ok
    ? { to: `${x.route.target.provider}/${x.route.target.model}`, via: x.route.via, fallbacks: x.route.fallbacks.map(f => `${f.provider}/${f.model}`) }
    : { error: x.message }
}

describe('createModelRouter: resolution', () => {
  test.each([
    // exact aliases (case-insensitive), with fallbacks
    ['fast', 'gm/gemini-2.5-flash', 'fast'],
    ['FAST', 'gm/gemini-2.5-flash', 'fast'],
    ['caseALIAS', 'oa/gpt-4o-mini', 'CaseAlias'],
    ['smart', 'an/claude-opus-4-1', 'smart'],
    ['bare-alias', 'oa/gpt-4o', 'bare-alias'],
    ['star-alias', 'oa/star-alias-2024', 'star-alias'],
    ['oa/gpt-4o', 'an/claude-sonnet-4-5', 'oa/gpt-4o'],
    // globs: the most specific wins
    ['claude-sonnet-4-5', 'an/claude-sonnet-4-5', 'claude-*'],
    ['claude-opus-4-1-20250805', 'an/claude-opus-4-1-20250805', 'claude-*'],
    ['claude-3-haiku', 'oa/legacy-claude-3-haiku', 'claude-3-*'],
    ['gpt-4o-mini', 'oa/gpt-4o-mini', 'gpt-4*'],
    ['gpt-4', 'oa/gpt-4', 'gpt-4*'],
    ['gpt-5', 'gm/gemini-2.5-flash', 'gpt-*'],
    ['GPT-5', 'gm/gemini-2.5-flash', 'gpt-*'],
    ['gemini-3-pro-preview', 'gm/gemini-3-pro-preview', '*-preview'],
    ['gemini-2.0-flash', 'gm/gemini-2.5-flash-lite', 'gemini-?.?-flash'],
    // provider/model: straight to that provider, model after the slash unchanged (globs do not see it)
    ['an/claude-x', 'an/claude-x', 'provider'],
    ['gm/gpt-4-anything', 'gm/gpt-4-anything', 'provider'],
    ['oa/org/model-with-slash', 'oa/org/model-with-slash', 'provider'],
    // the provider that advertises it (first in config order when several do)
    ['gemini-2.5-pro', 'gm/gemini-2.5-pro', 'direct'],
    ['shared-model', 'oa/shared-model', 'direct'],
    ['mixed-case-model', 'gm/mixed-case-model', 'direct'],
  ])('%s → %s (via %s)', (model, to, via) => {
    expect(show(model)).toMatchObject({ to, via })
  })

  test('fallbacks: resolved like targets, `*` replaced, unknown providers dropped', () => {
    expect(show('smart').fallbacks).toEqual(['oa/gpt-4.1', 'gm/gemini-2.5-pro'])
    expect(show('gemini-3-pro-preview').fallbacks).toEqual(['oa/gemini-3-pro-preview'])
    expect(show('fast').fallbacks).toEqual([])
  })

  test('no rule and several providers → an error that lists the available names', () => {
    const r = show('llama-3.3-70b') as { error: string }
    expect(r.error).toStartWith('The model `llama-3.3-70b` does not exist or no provider serves it. Available: ')
    for (const name of ['fast', 'smart', 'CaseAlias', 'claude-*', 'gpt-4*', 'oa/gpt-4o', 'an/claude-sonnet-4-5', 'gm/gemini-2.5-pro'])
      expect(r.error).toContain(name)
    // a prefix that is not a provider's name is just part of a model name
    expect(show('nowhere/model')).toHaveProperty('error')
  })

  test('an alias whose target names no provider says so', () => {
    expect(show('broken')).toEqual({ error: 'models: "broken" maps to "nowhere-model", which names no provider; write it as provider/model' })
  })

  test('the most specific glob wins whatever the file order; equal specificity → the first in the file', () => {
    const order1 = createModelRouter({ models: { 'claude-*': 'an/*', 'claude-3-*': 'oa/*' } }, PROVIDERS)
    const order2 = createModelRouter({ models: { 'claude-3-*': 'oa/*', 'claude-*': 'an/*' } }, PROVIDERS)
    expect(show('claude-3-haiku', order1).to).toBe('oa/claude-3-haiku')
    expect(show('claude-3-haiku', order2).to).toBe('oa/claude-3-haiku')
    // more literal characters beat fewer; with as many, fewer wildcards win
    const lit = createModelRouter({ models: { '*': 'gm/*', 'm*': 'oa/*', 'mo*': 'an/*', 'm?d*': 'gm/x', 'mod*': 'oa/y' } }, PROVIDERS)
    expect(show('model', lit).to).toBe('oa/y')
    expect(show('mobile', lit).to).toBe('an/mobile')
    expect(show('mint', lit).to).toBe('oa/mint')
    expect(show('anything', lit).to).toBe('gm/anything')
    // a tie: same literal characters, same wildcards → file order, every time
    const a = createModelRouter({ models: { 'x-*': 'oa/*', '*-y': 'an/*' } }, PROVIDERS)
    const b = createModelRouter({ models: { '*-y': 'an/*', 'x-*': 'oa/*' } }, PROVIDERS)
    for (let i = 0; i < 3; i++) {
      expect(show('x-y', a).to).toBe('oa/x-y')
      expect(show('x-y', b).to).toBe('an/x-y')
    }
  })

  test('glob patterns are literal apart from * and ? (dots, plus, brackets)', () => {
    const r = createModelRouter({ models: { 'gpt-4.1*': 'oa/*', 'a+b[1]': 'an/x' } }, PROVIDERS)
    expect(show('gpt-4.1-mini', r).to).toBe('oa/gpt-4.1-mini')
    expect(show('gpt-4x1', r)).toHaveProperty('error')
    expect(show('a+b[1]', r).to).toBe('an/x')
    expect(show('aab1', r)).toHaveProperty('error')
  })

  test('exactly one provider: every unknown name goes there unchanged (slashes included)', () => {
    const one = createModelRouter({ models: { fast: 'solo/small-model' } }, [{ name: 'solo', type: 'openai' }])
    expect(show('anything-at-all', one)).toMatchObject({ to: 'solo/anything-at-all', via: 'direct' })
    expect(show('meta-llama/llama-3.3-70b', one)).toMatchObject({ to: 'solo/meta-llama/llama-3.3-70b', via: 'direct' })
    expect(show('solo/x', one)).toMatchObject({ to: 'solo/x', via: 'provider' })
    expect(show('fast', one)).toMatchObject({ to: 'solo/small-model', via: 'fast' })
  })

  test('no providers at all → how to add one', () => {
    const none = createModelRouter({ models: {} }, [])
    expect((show('gpt-4o', none) as { error: string }).error).toMatch(
      /no provider is configured for model gpt-4o; add one under `providers:`.*GEMINI_API_KEY, OPENAI_API_KEY or ANTHROPIC_API_KEY/,
    )
  })

  test('list(): aliases (not globs, not broken ones) and advertised models, bare and as provider/model', () => {
    expect(router.list()).toEqual([
      { id: 'fast', provider: 'gm', upstream: 'gemini-2.5-flash' },
      { id: 'smart', provider: 'an', upstream: 'claude-opus-4-1' },
      { id: 'bare-alias', provider: 'oa', upstream: 'gpt-4o' },
      { id: 'star-alias', provider: 'oa', upstream: 'star-alias-2024' },
      { id: 'oa/gpt-4o', provider: 'an', upstream: 'claude-sonnet-4-5' },
      { id: 'CaseAlias', provider: 'oa', upstream: 'gpt-4o-mini' },
      { id: 'gpt-4o', provider: 'oa', upstream: 'gpt-4o' },
      { id: 'shared-model', provider: 'oa', upstream: 'shared-model' },
      { id: 'claude-sonnet-4-5', provider: 'an', upstream: 'claude-sonnet-4-5' },
      { id: 'gemini-2.5-pro', provider: 'gm', upstream: 'gemini-2.5-pro' },
      { id: 'Mixed-Case-Model', provider: 'gm', upstream: 'Mixed-Case-Model' },
      { id: 'oa/shared-model', provider: 'oa', upstream: 'shared-model' },
      { id: 'an/claude-sonnet-4-5', provider: 'an', upstream: 'claude-sonnet-4-5' },
      { id: 'gm/gemini-2.5-pro', provider: 'gm', upstream: 'gemini-2.5-pro' },
      { id: 'gm/shared-model', provider: 'gm', upstream: 'shared-model' },
      { id: 'gm/Mixed-Case-Model', provider: 'gm', upstream: 'Mixed-Case-Model' },
    ])
  })
})

// ───────────── end to end ─────────────

const fakes = {} as Record<ProviderType, Fake>
let srv: TestServer
let solo: TestServer
const KEY = { openai: 'sk-route-openai-000000000001', anthropic: 'sk-ant-route-anthropic-0001', gemini: 'AIzaRouteGemini000000000000000001' }

beforeAll(async () => {
  for (const t of ['openai', 'anthropic', 'gemini'] as const) fakes[t] = await startFake(t)
  const providers = [
    { name: 'oa', type: 'openai', base_url: fakes.openai.url, api_key: KEY.openai, models: ['gpt-4o', 'shared-model'] },
    { name: 'an', type: 'anthropic', base_url: `http://127.0.0.1:${fakes.anthropic.port}`, api_key: KEY.anthropic, models: ['claude-sonnet-4-5'] },
    { name: 'gm', type: 'gemini', base_url: `http://127.0.0.1:${fakes.gemini.port}`, api_key: KEY.gemini, models: ['gemini-2.5-pro', 'shared-model'] },
  ]
  srv = await startAgproxy({ providers, models: MODELS })
  solo = await startAgproxy({ providers: [providers[1]] })
})
afterAll(async () => {
  await srv.stop(0)
  await solo.stop(0)
  await Promise.all(Object.values(fakes).map(f => f.stop()))
})
beforeEach(() => Object.values(fakes).forEach(f => f.reset()))

const TYPE_OF: Record<string, ProviderType> = { oa: 'openai', an: 'anthropic', gm: 'gemini' }
/** the model an upstream received: in the body (openai, anthropic) or the URL path (gemini) */
const receivedModel = (type: ProviderType) => {
  const rec = fakes[type].last()!
  return type === 'gemini' ? decodeURIComponent(rec.path.match(/\/models\/(.+):\w+$/)![1]!) : rec.body.model
}

describe('end to end: the route shows in the answer and in what the upstream received', () => {
  test.each([
    ['fast', 'gm', 'gemini-2.5-flash'],
    ['smart', 'an', 'claude-opus-4-1'],
    ['claude-sonnet-4-5', 'an', 'claude-sonnet-4-5'],
    ['claude-3-haiku', 'oa', 'legacy-claude-3-haiku'],
    ['gpt-4o-mini', 'oa', 'gpt-4o-mini'],
    ['gpt-5', 'gm', 'gemini-2.5-flash'],
    ['gemini-3-pro-preview', 'gm', 'gemini-3-pro-preview'],
    ['an/claude-haiku-4-5', 'an', 'claude-haiku-4-5'],
    ['oa/gpt-4o', 'an', 'claude-sonnet-4-5'],
    ['gm/gemini-2.5-pro', 'gm', 'gemini-2.5-pro'],
    ['gemini-2.5-pro', 'gm', 'gemini-2.5-pro'],
    ['shared-model', 'oa', 'shared-model'],
  ])('OpenAI chat %s → %s/%s', async (model, provider, upstream) => {
    const res = await fetch(`${srv.url}/v1/chat/completions`, json({ model, messages: [{ role: 'user', content: 'route me' }] }))
    expect(res.status).toBe(200)
    expect(res.headers.get('x-agproxy-provider')).toBe(provider)
    expect(res.headers.get('x-agproxy-model')).toBe(upstream)
    const body = await res.json()
    expect(body.choices[0].message.content).toBe('echo: route me')
    const type = TYPE_OF[provider]!
    // translated answers carry the name the client asked for (pass-through answers are the upstream's bytes)
    if (type !== 'openai') expect(body.model).toBe(model)
    expect(receivedModel(type)).toBe(upstream)
    expect(fakes[type].last()!.key).toBe(KEY[type])
    // nobody else was called
    for (const t of Object.keys(fakes) as ProviderType[]) if (t !== type) expect(fakes[t].requests).toHaveLength(0)
  })

  test('the Anthropic SDK: alias → upstream model, answer under the asked name', async () => {
    const client = new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 })
    const { data, response } = await client.messages.create({ model: 'fast', max_tokens: 32, messages: [{ role: 'user', content: 'hello' }] }).withResponse()
    expect(response.headers.get('x-agproxy-provider')).toBe('gm')
    expect(response.headers.get('x-agproxy-model')).toBe('gemini-2.5-flash')
    expect(data.model).toBe('fast')
    expect(receivedModel('gemini')).toBe('gemini-2.5-flash')
  })

  test('the Gemini SDK: the model in the URL path is routed like any other', async () => {
    let headers: Headers | undefined
    const client = new GoogleGenAI({
      apiKey: 'x',
      httpOptions: {
        baseUrl: srv.url,
        apiVersion: 'v1beta',
        fetch: async (u: any, i: any) => {
          const r = await fetch(u, i)
          headers = r.headers
          return r
        },
      } as any,
    })
    const r = await client.models.generateContent({ model: 'claude-3-haiku', contents: 'hello' })
    expect(r.text).toBe('echo: hello')
    expect(receivedModel('openai')).toBe('legacy-claude-3-haiku')
    if (headers) expect(headers.get('x-agproxy-provider')).toBe('oa')
  })

  test('a provider/model name a header cannot carry (not ASCII, a control character) reaches the upstream and its answer the client; x-agproxy-model carries it percent-encoded', async () => {
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
    for (const upstream of ['模型-1', 'modèle', 'tab\tname']) {
      const { data, response } = await client.chat.completions.create({ model: `oa/${upstream}`, messages: [{ role: 'user', content: 'hi' }] }).withResponse()
      expect(response.status).toBe(200)
      expect(data.choices[0]!.message.content).toBe('echo: hi')
      expect(receivedModel('openai')).toBe(upstream)
      expect(response.headers.get('x-agproxy-provider')).toBe('oa')
      expect(decodeURIComponent(response.headers.get('x-agproxy-model')!)).toBe(upstream)
      // streamed too
      const stream = await client.chat.completions.create({ model: `oa/${upstream}`, stream: true, messages: [{ role: 'user', content: 'hi' }] })
      let text = ''
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
      expect(text).toBe('echo: hi')
    }
    // translated, to an upstream that takes the model in its URL path
    const res = await fetch(`${srv.url}/v1/chat/completions`, json({ model: 'gm/modèle-ü', messages: [{ role: 'user', content: 'hi' }] }))
    expect(res.status).toBe(200)
    expect((await res.json()).choices[0].message.content).toBe('echo: hi')
    expect(receivedModel('gemini')).toBe('modèle-ü')
    expect(res.headers.get('x-agproxy-model')).toBe(encodeURIComponent('modèle-ü'))
  })

  test('a model name with characters that mean something in a URL (?, #, %, space) reaches a Gemini upstream as that name, translated from either dialect', async () => {
    const anthropic = new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 })
    for (const upstream of ['a?b', 'a#b', 'a%zz', 'a%20b', 'a b', '100%']) {
      const res = await fetch(`${srv.url}/v1/chat/completions`, json({ model: `gm/${upstream}`, messages: [{ role: 'user', content: 'hi' }] }))
      expect(res.status).toBe(200)
      expect((await res.json()).choices[0].message.content).toBe('echo: hi')
      expect(fakes.gemini.last()!.path).toBe(`/v1beta/models/${encodeURIComponent(upstream)}:generateContent`)
      expect(receivedModel('gemini')).toBe(upstream)
      const stream = anthropic.messages.stream({ model: `gm/${upstream}`, max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] })
      expect(((await stream.finalMessage()).content[0] as { text: string }).text).toBe('echo: hi')
      expect(fakes.gemini.last()!.path).toBe(`/v1beta/models/${encodeURIComponent(upstream)}:streamGenerateContent`)
      expect(receivedModel('gemini')).toBe(upstream)
    }
  })

  test('a single provider takes any model, unchanged', async () => {
    const res = await fetch(`${solo.url}/v1/chat/completions`, json({ model: 'some-vendor/odd-model', messages: [{ role: 'user', content: 'x' }] }))
    expect(res.status).toBe(200)
    expect(res.headers.get('x-agproxy-provider')).toBe('an')
    expect(receivedModel('anthropic')).toBe('some-vendor/odd-model')
  })
})

describe("end to end: an unknown model → 404 model_not_found in the caller's dialect, listing names", () => {
  const AVAILABLE = /Available: .*fast.*claude-\*.*oa\/gpt-4o/

  test('OpenAI SDK: NotFoundError, code model_not_found, param model', async () => {
    const e = await new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 }).chat.completions
      .create({ model: 'llama-3.3-70b', messages: [{ role: 'user', content: 'x' }] })
      .catch(e => e)
    expect(e).toBeInstanceOf(OpenAI.NotFoundError)
    expect(e.status).toBe(404)
    expect(e.code).toBe('model_not_found')
    expect(e.param).toBe('model')
    expect(e.message).toContain('The model `llama-3.3-70b` does not exist')
    expect(e.message).toMatch(AVAILABLE)
  })

  test('Anthropic SDK: NotFoundError (not_found_error)', async () => {
    const e = await new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 }).messages
      .create({ model: 'llama-3.3-70b', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch(e => e)
    expect(e).toBeInstanceOf(Anthropic.NotFoundError)
    expect(e.error).toEqual({ type: 'error', error: { type: 'not_found_error', message: expect.stringMatching(AVAILABLE) } })
  })

  test('Gemini SDK: ApiError 404 NOT_FOUND', async () => {
    const e = await new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: srv.url } }).models
      .generateContent({ model: 'llama-3.3-70b', contents: 'x' })
      .catch(e => e)
    expect(e).toBeInstanceOf(ApiError)
    expect(e.status).toBe(404)
    const body = JSON.parse(e.message)
    expect(body.error).toMatchObject({ code: 404, status: 'NOT_FOUND', message: expect.stringMatching(AVAILABLE) })
  })

  test('an alias to nowhere → 404 saying which alias is broken', async () => {
    const res = await fetch(
      `${srv.url}/v1/messages`,
      json({ model: 'broken', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }, { 'anthropic-version': '2023-06-01' }),
    )
    expect(expectDialectError('anthropic', 404, await res.json(), res.headers)).toContain('models: "broken" maps to "nowhere-model"')
    for (const f of Object.values(fakes)) expect(f.requests).toHaveLength(0)
  })
})

describe('Google clients name provider/model in the URL path', () => {
  test('genai generateContent with model "oa/gpt-4o" reaches provider oa with model gpt-4o', async () => {
    const oaFake = await startFake('openai')
    const gmFake = await startFake('gemini')
    const srv = await startAgproxy({
      providers: [
        { name: 'oa', type: 'openai', base_url: oaFake.url },
        { name: 'gm', type: 'gemini', base_url: gmFake.url },
      ],
    })
    try {
      for (const apiVersion of ['v1beta', 'v1']) {
        const ai = new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: srv.url, apiVersion } })
        const res = await ai.models.generateContent({ model: 'oa/gpt-4o', contents: `hi via ${apiVersion}` })
        expect(res.text).toBe(`echo: hi via ${apiVersion}`)
        expect(oaFake.last()!.body.model).toBe('gpt-4o')
      }
      expect(gmFake.requests).toHaveLength(0)
    } finally {
      await srv.stop(0)
      await oaFake.stop()
      await gmFake.stop()
    }
  })
})
