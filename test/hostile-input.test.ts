/**
 * Hostile and broken input: every item gets a clear error in the caller's dialect, nothing leaks,
 * and the server still answers /healthz afterwards.
 */
import { test, expect, beforeAll, afterAll, describe } from 'bun:test'
import { connect } from 'node:net'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'

let srv: TestServer
let fake: Fake
beforeAll(async () => {
  fake = await startFake('openai')
  srv = await startAgproxy({
    max_body_mb: 1,
    timeouts: { request_body: 1 },
    providers: [
      { name: 'up', type: 'openai', base_url: fake.url, api_keys: ['sk-test-upstream-key-0001'], models: ['gpt-4o'] },
      { name: 'other', type: 'openai', base_url: fake.url, models: ['other-model'] },
    ],
  })
})
afterAll(async () => {
  await srv.stop(0)
  await fake.stop()
})

type Dialect = 'openai' | 'anthropic' | 'gemini'
const ENDPOINTS: Record<Dialect, { path: string; valid: Record<string, unknown> }> = {
  openai: { path: '/v1/chat/completions', valid: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] } },
  anthropic: { path: '/v1/messages', valid: { model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] } },
  gemini: { path: '/v1beta/models/gpt-4o:generateContent', valid: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] } },
}

/** The error message, after checking the body has exactly the dialect's error shape. */
function messageOf(dialect: Dialect, body: any): string {
  if (dialect === 'openai') {
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
    return body.error.message
  }
  if (dialect === 'anthropic') {
    expect(body.type).toBe('error')
    expect(typeof body.error.type).toBe('string')
    return body.error.message
  }
  expect(typeof body.error.code).toBe('number')
  expect(typeof body.error.status).toBe('string')
  return body.error.message
}

interface Case {
  name: string
  status: number
  message: RegExp
  init: (d: Dialect) => { body?: BodyInit; headers?: Record<string, string>; path?: string }
}
const json = { 'content-type': 'application/json' }
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

const CASES: Case[] = [
  { name: 'malformed JSON', status: 400, message: /not valid JSON/, init: () => ({ body: '{"model": "gpt-4o", "messages": [', headers: json }) },
  {
    name: 'wrong content-type (form)',
    status: 415,
    message: /Content-Type.*application\/json/,
    init: _d => ({ body: 'model=gpt-4o', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
  },
  {
    name: 'wrong content-type (text/plain)',
    status: 415,
    message: /Content-Type/,
    init: d => ({ body: JSON.stringify(ENDPOINTS[d].valid), headers: { 'content-type': 'text/plain' } }),
  },
  { name: 'empty body', status: 400, message: /empty/, init: () => ({ body: '', headers: json }) },
  { name: 'JSON that is not an object', status: 400, message: /must be a JSON object, got an array/, init: () => ({ body: '[1,2,3]', headers: json }) },
  { name: 'JSON null', status: 400, message: /must be a JSON object, got null/, init: () => ({ body: 'null', headers: json }) },
  {
    name: 'wrong types',
    status: 400,
    message: /expected an array/,
    init: d => ({ body: JSON.stringify(d === 'gemini' ? { contents: 'hi' } : { ...ENDPOINTS[d].valid, messages: 'hi' }), headers: json }),
  },
  {
    name: 'unknown model',
    status: 404,
    message: /no-such-model.*Available/s,
    init: d => ({
      body: JSON.stringify(d === 'gemini' ? ENDPOINTS[d].valid : { ...ENDPOINTS[d].valid, model: 'no-such-model' }),
      headers: json,
      path: d === 'gemini' ? '/v1beta/models/no-such-model:generateContent' : undefined,
    }),
  },
  {
    name: 'huge body (declared)',
    status: 413,
    message: /larger than the limit of 1 MB.*max_body_mb/,
    init: d => ({ body: JSON.stringify({ ...ENDPOINTS[d].valid, pad: 'x'.repeat(2_000_000) }), headers: json }),
  },
  {
    name: 'huge body (chunked, no length)',
    status: 413,
    message: /larger than the limit/,
    init: _d => ({ body: chunked('x'.repeat(2_000_000)), headers: json }),
  },
  { name: 'deeply nested JSON', status: 400, message: /./, init: _d => ({ body: `{"model":"gpt-4o","messages":${nested(100_000)}}`, headers: json }) },
  {
    name: 'invalid UTF-8',
    status: 400,
    message: /UTF-8/,
    init: () => ({ body: new Uint8Array([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), headers: json }),
  },
  {
    name: 'header injection in the model name',
    status: 400,
    message: /control characters/,
    init: d => ({
      body: JSON.stringify({ ...ENDPOINTS[d].valid, model: 'gpt-4o\r\nX-Injected: 1' }),
      headers: json,
      path: d === 'gemini' ? '/v1beta/models/gpt-4o%0d%0aX-Injected:%201:generateContent' : undefined,
    }),
  },
  {
    name: 'path traversal',
    status: 404,
    message: /No route|names no model/,
    init: d => ({
      body: JSON.stringify(ENDPOINTS[d].valid),
      headers: json,
      path:
        d === 'gemini'
          ? '/v1beta/models/..%2f..%2fetc%2fpasswd:generateContent'
          : `/v1/..%2f..%2fetc/passwd${d === 'anthropic' ? '/messages' : '/chat/completions'}`,
    }),
  },
]

function chunked(s: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(s)
  let off = 0
  return new ReadableStream({
    pull(c) {
      if (off >= bytes.length) return c.close()
      c.enqueue(bytes.subarray(off, (off += 65536)))
    },
  })
}

describe.each(Object.keys(ENDPOINTS) as Dialect[])('%s endpoint', dialect => {
  test.each(CASES.map(c => [c.name, c] as const))('%s', async (_name, c) => {
    const { body, headers, path } = c.init(dialect)
    const r = await fetch(srv.url + (path ?? ENDPOINTS[dialect].path), { method: 'POST', body, headers })
    expect(r.status).toBe(c.status)
    const text = await r.text()
    const parsed = JSON.parse(text) // always valid JSON
    expect(messageOf(dialect, parsed)).toMatch(c.message)
    expect(text).not.toContain('sk-test-upstream-key-0001')
    expect(text).not.toMatch(/\bat .*\.ts:\d+/) // no stack trace
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200)
  })
})

test('10 000 messages are carried through, not refused', async () => {
  const messages = Array.from({ length: 10_000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `m${i}` }))
  messages.push({ role: 'user', content: 'last one' })
  const r = await fetch(`${srv.url}/v1/chat/completions`, { method: 'POST', headers: json, body: JSON.stringify({ model: 'gpt-4o', messages }) })
  expect(r.status).toBe(200)
  expect((await r.json()).choices[0].message.content).toBe('echo: last one')
  expect(fake.last()!.body.messages).toHaveLength(10_001)
})

test('a large base64 image within the limit reaches the upstream intact', async () => {
  const big = await startAgproxy({ providers: [{ name: 'up', type: 'openai', base_url: fake.url }] })
  try {
    const data = Buffer.alloc((50 * 1024 * 1024 * 3) / 4, 7).toString('base64') // ≈ 50 MB of base64
    const body = {
      model: 'gpt-4o',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'see' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } },
          ],
        },
      ],
    }
    const r = await fetch(`${big.url}/v1/chat/completions`, { method: 'POST', headers: json, body: JSON.stringify(body) })
    expect(r.status).toBe(200)
    expect(fake.last()!.body.messages[0].content[1].image_url.url.length).toBe(data.length + 'data:image/png;base64,'.length)
  } finally {
    await big.stop(0)
  }
}, 60_000)

test('a slow-loris body is cut off with 408 in dialect, and the server keeps answering', async () => {
  const port = srv.port
  const answer = await new Promise<string>(resolve => {
    const sock = connect(port, '127.0.0.1', () => {
      sock.write(`POST /v1/messages HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":`)
    })
    let data = ''
    sock.on('data', d => {
      data += d.toString()
      if (data.includes('}}')) sock.destroy()
    })
    sock.on('close', () => resolve(data))
    sock.on('error', () => resolve(data))
    setTimeout(() => sock.destroy(), 5000)
  })
  expect(answer).toMatch(/^HTTP\/1\.1 408/)
  expect(answer).toContain('"type":"error"')
  expect(answer).toMatch(/did not arrive within 1 s/)
  expect((await fetch(`${srv.url}/healthz`)).status).toBe(200)
})

test('an error nothing else caught → 500 in the dialect of the path, one short log line without a stack', async () => {
  const own = await startAgproxy({})
  try {
    // the gateway behind the listener fails outright (what no route handler or onError ever saw)
    own.agproxy.fetch = () => {
      throw new Error('boom: the gateway broke\n    at somewhere (src/x.ts:1:1)')
    }
    for (const dialect of Object.keys(ENDPOINTS) as Dialect[]) {
      const path = ENDPOINTS[dialect].path
      const before = own.logs.length
      const r = await fetch(own.url + path, { method: 'POST', headers: json, body: JSON.stringify(ENDPOINTS[dialect].valid) })
      expect(r.status).toBe(500)
      const text = await r.text()
      expect(messageOf(dialect, JSON.parse(text))).toContain('internal error')
      expect(text).not.toContain('boom')
      const lines = own.logs.slice(before)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain(`internal error on POST ${path}: boom: the gateway broke`)
      expect(lines[0]).not.toContain('\n')
      expect(lines[0]).not.toMatch(/\bat .*\.ts:\d+/)
    }
  } finally {
    await own.stop(0)
  }
})
