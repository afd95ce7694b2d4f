/**
 * Vertex AI (`type: vertex`, issue 14 §2) through the official SDKs against the Vertex fake, whose token endpoint
 * verifies each JWT's RS256 signature with the test key: the token exchange and its cache (one refresh for concurrent
 * calls, renewed 5 minutes before expiry), Gemini and Claude paths for the account's project and location, Claude's
 * `anthropic_version` body, token counting, ADC files, pooled accounts with cooldowns per account and model, bad
 * credentials answered in the caller's dialect (never a crash, never a key in a log), and the config checks.
 * The 3×3 dialect matrix runs against vertex too (test/support/matrix.ts PROVIDERS: vertex, vertex-claude).
 */
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI } from '@google/genai'
import { buildConfig, ConfigError } from '../src/config/load'
import { doctorCommand } from '../src/cli/doctor'
import { makeServiceAccount, revokeTokens } from './fakes/vertex'
import { startFake, type FakeOptions } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'

const sa1 = await makeServiceAccount('sa-one@proj-a.iam.gserviceaccount.com', 'proj-a')
const sa2 = await makeServiceAccount('sa-two@proj-b.iam.gserviceaccount.com', 'proj-b')
const stranger = await makeServiceAccount('stranger@proj-x.iam.gserviceaccount.com', 'proj-x')
const vx = await startFake('vertex', {
  vertexAccounts: { [sa1.json.client_email!]: sa1.publicKey, [sa2.json.client_email!]: sa2.publicKey },
  vertexRefreshTokens: ['1//adc-refresh-token'],
})
const TOKEN_URI = `${vx.url}/token`
const creds = (sa: typeof sa1) => ({ ...sa.json, token_uri: TOKEN_URI })
const dir = mkdtempSync(join(tmpdir(), 'agproxy-vertex-'))
const file = (name: string, body: unknown) => {
  const path = join(dir, name)
  writeFileSync(path, JSON.stringify(body))
  return path
}

const servers: TestServer[] = []
afterAll(async () => {
  await Promise.all(servers.map(s => s.stop(0)))
  await vx.stop()
})
beforeEach(() => {
  vx.reset()
  vx.requests.length = 0
})

async function gateway(provider: Record<string, unknown> = {}, env: Record<string, string> = {}, retry = { max_attempts: 1, max_wait: 0 }) {
  const srv = await startAgproxy(
    {
      providers: [{ name: 'vx', type: 'vertex', base_url: vx.url, location: 'us-east5', credentials_file: file('sa1.json', creds(sa1)), ...provider }],
      models: { 'gemini-*': 'vx/*', 'claude-*': 'vx/*' },
      retry,
    },
    env,
  )
  servers.push(srv)
  return {
    srv,
    oa: new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'client-key', maxRetries: 0 }),
    an: new Anthropic({ baseURL: srv.url, apiKey: 'client-key', maxRetries: 0 }),
    ge: new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: srv.url } }),
  }
}

const tokenCalls = () => vx.requests.filter(r => r.path === '/token')
const modelCalls = () => vx.requests.filter(r => r.path !== '/token')
const hi = [{ role: 'user' as const, content: 'hello vertex' }]

describe('Gemini on Vertex', () => {
  test('generateContent on /v1/projects/{p}/locations/{l}/publishers/google/models/{m}, with a Bearer token from a verified JWT', async () => {
    const { ge } = await gateway()
    const r = await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hello vertex' })
    expect(r.text).toBe('echo: hello vertex')
    const [tok] = tokenCalls()
    expect(tok?.body).toContain('grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer')
    const call = modelCalls().at(-1)!
    expect(call.path).toBe('/v1/projects/proj-a/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent')
    expect(call.headers.authorization).toMatch(/^Bearer ya29\.fake-/)
    expect(call.headers['x-goog-api-key']).toBeUndefined()
    expect(JSON.stringify(call.headers)).not.toContain('client-key')
  })

  test('streamGenerateContent?alt=sse, and countTokens', async () => {
    const { ge } = await gateway()
    let text = ''
    for await (const c of await ge.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'stream please' })) text += c.text ?? ''
    expect(text).toBe('echo: stream please')
    expect(modelCalls().at(-1)!.path).toEndWith('/publishers/google/models/gemini-2.5-flash:streamGenerateContent')
    expect(modelCalls().at(-1)!.query.alt).toBe('sse')
    const n = await ge.models.countTokens({ model: 'gemini-2.5-flash', contents: 'count me please' })
    expect(n.totalTokens).toBeGreaterThan(0)
    expect(modelCalls().at(-1)!.path).toEndWith('/publishers/google/models/gemini-2.5-flash:countTokens')
  })

  test('location global → the global host path; OpenAI clients are translated to the Gemini wire', async () => {
    const { oa } = await gateway({ location: 'global' })
    const r = await oa.chat.completions.create({ model: 'gemini-2.5-flash', messages: hi })
    expect(r.choices[0]?.message.content).toBe('echo: hello vertex')
    expect(modelCalls().at(-1)!.path).toBe('/v1/projects/proj-a/locations/global/publishers/google/models/gemini-2.5-flash:generateContent')
  })
})

describe('Claude on Vertex', () => {
  test('rawPredict: anthropic_version vertex-2023-10-16 in the body, no model in it; the Anthropic answer as is', async () => {
    const { an } = await gateway()
    const r = await an.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: hi })
    expect(r.content[0]).toMatchObject({ type: 'text', text: 'echo: hello vertex' })
    const call = modelCalls().at(-1)!
    expect(call.path).toBe('/v1/projects/proj-a/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-6:rawPredict')
    expect(call.body.anthropic_version).toBe('vertex-2023-10-16')
    expect(call.body.model).toBeUndefined()
    expect(call.headers['x-api-key']).toBeUndefined()
  })

  test('streamRawPredict: the Anthropic SSE comes back as is; an OpenAI client streams through the IR', async () => {
    const { an, oa } = await gateway()
    const events: string[] = []
    const stream = an.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: hi })
    for await (const e of stream) events.push(e.type)
    expect((await stream.finalMessage()).content[0]).toMatchObject({ text: 'echo: hello vertex' })
    expect(events.at(-1)).toBe('message_stop')
    expect(modelCalls().at(-1)!.path).toEndWith('/publishers/anthropic/models/claude-sonnet-4-6:streamRawPredict')
    let text = ''
    for await (const c of await oa.chat.completions.create({ model: 'claude-sonnet-4-6', messages: hi, stream: true }))
      text += c.choices[0]?.delta.content ?? ''
    expect(text).toBe('echo: hello vertex')
    expect(modelCalls().at(-1)!.body.stream).toBe(true)
    expect(modelCalls().at(-1)!.body.model).toBeUndefined()
  })

  test('anthropic-beta reaches Claude on Vertex; anthropic-version does not (it is in the body)', async () => {
    const { an } = await gateway()
    await an.beta.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: hi, betas: ['context-1m-2025-08-07'] })
    const call = modelCalls().at(-1)!
    expect(call.headers['anthropic-beta']).toBe('context-1m-2025-08-07')
    expect(call.headers['anthropic-version']).toBeUndefined()
    expect(call.body.anthropic_version).toBe('vertex-2023-10-16')
  })

  test('a Vertex model id with its @version is in the URL as is', async () => {
    const { an } = await gateway()
    const r = await an.messages.create({ model: 'claude-sonnet-4-5@20250929', max_tokens: 64, messages: hi })
    expect(r.content[0]).toMatchObject({ text: 'echo: hello vertex' })
    expect(modelCalls().at(-1)!.path).toBe('/v1/projects/proj-a/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict')
  })

  test('count_tokens → publishers/anthropic/models/count-tokens:rawPredict (the model stays in the body)', async () => {
    const { an } = await gateway()
    const r = await an.messages.countTokens({ model: 'claude-sonnet-4-6', messages: hi })
    expect(r.input_tokens).toBeGreaterThan(0)
    const call = modelCalls().at(-1)!
    expect(call.path).toBe('/v1/projects/proj-a/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict')
    expect(call.body.model).toBe('claude-sonnet-4-6')
  })
})

describe('access tokens', () => {
  test('one token for many calls, and one token exchange for concurrent first calls', async () => {
    const { ge } = await gateway()
    await Promise.all([1, 2, 3, 4, 5].map(i => ge.models.generateContent({ model: 'gemini-2.5-flash', contents: `hi ${i}` })))
    await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'again' })
    expect(tokenCalls().length).toBe(1)
    expect(modelCalls().length).toBe(6)
    expect(new Set(modelCalls().map(r => r.headers.authorization)).size).toBe(1)
  })

  test('a token within 5 minutes of expiry is renewed before use', async () => {
    const short = await startFake('vertex', { vertexAccounts: { [sa1.json.client_email!]: sa1.publicKey }, tokenTtl: 240 })
    try {
      const { ge } = await gateway({ base_url: short.url, credentials: { ...sa1.json, token_uri: `${short.url}/token` }, credentials_file: undefined })
      await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'one' })
      await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'two' })
      const tokens = short.requests.filter(r => r.path === '/token')
      expect(tokens.length).toBe(2)
      const auths = short.requests.filter(r => r.path !== '/token').map(r => r.headers.authorization)
      expect(auths[0]).not.toBe(auths[1])
    } finally {
      await short.stop()
    }
  })

  test('a cached token Vertex refuses (401: revoked) is dropped and the call made once more with a new one', async () => {
    const opts: FakeOptions = { vertexAccounts: { [sa1.json.client_email!]: sa1.publicKey } }
    const f = await startFake('vertex', opts)
    try {
      const { ge } = await gateway({ base_url: f.url, credentials: { ...sa1.json, token_uri: `${f.url}/token` }, credentials_file: undefined })
      await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'one' })
      revokeTokens(opts)
      const r = await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'two' })
      expect(r.text).toBe('echo: two')
      expect(f.requests.map(q => (q.path === '/token' ? 'token' : 'call'))).toEqual(['token', 'call', 'call', 'token', 'call'])
      // a service account Vertex keeps refusing is not retried in a loop: one new token, then the 401 stands
      revokeTokens(opts)
      f.handler = q => (q.path !== '/token' ? { kind: 'error', status: 401, message: 'Request had invalid authentication credentials.' } : undefined)
      f.requests.length = 0
      const e = await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'three' }).catch(x => x)
      expect(String(e.message)).toContain('rejected the provider key for vx')
      expect(f.requests.map(q => (q.path === '/token' ? 'token' : 'call'))).toEqual(['call', 'token', 'call'])
    } finally {
      await f.stop()
    }
  })

  test('Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS names an authorized_user file (refresh_token grant)', async () => {
    const adc = file('adc.json', {
      type: 'authorized_user',
      client_id: 'cid.apps.googleusercontent.com',
      client_secret: 'd-secret',
      refresh_token: '1//adc-refresh-token',
    })
    // ADC has no token_uri: the fake stands in for oauth2.googleapis.com through the file's own (the gcloud file may carry one)
    writeFileSync(adc, JSON.stringify({ ...JSON.parse(await Bun.file(adc).text()), token_uri: TOKEN_URI }))
    const { ge } = await gateway({ credentials_file: undefined, project: 'adc-project' }, { GOOGLE_APPLICATION_CREDENTIALS: adc })
    const r = await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'adc' })
    expect(r.text).toBe('echo: adc')
    expect(tokenCalls()[0]?.body).toContain('grant_type=refresh_token')
    expect(modelCalls().at(-1)!.path).toStartWith('/v1/projects/adc-project/locations/us-east5/')
  })

  test("a key the token endpoint does not know: the caller's dialect, naming the account and Google's answer; no key or token logged", async () => {
    const { srv, oa, an, ge } = await gateway({ credentials_file: undefined, credentials: JSON.stringify({ ...stranger.json, token_uri: TOKEN_URI }) })
    const e1 = (await oa.chat.completions.create({ model: 'gemini-2.5-flash', messages: hi }).catch(e => e)) as InstanceType<typeof OpenAI.APIError>
    expect(e1).toBeInstanceOf(OpenAI.APIError)
    expect(e1.message).toContain('stranger@proj-x.iam.gserviceaccount.com/proj-x')
    expect(e1.message).toContain('invalid_grant: Invalid JWT Signature.')
    expect(modelCalls().length).toBe(0)
    const res = await fetch(`${srv.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'client-key' },
      body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 8, messages: hi }),
    })
    // the account is now disabled (as a rejected key is): later calls say so, in their own dialect
    const body = (await res.json()) as any
    expect(body.type).toBe('error')
    expect(body.error.message).toContain('upstream rejected the provider key for vx')
    const e2 = (await an.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 8, messages: hi }).catch(e => e)) as InstanceType<typeof Anthropic.APIError>
    expect(e2).toBeInstanceOf(Anthropic.APIError)
    const e3 = await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' }).catch(e => e)
    expect(JSON.parse(e3.message.replace(/^[^{]*/, '')).error.status).toBeString()
    expect(modelCalls().length).toBe(0)
    const logs = srv.logs.join('\n')
    expect(logs).not.toContain('PRIVATE KEY')
    expect(logs).not.toContain(stranger.json.private_key!.split('\n')[1]!)
  })

  test('a token endpoint outage (503) is transient: the account is not disabled, and works once the endpoint is back', async () => {
    const opts: FakeOptions = { vertexAccounts: { [sa1.json.client_email!]: sa1.publicKey } }
    const flaky = await startFake('vertex', opts)
    try {
      const { oa } = await gateway({ base_url: flaky.url, credentials: { ...sa1.json, token_uri: `${flaky.url}/token` }, credentials_file: undefined })
      opts.vertexTokenOutage = { status: 503, body: { error: 'temporarily_unavailable', error_description: 'try again' } }
      const e = (await oa.chat.completions.create({ model: 'gemini-2.5-flash', messages: hi }).catch(x => x)) as InstanceType<typeof OpenAI.APIError>
      expect(e.message).toContain(
        'Vertex AI account sa-one@proj-a.iam.gserviceaccount.com/proj-a: the token endpoint answered 503 (temporarily_unavailable: try again)',
      )
      expect(e.message).not.toContain('rejected the provider key')
      opts.vertexTokenOutage = undefined
      // a transient failure rests an account only softly (used again when no other is left), never for good
      const r = await oa.chat.completions.create({ model: 'gemini-2.5-flash', messages: hi })
      expect(r.choices[0]?.message.content).toBe('echo: hello vertex')
    } finally {
      await flaky.stop()
    }
  })

  test('an unreadable credentials_file: a warning at start, then an answer naming the file and the fix (the process keeps serving)', async () => {
    const { srv, oa } = await gateway({ credentials_file: join(dir, 'missing.json') })
    expect(srv.logs.join('\n')).toContain('missing.json cannot be read (no such file)')
    const e = (await oa.chat.completions.create({ model: 'gemini-2.5-flash', messages: hi }).catch(x => x)) as InstanceType<typeof OpenAI.APIError>
    expect(e.message).toContain('missing.json cannot be read (no such file); point it at a service-account JSON key')
    expect((await fetch(`${srv.url}/health`)).status).toBe(200)
  })
})

describe('several accounts, pooled like keys', () => {
  test("a rate-limited project rests for that model; the next call goes straight to the other account's project", async () => {
    const accounts = [{ credentials: creds(sa1) }, { credentials: creds(sa2), project: 'proj-b' }]
    const { ge } = await gateway({ credentials_file: undefined, accounts }, {}, { max_attempts: 3, max_wait: 5 })
    vx.handler = rec =>
      rec.path.includes('/projects/proj-a/') ? { kind: 'error', status: 429, message: 'Resource exhausted', retryDelaySeconds: 60 } : undefined
    const r1 = await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'one' })
    expect(r1.text).toBe('echo: one')
    expect(modelCalls().map(r => r.path.split('/')[3])).toEqual(['proj-a', 'proj-b'])
    vx.requests.length = 0
    await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'two' })
    await ge.models.generateContent({ model: 'gemini-2.5-flash', contents: 'three' })
    expect(modelCalls().map(r => r.path.split('/')[3])).toEqual(['proj-b', 'proj-b'])
    // each account's token came from its own service account
    expect(new Set(modelCalls().map(r => r.headers.authorization)).size).toBe(1)
  })
})

describe('agproxy doctor', () => {
  test("each account mints a token: ✓ for a known service account, ✗ with Google's answer for another; no key in the report", async () => {
    const accounts = [{ credentials: creds(sa1) }, { credentials: { ...stranger.json, token_uri: TOKEN_URI } }]
    const config = buildConfig({ providers: [{ name: 'vx', type: 'vertex', base_url: vx.url, accounts }] })
    const h = mkdtempSync(join(tmpdir(), 'agproxy-vertex-home-'))
    const r = await doctorCommand(config, { home: h, env: { HOME: h } })
    expect(r.out).toContain('✓ vx (vertex) account sa-one@proj-a.iam.gserviceaccount.com/proj-a: access token issued')
    expect(r.out).toContain(
      '✗ vx (vertex) account stranger@proj-x.iam.gserviceaccount.com/proj-x: the token endpoint answered 400 (invalid_grant: Invalid JWT Signature.)',
    )
    expect(r.out).not.toContain('PRIVATE KEY')
  })
})

describe('config', () => {
  const check = (p: Record<string, unknown>) => () => buildConfig({ providers: [{ name: 'v', ...p }] }, {}, {}, 'agproxy.yaml')
  test('vertex takes no api_keys; other types take no vertex settings; location is a bare region name', () => {
    expect(check({ type: 'vertex', api_keys: ['k'] })).toThrow(ConfigError)
    expect(check({ type: 'vertex', api_keys: ['k'] })).toThrow('a vertex provider authenticates with a service account')
    expect(check({ type: 'gemini', project: 'p' })).toThrow('project: only a provider of type vertex takes project (this one is gemini)')
    expect(check({ type: 'vertex', location: 'https://us-east5-aiplatform.googleapis.com' })).toThrow(ConfigError)
    expect(check({ type: 'vertex', project: 'p', location: 'europe-west1', credentials_file: '/x.json' })).not.toThrow()
  })
})
