/**
 * End to end: a mix of calls through the official SDKs (OpenAI, Anthropic, Google), one retried and one failed; then
 * the request rows, the usage table and the admin API must agree with what the fake upstreams saw and answered,
 * token counts and cost included. The records come from the per-request trace (src/observe, branch `observe`):
 * until it is on this branch nothing emits them, so the tests that need rows are `test.todo` (run with --todo).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI } from '@google/genai'
import { calcPrice } from '@pydantic/genai-prices'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'
import { maskKey } from '../src/providers/pool'
import type { StoredRequest, UsageRow } from '../src/store/types'

const ADMIN = 'adm-0123456789abcdef-e2e'
const KA = 'sk-client-a-0123456789abcdef'
const KB = 'sk-client-b-0123456789abcxyz'
let oai: Fake
let ant: Fake
let gem: Fake
let srv: TestServer

const admin = async <T>(path: string): Promise<T> => (await fetch(`${srv.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as Promise<T>
const price = (model: string, input: number, output: number, cached = 0) =>
  calcPrice({ input_tokens: input, output_tokens: output, cache_read_tokens: cached }, model)?.total_price

beforeAll(async () => {
  oai = await startFake('openai')
  ant = await startFake('anthropic')
  gem = await startFake('gemini')
  srv = await startAgproxy({
    auth_mode: 'strict',
    api_keys: [KA, KB],
    admin_key: ADMIN,
    retry: { max_attempts: 2, max_wait: 5 },
    providers: [
      { name: 'oai', type: 'openai', base_url: oai.url, api_keys: [{ key: 'sk-upstream-oai-0123456789', name: 'oai-main' }] },
      { name: 'ant', type: 'anthropic', base_url: ant.url, api_keys: [{ key: 'sk-ant-upstream-0123456789', name: 'ant-main' }] },
      { name: 'gem', type: 'gemini', base_url: gem.url, api_keys: [{ key: 'AIza-upstream-0123456789abc', name: 'gem-main' }] },
    ],
    models: { 'gpt-*': 'oai/*', 'claude-*': 'ant/*', 'gemini-*': 'gem/*' },
  })
})
afterAll(async () => {
  await srv.stop(0)
  for (const f of [oai, ant, gem]) await f.stop()
})

/** the mix: what each call sent, and what the fakes answered */
async function mix() {
  const openaiA = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: KA, maxRetries: 0 })
  oai.enqueue({ kind: 'text', text: 'one', usage: { input: 11, output: 7, cached: 4 } })
  await openaiA.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a' }] })
  oai.enqueue({ kind: 'text', text: 'two', usage: { input: 21, output: 9 } })
  const stream = await openaiA.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'b' }],
    stream: true,
    stream_options: { include_usage: true },
  })
  for await (const _ of stream) void _
  // retried: a 429, then an answer on the second attempt
  oai.enqueue({ kind: 'error', status: 429, message: 'slow down', retryDelaySeconds: 0 }, { kind: 'text', text: 'three', usage: { input: 5, output: 3 } })
  await openaiA.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'c' }] })

  const anthropicB = new Anthropic({ baseURL: srv.url, apiKey: KB, maxRetries: 0 })
  ant.enqueue({ kind: 'text', text: 'four', usage: { input: 13, output: 5 } })
  await anthropicB.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 50, messages: [{ role: 'user', content: 'd' }] })

  const googleB = new GoogleGenAI({ apiKey: KB, httpOptions: { baseUrl: srv.url } })
  gem.enqueue({ kind: 'text', text: 'five', usage: { input: 17, output: 9 } })
  await googleB.models.generateContent({ model: 'gemini-2.5-flash', contents: 'e' })
  // failed: the upstream answers 500 to both attempts
  gem.enqueue({ kind: 'error', status: 500, message: 'boom' }, { kind: 'error', status: 500, message: 'boom' })
  await googleB.models.generateContent({ model: 'gemini-2.5-flash', contents: 'f' }).catch(() => {})
}

describe('the request log after a mix of SDK calls', () => {
  test('before any call, the log and usage are empty and the admin API answers', async () => {
    expect((await admin<{ requests: unknown[] }>('/admin/requests')).requests).toEqual([])
    expect((await admin<{ rows: unknown[] }>('/admin/usage')).rows).toEqual([])
  })

  test('rows, attempts, usage and cost agree with what the fakes saw (needs the request records of branch observe)', async () => {
    await mix()
    let rows: StoredRequest[] = []
    for (let i = 0; i < 60 && rows.length < 6; i++, await Bun.sleep(50))
      rows = (await admin<{ requests: StoredRequest[] }>('/admin/requests?limit=100')).requests
    const calls = rows.filter(r => r.endpoint).reverse()
    expect(calls.map(r => [r.provider, r.status, r.stream, r.clientKey])).toEqual([
      ['oai', 200, false, maskKey(KA)],
      ['oai', 200, true, maskKey(KA)],
      ['oai', 200, false, maskKey(KA)],
      ['ant', 200, false, maskKey(KB)],
      ['gem', 200, false, maskKey(KB)],
      ['gem', expect.any(Number), false, maskKey(KB)],
    ])
    expect(calls[5]!.status).toBeGreaterThanOrEqual(500)
    expect(calls.slice(0, 5).map(r => [r.usage?.inputTokens, r.usage?.outputTokens])).toEqual([
      [11, 7],
      [21, 9],
      [5, 3],
      [13, 5],
      [17, 9],
    ])
    expect(calls[0]!.usage?.cachedInputTokens).toBe(4)
    // the retried one: two attempts, the first a 429
    expect(calls[2]!.retries).toBe(1)
    expect(calls[2]!.attempts.map(a => a.status)).toEqual([429, 200])
    const one = await admin<StoredRequest>(`/admin/requests/${calls[2]!.id}`)
    expect(one.attempts.map(a => [a.provider, a.key, a.status])).toEqual([
      ['oai', 'oai-main', 429],
      ['oai', 'oai-main', 200],
    ])
    // cost: the bundled table's price of what the upstream reported
    expect(calls[0]!.costUsd).toBeCloseTo(price('gpt-4o-mini', 11, 7, 4)!, 12)
    expect(calls[3]!.costUsd).toBeCloseTo(price('claude-sonnet-4-20250514', 13, 5)!, 12)
    expect(calls[4]!.costUsd).toBeCloseTo(price('gemini-2.5-flash', 17, 9)!, 12)
    // every upstream request is in the log (as attempts)
    expect(calls.reduce((n, r) => n + r.attempts.length, 0)).toBe(oai.requests.length + ant.requests.length + gem.requests.length)

    const byKey = Object.fromEntries((await admin<{ rows: UsageRow[] }>('/admin/usage?by=key')).rows.map(u => [u.clientKey, u]))
    expect(byKey[maskKey(KA)]).toMatchObject({ requests: 3, errors: 0, inputTokens: 37, outputTokens: 19, cachedTokens: 4 })
    expect(byKey[maskKey(KB)]).toMatchObject({ requests: 3, errors: 1, inputTokens: 30, outputTokens: 14 })
    const byProvider = Object.fromEntries((await admin<{ rows: UsageRow[] }>('/admin/usage?by=provider')).rows.map(u => [u.provider, u]))
    expect(byProvider.oai!.costUsd).toBeCloseTo(price('gpt-4o-mini', 11, 7, 4)! + price('gpt-4o-mini', 21, 9)! + price('gpt-4o-mini', 5, 3)!, 12)
    expect(Object.keys(byProvider).sort()).toEqual(['ant', 'gem', 'oai'])
  })
})
