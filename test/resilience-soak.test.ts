/**
 * Soak: 50 concurrent clients, a few hundred requests over every client dialect (streamed and not), upstreams
 * failing at random (rate limits, 5xx, resets mid-stream, stalls, empty and junk streams, HTML, in-stream
 * errors), some clients hanging up mid-answer. Every request must end in a complete answer or a well-formed
 * error in its dialect; no unhandled rejection; memory back near the baseline afterwards.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startFake, type Behaviour, type Fake, type ProviderType } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { callFor, parseSSE, provider, streamError, type Dialect } from './support/resilience'

const TYPES: ProviderType[] = ['openai', 'anthropic', 'gemini']
const MODEL: Record<ProviderType, string> = { openai: 'gpt-4o', anthropic: 'claude-sonnet-4-5', gemini: 'gemini-2.5-flash' }
const CLIENTS: Array<Dialect | 'responses'> = ['openai', 'responses', 'anthropic', 'gemini']

// a seeded PRNG, so a failure can be replayed
// a fixed default seed keeps CI repeatable; SOAK_SEED=n explores others
const SEED = Number(process.env.SOAK_SEED ?? 23413)
let seed = SEED
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!

const FAULTS: Array<[number, () => Behaviour]> = [
  [40, () => ({ kind: 'text', text: 'a complete answer' })],
  [8, () => ({ kind: 'slow', text: 'slow but complete', chunkDelayMs: 30 })],
  [2, () => ({ kind: 'error', status: 429, retryDelaySeconds: 1 })],
  [5, () => ({ kind: 'error', status: 500 })],
  [5, () => ({ kind: 'error', status: 503 })],
  [4, () => ({ kind: 'error', status: 529 })],
  [6, () => ({ kind: 'reset_mid_stream', afterChunks: 1 })],
  [3, () => ({ kind: 'stall_after_headers' })],
  [2, () => ({ kind: 'stall_before_headers' })],
  [5, () => ({ kind: 'empty_stream' })],
  [6, () => ({ kind: 'garbage_sse' })],
  [3, () => ({ kind: 'html_200' })],
  [3, () => ({ kind: 'invalid_json' })],
  [4, () => ({ kind: 'error', status: 503, inStream: true })],
  [1, () => ({ kind: 'slow', text: 'this one goes quiet mid answer', chunkDelayMs: 400 })],
]
const TOTAL = FAULTS.reduce((n, [w]) => n + w, 0)
function fault(): Behaviour {
  let r = rand() * TOTAL
  for (const [w, b] of FAULTS) if ((r -= w) < 0) return b()
  return FAULTS[0]![1]()
}

const fakes = {} as Record<ProviderType, Fake>
let srv: TestServer
const unhandled: unknown[] = []
const onUnhandled = (e: unknown) => {
  unhandled.push(e)
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  for (const t of TYPES) {
    fakes[t] = await startFake(t)
    fakes[t].handler = () => fault()
  }
  srv = await startAgproxy(
    {
      timeouts: { connect: 1, first_token: 0.3, idle: 0.3, total: 5 },
      retry: { max_attempts: 3, max_wait: 0.5 },
      providers: TYPES.map(t =>
        provider(
          t,
          fakes[t],
          [0, 1, 2].map(i => ({ key: `${t}-soak-key-000000000000000${i}`, name: `${t}${i}` })),
        ),
      ),
      models: {
        'gpt-*': { target: 'openai/*', fallbacks: ['gemini/gemini-2.5-flash'] },
        'claude-*': { target: 'anthropic/*', fallbacks: ['openai/gpt-4o'] },
        'gemini-*': { target: 'gemini/*', fallbacks: ['anthropic/claude-sonnet-4-5'] },
      },
    },
    { AGPROXY_TEST_LOG: '0', AGPROXY_HEARTBEAT_MS: '100' },
  )
})

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  await srv?.stop(0)
  await Promise.all(TYPES.map(t => fakes[t]?.stop()))
})

type Outcome = 'complete' | 'stream-error' | 'error' | 'aborted'

/** One request; throws unless it ends in a complete answer or a well-formed error of its dialect. */
async function one(): Promise<Outcome> {
  const dialect = pick(CLIENTS)
  const type = pick(TYPES)
  const stream = rand() < 0.7
  const abort = stream && rand() < 0.05
  const c = callFor(dialect, MODEL[type], { stream, prompt: `q${Math.floor(rand() * 1e6)}` })
  const ctl = new AbortController()
  const res = await fetch(srv.url + c.path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(c.body),
    signal: ctl.signal,
  })
  const where = `${dialect}${stream ? ' stream' : ''} ← ${type}: ${res.status}`
  if (res.status !== 200) {
    const body = await res.json().catch(() => undefined)
    const msg = dialect === 'anthropic' ? body?.type === 'error' && body.error?.message : body?.error?.message
    if (process.env.SOAK_DEBUG) console.log(where, msg)
    if (typeof msg !== 'string' || !msg) throw new Error(`${where}: not a ${dialect} error body: ${JSON.stringify(body)}`)
    if (dialect === 'gemini' && body.error.code !== res.status) throw new Error(`${where}: gemini error code ${body.error.code}`)
    return 'error'
  }
  if (abort) {
    const reader = res.body!.getReader()
    await reader.read()
    ctl.abort()
    await reader.cancel().catch(() => {})
    return 'aborted'
  }
  const text = await res.text()
  if (!stream) {
    const body = JSON.parse(text)
    const ok =
      dialect === 'openai'
        ? body.object === 'chat.completion' && typeof body.choices?.[0]?.message?.content === 'string'
        : dialect === 'responses'
          ? body.object === 'response' && body.status === 'completed'
          : dialect === 'anthropic'
            ? body.type === 'message' && body.content?.[0]?.type === 'text'
            : Array.isArray(body.candidates) && !!body.candidates[0]?.content
    if (!ok) throw new Error(`${where}: incomplete JSON answer: ${text.slice(0, 300)}`)
    return 'complete'
  }
  if (streamError(dialect, text)) return 'stream-error'
  const events = parseSSE(text.replace(/^: ping\r?\n\r?\n/gm, ''))
  const last = events.at(-1)
  const complete =
    dialect === 'openai'
      ? last?.data === '[DONE]' && /"finish_reason":"\w+"/.test(text)
      : dialect === 'responses'
        ? last?.event === 'response.completed'
        : dialect === 'anthropic'
          ? last?.event === 'message_stop'
          : /"finishReason"\s*:/.test(last?.data ?? '')
  if (!complete) throw new Error(`${where}: stream neither complete nor a well-formed error; tail: ${text.slice(-400)}`)
  return 'complete'
}

async function run(n: number, concurrency: number) {
  const outcomes: Record<Outcome, number> = { complete: 0, 'stream-error': 0, error: 0, aborted: 0 }
  const failures: string[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++
        try {
          outcomes[await one()]++
        } catch (e) {
          failures.push((e as Error).message)
        }
      }
    }),
  )
  return { outcomes, failures }
}

const rssMb = () => {
  Bun.gc(true)
  return process.memoryUsage().rss / 1048576
}

test('50 concurrent streaming clients, 400 requests, random upstream faults', async () => {
  const t0 = Date.now()
  // warm up (JIT, connection pools), then take the baseline
  await run(60, 20)
  await Bun.sleep(200)
  const before = rssMb()

  const { outcomes, failures } = await run(400, 50)
  expect({ seed: SEED, failures: failures.slice(0, 5) }).toEqual({ seed: SEED, failures: [] })
  expect(outcomes.complete).toBeGreaterThan(40) // many faults are retried away; a run of rate limits may exhaust the pool for a while
  expect(outcomes.error + outcomes['stream-error']).toBeGreaterThan(0)
  expect(unhandled).toEqual([])

  // everything settles: no request left in flight, upstream connections closed, memory back near baseline
  await Bun.sleep(800)
  expect(srv.server.pendingRequests).toBe(0)
  const after = rssMb()
  console.log(`soak seed ${SEED}: ${JSON.stringify(outcomes)} in ${Date.now() - t0} ms; RSS ${before.toFixed(0)} → ${after.toFixed(0)} MB`)
  expect(after - before).toBeLessThan(120)
}, 60_000)
