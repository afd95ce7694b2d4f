/**
 * Per-app state (src/state.ts): two apps in one process share no cache. A Responses conversation stored by app A
 * is unknown to app B (the official OpenAI SDK, through each app's fetch handler), and a host found down by A is
 * not down for B.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { createApp, type Agproxy } from '../src/app'
import { buildConfig } from '../src/config/load'
import { silentLogger } from '../src/log'
import { startFake, type Fake } from './fakes/upstream'

let fake: Fake
beforeAll(async () => {
  fake = await startFake('anthropic')
})
afterAll(async () => {
  await fake.stop()
})

const appWith = (providers: Array<{ name: string }>): Agproxy => {
  const models = { m: `${providers[0]?.name}/some-model` }
  return createApp(buildConfig({ port: 0, providers, models }, {}, {}, 'test-config'), { log: silentLogger, env: {} })
}

/** The official SDK, talking to `app` in process. */
const sdk = (app: Agproxy) =>
  new OpenAI({
    baseURL: 'http://127.0.0.1/v1',
    apiKey: 'any',
    maxRetries: 0,
    fetch: ((url: string, init?: RequestInit) => app.fetch(new Request(url, init))) as unknown as typeof fetch,
  })

describe('two apps in one process share nothing', () => {
  test('a Responses previous_response_id stored in app A is unknown to app B', async () => {
    // translated (Anthropic upstream): agproxy itself keeps the conversation
    const an = { name: 'an', type: 'anthropic', base_url: `http://127.0.0.1:${fake.port}`, api_keys: ['sk-ant-test-0123456789abcdef'] }
    const a = appWith([an])
    const b = appWith([an])
    const first = await sdk(a).responses.create({ model: 'm', input: 'remember me' })
    expect(first.id).toBeTruthy()
    // A knows it
    const next = await sdk(a).responses.create({ model: 'm', input: 'and now?', previous_response_id: first.id })
    expect(next.status).toBe('completed')
    // B does not
    const err = await sdk(b)
      .responses.create({ model: 'm', input: 'and now?', previous_response_id: first.id })
      .catch(e => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error).toMatchObject({ param: 'previous_response_id' })
    expect(String(err.message)).toContain('was not found')
  })

  test('a host found down in app A is not down in app B', async () => {
    const dead = { name: 'dead', type: 'openai', base_url: 'http://127.0.0.1:9/v1', api_keys: ['sk-test-0123456789abcdef'] }
    const a = appWith([dead])
    const b = appWith([dead])
    const err = await sdk(a)
      .chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
      .catch(e => e)
    expect(err).toBeInstanceOf(OpenAI.APIError)
    const provider = { baseUrl: 'http://127.0.0.1:9/v1' }
    expect(a.state.hosts.down(provider)).toBe(true)
    expect(b.state.hosts.down(provider)).toBe(false)
    expect(a.state.memory).not.toBe(b.state.memory)
  })
})

test('/healthz says degraded, with the reasons, while a part is failing — and ok again once it recovers', async () => {
  const a = createApp(buildConfig({}), { log: silentLogger, env: {} })
  const health = async () => (await a.fetch(new Request('http://127.0.0.1:8045/healthz'))).json()
  expect(await health()).toMatchObject({ status: 'ok' })
  a.state.degraded.set('request-log', 'the database is read-only')
  expect(await health()).toMatchObject({ status: 'degraded', reasons: ['request-log: the database is read-only'] })
  a.state.degraded.delete('request-log')
  expect(await health()).toMatchObject({ status: 'ok' })
})
