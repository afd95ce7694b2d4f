/**
 * The work every model call repeats after the front door stays small: the retry loop makes no collections for a call
 * answered at the first attempt, and an upstream call whose answer is over is aborted with a reason made once (an
 * abort without one makes a DOMException, with its stack, each time).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'
import { realClock, runRetryLoop, type RetryRun } from '../src/dispatch/retry-loop'
import type { Answer, Attempt } from '../src/dispatch/types'
import { KeyPool } from '../src/providers/pool'
import type { RequestRecord } from '../src/observe/record'
import type { Provider } from '../src/providers/registry'

/** The frame that called the constructor or method being watched (the stack's third line: Error, the watcher, its caller). */
const callerOf = (stack: string | undefined) => stack?.split('\n')[2] ?? ''

describe('the retry loop, for a call answered at the first attempt', () => {
  test('makes no Map or Set (what it tracks of failures is made at the first failure)', async () => {
    const made: string[] = []
    const OriginalMap = globalThis.Map
    const OriginalSet = globalThis.Set
    const watch = <C>(Base: C, name: string) =>
      class extends (Base as unknown as new (...a: unknown[]) => object) {
        constructor(...a: unknown[]) {
          super(...a)
          if (/dispatch\/retry-loop\.ts/.test(callerOf(new Error().stack))) made.push(name)
        }
      } as unknown as C
    const p: Provider = {
      name: 'p',
      type: 'openai',
      baseUrl: 'http://p.invalid/v1',
      headers: {},
      pool: new KeyPool('p', ['sk-loop-0123456789abcd']),
      models: [],
    }
    const answer: Answer = { answer: 'json', body: {}, provider: 'p', model: 'm' }
    const run: RetryRun<string> = {
      model: 'm',
      candidates: [{ provider: 'p', model: 'm' }],
      providers: new Map([['p', p]]),
      maxAttempts: 3,
      budgetMs: 1000,
      signal: new AbortController().signal,
      clock: realClock,
      warn: () => {},
      isDown: () => false,
      scrub: m => m,
      prepare: () => ({ plan: 'plan' }),
      attempt: async (): Promise<Attempt> => ({ ok: true, answer }),
    }
    globalThis.Map = watch(OriginalMap, 'Map')
    globalThis.Set = watch(OriginalSet, 'Set')
    let result: Awaited<ReturnType<typeof runRetryLoop>>
    try {
      result = await runRetryLoop(run)
    } finally {
      globalThis.Map = OriginalMap
      globalThis.Set = OriginalSet
    }
    expect(result).toBe(answer)
    expect(made).toEqual([])
  })
})

describe('an upstream call that is no longer needed', () => {
  let fake: Fake
  let srv: TestServer
  beforeAll(async () => {
    fake = await startFake('openai')
    srv = await startAgproxy({
      providers: [{ name: 'oa', type: 'openai', base_url: fake.url, api_keys: ['sk-hot-path-abort-0123456789'] }],
      models: { m: 'oa/m' },
      request_log: false,
    })
  })
  afterAll(async () => {
    await srv?.stop()
    await fake?.stop()
  })

  test('is aborted with a reason made once, not a new DOMException each time, and the upstream sees it end', async () => {
    const original = AbortController.prototype.abort
    const reasons: unknown[] = []
    AbortController.prototype.abort = function (this: AbortController, reason?: unknown) {
      if (/\/src\/[\w/-]+\.ts/.test(callerOf(new Error().stack))) reasons.push(reason)
      return original.call(this, reason)
    }
    try {
      for (let i = 0; i < 2; i++) {
        // a stream the client leaves after its first content: agproxy ends the upstream call
        fake.enqueue({ kind: 'slow', text: 'one two three four five six seven eight', chunkDelayMs: 100 })
        const res = await fetch(`${srv.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
        })
        expect(res.status).toBe(200)
        const reader = res.body!.getReader()
        await reader.read()
        await reader.cancel()
        const t0 = Date.now()
        while (!fake.last()?.aborted && Date.now() - t0 < 3000) await Bun.sleep(5)
        expect(fake.last()?.aborted).toBe(true)
      }
    } finally {
      AbortController.prototype.abort = original
    }
    // every abort names its reason; the answer's end (the stream cancelled) uses the one made once
    expect(reasons.filter(r => r === undefined).length).toBe(0)
    const over = reasons.filter(r => r instanceof DOMException && r.name === 'AbortError')
    expect(over.length).toBeGreaterThanOrEqual(2)
    expect(new Set(over).size).toBe(1)
  })
})

describe("the client's address", () => {
  let fake: Fake
  let srv: TestServer
  beforeAll(async () => {
    fake = await startFake('openai')
    srv = await startAgproxy({
      providers: [{ name: 'oa', type: 'openai', base_url: fake.url, api_keys: ['sk-hot-path-peer-0123456789'] }],
      models: { m: 'oa/m' },
      request_log: false,
      access_log: false,
    })
  })
  afterAll(async () => {
    await srv?.stop()
    await fake?.stop()
  })

  /** a server as Bun's, for a client on the LAN: counts how often its address is asked for */
  const peer = () => {
    const p = {
      asked: 0,
      requestIP() {
        p.asked++
        return { address: '192.168.1.20', family: 'IPv4', port: 5000 }
      },
      timeout() {},
    }
    return p
  }
  const chat = (p: ReturnType<typeof peer>, stream = false) =>
    srv.agproxy
      .fetch(
        new Request(`${srv.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] }),
        }),
        p as never,
      )
      .then(async r => {
        expect(r.status).toBe(200)
        return r.text()
      })

  test('is not resolved (~1 µs a request) while no observer reads it (metrics, stats: request log and access log off)', async () => {
    const p = peer()
    await chat(p)
    await chat(p)
    expect(p.asked).toBe(0)
  })

  test('is in the record of every request, streamed or not, when an observer reads it', async () => {
    const records: RequestRecord[] = []
    const stop = srv.agproxy.state.recorder.subscribe(r => records.push(r))
    try {
      const p = peer()
      await chat(p)
      await chat(p, true)
      const t0 = Date.now()
      while (records.length < 2 && Date.now() - t0 < 2000) await Bun.sleep(5)
      expect(records.map(r => [r.stream, r.client])).toEqual([
        [false, '192.168.1.20'],
        [true, '192.168.1.20'],
      ])
      expect(p.asked).toBe(2)
    } finally {
      stop()
    }
  })
})
