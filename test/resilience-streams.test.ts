/**
 * Streams and timeouts: a stream that stalls, ends empty or is junk before its first content token is
 * retried on the next key; after the first byte, idle/total deadlines and broken connections end the
 * stream with the dialect's own error, which each official SDK reports as an error; `: ping` heartbeats
 * flow while the upstream is silent.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { ApiError, GoogleGenAI } from '@google/genai'
import { startFake, type Behaviour, type Fake, type ProviderType } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { call, provider, readAll, streamError, until, type Dialect } from './support/resilience'

const KEYS: Record<ProviderType, [string, string]> = {
  openai: ['sk-proj-STREAMS000000000000000000001', 'sk-proj-STREAMS000000000000000000002'],
  anthropic: ['sk-ant-api03-STREAMS0000000000000001', 'sk-ant-api03-STREAMS0000000000000002'],
  gemini: ['AIzaSySTREAMS00000000000000000000001', 'AIzaSySTREAMS00000000000000000000002'],
}
const MODEL: Record<ProviderType, string> = { openai: 'gpt-4o', anthropic: 'claude-sonnet-4-5', gemini: 'gemini-2.5-flash' }

const fakes = {} as Record<ProviderType, Fake>
beforeAll(async () => {
  for (const t of ['openai', 'anthropic', 'gemini'] as const) fakes[t] = await startFake(t)
})
afterAll(async () => {
  await Promise.all(Object.values(fakes).map(f => f.stop()))
})
const running: TestServer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(s => s.stop(0)))
  for (const f of Object.values(fakes)) f.reset()
})

/** agproxy with one provider per type (two keys each, fill_first), and model names routed by family. */
async function start(timeouts: Record<string, number> = {}, env: Record<string, string> = {}) {
  const srv = await startAgproxy(
    {
      timeouts: { connect: 2, first_token: 0.25, idle: 0.25, total: 10, ...timeouts },
      retry: { max_attempts: 3, max_wait: 0 },
      providers: (['openai', 'anthropic', 'gemini'] as const).map(t =>
        provider(
          t,
          fakes[t],
          KEYS[t].map((key, i) => ({ key, name: `${t}-${i + 1}` })),
          { strategy: 'fill_first' },
        ),
      ),
      models: { 'gpt-*': 'openai/*', 'claude-*': 'anthropic/*', 'gemini-*': 'gemini/*' },
    },
    env,
  )
  running.push(srv)
  return srv
}

/** Script the first key of a provider to misbehave; the second answers normally. */
const firstKeyDoes = (t: ProviderType, b: Behaviour) => {
  fakes[t].handler = rec => (rec.key === KEYS[t][0] ? b : undefined)
}

// client dialect × provider type: pass-through and a translated pair per client
const PAIRS: Array<[Dialect | 'responses', ProviderType]> = [
  ['openai', 'openai'],
  ['openai', 'anthropic'],
  ['responses', 'openai'],
  ['responses', 'gemini'],
  ['anthropic', 'anthropic'],
  ['anthropic', 'gemini'],
  ['gemini', 'gemini'],
  ['gemini', 'openai'],
]

describe('before the first content token: stalls, empty streams and junk are retried on the next key', () => {
  const FAULTS: Array<[string, Behaviour]> = [
    ['stall before headers', { kind: 'stall_before_headers' }],
    ['stall after headers', { kind: 'stall_after_headers' }],
    ['empty stream', { kind: 'empty_stream' }],
    ['HTML 200', { kind: 'html_200' }],
  ]
  test.each(FAULTS.flatMap(([name, b]) => PAIRS.filter((_, i) => i % 2 === name.length % 2).map(([d, t]) => [name, d, t, b] as const)))(
    '%s: %s client ← %s provider',
    async (_name, dialect, type, b) => {
      const srv = await start()
      firstKeyDoes(type, b)
      const t0 = Date.now()
      const res = await call(srv, dialect, MODEL[type], { stream: true })
      expect(res.status).toBe(200)
      const text = await readAll(res)
      expect(streamError(dialect, text)).toBeUndefined()
      expect(text).toContain('ho:') // "echo: hi" arrives in pieces
      expect(fakes[type].requests.map(r => r.key)).toEqual(KEYS[type])
      expect(Date.now() - t0).toBeLessThan(2000)
    },
  )

  test('junk SSE lines around real frames are not a failure', async () => {
    const srv = await start()
    fakes.openai.enqueue({ kind: 'garbage_sse' })
    const text = await readAll(await call(srv, 'anthropic', 'gpt-4o', { stream: true }))
    expect(streamError('anthropic', text)).toBeUndefined()
    expect(text).toContain('message_stop')
    expect(fakes.openai.requests).toHaveLength(1)
  })

  test.each([
    ['stall after headers (idle)', { kind: 'stall_after_headers' } as Behaviour, {}],
    ['invalid JSON', { kind: 'invalid_json' } as Behaviour, {}],
    ['stall before headers (total)', { kind: 'stall_before_headers' } as Behaviour, { total: 0.3 }],
  ])('non-streamed answers: %s → retried', async (_n, b, timeouts) => {
    const srv = await start(timeouts)
    firstKeyDoes('anthropic', b)
    const res = await call(srv, 'openai', 'claude-sonnet-4-5')
    expect(res.status).toBe(200)
    expect((await res.json()).choices[0].message.content).toBe('echo: hi')
    expect(fakes.anthropic.requests.map(r => r.key)).toEqual(KEYS.anthropic)
  })

  test('every key stalls → 503 naming timeouts.first_token, within the deadlines', async () => {
    const srv = await start()
    fakes.gemini.setDefault({ kind: 'stall_after_headers' })
    const t0 = Date.now()
    const res = await call(srv, 'gemini', 'gemini-2.5-flash', { stream: true })
    expect(res.status).toBe(503)
    expect((await res.json()).error.message).toContain('no content within 0.25 s (timeouts.first_token)')
    expect(Date.now() - t0).toBeLessThan(2000)
  })
})

describe('after the first byte: a well-formed error in the dialect, never a silent cut', () => {
  test.each(PAIRS)('idle timeout mid-answer: %s client ← %s provider', async (dialect, type) => {
    const srv = await start({ first_token: 3, idle: 0.15 })
    fakes[type].enqueue({ kind: 'slow', text: 'one two three', chunkDelayMs: 350 })
    const res = await call(srv, dialect, MODEL[type], { stream: true })
    expect(res.status).toBe(200)
    const text = await readAll(res)
    expect(text).toContain('one')
    expect(streamError(dialect, text)).toContain('went silent for 0.15 s mid-answer (timeouts.idle)')
    expect(fakes[type].requests).toHaveLength(1)
    await until(() => fakes[type].last()!.aborted, 2000, 'the upstream connection to close')
  })

  test.each([
    ['openai', 'openai'],
    ['anthropic', 'gemini'],
  ] as const)('total time limit: %s client ← %s provider', async (dialect, type) => {
    const srv = await start({ first_token: 3, idle: 3, total: 0.5 })
    fakes[type].enqueue({ kind: 'endless', intervalMs: 30 })
    const t0 = Date.now()
    const text = await readAll(await call(srv, dialect, MODEL[type], { stream: true }))
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(streamError(dialect, text)).toContain('total time limit (timeouts.total)')
  })

  test('a Gemini JSON-array stream (no alt=sse) cut mid-way still ends as valid JSON with an error element', async () => {
    const srv = await start()
    fakes.gemini.enqueue({ kind: 'reset_mid_stream', afterChunks: 2 })
    const res = await fetch(`${srv.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    })
    const arr = JSON.parse(await readAll(res))
    expect(Array.isArray(arr)).toBe(true)
    expect(arr.at(-1).error.message).toContain('connection broke mid-answer')
  })
})

describe('each official SDK reports a mid-stream failure as an error', () => {
  const FAULT: Record<'pass-through' | 'translated', Behaviour> = {
    'pass-through': { kind: 'reset_mid_stream', afterChunks: 2 },
    translated: { kind: 'slow', text: 'one two three', chunkDelayMs: 350 },
  }
  const CASES: Array<[string, 'pass-through' | 'translated', ProviderType]> = [
    ['openai chat', 'pass-through', 'openai'],
    ['openai chat', 'translated', 'anthropic'],
    ['openai responses', 'pass-through', 'openai'],
    ['openai responses', 'translated', 'gemini'],
    ['anthropic messages', 'pass-through', 'anthropic'],
    ['anthropic messages', 'translated', 'openai'],
    ['google generateContentStream', 'pass-through', 'gemini'],
    ['google generateContentStream', 'translated', 'anthropic'],
  ]
  test.each(CASES)('%s (%s, %s provider)', async (sdk, mode, type) => {
    const srv = await start({ first_token: 3, idle: 0.15 })
    fakes[type].enqueue(FAULT[mode])
    const model = MODEL[type]
    const seen: string[] = []
    const want = mode === 'pass-through' ? /connection broke mid-answer/ : /went silent/
    if (sdk === 'openai chat') {
      const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
      const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] })
      const err = await (async () => {
        try {
          for await (const c of stream) seen.push(c.choices[0]?.delta?.content ?? '')
        } catch (e) {
          return e
        }
      })()
      expect(err).toBeInstanceOf(OpenAI.APIError)
      expect((err as Error).message).toMatch(want)
    } else if (sdk === 'openai responses') {
      const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
      const stream = await client.responses.create({ model, stream: true, input: 'hi' })
      let failed: any
      for await (const ev of stream) {
        if (ev.type === 'response.output_text.delta') seen.push(ev.delta)
        if (ev.type === 'response.failed') failed = ev
      }
      expect(failed?.response.status).toBe('failed')
      expect(failed?.response.error?.message).toMatch(want)
    } else if (sdk === 'anthropic messages') {
      const client = new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 })
      const stream = client.messages.stream({ model, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      stream.on('text', t => seen.push(t))
      const err = await stream.finalMessage().then(
        () => undefined,
        e => e,
      )
      expect(err).toBeInstanceOf(Anthropic.APIError)
      expect((err as Error).message).toMatch(want)
    } else {
      const ai = new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: srv.url } })
      const stream = await ai.models.generateContentStream({ model, contents: 'hi' })
      const err = await (async () => {
        try {
          for await (const c of stream) seen.push(c.text ?? '')
        } catch (e) {
          return e
        }
      })()
      expect(err).toBeInstanceOf(ApiError)
      expect((err as Error).message).toMatch(want)
    }
    expect(seen.join('').length).toBeGreaterThan(0) // content reached the client before the failure
    expect(fakes[type].requests).toHaveLength(1) // and it was not retried
  })
})

describe('heartbeats', () => {
  test.each([
    ['openai', 'openai'],
    ['anthropic', 'openai'],
    ['gemini', 'gemini'],
  ] as const)('`: ping` every heartbeat interval while the upstream is silent: %s client ← %s provider', async (dialect, type) => {
    const srv = await start({ first_token: 3, idle: 3 }, { AGPROXY_HEARTBEAT_MS: '100' })
    fakes[type].enqueue({ kind: 'slow', text: 'one two three', chunkDelayMs: 300 })
    const text = await readAll(await call(srv, dialect, MODEL[type], { stream: true }))
    expect(streamError(dialect, text)).toBeUndefined()
    expect((text.match(/^: ping$/gm) ?? []).length).toBeGreaterThanOrEqual(2)
    expect(text.replace(/^: ping\n\n/gm, '')).not.toContain(': ping') // only whole lines between frames
  })
})
