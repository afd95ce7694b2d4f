/**
 * The route table (src/http/route-table.ts) is the contract: every canonical route answers with its
 * methods, other methods get a 405 with `Allow`, bad bodies a 400 naming the field — each in the
 * caller's dialect — and /swagger/json documents exactly these routes.
 */
import { describe, test, expect, beforeAll, afterAll } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI } from '@google/genai'
import { ROUTES, dialectOfPath, type CanonicalRoute } from '../src/http/route-table'
import { VERSION } from '../src/version'
import { startAgproxy, type TestServer } from './support/agproxy'
import { ANY_MODEL_BODY, MULTIPART_PATHS, NO_PROVIDER, expectDialectError, form, json, type Dialect } from './support/front-door'

let bare: TestServer // no providers: every model call answers the "no provider" 503
let withModels: TestServer // providers advertising models, for the listings (never called)
beforeAll(async () => {
  bare = await startAgproxy()
  withModels = await startAgproxy({
    providers: [
      { name: 'p', type: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key: 'sk-test', models: ['gpt-x', 'gemini-x'] },
      { name: 'q', type: 'anthropic', base_url: 'http://127.0.0.1:9', api_key: 'sk-test', models: ['claude-x'] },
    ],
  })
})
afterAll(async () => {
  await bare.stop(0)
  await withModels.stop(0)
})

const concrete = (path: string) => path.replace('{id}', 'gpt-x').replace('{model}', 'gemini-x')
const isModelCall = (r: CanonicalRoute) => r.tag !== 'System' && r.methods.includes('POST')
const dialectOf = (path: string): Dialect => dialectOfPath(path) ?? 'openai'

/** What each canonical route answers with its own method. */
const expected = (r: CanonicalRoute, _method: string): number =>
  isModelCall(r) ? 503 : r.path.startsWith('/api/') || r.path.startsWith('/v1/api/') ? 204 : 200

const ROUTE_METHODS = ROUTES.flatMap(r => r.methods.map(m => [m, r.path, r] as const))

describe('every canonical route answers with its method', () => {
  test.each(ROUTE_METHODS)('%s %s', async (method, path, route) => {
    const srv = isModelCall(route) ? bare : withModels
    const url = `${srv.url}${concrete(path)}`
    const body = MULTIPART_PATHS.has(path) ? form(ANY_MODEL_BODY) : json(ANY_MODEL_BODY)
    const res = await fetch(url, method === 'POST' ? body : { method })
    expect(res.status).toBe(expected(route, method))
    if (res.status === 503) expect(expectDialectError(dialectOf(path), 503, await res.json(), res.headers)).toMatch(NO_PROVIDER)
  })

  test.each([
    ['/v1/messages/count_tokens?beta=true', 'anthropic'],
    ['/v1/messages?beta=true', 'anthropic'],
    ['/v1beta/models/gemini-x:streamGenerateContent?alt=sse', 'gemini'],
    ['/v1/models/gemini-x:streamGenerateContent?alt=sse', 'gemini'],
  ] as const)('POST %s (query flags accepted)', async (path, dialect) => {
    const res = await fetch(`${bare.url}${path}`, json(ANY_MODEL_BODY))
    expect(res.status).toBe(503)
    expect(expectDialectError(dialect, 503, await res.json(), res.headers)).toMatch(NO_PROVIDER)
  })
})

describe('a wrong method → 405 with Allow, in the dialect', () => {
  const WRONG: Array<[method: string, path: string, allow: string, dialect: Dialect]> = [
    ...ROUTES.filter(r => r.methods.length === 1 && r.methods[0] === 'POST').map(
      r => ['GET', concrete(r.path), 'POST', dialectOf(r.path)] as [string, string, string, Dialect],
    ),
    ['POST', '/healthz', 'GET', 'openai'],
    ['POST', '/health', 'GET', 'openai'],
    ['POST', '/v1/models', 'GET', 'openai'],
    ['POST', '/v1/models/gpt-x', 'GET', 'openai'],
    ['POST', '/v1beta/models', 'GET', 'gemini'],
    ['POST', '/v1beta/models/gemini-x', 'GET', 'gemini'],
    ['GET', '/api/hello', 'HEAD', 'openai'],
    ['POST', '/swagger/json', 'GET', 'openai'],
  ]
  test.each(WRONG)('%s %s → 405, Allow: %s (%s)', async (method, path, allow, dialect) => {
    const res = await fetch(`${bare.url}${path}`, method === 'POST' ? json(ANY_MODEL_BODY) : { method })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe(allow)
    expect(res.headers.get('x-should-retry')).toBe('false')
    const message = expectDialectError(dialect, 405, await res.json(), res.headers)
    expect(message).toContain(`${method} is not allowed on ${path}; use ${allow}.`)
  })

  test('the dialect follows the headers when the path says nothing', async () => {
    const res = await fetch(`${bare.url}/v1/models`, { method: 'POST', headers: { 'anthropic-version': '2023-06-01' } })
    expect(res.status).toBe(405)
    expectDialectError('anthropic', 405, await res.json(), res.headers)
  })
})

describe('a body failing its schema → 400 naming the field, in the dialect', () => {
  const BAD: Array<[path: string, body: unknown, field: string, dialect: Dialect]> = [
    ['/v1/chat/completions', { model: 'm' }, 'messages', 'openai'],
    ['/v1/chat/completions', { model: 'm', messages: 'hi' }, 'messages', 'openai'],
    ['/v1/chat/completions', { messages: [] }, 'model', 'openai'],
    ['/v1/completions', { prompt: 'hi' }, 'model', 'openai'],
    ['/v1/responses', { input: 'hi' }, 'model', 'openai'],
    ['/v1/embeddings', { model: 'm' }, 'input', 'openai'],
    ['/v1/messages', { model: 'm', messages: [] }, 'max_tokens', 'anthropic'],
    ['/v1/messages', { model: 'm', messages: [], max_tokens: 'many' }, 'max_tokens', 'anthropic'],
    ['/v1/messages/count_tokens', { model: 'm' }, 'messages', 'anthropic'],
    ['/v1beta/models/gemini-x:generateContent', {}, 'contents', 'gemini'],
    ['/v1beta/models/gemini-x:streamGenerateContent', { contents: {} }, 'contents', 'gemini'],
    ['/v1/models/gemini-x:generateContent', {}, 'contents', 'gemini'],
  ]
  test.each(BAD)('POST %s %j → 400 on %s (%s)', async (path, body, field, dialect) => {
    const res = await fetch(`${bare.url}${path}`, json(body))
    expect(res.status).toBe(400)
    const message = expectDialectError(dialect, 400, await res.clone().json(), res.headers)
    expect(message).toStartWith(`${field}: `)
    if (dialect === 'openai') expect((await res.json()).error.param).toBe(field)
  })

  test.each([
    ['/v1/chat/completions', '[]', 'openai', 'must be a JSON object'],
    ['/v1/messages', '{"model": ', 'anthropic', 'not valid JSON'],
    ['/v1beta/models/gemini-x:countTokens', '', 'gemini', 'body is empty'],
  ] as const)('POST %s %j → 400 (%s)', async (path, body, dialect, says) => {
    const res = await fetch(`${bare.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect(res.status).toBe(400)
    expect(expectDialectError(dialect, 400, await res.json(), res.headers)).toContain(says)
  })
})

describe('/swagger', () => {
  test('/swagger/json documents every canonical route with its tag, in OpenAPI {param} form', async () => {
    const res = await fetch(`${bare.url}/swagger/json`)
    expect(res.status).toBe(200)
    const doc = await res.json()
    expect(doc.openapi).toMatch(/^3\./)
    expect(doc.info.version).toBe(VERSION)
    for (const r of ROUTES.filter(r => !r.path.startsWith('/swagger'))) {
      for (const m of r.methods) {
        const op = doc.paths[r.path]?.[m.toLowerCase()]
        expect({ route: `${m} ${r.path}`, tags: op?.tags }).toEqual({ route: `${m} ${r.path}`, tags: [r.tag] })
      }
    }
    // and nothing in Elysia's `:param` form leaks into the document
    expect(Object.keys(doc.paths).filter(p => p.includes('/:'))).toEqual([])
  })

  test('/swagger serves the API reference page', async () => {
    const res = await fetch(`${bare.url}/swagger`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
  })
})

describe('system routes', () => {
  test.each(['/healthz', '/health'])('GET %s → {"status":"ok","version":…}', async path => {
    const res = await fetch(`${bare.url}${path}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await res.json()).toEqual({ status: 'ok', version: VERSION })
  })

  test('GET / lists the base URL to set for each client family', async () => {
    const res = await fetch(`${bare.url}/`)
    expect(res.status).toBe(200)
    const index = await res.json()
    expect(index).toMatchObject({ name: 'agproxy', version: VERSION, docs: `${bare.url}/swagger` })
    expect(index.clients.map((c: any) => [c.dialect, c.base_url])).toEqual([
      ['openai', `${bare.url}/v1`],
      ['anthropic', bare.url],
      ['gemini', bare.url],
    ])
    for (const c of index.clients) expect([typeof c.clients, typeof c.setting]).toEqual(['string', 'string'])
  })

  test('the index uses the host the client used', async () => {
    const res = await fetch(`${bare.url}/`, { headers: { host: `127.0.0.1:${bare.port}` } })
    expect((await res.json()).clients[0].base_url).toBe(`http://127.0.0.1:${bare.port}/v1`)
  })

  test('HEAD / answers without a body', async () => {
    const res = await fetch(`${bare.url}/`, { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('')
  })

  const TELEMETRY = ['/api/event_logging/batch', '/api/event_logging/v2/batch', '/v1/api/event_logging/batch']
  test.each(TELEMETRY)('telemetry sink POST %s → 204, no body', async path => {
    const res = await fetch(`${bare.url}${path}`, json({ events: [{ event_type: 'x' }] }))
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
  })

  test('HEAD /api/hello → 204, no body', async () => {
    const res = await fetch(`${bare.url}/api/hello`, { method: 'HEAD' })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
  })
})

describe('/v1/models speaks the shape of whoever asks', () => {
  const openaiList = { object: 'list', data: expect.arrayContaining([{ id: 'gpt-x', object: 'model', created: expect.any(Number), owned_by: 'p' }]) }
  const anthropicList = {
    data: expect.arrayContaining([{ type: 'model', id: 'gpt-x', display_name: 'gpt-x', created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]),
    has_more: false,
    first_id: expect.any(String),
    last_id: expect.any(String),
  }
  const googleList = {
    models: expect.arrayContaining([
      expect.objectContaining({ name: 'models/gemini-x', supportedGenerationMethods: expect.arrayContaining(['generateContent']) }),
    ]),
  }

  test.each([
    ['OpenAI by default', '/v1/models', {}, openaiList],
    ['Anthropic with anthropic-version', '/v1/models', { 'anthropic-version': '2023-06-01' }, anthropicList],
    ['Google with x-goog-api-key', '/v1/models', { 'x-goog-api-key': 'k' }, googleList],
    ['Google with ?key=', '/v1/models?key=k', {}, googleList],
    ['Google under /v1beta', '/v1beta/models', {}, googleList],
  ] as const)('%s', async (_, path, headers, shape) => {
    const res = await fetch(`${withModels.url}${path}`, { headers })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(shape)
  })

  test.each([
    ['OpenAI', '/v1/models/gpt-x', {}, { id: 'gpt-x', object: 'model', created: expect.any(Number), owned_by: 'p' }],
    ['Anthropic', '/v1/models/gpt-x', { 'anthropic-version': '2023-06-01' }, expect.objectContaining({ type: 'model', id: 'gpt-x' })],
    ['Google', '/v1/models/gemini-x', { 'x-goog-api-key': 'k' }, expect.objectContaining({ name: 'models/gemini-x' })],
    ['Google (v1beta)', '/v1beta/models/gemini-x', {}, expect.objectContaining({ name: 'models/gemini-x' })],
  ] as const)('retrieve one model: %s shape', async (_, path, headers, shape) => {
    const res = await fetch(`${withModels.url}${path}`, { headers })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(shape)
  })

  test('an unknown model is a 404 in the dialect', async () => {
    const res = await fetch(`${withModels.url}/v1/models/nope-model`, { headers: { 'anthropic-version': '2023-06-01' } })
    expect(res.status).toBe(404)
    expectDialectError('anthropic', 404, await res.json(), res.headers)
  })

  test('each official SDK lists the models', async () => {
    const oa = new OpenAI({ baseURL: `${withModels.url}/v1`, apiKey: 'any', maxRetries: 0 })
    expect((await oa.models.list()).data.map(m => m.id)).toContain('gpt-x')
    const an = new Anthropic({ baseURL: withModels.url, apiKey: 'any', maxRetries: 0 })
    expect((await an.models.list()).data.map(m => m.id)).toContain('gpt-x')
    for (const apiVersion of ['v1', 'v1beta']) {
      const g = new GoogleGenAI({ apiKey: 'any', httpOptions: { baseUrl: withModels.url, apiVersion } })
      const names: string[] = []
      for await (const m of await g.models.list()) names.push(m.name!)
      expect(names).toContain('models/gemini-x')
    }
  })
})
