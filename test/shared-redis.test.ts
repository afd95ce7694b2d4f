/**
 * Several instances sharing one real Redis (redis_url; test/support/servers.ts starts Debian's redis-server): a 429
 * learned by instance A is honoured by B, a key disabled by hand on A is disabled on B, a conversation's sticky key
 * travels, the counters stay exact under concurrent increments from both, and Redis stopped mid-run then started
 * again fails no request (one warning, a /healthz reason, a recovery line, and what was learned meanwhile is shared).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { startFake, type Fake } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { call, keyState, provider, until } from './support/resilience'
import { hasRedis, startRedis, type RedisServer } from './support/servers'
import { RedisClient } from 'bun'
import { SharedRedis } from '../src/shared/redis'
import { createLogger, silentLogger } from '../src/log'
import { buildConfig } from '../src/config/load'

const O = ['sk-proj-SHAREDA0000000000000000000001', 'sk-proj-SHAREDB0000000000000000000002']
const named = O.map((key, i) => ({ key, name: `k${i + 1}` }))
const ADMIN = 'admin-key-shared-0123456789'
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
  o.handler = undefined
})
async function two(extra: Record<string, unknown> = {}) {
  const settings = {
    redis_url: redis.url,
    admin_key: ADMIN,
    retry: { max_attempts: 3, max_wait: 0 },
    providers: [provider(`up${Date.now()}`, o, named)],
    ...extra,
  }
  const [a, b] = await Promise.all([startAgproxy(settings), startAgproxy(settings)])
  running.push(a, b)
  await until(() => a.logs.some(l => l.includes('redis: connected')) && b.logs.some(l => l.includes('redis: connected')))
  return [a, b] as const
}
const keyOf = (i: number) => O.indexOf(o.requests[i]?.key ?? '') + 1
const providerOf = (srv: TestServer) => srv.agproxy.dispatcher.providers.keys().next().value!

test('redis_url and database_url: a wrong scheme is refused naming the setting, never echoing the password', () => {
  expect(() => buildConfig({ redis_url: 'http://u:hunter2@cache:6379' })).toThrow(/redis_url: expected .*redis:\/\/.*got "http:\/\/…@cache:6379"/)
  expect(() => buildConfig({ database_url: 'mysql://u:hunter2@db/log' })).toThrow(/database_url: expected .*postgres:\/\//)
  for (const bad of [{ redis_url: 'http://u:hunter2@cache' }, { database_url: 'mysql://u:hunter2@db/log' }])
    expect(() => buildConfig(bad)).not.toThrow(/hunter2/)
  expect(buildConfig({ redis_url: 'redis://cache:6379', database_url: 'postgres://agproxy@db/log' })).toMatchObject({ redis_url: 'redis://cache:6379' })
})

run('key states shared through Redis', () => {
  test('a 429 learned by instance A is honoured by B: B never sends to the cooling key', async () => {
    const [a, b] = await two()
    o.handler = r => (r.key === O[0] ? { kind: 'error', status: 429, message: 'rate limited', headers: { 'retry-after': '60' } } : undefined)
    expect((await call(a, 'openai', 'gpt-4o', { prompt: 'first' })).status).toBe(200)
    expect(o.requests.map((_, i) => keyOf(i))).toEqual([1, 2])
    const p = providerOf(b)
    // OpenAI's limits are per model: the cooldown is k1's for gpt-4o
    await until(async () => !!(await keyState(b, p, 'k1')).models?.['gpt-4o'])
    const k1 = (await keyState(b, p, 'k1')).models!['gpt-4o']!
    expect(k1.reason).toContain('429')
    expect((k1.until - Date.now()) / 1000).toBeGreaterThan(55)
    o.reset()
    for (let i = 0; i < 4; i++) expect((await call(b, 'openai', 'gpt-4o', { prompt: `b ${i}` })).status).toBe(200)
    expect(o.requests.map((_, i) => keyOf(i))).toEqual([2, 2, 2, 2])
  })

  test('an instance started later reads the cooldowns already in Redis', async () => {
    const [a] = await two()
    o.handler = r => (r.key === O[1] ? { kind: 'error', status: 429, message: 'slow down', headers: { 'retry-after': '30' } } : undefined)
    const p = providerOf(a)
    // round robin: k1 then k2 (429) then k1
    for (let i = 0; i < 2; i++) expect((await call(a, 'openai', 'gpt-4o', { prompt: `a ${i}` })).status).toBe(200)
    const late = await startAgproxy({ redis_url: redis.url, retry: { max_attempts: 3, max_wait: 0 }, providers: [provider(p, o, named)] })
    running.push(late)
    await until(async () => !!(await keyState(late, p, 'k2')).models?.['gpt-4o'])
  })

  test('a key disabled by hand on A is disabled on B, and enabled again on both', async () => {
    const [a, b] = await two()
    const p = providerOf(a)
    const admin = (srv: TestServer, what: string) =>
      fetch(`${srv.url}/admin/providers/${p}/keys/k1/${what}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } })
    expect((await admin(a, 'disable')).status).toBe(200)
    await until(async () => (await keyState(b, p, 'k1')).status === 'disabled')
    expect((await keyState(b, p, 'k1')).manual).toBe(true)
    expect((await admin(a, 'enable')).status).toBe(200)
    await until(async () => (await keyState(b, p, 'k1')).status === 'active')
  })

  test('a conversation keeps its key on the other instance (sticky sessions travel)', async () => {
    const [a, b] = await two()
    const session = { 'x-claude-code-session-id': 'conv-42' }
    // A's round robin: k1 for another conversation first, so conv-42 lands on k2
    expect((await call(a, 'openai', 'gpt-4o', { prompt: 'other' })).status).toBe(200)
    expect((await call(a, 'openai', 'gpt-4o', { headers: session })).status).toBe(200)
    expect(keyOf(1)).toBe(2)
    await Bun.sleep(100)
    // B's round robin would start at k1
    expect((await call(b, 'openai', 'gpt-4o', { headers: session })).status).toBe(200)
    expect(keyOf(2)).toBe(2)
  })
})

run('Redis off the requests’ path', () => {
  test('a new conversation per request on a pool of keys: the sticky keys go out in a few batches, not one Redis call per request', async () => {
    const [a, b] = await two()
    const stats = new RedisClient(redis.url)
    await stats.send('CONFIG', ['RESETSTAT'])
    // each prompt is a conversation of its own (its sticky value is the first user turn's hash)
    const res = await Promise.all(Array.from({ length: 40 }, (_, i) => call(a, 'openai', 'gpt-4o', { prompt: `conversation ${i}` })))
    expect(res.every(r => r.status === 200)).toBe(true)
    await Bun.sleep(100)
    const info = String(await stats.send('INFO', ['commandstats']))
    const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
    expect(calls('eval')).toBe(0)
    expect(calls('publish')).toBeGreaterThan(0)
    expect(calls('publish')).toBeLessThanOrEqual(5)
    stats.close()
    // and B sends each of those conversations to the key A gave it
    const keyOnA = new Map(o.requests.map(r => [r.body.messages[0].content as string, r.key]))
    o.reset()
    for (let i = 0; i < 6; i++) expect((await call(b, 'openai', 'gpt-4o', { prompt: `conversation ${i}` })).status).toBe(200)
    expect(o.requests.map(r => r.key)).toEqual(Array.from({ length: 6 }, (_, i) => keyOnA.get(`conversation ${i}`)))
  })
})

run('counters', () => {
  test('incr from two connections at once: every increment counts (atomic, no read-then-write)', async () => {
    const x = new SharedRedis(redis.url, { log: silentLogger, timeoutMs: 1000 })
    const y = new SharedRedis(redis.url, { log: silentLogger, timeoutMs: 1000 })
    const key = `rpm:test:${Date.now()}`
    const counts = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? x : y).incr(key, 1, 60_000)))
    expect(counts.toSorted((m, n) => m - n)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    expect(await y.get(key)).toBe(200)
    // fractions (a budget in USD) and negative steps add up exactly too
    const usd = `budget:test:${Date.now()}`
    await Promise.all([0.25, 0.25, 0.125, -0.125, 1.5].map((n, i) => (i % 2 ? x : y).incr(usd, n, 60_000)))
    expect(await x.get(usd)).toBe(2)
    const { resetMs } = await x.hit(key, 0, 60_000)
    expect(resetMs).toBeGreaterThan(55_000)
    expect(resetMs).toBeLessThanOrEqual(60_000)
    // parallel slots: exactly `limit` of 50 concurrent acquires succeed; a release frees one
    const slot = `par:test:${Date.now()}`
    const got = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? x : y).acquire(slot, 7)))
    expect(got.filter(Boolean).length).toBe(7)
    expect(await x.acquire(slot, 7)).toBe(false)
    await y.release(slot)
    expect(await x.acquire(slot, 7)).toBe(true)
    await Promise.all([x.close(), y.close()])
  })
})

test('no Redis at the URL: counters answer locally at once, one warning, a degraded reason; nothing throws', async () => {
  const lines: string[] = []
  const log = createLogger('debug', l => lines.push(l))
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = probe.port
  probe.stop(true)
  const r = new SharedRedis(`redis://user:hunter2@127.0.0.1:${port}`, { log })
  const target = { degraded: new Map<string, string>() }
  r.attach(target)
  const t0 = performance.now()
  expect(await Promise.all([r.incr('rpm', 1, 60_000), r.incr('rpm', 1, 60_000), r.incr('rpm', 2, 60_000)])).toEqual([1, 2, 4])
  expect(await r.acquire('par', 1)).toBe(true)
  expect(await r.acquire('par', 1)).toBe(false)
  await r.release('par')
  expect(await r.acquire('par', 1)).toBe(true)
  expect(performance.now() - t0).toBeLessThan(2500)
  expect(r.up).toBe(false)
  expect(target.degraded.get('redis')).toContain('is not answering')
  expect(lines.filter(l => l.includes('WARN')).length).toBe(1)
  expect(lines.join('\n')).not.toContain('hunter2')
  await r.close()
})

run('slow answers', () => {
  test('answers that all come late (a busy instance) are local fallbacks, not Redis away: no warning, no degraded reason', async () => {
    // a proxy in front of Redis that holds every answer 60 ms: each call is past its 25 ms budget, none is lost
    const upstream = new Map<object, Promise<Bun.Socket>>()
    const proxy = Bun.listen<undefined>({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        open(client) {
          upstream.set(
            client,
            Bun.connect({
              hostname: '127.0.0.1',
              port: redis.port,
              socket: {
                data: (_, chunk) => void setTimeout(() => client.write(chunk), 60),
                close: () => void client.end(),
              },
            }),
          )
        },
        data: async (client, chunk) => void (await upstream.get(client))?.write(chunk),
        close: async client => {
          ;(await upstream.get(client))?.end()
        },
      },
    })
    const lines: string[] = []
    const r = new SharedRedis(`redis://127.0.0.1:${proxy.port}`, { log: createLogger('debug', l => lines.push(l)) })
    const target = { degraded: new Map<string, string>() }
    r.attach(target)
    await until(() => lines.some(l => l.includes('redis: connected')), 5000)
    const answers: unknown[] = []
    const end = Date.now() + 1600
    while (Date.now() < end) {
      answers.push(await r.call('PING', []))
      await Bun.sleep(40)
    }
    expect(answers.every(a => a === undefined)).toBe(true)
    expect(r.up).toBe(true)
    expect(target.degraded.size).toBe(0)
    expect(lines.filter(l => l.includes('WARN'))).toEqual([])
    await r.close()
    proxy.stop(true)
  })
})

run('Redis going away and coming back', () => {
  test('no request fails; one warning, a /healthz reason, the recovery logged, what was learned meanwhile shared', async () => {
    const [a, b] = await two()
    const p = providerOf(a)
    const failed: number[] = []
    let stop = false
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await call(i % 2 ? a : b, 'openai', 'gpt-4o', { prompt: `load ${i}` })
        if (r.status !== 200) failed.push(r.status)
      }
    })()
    await Bun.sleep(200)
    await redis.stop()
    await until(() => a.logs.some(l => l.includes('redis:') && l.includes('not answering')))
    const health = (await (await fetch(`${a.url}/healthz`)).json()) as { status: string; reasons?: string[] }
    expect(health.status).toBe('degraded')
    expect(health.reasons?.some(r => r.startsWith('redis: '))).toBe(true)
    // a cooldown learned on A while Redis is away
    o.handler = r => (r.key === O[0] ? { kind: 'error', status: 429, message: 'rate limited', headers: { 'retry-after': '60' } } : undefined)
    await until(async () => !!(await keyState(a, p, 'k1')).models?.['gpt-4o'])
    await Bun.sleep(300)
    await redis.start()
    await until(() => a.logs.some(l => l.includes('answers again')) && b.logs.some(l => l.includes('answers again')), 5000)
    await until(async () => !!(await keyState(b, p, 'k1')).models?.['gpt-4o'])
    stop = true
    await load
    expect(failed).toEqual([])
    expect(a.logs.filter(l => l.includes('not answering')).length).toBe(1)
    expect(((await (await fetch(`${a.url}/healthz`)).json()) as { status: string }).status).toBe('ok')
  }, 30_000)
})
