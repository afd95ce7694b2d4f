/**
 * Model listings: GET /v1/models (OpenAI shape; Anthropic with anthropic-version; Google with a Google key),
 * GET /v1beta/models (Google shape), GET /v1/models/{id} and /v1beta/models/{model}. They list the `models:`
 * aliases and the providers' advertised models (bare and as provider/model), never the globs — checked with
 * each official SDK's own list / retrieve methods. No upstream is ever called for a listing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { ApiError, GoogleGenAI } from '@google/genai'
import { startAgproxy, type TestServer } from './support/agproxy'
import { expectDialectError } from './support/front-door'

let srv: TestServer
beforeAll(async () => {
  srv = await startAgproxy({
    providers: [
      // port 9 (discard): a listing must not call anyone
      { name: 'oa', type: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key: 'sk-list-000000000000000000', models: ['gpt-4o', 'gpt-4o-mini'] },
      { name: 'an', type: 'anthropic', base_url: 'http://127.0.0.1:9', api_key: 'sk-ant-list-0000000000000', models: ['claude-sonnet-4-5'] },
      { name: 'gm', type: 'gemini', base_url: 'http://127.0.0.1:9', api_key: 'AIzaList0000000000000000000000', models: ['gemini-2.5-pro', 'gemini-2.5-flash'] },
    ],
    models: {
      fast: 'gm/gemini-2.5-flash',
      coder: { target: 'an/claude-opus-4-1', fallbacks: ['oa/gpt-4o'] },
      'claude-*': 'an/*', // a glob is a rule, not a model: never listed
      'gpt-5*': 'oa/*',
    },
  })
})
afterAll(() => srv.stop(0))

/** every listed name, with the provider it routes to */
const ALL: Array<[id: string, provider: string]> = [
  ['fast', 'gm'],
  ['coder', 'an'],
  ['gpt-4o', 'oa'],
  ['gpt-4o-mini', 'oa'],
  ['claude-sonnet-4-5', 'an'],
  ['gemini-2.5-pro', 'gm'],
  ['gemini-2.5-flash', 'gm'],
  ['oa/gpt-4o', 'oa'],
  ['oa/gpt-4o-mini', 'oa'],
  ['an/claude-sonnet-4-5', 'an'],
  ['gm/gemini-2.5-pro', 'gm'],
  ['gm/gemini-2.5-flash', 'gm'],
]
/** what a Google client can call: no provider/model names (they would be two URL path segments) */
const GOOGLE = ALL.map(([id]) => id).filter(id => !id.includes('/'))

describe('lists, through each official SDK', () => {
  test('openai.models.list(): every alias and advertised model, owned_by the provider it routes to', async () => {
    const page = await new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 }).models.list()
    expect(page.data.map(m => [m.id, m.owned_by])).toEqual(ALL)
    for (const m of page.data) expect(m).toEqual({ id: m.id, object: 'model', created: expect.any(Number), owned_by: m.owned_by })
    expect(page.hasNextPage()).toBe(false)
  })

  test('anthropic.models.list(): the same names, Anthropic shape, one page', async () => {
    const client = new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 })
    const ids: string[] = []
    for await (const m of client.models.list()) {
      expect(m as object).toEqual({ type: 'model', id: m.id, display_name: m.id, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/) })
      ids.push(m.id)
    }
    expect(ids).toEqual(ALL.map(([id]) => id))
    const page = await client.models.list()
    expect(page.has_more).toBe(false)
    expect([page.first_id, page.last_id]).toEqual([ALL[0]![0], ALL.at(-1)![0]])
  })

  test.each(['v1beta', 'v1'])('genai models.list() with apiVersion %s: Google shape, models/… names, generation methods', async apiVersion => {
    const client = new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: srv.url, apiVersion } })
    const models = []
    for await (const m of await client.models.list()) models.push(m)
    expect(models.map(m => m.name)).toEqual(GOOGLE.map(id => `models/${id}`))
    for (const m of models) {
      expect(m.displayName).toBe(m.name!.slice('models/'.length))
      expect(m.supportedActions).toEqual(expect.arrayContaining(['generateContent', 'streamGenerateContent', 'countTokens']))
      expect(m.inputTokenLimit).toBeGreaterThan(0)
      expect(m.outputTokenLimit).toBeGreaterThan(0)
    }
  })

  test('raw Google list bodies: supportedGenerationMethods; ?key= and x-goog-api-key pick the shape on /v1/models', async () => {
    for (const [path, headers] of [
      ['/v1beta/models', {}],
      ['/v1/models?key=k', {}],
      ['/v1/models', { 'x-goog-api-key': 'k' }],
    ] as const) {
      const body = await (await fetch(`${srv.url}${path}`, { headers })).json()
      expect(Object.keys(body)).toEqual(['models'])
      expect(body.models.map((m: any) => m.name)).toEqual(GOOGLE.map(id => `models/${id}`))
      expect(body.models[0]).toEqual({
        name: 'models/fast',
        version: expect.any(String),
        displayName: 'fast',
        description: expect.any(String),
        inputTokenLimit: expect.any(Number),
        outputTokenLimit: expect.any(Number),
        supportedGenerationMethods: ['generateContent', 'streamGenerateContent', 'countTokens'],
      })
    }
  })

  test('globs are never listed', async () => {
    const body = await (await fetch(`${srv.url}/v1/models`)).json()
    expect(body.data.map((m: any) => m.id).filter((id: string) => /[*?]/.test(id))).toEqual([])
  })
})

describe('retrieve one model, through each official SDK', () => {
  test('openai.models.retrieve: alias, advertised, and a name a glob routes', async () => {
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
    expect(await client.models.retrieve('fast')).toEqual({ id: 'fast', object: 'model', created: expect.any(Number), owned_by: 'gm' } as any)
    expect((await client.models.retrieve('gpt-4o')).owned_by).toBe('oa')
    expect((await client.models.retrieve('claude-opus-4-1-20250805')).owned_by).toBe('an')
  })

  test('openai.models.retrieve of an unknown name → NotFoundError model_not_found', async () => {
    const e = await new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 }).models.retrieve('llama-3').catch(e => e)
    expect(e).toBeInstanceOf(OpenAI.NotFoundError)
    expect(e.code).toBe('model_not_found')
    expect(e.message).toContain('Available: fast, coder')
  })

  test('anthropic.models.retrieve', async () => {
    const client = new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 })
    expect(await client.models.retrieve('coder')).toEqual({ type: 'model', id: 'coder', display_name: 'coder', created_at: expect.any(String) } as any)
    const e = await client.models.retrieve('llama-3').catch(e => e)
    expect(e).toBeInstanceOf(Anthropic.NotFoundError)
  })

  test.each(['v1beta', 'v1'])('genai models.get with apiVersion %s', async apiVersion => {
    const client = new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: srv.url, apiVersion } })
    for (const model of ['fast', 'models/gemini-2.5-pro']) {
      const m = await client.models.get({ model })
      expect(m.name).toBe(`models/${model.replace(/^models\//, '')}`)
      expect(m.supportedActions).toContain('generateContent')
    }
    const e = await client.models.get({ model: 'llama-3' }).catch(e => e)
    expect(e).toBeInstanceOf(ApiError)
    expect(e.status).toBe(404)
    expect(JSON.parse(e.message).error.status).toBe('NOT_FOUND')
  })

  test('raw: GET /v1beta/models/{model} answers in the Google shape, 404 NOT_FOUND for an unknown one', async () => {
    const res = await fetch(`${srv.url}/v1beta/models/gemini-2.5-flash`)
    expect(res.status).toBe(200)
    expect((await res.json()).name).toBe('models/gemini-2.5-flash')
    const missing = await fetch(`${srv.url}/v1beta/models/nope`)
    expectDialectError('gemini', 404, await missing.json(), missing.headers)
  })
})

test('zero providers: empty lists in every shape', async () => {
  const bare = await startAgproxy({}, {})
  try {
    expect(await (await fetch(`${bare.url}/v1/models`)).json()).toEqual({ object: 'list', data: [] })
    expect(await (await fetch(`${bare.url}/v1/models`, { headers: { 'anthropic-version': '2023-06-01' } })).json()).toEqual({
      data: [],
      has_more: false,
      first_id: null,
      last_id: null,
    })
    expect(await (await fetch(`${bare.url}/v1beta/models`)).json()).toEqual({ models: [] })
  } finally {
    await bare.stop(0)
  }
})
