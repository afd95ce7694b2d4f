/**
 * Client keys across several instances (issue: client keys and several instances): two agproxy instances share one
 * real Redis (redis_url), so a client key's limits hold across both — an rpm of N lets exactly N requests through
 * whichever instance they reach, the rest get 429 with retry-after — and a budget spent through A stops the key on B.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { startFake, type Fake } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { call, provider, until } from './support/resilience'
import { hasRedis, startRedis, type RedisServer } from './support/servers'

const CK = 'sk-client-team-shared-0123456789abcdef'
const run = hasRedis() ? describe : describe.skip

let o: Fake
let redis: RedisServer
beforeAll(async () => {
  o = await startFake('openai')
  if (hasRedis()) redis = await startRedis()
})
afterAll(async () => {
  await o.stop()
  await redis?.stop()
})
const running: TestServer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(s => s.stop(0)))
  o.reset()
})

/** two instances on one Redis, with one client key `team` of `limits` */
async function two(limits: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const settings = {
    redis_url: redis.url,
    retry: { max_attempts: 1, max_wait: 0 },
    providers: [provider(`up${Date.now()}`, o, [{ key: 'sk-proj-UPSTREAM00000000000000000001', name: 'k1' }])],
    client_keys: [{ name: `team${Date.now()}`, key: CK, ...limits }],
    ...extra,
  }
  const [a, b] = await Promise.all([startAgproxy(settings), startAgproxy(settings)])
  running.push(a, b)
  await until(() => a.logs.some(l => l.includes('redis: connected')) && b.logs.some(l => l.includes('redis: connected')))
  return [a, b] as const
}
const auth = { authorization: `Bearer ${CK}` }

run('client-key limits hold across instances sharing Redis', () => {
  test('rpm 5: of 12 concurrent requests spread over A and B, exactly 5 succeed; the rest get 429 with retry-after', async () => {
    const [a, b] = await two({ rpm: 5 })
    // the windows are whole minutes: start well inside one
    const intoMinute = Date.now() % 60_000
    if (intoMinute > 50_000) await Bun.sleep(60_500 - intoMinute)
    const res = await Promise.all(Array.from({ length: 12 }, (_, i) => call(i % 2 ? b : a, 'openai', 'gpt-4o', { prompt: `r${i}`, headers: auth })))
    const ok = res.filter(r => r.status === 200)
    const limited = res.filter(r => r.status === 429)
    expect(ok).toHaveLength(5)
    expect(limited).toHaveLength(7)
    for (const r of limited) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(((await r.json()) as { error: { message: string } }).error.message).toContain('rpm')
    }
    // both instances served some of the five, and refused some of the seven
    expect(o.requests.length).toBe(5)
  })

  test('a budget spent through A stops the key on B (403 naming the budget)', async () => {
    // one call costs far more than the budget: 1000 USD per million tokens
    const [a, b] = await two({ budget: { usd: 0.001, period: 'day' } }, { prices: { 'gpt-4o': { input: 1000, output: 1000 } } })
    expect((await call(a, 'openai', 'gpt-4o', { prompt: 'spend', headers: auth })).status).toBe(200)
    // the spend is counted when A's request is over, in Redis; B's very first call is refused (B spent nothing itself)
    await Bun.sleep(300)
    const last = await call(b, 'openai', 'gpt-4o', { prompt: 'after', headers: auth })
    expect(o.requests.length).toBe(1)
    expect(last.status).toBe(403)
    expect(((await last.json()) as { error: { message: string } }).error.message).toContain('budget')
  })
})
