/**
 * Base-URL tolerance. Clients build URLs as `base URL + their endpoint path`, and users paste base
 * URLs with or without `/v1`, with a whole endpoint, behind a relay prefix… agproxy maps every
 * realistic variant to its canonical route, answers with `x-agproxy-resolved-path`, and logs the fix
 * once. Anything else is a 404 in the caller's dialect that says which base URL to set.
 */
import { describe, test, expect, beforeAll, afterAll } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI, ApiError } from '@google/genai'
import { resolvePath, type Cause } from '../src/http/resolve-path'
import { ROUTES, matchRoute, dialectOfPath } from '../src/http/route-table'
import { startAgproxy, type TestServer } from './support/agproxy'
import { ANY_MODEL_BODY, NO_PROVIDER, expectDialectError, rawRequest, type Dialect } from './support/front-door'

/** [what the client sent, the canonical route it reaches, why it was wrong] */
const VARIANTS: Array<[sent: string, canonical: string, causes: Cause[]]> = [
  // doubled and trailing slashes
  ['//v1/chat/completions', '/v1/chat/completions', ['slashes']],
  ['/v1//chat/completions', '/v1/chat/completions', ['slashes']],
  ['/v1/chat/completions/', '/v1/chat/completions', ['slashes']],
  ['/v1/messages//count_tokens', '/v1/messages/count_tokens', ['slashes']],
  ['//v1beta//models/gemini-x:generateContent/', '/v1beta/models/gemini-x:generateContent', ['slashes']],
  // no version prefix (base URL without /v1)
  ['/chat/completions', '/v1/chat/completions', ['missing-version']],
  ['/responses', '/v1/responses', ['missing-version']],
  ['/completions', '/v1/completions', ['missing-version']],
  ['/models', '/v1/models', ['missing-version']],
  ['/models/gpt-x', '/v1/models/gpt-x', ['missing-version']],
  ['/embeddings', '/v1/embeddings', ['missing-version']],
  ['/messages', '/v1/messages', ['missing-version']],
  ['/messages/count_tokens', '/v1/messages/count_tokens', ['missing-version']],
  ['/models/gemini-x:generateContent', '/v1beta/models/gemini-x:generateContent', ['missing-version']],
  ['/models/gemini-x:streamGenerateContent', '/v1beta/models/gemini-x:streamGenerateContent', ['missing-version']],
  ['/models/gemini-x:countTokens', '/v1beta/models/gemini-x:countTokens', ['missing-version']],
  // the version twice (base URL ends in /v1 and the client adds it again)
  ['/v1/v1/chat/completions', '/v1/chat/completions', ['duplicate-version']],
  ['/v1/v1/messages', '/v1/messages', ['duplicate-version']],
  ['/v1/v1/models', '/v1/models', ['duplicate-version']],
  ['/v1beta/v1beta/models/gemini-x:generateContent', '/v1beta/models/gemini-x:generateContent', ['duplicate-version']],
  ['/v1beta/v1beta/models', '/v1beta/models', ['duplicate-version']],
  ['/v1/v1beta/models/gemini-x:countTokens', '/v1beta/models/gemini-x:countTokens', ['duplicate-version']],
  ['/v1/v1beta/models', '/v1beta/models', ['duplicate-version']],
  // the endpoint twice (base URL already holds an endpoint path)
  ['/v1beta/models/models/gemini-x:generateContent', '/v1beta/models/gemini-x:generateContent', ['stacked-endpoint']],
  ['/v1beta/models/models/gemini-x', '/v1beta/models/gemini-x', ['stacked-endpoint']],
  ['/v1/chat/completions/chat/completions', '/v1/chat/completions', ['stacked-endpoint']],
  ['/v1/messages/v1/messages', '/v1/messages', ['duplicate-version', 'stacked-endpoint']],
  ['/v1/responses/responses', '/v1/responses', ['stacked-endpoint']],
  ['/v1/messages/messages/count_tokens', '/v1/messages/count_tokens', ['stacked-endpoint']],
  // a different endpoint stacked on a full endpoint URL: the client's own endpoint wins
  ['/v1/chat/completions/responses', '/v1/responses', ['stacked-endpoint']],
  ['/v1/chat/completions/models', '/v1/models', ['stacked-endpoint']],
  ['/v1/chat/completions/embeddings', '/v1/embeddings', ['stacked-endpoint']],
  // one relay-style leading segment
  ['/openai/v1/chat/completions', '/v1/chat/completions', ['relay-prefix']],
  ['/openai/v1/responses', '/v1/responses', ['relay-prefix']],
  ['/anthropic/v1/messages', '/v1/messages', ['relay-prefix']],
  ['/anthropic/v1/messages/count_tokens', '/v1/messages/count_tokens', ['relay-prefix']],
  ['/api/v1/chat/completions', '/v1/chat/completions', ['relay-prefix']],
  ['/api/v1/models', '/v1/models', ['relay-prefix']],
  ['/gemini/v1beta/models/gemini-x:generateContent', '/v1beta/models/gemini-x:generateContent', ['relay-prefix']],
  ['/gemini/v1beta/models/gemini-x:streamGenerateContent', '/v1beta/models/gemini-x:streamGenerateContent', ['relay-prefix']],
  ['/gemini/v1beta/models', '/v1beta/models', ['relay-prefix']],
  // an OpenAI endpoint under the Gemini version
  ['/v1beta/chat/completions', '/v1/chat/completions', ['wrong-version']],
]

/** Concrete instances of every canonical route (a route is its own canonical form). */
const concrete = (path: string) => path.replace('{id}', 'gpt-x').replace('{model}', 'gemini-x')

/** [method, path, headers, dialect of the 404] — requests no variant rule can place */
const REFUSED: Array<[method: string, path: string, headers: Record<string, string>, dialect: Dialect]> = [
  // the bare base URL: the client appended nothing
  ['POST', '/', {}, 'openai'],
  ['POST', '/v1', {}, 'openai'],
  ['POST', '/v1', { 'anthropic-version': '2023-06-01' }, 'anthropic'],
  ['POST', '/v1beta', {}, 'gemini'],
  // unknown endpoints: dialect from headers when the path says nothing
  ['POST', '/v1/foo', {}, 'openai'],
  ['GET', '/v1/foo', {}, 'openai'],
  ['POST', '/v1/foo', { 'anthropic-version': '2023-06-01' }, 'anthropic'],
  ['POST', '/v1/foo', { 'x-goog-api-key': 'k' }, 'gemini'],
  ['POST', '/v1/foo?key=k', {}, 'gemini'],
  ['POST', '/nope/v1/chat/completions', {}, 'openai'],
  // …and from the path family first, whatever the headers say
  ['POST', '/v1/messages/foo', { 'x-goog-api-key': 'k' }, 'anthropic'],
  ['POST', '/nope/v1/messages', {}, 'anthropic'],
  ['POST', '/v1beta/foo', { 'anthropic-version': '2023-06-01' }, 'gemini'],
  ['POST', '/v2/models/gemini-x:generateContent', { 'anthropic-version': '2023-06-01' }, 'gemini'],
  ['POST', '/v1/chat/completions/foo', { 'anthropic-version': '2023-06-01' }, 'openai'],
  // encoded separators and dot segments are never rewritten, never routed
  ['POST', '/v1%2Fchat/completions', {}, 'openai'],
  ['POST', '/v1/chat%2Fcompletions', {}, 'openai'],
  ['POST', '/v1%2fmessages', {}, 'anthropic'],
  ['POST', '/v1/messages%2Fcount_tokens', {}, 'anthropic'],
  ['POST', '/v1beta%2Fmodels/gemini-x:generateContent', {}, 'gemini'],
  ['POST', '/v1/%2e%2e%2Fmessages', {}, 'anthropic'],
  ['POST', '/v1/x/..%2Fchat/completions', {}, 'openai'],
  ['POST', '/v1%5Cchat%5Ccompletions', {}, 'openai'],
  ['GET', '/v1/%2e%2e%2fmodels', {}, 'openai'],
]

describe('resolvePath (unit)', () => {
  test.each(ROUTES.map(r => [concrete(r.path)]))('canonical %s stays as it is', path => {
    expect(resolvePath(path)).toEqual({ kind: 'canonical', path })
  })

  test.each(VARIANTS)('%s → %s', (sent, canonical, causes) => {
    expect(resolvePath(sent)).toEqual({ kind: 'rewritten', path: canonical, causes })
    expect(matchRoute(canonical)).toBeDefined()
  })

  test.each(VARIANTS)('with tolerant_paths off, %s is not resolved', sent => {
    expect(resolvePath(sent, false)).toEqual({ kind: 'unresolved', reason: 'unknown' })
  })

  test.each(REFUSED.filter(([, p]) => p !== '/').map(([, p]) => [p.split('?')[0]!]))('%s is not resolved', path => {
    expect(resolvePath(path).kind).toBe('unresolved')
  })

  test.each([
    '/v1%2Fchat/completions',
    '/v1/chat%2fcompletions',
    '/v1/%2e%2e/messages',
    '/v1/%2E%2E/messages',
    '/v1\\messages',
    '/v1/../v1/messages',
    '/v1/./messages',
  ])('%s is a traversal attempt', path => {
    expect(resolvePath(path)).toEqual({ kind: 'unresolved', reason: 'traversal' })
  })
})

describe('end to end: each variant reaches its canonical handler', () => {
  let srv: TestServer
  beforeAll(async () => {
    srv = await startAgproxy()
  })
  afterAll(() => srv.stop(0))

  test.each(VARIANTS)('%s → %s', async (sent, canonical) => {
    const route = matchRoute(canonical)!
    const method = route.methods[0]!
    // written byte for byte: fetch would collapse some of these paths on the client side
    const res = await rawRequest(
      srv.port,
      method,
      sent,
      method === 'POST' ? { 'content-type': 'application/json' } : {},
      method === 'POST' ? JSON.stringify(ANY_MODEL_BODY) : '',
    )
    expect(res.headers.get('x-agproxy-resolved-path')).toBe(canonical)
    const body = JSON.parse(res.body)
    const dialect: Dialect = dialectOfPath(canonical) ?? 'openai'
    if (method === 'POST') {
      // the model call reached the dispatcher: the "no provider" 503 in the endpoint's dialect
      expect(res.status).toBe(503)
      expect(expectDialectError(dialect, 503, body, res.headers)).toMatch(NO_PROVIDER)
    } else if (route.path.includes('{')) {
      // a model lookup reached the model routes: not found because no provider is configured (not "No route for …")
      expect(res.status).toBe(404)
      expect(expectDialectError(dialect, 404, body, res.headers)).toMatch(NO_PROVIDER)
    } else {
      expect(res.status).toBe(200)
      expect(body).toEqual(canonical === '/v1beta/models' ? { models: [] } : { object: 'list', data: [] })
    }
  })

  test('every rewrite is logged once, with the cause and the base URL to set', async () => {
    const logged = (sent: string) => srv.logs.filter(l => l.includes(`path ${sent} → `))
    for (const [sent, canonical] of VARIANTS) {
      const lines = logged(sent)
      expect({ sent, lines: lines.length }).toEqual({ sent, lines: 1 })
      const base = (dialectOfPath(canonical) ?? 'openai') === 'openai' ? `${srv.url}/v1 ` : `${srv.url} `
      expect(lines[0]).toContain(`path ${sent} → ${canonical}: `)
      expect(lines[0]).toContain(`; set the base URL to ${base}`)
      expect(lines[0]).not.toMatch(/: ;/) // a cause is always named
    }
    // the same mistake again is not logged again
    await rawRequest(srv.port, 'POST', '/chat/completions', { 'content-type': 'application/json' }, JSON.stringify(ANY_MODEL_BODY))
    expect(logged('/chat/completions')).toHaveLength(1)
  })

  test('a canonical request carries no resolved-path header and logs nothing', async () => {
    const before = srv.logs.length
    const res = await fetch(`${srv.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ANY_MODEL_BODY),
    })
    expect(res.status).toBe(503)
    expect(res.headers.has('x-agproxy-resolved-path')).toBe(false)
    expect(srv.logs.slice(before).filter(l => l.includes(' → '))).toEqual([])
  })

  test('query strings survive a rewrite (?alt=sse, ?beta=true)', async () => {
    const r = await fetch(`${srv.url}/v1/v1/messages/count_tokens?beta=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ANY_MODEL_BODY),
    })
    expect(r.status).toBe(503)
    expect(r.headers.get('x-agproxy-resolved-path')).toBe('/v1/messages/count_tokens')
    const g = await fetch(`${srv.url}/models/gemini-x:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ANY_MODEL_BODY),
    })
    expect(g.status).toBe(503)
    expect(g.headers.get('x-agproxy-resolved-path')).toBe('/v1beta/models/gemini-x:streamGenerateContent')
  })
})

describe("refused: a 404 in the caller's dialect naming the path and the base URL to set", () => {
  let srv: TestServer
  beforeAll(async () => {
    srv = await startAgproxy()
  })
  afterAll(() => srv.stop(0))

  test.each(REFUSED)('%s %s %o → 404 (%s)', async (method, path, headers, dialect) => {
    const res = await rawRequest(
      srv.port,
      method,
      path,
      method === 'POST' ? { 'content-type': 'application/json', ...headers } : headers,
      method === 'POST' ? JSON.stringify(ANY_MODEL_BODY) : '',
    )
    expect(res.status).toBe(404)
    expect(res.headers.get('x-should-retry')).toBe('false')
    expect(res.headers.has('x-agproxy-resolved-path')).toBe(false)
    const message = expectDialectError(dialect, 404, JSON.parse(res.body), res.headers)
    expect(message).toContain(`No route for ${method} ${path.split('?')[0]}`)
    const base = dialect === 'openai' ? `${srv.url}/v1` : srv.url
    expect(message).toContain(`set the base URL to ${base} — `)
  })

  test('encoded separators are explained as such', async () => {
    const res = await rawRequest(srv.port, 'POST', '/v1%2Fchat/completions', { 'content-type': 'application/json' }, '{}')
    expect(JSON.parse(res.body).error.message).toContain('encoded slashes, backslashes and dot segments are never routed')
  })

  test('a bare base URL is explained as such', async () => {
    const res = await fetch(`${srv.url}/v1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect((await res.json()).error.message).toContain('the client sent its request to the bare base URL')
  })

  test('plain dot segments are resolved by the HTTP layer before routing, like any server: they smuggle nothing', async () => {
    // `/v1/x/../messages` and `%2e%2e` segments are normalized (WHATWG URL) before agproxy sees the path
    const res = await rawRequest(srv.port, 'POST', '/v1/x/%2e%2e/messages', { 'content-type': 'application/json' }, JSON.stringify(ANY_MODEL_BODY))
    expect(res.status).toBe(503)
    expect(expectDialectError('anthropic', 503, JSON.parse(res.body), res.headers)).toMatch(NO_PROVIDER)
  })
})

describe('refused, as each official SDK sees it', () => {
  let srv: TestServer
  beforeAll(async () => {
    srv = await startAgproxy()
  })
  afterAll(() => srv.stop(0))

  test('openai: NotFoundError naming the path and http://localhost:PORT/v1', async () => {
    const client = new OpenAI({ baseURL: `${srv.url}/nope`, apiKey: 'any', maxRetries: 0 })
    const e = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch(e => e)
    expect(e).toBeInstanceOf(OpenAI.NotFoundError)
    expect(e.status).toBe(404)
    expect(e.message).toContain('/nope/chat/completions')
    expect(e.message).toContain(`set the base URL to ${srv.url}/v1 `)
    expect(e.headers.get('x-should-retry')).toBe('false')
  })

  test('@anthropic-ai/sdk: NotFoundError naming the path and http://localhost:PORT', async () => {
    const client = new Anthropic({ baseURL: `${srv.url}/nope`, apiKey: 'any', maxRetries: 0 })
    const e = await client.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch(e => e)
    expect(e).toBeInstanceOf(Anthropic.NotFoundError)
    expect(e.status).toBe(404)
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } })
    expect(e.message).toContain('/nope/v1/messages')
    expect(e.message).toContain(`set the base URL to ${srv.url} — `)
  })

  test('@google/genai: ApiError 404 naming the path and http://localhost:PORT', async () => {
    const client = new GoogleGenAI({ apiKey: 'any', httpOptions: { baseUrl: `${srv.url}/nope`, apiVersion: 'v1beta' } })
    const e = await client.models.generateContent({ model: 'gemini-x', contents: 'hi' }).catch(e => e)
    expect(e).toBeInstanceOf(ApiError)
    expect(e.status).toBe(404)
    const body = JSON.parse(e.message)
    expect(body.error).toMatchObject({ code: 404, status: 'NOT_FOUND' })
    expect(body.error.message).toContain('/nope/v1beta/models/gemini-x:generateContent')
    expect(body.error.message).toContain(`set the base URL to ${srv.url} — `)
  })
})

describe('tolerant_paths: false', () => {
  let srv: TestServer
  beforeAll(async () => {
    srv = await startAgproxy({ tolerant_paths: false })
  })
  afterAll(() => srv.stop(0))

  test.each([
    ['/chat/completions', 'openai', '/v1/chat/completions'],
    ['/v1/v1/messages', 'anthropic', '/v1/messages'],
    ['/openai/v1/responses', 'openai', '/v1/responses'],
    ['/v1beta/models/models/gemini-x:generateContent', 'gemini', '/v1beta/models/gemini-x:generateContent'],
  ] as const)('%s is not rewritten: 404 (%s) that names the canonical path', async (path, dialect, canonical) => {
    const res = await rawRequest(srv.port, 'POST', path, { 'content-type': 'application/json' }, JSON.stringify(ANY_MODEL_BODY))
    expect(res.status).toBe(404)
    expect(res.headers.has('x-agproxy-resolved-path')).toBe(false)
    const message = expectDialectError(dialect, 404, JSON.parse(res.body), res.headers)
    expect(message).toContain(`tolerant_paths is off, so it is not rewritten to ${canonical}`)
    expect(srv.logs.some(l => l.includes(`path ${path} → `))).toBe(false)
  })

  test('canonical paths still work', async () => {
    const res = await fetch(`${srv.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ANY_MODEL_BODY) })
    expect(res.status).toBe(503)
    expect(expectDialectError('anthropic', 503, await res.json(), res.headers)).toMatch(NO_PROVIDER)
  })
})
