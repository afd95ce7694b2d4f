/**
 * Observing every request (issue 10 §1, §3): a mixed run through the official SDKs — three dialects, streamed and not,
 * pass-through and translated, a retried and a failed-over call, refusals — and the access log (one JSON line per
 * request), the records the Recorder hears and GET /metrics all agree with what the fake upstreams saw and sent,
 * token counts included. Then: the text line, how streams end (complete, client gone, upstream error, timeout),
 * /metrics behind auth (metrics.public), access_log: false, and `promtool check metrics` on a scrape.
 */
import { describe, test, expect, beforeAll, afterAll } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI } from '@google/genai'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'
import { provider, call } from './support/resilience'
import type { RequestRecord } from '../src/observe/record'
import { Metrics, MODEL_LABELS } from '../src/observe/metrics'
import { accessText } from '../src/observe/access-log'
import { streamUsage, usageOf } from '../src/observe/usage'

const CLIENT_KEY = 'sk-agproxy-observe-test-key-000000000001'
const KEYS = {
  oa1: 'sk-observe-openai-key-00000000000000000001',
  oa2: 'sk-observe-openai-key-00000000000000000002',
  an: 'sk-ant-observe-key-000000000000000001',
  ge: 'AIzaObserveKey00000000000000000000001',
}
/** what every fake answers: the tokens each record must report */
const USAGE = { input: 11, output: 7, cached: 3, reasoning: 2 }
const ANSWER = { kind: 'text' as const, text: 'Hello there, observer', usage: USAGE }

const drain = async (it: AsyncIterable<unknown>) => {
  for await (const _ of it) void _
}

/** The access log's JSON lines. */
const accessLines = (srv: TestServer) =>
  srv.logs
    .filter(l => l.startsWith('{'))
    .map(l => JSON.parse(l))
    .filter(j => j.msg === 'request')

/** One series' value in a scrape (0 when absent). */
function series(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}

/** Generation requests a fake received (its model calls: not /models listings). */
const calls = (f: Fake) => f.requests.filter(r => r.method === 'POST').length

describe('a mixed run through the official SDKs: access log, records and /metrics agree with the fakes', () => {
  let oa: Fake, an: Fake, ge: Fake, srv: TestServer
  const records: RequestRecord[] = []
  beforeAll(async () => {
    ;[oa, an, ge] = await Promise.all([startFake('openai'), startFake('anthropic'), startFake('gemini')])
    for (const f of [oa, an, ge]) f.setDefault(ANSWER)
    srv = await startAgproxy({
      log_format: 'json',
      auth_mode: 'all_except_health',
      api_keys: [CLIENT_KEY],
      providers: [
        provider(
          'oa',
          oa,
          [
            { key: KEYS.oa1, name: 'oa-main' },
            { key: KEYS.oa2, name: 'oa-spare' },
          ],
          { strategy: 'fill_first' },
        ),
        provider('an', an, [KEYS.an]),
        provider('ge', ge, [{ key: KEYS.ge, name: 'ge-main' }]),
      ],
      models: { gpt: 'oa/gpt-4o', claude: 'an/claude-x', gem: 'ge/gemini-2.5-flash', fo: { target: 'ge/gemini-2.5-pro', fallbacks: ['an/claude-x'] } },
    })
    srv.agproxy.state.recorder.subscribe(r => records.push(r))
  })
  afterAll(async () => {
    await srv.stop(0)
    await Promise.all([oa, an, ge].map(f => f.stop()))
  })

  const openai = () => new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 })
  const anthropic = () => new Anthropic({ baseURL: srv.url, apiKey: CLIENT_KEY, maxRetries: 0 })
  const google = () => new GoogleGenAI({ apiKey: CLIENT_KEY, httpOptions: { baseUrl: srv.url } })
  const user = [{ role: 'user' as const, content: 'hi there' }]

  /** what each call is expected to log, in order */
  const expected: Array<Record<string, unknown>> = []

  test('the calls answer', async () => {
    const before = records.length
    // openai: pass-through, whole and streamed (usage asked for), and translated to Anthropic, streamed
    const a = await openai().chat.completions.create({ model: 'gpt', messages: user })
    expect(a.usage?.prompt_tokens).toBe(11)
    expected.push({ endpoint: 'openai.chat', provider: 'oa', routed_model: 'gpt-4o', key: 'oa-main', stream: false, status: 200, reasoning: 2 })
    await drain(await openai().chat.completions.create({ model: 'gpt', messages: user, stream: true, stream_options: { include_usage: true } }))
    expected.push({ endpoint: 'openai.chat', provider: 'oa', stream: true, end: 'complete', reasoning: 2 })
    await drain(await openai().chat.completions.create({ model: 'claude', messages: user, stream: true }))
    expected.push({ endpoint: 'openai.chat', provider: 'an', routed_model: 'claude-x', stream: true, end: 'complete' })
    // anthropic: pass-through, whole and streamed; translated to Gemini
    await anthropic().messages.create({ model: 'claude', max_tokens: 32, messages: user })
    expected.push({ endpoint: 'anthropic.messages', dialect: 'anthropic', provider: 'an', stream: false })
    await drain(anthropic().messages.stream({ model: 'claude', max_tokens: 32, messages: user }))
    expected.push({ endpoint: 'anthropic.messages', provider: 'an', stream: true, end: 'complete' })
    await anthropic().messages.create({ model: 'gem', max_tokens: 32, messages: user })
    expected.push({ endpoint: 'anthropic.messages', provider: 'ge', routed_model: 'gemini-2.5-flash', key: 'ge-main', reasoning: 2 })
    // google: pass-through, whole and streamed; translated to OpenAI
    await google().models.generateContent({ model: 'gem', contents: 'hi there' })
    expected.push({ endpoint: 'gemini.generate', dialect: 'gemini', provider: 'ge', reasoning: 2 })
    await drain(await google().models.generateContentStream({ model: 'gem', contents: 'hi there' }))
    expected.push({ endpoint: 'gemini.stream', provider: 'ge', stream: true, end: 'complete', reasoning: 2 })
    await google().models.generateContent({ model: 'gpt', contents: 'hi there' })
    expected.push({ endpoint: 'gemini.generate', provider: 'oa', reasoning: 2 })
    // retried: the first key answers 500, the second one serves
    oa.enqueue({ kind: 'error', status: 500, message: 'boom' })
    await openai().chat.completions.create({ model: 'gpt', messages: user })
    expected.push({ endpoint: 'openai.chat', provider: 'oa', key: 'oa-spare', attempts: 2, retries: 1, failovers: 0, reasoning: 2 })
    // failed over: Gemini is overloaded (503), Anthropic answers (streamed, translated)
    ge.enqueue({ kind: 'error', status: 503, message: 'overloaded' })
    await drain(await openai().chat.completions.create({ model: 'fo', messages: user, stream: true }))
    expected.push({ endpoint: 'openai.chat', provider: 'an', routed_model: 'claude-x', attempts: 2, retries: 1, failovers: 1, end: 'complete' })
    expect(records.length - before).toBe(expected.length)
  })

  test('refusals are logged too: 401, 404 (path and model), 400', async () => {
    const n = expected.length
    expect((await fetch(`${srv.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-wrong-key-0000000000000000' } })).status).toBe(
      401,
    )
    expected.push({ status: 401, error_kind: 'authentication', path: '/v1/chat/completions' })
    expect((await fetch(`${srv.url}/v1/nothing-here`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).status).toBe(404)
    expected.push({ status: 404, error_kind: 'not_found', path: '/v1/nothing-here' })
    const e = await openai()
      .chat.completions.create({ model: 'no-such-model', messages: user })
      .catch(x => x)
    expect(e).toBeInstanceOf(OpenAI.NotFoundError)
    expected.push({ status: 404, error_kind: 'not_found', model: 'no-such-model', endpoint: 'openai.chat' })
    const bad = await anthropic()
      // biome-ignore lint/suspicious/noExplicitAny: a body the schema refuses
      .messages.create({ model: 'claude', messages: user } as any)
      .catch(x => x)
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError)
    expected.push({ status: 400, error_kind: 'invalid_request', endpoint: 'anthropic.messages', dialect: 'anthropic' })
    expect(expected.length - n).toBe(4)
  })

  test('one access-log line per request, in order, with what the fakes sent', async () => {
    await Bun.sleep(50)
    const lines = accessLines(srv).filter(l => l.path !== '/metrics')
    expect(lines.length).toBe(expected.length)
    for (const [i, want] of expected.entries()) {
      const line = lines[i]
      const { reasoning, attempts, ...fields } = want
      expect({ i, ...line }).toMatchObject({ i, status: 200, ...fields })
      if (attempts !== undefined) expect(line.attempts).toBe(attempts)
      if (line.status === 200) {
        // the tokens each fake reported, mapped per dialect (Anthropic has no reasoning count)
        expect({ i, in: line.tokens_in, out: line.tokens_out, cached: line.tokens_cached }).toEqual({ i, in: 11, out: 7, cached: 3 })
        if (reasoning) expect(line.tokens_reasoning).toBe(2)
        expect(line.latency_ms).toBeGreaterThan(0)
        expect(line.ttfb_ms).toBeLessThanOrEqual(line.latency_ms)
        expect(line.client).toBe('127.0.0.1')
        expect(line.client_key).toBe('sk-…0001')
      } else expect(line.tokens_in).toBeUndefined()
      expect(typeof line.id).toBe('string')
    }
    // the failed attempts name what failed
    const retried = lines.find(l => l.attempts === 2 && l.failovers === 0)
    expect(retried.tried).toMatchObject([
      { provider: 'oa', key: 'oa-main', status: 500, error: 'internal' },
      { provider: 'oa', key: 'oa-spare', status: 200 },
    ])
    const failedOver = lines.find(l => l.failovers === 1)
    expect(failedOver.tried).toMatchObject([
      { provider: 'ge', status: 503, error: 'unavailable' },
      { provider: 'an', status: 200 },
    ])
    // never a key: neither the client's nor a provider's
    const all = srv.logs.join('\n')
    for (const k of [CLIENT_KEY, ...Object.values(KEYS)]) expect(all).not.toContain(k)
  })

  test('the records the Recorder hears are the log lines', () => {
    const recs = records.filter(r => r.path !== '/metrics')
    expect(recs.length).toBe(expected.length)
    const lines = accessLines(srv).filter(l => l.path !== '/metrics')
    for (const [i, r] of recs.entries()) {
      expect(r.id).toBe(lines[i].id)
      expect(r.usage?.inputTokens).toBe(lines[i].tokens_in)
      expect(r.retries).toBe(Math.max(0, r.attempts.length - 1))
    }
  })

  test('/metrics agrees with the fakes: requests, attempts, retries, failovers, tokens', async () => {
    const text = await (await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).text()
    const answered = { oa: 0, an: 0, ge: 0 }
    for (const r of records) if (r.status === 200 && r.provider) answered[r.provider as keyof typeof answered]++
    for (const [name, fake] of [
      ['oa', oa],
      ['an', an],
      ['ge', ge],
    ] as const) {
      // every call a fake received is an attempt; every answer it gave, its tokens
      expect({ name, attempts: series(text, 'agproxy_upstream_attempts_total', { provider: name }) }).toEqual({ name, attempts: calls(fake) })
      expect(series(text, 'agproxy_tokens_total', { provider: name, kind: 'input' })).toBe(11 * answered[name])
      expect(series(text, 'agproxy_tokens_total', { provider: name, kind: 'output' })).toBe(7 * answered[name])
      expect(series(text, 'agproxy_tokens_total', { provider: name, kind: 'cached' })).toBe(3 * answered[name])
    }
    expect(series(text, 'agproxy_upstream_attempts_total', { provider: 'oa', status_class: '5xx' })).toBe(1)
    expect(series(text, 'agproxy_upstream_attempts_total', { provider: 'ge', status_class: '5xx' })).toBe(1)
    expect(series(text, 'agproxy_upstream_retries_total')).toBe(2)
    expect(series(text, 'agproxy_upstream_failovers_total')).toBe(1)
    expect(series(text, 'agproxy_requests_total', { status_class: '2xx', endpoint: 'openai.chat' })).toBe(5)
    expect(series(text, 'agproxy_requests_total', { status_class: '4xx' })).toBe(4)
    expect(series(text, 'agproxy_requests_total', { dialect: 'gemini', provider: 'ge', model: 'gemini-2.5-flash' })).toBe(2)
    expect(series(text, 'agproxy_stream_ends_total', { end: 'complete' })).toBe(5)
    expect(
      series(text, 'agproxy_provider_keys', { provider: 'oa', state: 'active' }) + series(text, 'agproxy_provider_keys', { provider: 'oa', state: 'cooling' }),
    ).toBe(2)
    expect(series(text, 'agproxy_open_streams')).toBe(0)
    expect(text).toMatch(/^agproxy_build_info\{version="[^"]+"\} 1$/m)
    expect(text).toContain('agproxy_request_duration_seconds_bucket{dialect="anthropic",endpoint="anthropic.messages",stream="true",le="+Inf"} 1')
    for (const k of [CLIENT_KEY, ...Object.values(KEYS)]) expect(text).not.toContain(k)
  })
})

describe('the text line, and how streams end', () => {
  let oa: Fake, srv: TestServer
  beforeAll(async () => {
    oa = await startFake('openai')
    srv = await startAgproxy({ providers: [provider('oa', oa, [KEYS.oa1])], timeouts: { idle: 0.4 } })
  })
  afterAll(async () => {
    await srv.stop(0)
    await oa.stop()
  })
  const requestLines = () => srv.logs.filter(l => / INFO {2}127\.0\.0\.1 /.test(l))

  test('text: address, method, path, status, endpoint, model → provider/model, key, latency, tokens, stream end', async () => {
    oa.enqueue({ ...ANSWER })
    const r = await call(srv, 'openai', 'oa/gpt-4o', { stream: true, extra: { stream_options: { include_usage: true } } })
    await r.text()
    await Bun.sleep(20)
    expect(requestLines().at(-1)).toMatch(
      /INFO {2}127\.0\.0\.1 POST \/v1\/chat\/completions 200 openai\.chat oa\/gpt-4o → oa\/gpt-4o key=sk-…0001 [\d.]+ ms ttfb [\d.]+ ms tokens 11→7 \(cached 3, reasoning 2\) stream complete$/,
    )
    // a tolerated path shows where it was resolved to
    const r2 = await fetch(`${srv.url}/chat/completions`, { method: 'POST', body: '{' })
    expect(r2.status).toBe(400)
    await Bun.sleep(20)
    expect(requestLines().at(-1)).toMatch(/POST \/chat\/completions → \/v1\/chat\/completions 400 openai\.chat [\d.]+ ms error=invalid_request "The request/)
  })

  test('a client that leaves mid-stream: client_gone', async () => {
    oa.enqueue({ kind: 'endless', intervalMs: 20 })
    const ac = new AbortController()
    const r = await call(srv, 'openai', 'oa/gpt-4o', { stream: true, signal: ac.signal })
    const reader = r.body!.getReader()
    await reader.read()
    ac.abort()
    await reader.cancel().catch(() => {})
    for (let i = 0; i < 50 && !requestLines().at(-1)?.includes('client_gone'); i++) await Bun.sleep(20)
    expect(requestLines().at(-1)).toMatch(/ 200 openai\.chat .* stream client_gone$/)
  })

  test('an upstream that breaks mid-stream: upstream_error; one that goes silent: timeout', async () => {
    oa.enqueue({ kind: 'reset_mid_stream', afterChunks: 1 })
    await (await call(srv, 'openai', 'oa/gpt-4o', { stream: true })).text()
    await Bun.sleep(20)
    expect(requestLines().at(-1)).toMatch(/ 200 openai\.chat .* stream upstream_error error=upstream "The upstream/)
    oa.enqueue({ kind: 'slow', text: 'one two three', chunkDelayMs: 1500 })
    await (await call(srv, 'openai', 'oa/gpt-4o', { stream: true })).text()
    await Bun.sleep(20)
    expect(requestLines().at(-1)).toMatch(/ 200 openai\.chat .* stream timeout error=timeout "The upstream went silent/)
  })

  test('a stream still running when shutdown_grace is over: shutdown', async () => {
    const other = await startAgproxy({ providers: [provider('oa', oa, [KEYS.oa1])] })
    const ends: RequestRecord[] = []
    other.agproxy.state.recorder.subscribe(r => ends.push(r))
    oa.enqueue({ kind: 'endless', intervalMs: 20 })
    const r = await call(other, 'openai', 'oa/gpt-4o', { stream: true })
    const body = r.text()
    await Bun.sleep(50)
    expect(await other.stop(100)).toBe(1)
    expect(await body).toContain('shutting down')
    expect(ends.map(e => [e.status, e.end, e.errorKind])).toEqual([[200, 'shutdown', 'unavailable']])
  })

  test('access_log: false writes no request lines; /metrics still counts', async () => {
    const quiet = await startAgproxy({ access_log: false, providers: [provider('oa', oa, [KEYS.oa1])] })
    try {
      await (await call(quiet, 'openai', 'oa/gpt-4o')).text()
      await Bun.sleep(20)
      expect(quiet.logs.filter(l => l.includes('POST /v1/chat/completions'))).toEqual([])
      const text = await (await fetch(`${quiet.url}/metrics`)).text()
      expect(series(text, 'agproxy_requests_total', { provider: 'oa', status_class: '2xx' })).toBe(1)
    } finally {
      await quiet.stop(0)
    }
  })
})

describe('tokens of the other pass-through streams: Responses, Gemini without alt=sse (a JSON array)', () => {
  test('the records carry what the fakes reported', async () => {
    const [oa, ge] = await Promise.all([startFake('openai'), startFake('gemini')])
    for (const f of [oa, ge]) f.setDefault(ANSWER)
    const srv = await startAgproxy({ providers: [provider('oa', oa, [KEYS.oa1]), provider('ge', ge, [KEYS.ge])] })
    const recs: RequestRecord[] = []
    srv.agproxy.state.recorder.subscribe(r => recs.push(r))
    try {
      const openai = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'none', maxRetries: 0 })
      await drain(await openai.responses.create({ model: 'oa/gpt-4o', input: 'hi', stream: true }))
      const r = await fetch(`${srv.url}/v1beta/models/ge/gemini-2.5-flash:streamGenerateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
      })
      expect((await r.text()).trimStart()).toStartWith('[')
      await Bun.sleep(20)
      expect(recs.map(x => [x.endpoint, x.provider, x.end, x.usage])).toEqual([
        ['openai.responses', 'oa', 'complete', { inputTokens: 11, outputTokens: 7, cachedInputTokens: 3, reasoningTokens: 2 }],
        ['gemini.stream', 'ge', 'complete', { inputTokens: 11, outputTokens: 7, cachedInputTokens: 3, reasoningTokens: 2 }],
      ])
    } finally {
      await srv.stop(0)
      await Promise.all([oa.stop(), ge.stop()])
    }
  })
})

describe('/metrics access', () => {
  test('behind auth by default (401 in the caller dialect); metrics.public opens it', async () => {
    const closed = await startAgproxy({ auth_mode: 'all_except_health', api_keys: [CLIENT_KEY] })
    const open = await startAgproxy({ auth_mode: 'all_except_health', api_keys: [CLIENT_KEY], metrics: { public: true } })
    try {
      const r = await fetch(`${closed.url}/metrics`)
      expect(r.status).toBe(401)
      expect((await r.json()).error.message).toContain('An API key is required')
      const ok = await fetch(`${closed.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })
      expect(ok.status).toBe(200)
      expect(ok.headers.get('content-type')).toStartWith('text/plain; version=0.0.4')
      expect((await fetch(`${open.url}/metrics`)).status).toBe(200)
      // only /metrics is opened
      expect((await fetch(`${open.url}/agproxy/keys`)).status).toBe(401)
    } finally {
      await closed.stop(0)
      await open.stop(0)
    }
  })
})

describe('Metrics (unit)', () => {
  const rec = (over: Partial<RequestRecord>): RequestRecord => ({
    id: 'x',
    instance: 'i',
    time: 0,
    client: '127.0.0.1',
    method: 'POST',
    path: '/v1/chat/completions',
    status: 200,
    dialect: 'openai',
    stream: false,
    attempts: [],
    retries: 0,
    failovers: 0,
    latencyMs: 12,
    ...over,
  })
  test(`model labels are bounded: past ${MODEL_LABELS} distinct values they count as "other"; long ones are clipped`, () => {
    const m = new Metrics()
    for (let i = 0; i < MODEL_LABELS + 50; i++) m.observe(rec({ endpoint: 'openai.chat', model: `client-made-up-${i}`, status: 404 }))
    m.observe(rec({ endpoint: 'openai.chat', model: 'x'.repeat(500), status: 404 }))
    const text = m.render({ version: 't', keys: [], openStreams: 0, droppedLogRows: 0 })
    expect(series(text, 'agproxy_requests_total', { model: 'other' })).toBe(51)
    expect(text).not.toContain('x'.repeat(81))
    const models = new Set([...text.matchAll(/model="([^"]*)"/g)].map(x => x[1]))
    expect(models.size).toBeLessThanOrEqual(MODEL_LABELS + 1)
  })
  test('label values are escaped', () => {
    const m = new Metrics()
    m.observe(rec({ endpoint: 'openai.chat', model: 'a"b\\c\nd', status: 404 }))
    expect(m.render({ version: 't', keys: [], openStreams: 0, droppedLogRows: 0 })).toContain('model="a\\"b\\\\c\\nd"')
  })
  test('the text line of a refusal and of a retried stream', () => {
    expect(accessText(rec({ method: 'GET', path: '/v1/models', status: 401, errorKind: 'authentication', latencyMs: 0.4 }))).toBe(
      '127.0.0.1 GET /v1/models 401 openai 0.4 ms error=authentication',
    )
    const attempts = [
      { provider: 'a', model: 'm', key: 'k1', status: 429, error: 'rate_limit' as const, ms: 3 },
      { provider: 'b', model: 'm2', key: 'k2', status: 200, ms: 300 },
    ]
    expect(
      accessText(
        rec({
          endpoint: 'openai.chat',
          model: 'gpt',
          provider: 'b',
          routedModel: 'm2',
          key: 'k2',
          attempts,
          retries: 1,
          failovers: 1,
          latencyMs: 412,
          ttfbMs: 120,
          stream: true,
          end: 'complete',
          usage: { inputTokens: 12, outputTokens: 40, reasoningTokens: 8 },
        }),
      ),
    ).toBe(
      '127.0.0.1 POST /v1/chat/completions 200 openai.chat gpt → b/m2 key=k2 412 ms 2 attempts (1 failover) ttfb 120 ms tokens 12→40 (reasoning 8) stream complete',
    )
  })
})

describe('usage readers (src/observe/usage.ts)', () => {
  const sse = (...events: Array<[string | undefined, unknown]>) =>
    events.map(([event, data]) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`).join('')
  test('OpenAI chat: the last chunk usage (include_usage), cached and reasoning', () => {
    const text = sse(
      [undefined, { choices: [{ delta: { content: 'hi' } }], usage: null }],
      [
        undefined,
        {
          choices: [],
          usage: { prompt_tokens: 9, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 2 }, completion_tokens_details: { reasoning_tokens: 1 } },
        },
      ],
      [undefined, '[DONE]'],
    )
    expect(streamUsage(text)).toEqual({ usage: { inputTokens: 9, outputTokens: 4, cachedInputTokens: 2, reasoningTokens: 1 }, error: false })
  })
  test('Anthropic: message_start then message_delta (cache reads are input too); an error frame at the end', () => {
    const head = streamUsage(
      sse(['message_start', { type: 'message_start', message: { usage: { input_tokens: 5, cache_read_input_tokens: 3, output_tokens: 1 } } }]),
    )
    expect(head.usage).toEqual({ inputTokens: 8, cachedInputTokens: 3, outputTokens: 1 })
    const tail = streamUsage(sse(['message_delta', { type: 'message_delta', usage: { output_tokens: 12 } }], ['message_stop', { type: 'message_stop' }]))
    expect({ ...head.usage, ...tail.usage }).toEqual({ inputTokens: 8, cachedInputTokens: 3, outputTokens: 12 })
    expect(streamUsage(sse(['error', { type: 'error', error: { type: 'overloaded_error', message: 'x' } }])).error).toBe(true)
  })
  test('Responses: response.completed', () => {
    const done = { type: 'response.completed', response: { usage: { input_tokens: 7, output_tokens: 3, output_tokens_details: { reasoning_tokens: 2 } } } }
    expect(streamUsage(sse(['response.completed', done])).usage).toEqual({ inputTokens: 7, outputTokens: 3, reasoningTokens: 2 })
  })
  test("Gemini's JSON array: the last usageMetadata (thoughts are output, counted as reasoning)", () => {
    const text =
      ',\r\n{"candidates":[],"usageMetadata":{"promptTokenCount":6}}\n,\r\n{"candidates":[],"usageMetadata":{"promptTokenCount":6,"candidatesTokenCount":4,"thoughtsTokenCount":2,"cachedContentTokenCount":1}}\n]'
    expect(streamUsage(text, 'json-array')).toEqual({ usage: { inputTokens: 6, outputTokens: 6, reasoningTokens: 2, cachedInputTokens: 1 }, error: false })
  })
  test('whole answers of each dialect', () => {
    expect(usageOf({ usage: { prompt_tokens: 3, completion_tokens: 2 } })).toEqual({ inputTokens: 3, outputTokens: 2 })
    expect(usageOf({ type: 'message', usage: { input_tokens: 3, output_tokens: 2 } })).toEqual({ inputTokens: 3, outputTokens: 2 })
    expect(usageOf({ object: 'response', usage: { input_tokens: 3, output_tokens: 2 } })).toEqual({ inputTokens: 3, outputTokens: 2 })
    expect(usageOf({ usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2 } })).toEqual({ inputTokens: 3, outputTokens: 2 })
    expect(usageOf({ input_tokens: 3 })).toBeUndefined()
  })
})
