/**
 * AWS Bedrock (`type: bedrock`, issue 14 §3) through the official SDKs against the Bedrock fake, which recomputes every
 * SigV4 signature and speaks the binary event stream: credentials from api_keys (with a session token), the AWS
 * variables, the shared credentials file and a Bedrock API key; a wrong secret refused by the fake and reported in the
 * caller's dialect; Bedrock exceptions (HTTP and in-stream) and corrupted CRCs as well-formed errors; Claude from the
 * Anthropic dialect through InvokeModel; the event stream decoder on its own; the config checks.
 * The 3×3 dialect matrix runs against bedrock too (test/support/matrix.ts PROVIDERS).
 */
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI } from '@google/genai'
import { buildConfig, ConfigError } from '../src/config/load'
import { parseEventStream } from '../src/ir/eventstream'
import { LimitExceeded } from '../src/ir/limits'
import type { IRErrorValue } from '../src/ir/errors'
import { credentialsFromFile } from '../src/providers/bedrock'
import { eventMessage } from './fakes/bedrock'
import { startFake, type Fake } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'

const ID = 'AKIATESTBEDROCK00001'
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const TOKEN = 'IQoJb3JpZ2luX2VjEFAKE+session/token=='
const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0'
const LLAMA = 'meta.llama3-3-70b-instruct-v1:0'

const fakes: Fake[] = []
const servers: TestServer[] = []
const fake = async (opts: Parameters<typeof startFake>[1] = {}) => {
  const f = await startFake('bedrock', { keys: [`${ID}:${SECRET}`, `${ID.replace('1', '2')}:${SECRET}:${TOKEN}`, 'ABSKbedrockApiKey0123456789'], ...opts })
  fakes.push(f)
  return f
}
const br = await fake()
afterAll(async () => {
  await Promise.all(servers.map(s => s.stop(0)))
  await Promise.all(fakes.map(f => f.stop()))
})
beforeEach(() => br.reset())

async function gateway(provider: Record<string, unknown> = {}, env: Record<string, string> = {}, up: Fake = br) {
  const srv = await startAgproxy(
    {
      providers: [{ name: 'br', type: 'bedrock', base_url: up.url, region: 'eu-central-1', api_keys: [`${ID}:${SECRET}`], ...provider }],
      models: { sonnet: `br/${SONNET}`, llama: `br/${LLAMA}` },
      retry: { max_attempts: 1, max_wait: 0 },
    },
    env,
  )
  servers.push(srv)
  return {
    srv,
    oa: new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'client-key', maxRetries: 0 }),
    an: new Anthropic({ baseURL: srv.url, apiKey: 'client-key', maxRetries: 0 }),
    ai: new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: srv.url } }),
  }
}

const hi = [{ role: 'user' as const, content: 'Say hi' }]

describe('SigV4 and credentials', () => {
  test('a call is signed for bedrock in its region: the fake recomputes the signature from the request', async () => {
    const { oa } = await gateway()
    const out = await oa.chat.completions.create({ model: 'llama', messages: hi })
    expect(out.choices[0]?.message.content).toBe('echo: Say hi')
    const rec = br.last()!
    expect(rec.path).toBe(`/model/${encodeURIComponent(LLAMA)}/converse`)
    expect(rec.headers.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${ID}/\\d{8}/eu-central-1/bedrock/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$`,
      ),
    )
    expect(JSON.stringify(rec.headers)).not.toContain(SECRET)
    expect(rec.body.model).toBeUndefined()
  })

  test('a wrong secret: the fake answers 403 InvalidSignatureException, the client reads it in its dialect without the secret', async () => {
    const wrong = { api_keys: [`${ID}:not-the-secret-at-all-0123456789`] }
    const { oa, srv } = await gateway(wrong)
    const e: any = await oa.chat.completions.create({ model: 'llama', messages: hi }).catch(e => e)
    expect(br.requests).toHaveLength(1)
    expect(e.status).toBe(502)
    expect(e.error.message).toContain('upstream rejected the provider key for br (403: The request signature we calculated does not match')
    const { an, srv: srv2 } = await gateway(wrong)
    const a: any = await an.messages.create({ model: 'llama', max_tokens: 50, messages: hi }).catch(e => e)
    expect(a.error.type).toBe('error')
    expect(a.error.error.message).toContain('signature we calculated does not match')
    expect(JSON.stringify([e.error, a.error, srv.logs, srv2.logs])).not.toContain('not-the-secret-at-all')
  })

  test('an unknown access key: 403 UnrecognizedClientException', async () => {
    const { oa } = await gateway({ api_keys: [`AKIAUNKNOWN000000000:${SECRET}`] })
    const e: any = await oa.chat.completions.create({ model: 'llama', messages: hi }).catch(e => e)
    expect(e.error.message).toContain('The security token included in the request is invalid')
  })

  test('a session token is sent as x-amz-security-token and signed', async () => {
    const id2 = ID.replace('1', '2')
    const { oa } = await gateway({ api_keys: [`${id2}:${SECRET}:${TOKEN}`] })
    expect((await oa.chat.completions.create({ model: 'llama', messages: hi })).choices[0]?.message.content).toBe('echo: Say hi')
    expect(br.last()!.headers['x-amz-security-token']).toBe(TOKEN)
    expect(br.last()!.headers.authorization).toContain('SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,')
  })

  test('no api_keys: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN', async () => {
    const id2 = ID.replace('1', '2')
    const { oa } = await gateway({ api_keys: undefined }, { AWS_ACCESS_KEY_ID: id2, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: TOKEN })
    expect((await oa.chat.completions.create({ model: 'llama', messages: hi })).choices[0]?.message.content).toBe('echo: Say hi')
    expect(br.last()!.headers.authorization).toContain(`Credential=${id2}/`)
  })

  test('no api_keys nor variables: the shared credentials file, profile from AWS_PROFILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agproxy-aws-'))
    const file = join(dir, 'credentials')
    writeFileSync(
      file,
      `[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = nope\n\n[work]\naws_access_key_id = ${ID}\naws_secret_access_key = ${SECRET}\n`,
    )
    const { oa, srv } = await gateway({ api_keys: undefined }, { AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'work' })
    const { buildProviders } = await import('../src/providers/registry')
    const { silentLogger } = await import('../src/log')
    const built = buildProviders([{ name: 'b', type: 'bedrock' }], silentLogger, {}, { AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'work' })
    expect(built.get('b')?.keyNote).toBe('credentials from aws profile work')
    expect((await oa.chat.completions.create({ model: 'llama', messages: hi })).choices[0]?.message.content).toBe('echo: Say hi')
    expect(br.last()!.headers.authorization).toContain(`Credential=${ID}/`)
    expect(srv.logs.join('\n')).not.toContain(SECRET)
    expect(credentialsFromFile('[profile dev]\naws_access_key_id=A\naws_secret_access_key=B\naws_session_token=C\n', 'dev')).toEqual({
      key: 'A:B:C',
      name: 'aws profile dev',
    })
  })

  test('a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) is sent as a bearer token', async () => {
    const { oa } = await gateway({ api_keys: undefined }, { AWS_BEARER_TOKEN_BEDROCK: 'ABSKbedrockApiKey0123456789' })
    expect((await oa.chat.completions.create({ model: 'llama', messages: hi })).choices[0]?.message.content).toBe('echo: Say hi')
    expect(br.last()!.headers.authorization).toBe('Bearer ABSKbedrockApiKey0123456789')
  })
})

describe('errors and the event stream', () => {
  test('Bedrock exceptions over HTTP reach each dialect as its own error', async () => {
    // a fresh gateway per call: a 429 cools the key down
    const { oa } = await gateway()
    br.setDefault({ kind: 'error', status: 429 })
    const o: any = await oa.chat.completions.create({ model: 'llama', messages: hi }).catch(e => e)
    expect(o.status).toBe(429)
    expect(o.error.message).toContain('Too many requests')
    const { an } = await gateway()
    const a: any = await an.messages.create({ model: 'sonnet', max_tokens: 50, messages: hi }).catch(e => e)
    expect(a.status).toBe(429)
    expect(a.error.error.type).toBe('rate_limit_error')
    br.setDefault({ kind: 'error', status: 400, message: 'The model returned the following errors: messages: bad' })
    const { ai } = await gateway()
    const g: any = await ai.models.generateContent({ model: 'llama', contents: 'hi' }).catch(e => e)
    expect(g.status).toBe(400)
    expect(JSON.parse(g.message).error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' })
    expect(g.message).toContain('The model returned the following errors')
  })

  test('an exception inside ConverseStream: an in-stream error in the client dialect', async () => {
    const { oa } = await gateway()
    br.setDefault({ kind: 'error', status: 429, inStream: true })
    const e: any = await (async () => {
      for await (const _ of await oa.chat.completions.create({ model: 'llama', messages: hi, stream: true }));
    })().catch(e => e)
    expect(String(e?.message)).toMatch(/throttlingException|Too many requests/)
  })

  test('a corrupted CRC before any content: a failed attempt, in the client dialect; after content: an in-stream error', async () => {
    const bad0 = await fake({ corruptFrame: 0 })
    const { oa } = await gateway({}, {}, bad0)
    const e: any = await oa.chat.completions.create({ model: 'llama', messages: hi, stream: true }).catch(e => e)
    // the attempt failed as a 502 (retryable, the key cools briefly); with no other attempt left: 503, naming the cause
    expect(e.status).toBe(503)
    expect(e.error.message).toContain('502 the upstream stream broke before any content (the upstream sent a malformed event stream (message CRC mismatch))')
    expect(e.error.message).toContain('key AKI…0001')
    expect(e.error.message).not.toContain(SECRET.slice(-4))
    const bad2 = await fake({ corruptFrame: 2 })
    const { oa: oa2 } = await gateway({}, {}, bad2)
    const text: string[] = []
    const mid: any = await (async () => {
      for await (const c of await oa2.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'a b c d e f' }], stream: true }))
        text.push(c.choices[0]?.delta.content ?? '')
    })().catch(e => e)
    expect(text.join('')).not.toBe('')
    expect(String(mid?.message)).toContain('CRC mismatch')
  })

  test('decoder: an 8 MB message in 1 KB chunks is joined once (linear), not re-copied per chunk', async () => {
    const big = eventMessage({ ':event-type': 'chunk', ':message-type': 'event' }, new Uint8Array(8 * 1048576).fill(120))
    const pieces = new ReadableStream<Uint8Array>({
      start(c) {
        for (let at = 0; at < big.length; at += 1024) c.enqueue(big.subarray(at, at + 1024))
        c.close()
      },
    })
    const t0 = performance.now()
    let n = 0
    for await (const m of parseEventStream(pieces)) n += m.payload.length
    expect(n).toBe(8 * 1048576)
    // re-copying the buffer per chunk is ~32 GB of copying here: many seconds
    expect(performance.now() - t0).toBeLessThan(1500)
  })

  test('a corrupted CRC in InvokeModelWithResponseStream: Anthropic `event: error`', async () => {
    const bad = await fake({ corruptFrame: 4 })
    const { srv } = await gateway({}, {}, bad)
    const res = await fetch(`${srv.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'sonnet', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'one two three four' }] }),
    })
    const text = await res.text()
    expect(text).toContain('event: message_start')
    expect(text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"[^"]*CRC mismatch/)
  })

  test('decoder: messages split at every byte, CRCs checked, one message bounded by limits.sse_event_mb', async () => {
    const te = new TextEncoder()
    const m1 = eventMessage({ ':event-type': 'chunk', ':message-type': 'event' }, te.encode('{"a":1}'))
    const m2 = eventMessage({ ':event-type': 'metadata', ':message-type': 'event' }, te.encode('{"b":2}'))
    const all = new Uint8Array([...m1, ...m2])
    const bytewise = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of all) c.enqueue(new Uint8Array([b]))
        c.close()
      },
    })
    const got = []
    for await (const m of parseEventStream(bytewise)) got.push([m.headers[':event-type'], new TextDecoder().decode(m.payload)])
    expect(got).toEqual([
      ['chunk', '{"a":1}'],
      ['metadata', '{"b":2}'],
    ])
    const read = async (bytes: Uint8Array, max?: number) => {
      try {
        for await (const _ of parseEventStream(new Response(new Uint8Array(bytes)).body!, max));
        return undefined
      } catch (e) {
        return e
      }
    }
    const badPrelude = m1.slice()
    badPrelude[9]! ^= 1
    expect(((await read(badPrelude)) as IRErrorValue).error.message).toContain('prelude CRC mismatch')
    expect(await read(m1, 10)).toBeInstanceOf(LimitExceeded)
    expect(((await read(m1.subarray(0, 20))) as IRErrorValue).error.message).toContain('ended inside a message')
  })
})

describe('Claude from the Anthropic dialect: InvokeModel', () => {
  test('the client body goes as it is: anthropic_version, no model, anthropic-beta as anthropic_beta; the answer as Claude gave it', async () => {
    const { an } = await gateway()
    const out = await an.messages.create(
      { model: 'sonnet', max_tokens: 64, temperature: 0.3, top_p: 0.9, messages: hi } as Anthropic.MessageCreateParamsNonStreaming,
      { headers: { 'anthropic-beta': 'context-1m-2025-08-07' } },
    )
    expect(out.content).toEqual([{ type: 'text', text: 'echo: Say hi' } as any])
    const rec = br.last()!
    expect(rec.path).toBe(`/model/${encodeURIComponent(SONNET)}/invoke`)
    expect(rec.body).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 64,
      temperature: 0.3,
      top_p: 0.9,
      messages: hi,
      anthropic_beta: ['context-1m-2025-08-07'],
    })
  })

  test('streams: event stream chunks re-framed as Anthropic SSE, usage and stop reason intact', async () => {
    const { an } = await gateway()
    const events: string[] = []
    const stream = an.messages.stream({ model: 'sonnet', max_tokens: 64, messages: hi })
    for await (const ev of stream) events.push(ev.type)
    const msg = await stream.finalMessage()
    expect(msg.content).toEqual([{ type: 'text', text: 'echo: Say hi', citations: null } as any].map(({ citations, ...b }) => b) as any)
    expect(msg.stop_reason).toBe('end_turn')
    expect(msg.usage.output_tokens).toBeGreaterThan(0)
    expect(events[0]).toBe('message_start')
    expect(events.at(-1)).toBe('message_stop')
    expect(br.last()!.path).toBe(`/model/${encodeURIComponent(SONNET)}/invoke-with-response-stream`)
  })

  test('a non-Claude model from the Anthropic dialect goes through Converse', async () => {
    const { an } = await gateway()
    const out = await an.messages.create({ model: 'llama', max_tokens: 64, messages: hi })
    expect(out.content[0]).toMatchObject({ type: 'text', text: 'echo: Say hi' })
    expect(br.last()!.path).toBe(`/model/${encodeURIComponent(LLAMA)}/converse`)
  })
})

describe('config', () => {
  const build = (p: Record<string, unknown>) => () => buildConfig({ providers: [{ name: 'p', ...p }] })
  test('region and profile belong to bedrock; a region must look like one', () => {
    expect(build({ type: 'openai', region: 'us-east-1' })).toThrow(ConfigError)
    expect(build({ type: 'openai', region: 'us-east-1' })).toThrow('region: only a provider of type bedrock takes region (this one is openai)')
    expect(build({ type: 'bedrock', region: 'Frankfurt' })).toThrow(ConfigError)
    expect(build({ type: 'bedrock', region: 'eu-central-1', profile: 'work' })).not.toThrow()
  })

  test('the default endpoint is the region runtime host, from region, AWS_REGION or us-east-1', async () => {
    const { buildProviders } = await import('../src/providers/registry')
    const { silentLogger } = await import('../src/log')
    const url = (p: Record<string, unknown>, env: Record<string, string> = {}) =>
      buildProviders([{ name: 'b', type: 'bedrock', api_keys: ['a:b'], ...p } as any], silentLogger, {}, env).get('b')!.baseUrl
    expect(url({ region: 'eu-west-3' })).toBe('https://bedrock-runtime.eu-west-3.amazonaws.com')
    expect(url({}, { AWS_REGION: 'ap-northeast-1' })).toBe('https://bedrock-runtime.ap-northeast-1.amazonaws.com')
    expect(url({}, {})).toBe('https://bedrock-runtime.us-east-1.amazonaws.com')
  })
})

describe('Converse codec', () => {
  const ctx = (warnings: string[]) => ({ clientModel: 'm', warn: (w: string) => warnings.push(w) })
  test('request: Claude gets thinking and top_k in additionalModelRequestFields; another family does not, with a warning', async () => {
    const { encodeConverseRequest } = await import('../src/dialects/bedrock/upstream/request')
    const req = {
      model: SONNET,
      system: ['Be brief.'],
      messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }],
      reasoning: { budgetTokens: 2048 },
      topK: 5,
      maxTokens: 8000,
      stop: ['END'],
      tools: [{ name: 'f', parameters: { type: 'object', properties: {} } }],
      toolChoice: { name: 'f' },
      stream: true,
    }
    const w: string[] = []
    const claude = encodeConverseRequest(req, ctx(w))
    expect(claude.path).toBe(`/model/${encodeURIComponent(SONNET)}/converse-stream`)
    expect(claude.body).toMatchObject({
      system: [{ text: 'Be brief.' }],
      inferenceConfig: { maxTokens: 8000, stopSequences: ['END'] },
      toolConfig: { tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object', properties: {} } } } }], toolChoice: { tool: { name: 'f' } } },
    })
    // a forced tool turns thinking off (Anthropic's rule, kept for Claude on Bedrock); top_k stays
    expect(claude.body.additionalModelRequestFields).toEqual({ top_k: 5 })
    const w2: string[] = []
    const llama = encodeConverseRequest({ ...req, model: LLAMA, toolChoice: undefined }, ctx(w2))
    expect(llama.body.additionalModelRequestFields).toBeUndefined()
    expect(w2.join(' ')).toContain(`thinking and top_k dropped: ${LLAMA} is not a Claude model`)
  })

  test('response: reasoning, text, tool use; guardrail_intervened → content filter; cache reads and writes count as input', async () => {
    const { decodeConverseResponse } = await import('../src/dialects/bedrock/upstream/response')
    const out = decodeConverseResponse(
      {
        output: {
          message: {
            role: 'assistant',
            content: [
              { reasoningContent: { reasoningText: { text: 'hmm', signature: 'sig' } } },
              { text: 'ok' },
              { toolUse: { toolUseId: 't1', name: 'f', input: { a: 1 } } },
            ],
          },
        },
        stopReason: 'guardrail_intervened',
        usage: { inputTokens: 10, outputTokens: 5, totalTokens: 45, cacheReadInputTokens: 20, cacheWriteInputTokens: 10 },
      },
      ctx([]),
    )
    expect(out.content).toEqual([
      { type: 'thinking', text: 'hmm', signature: 'sig' },
      { type: 'text', text: 'ok' },
      { type: 'tool_call', id: 't1', name: 'f', arguments: '{"a":1}' },
    ])
    expect(out.stopReason).toBe('content_filter')
    expect(out.usage).toEqual({ inputTokens: 40, outputTokens: 5, cachedInputTokens: 20, cacheCreationInputTokens: 10 })
  })

  test('Anthropic count_tokens to a bedrock provider: a local estimate, no upstream call', async () => {
    const { srv } = await gateway()
    const res = await fetch(`${srv.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'sonnet', messages: hi }),
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0)
    expect(br.requests).toHaveLength(0)
  })
})
