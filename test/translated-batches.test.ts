/**
 * A translated stream is written in batches: what the upstream sends in one write (the whole answer of a fast model, or
 * the frames that queued up while the client was slow) is decoded, translated and written to the client together, not
 * one write per event. Seen on the wire (a raw socket: fetch would hide how the body is cut) as HTTP chunks. The upstream is
 * the bench's (bench/upstream.ts): its whole answer in one write.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { startAgproxy, type TestServer } from './support/agproxy'
import { answerChunks, startUpstream } from '../bench/upstream'
import { startFake, type Fake } from './fakes/upstream'
import { call, parseSSE, provider, until } from './support/resilience'

/** The HTTP/1.1 response to `request` as read off a raw socket: its head, and the chunks of its chunked body (a body of known
 *  length: one chunk). */
async function rawChunks(port: number, request: string): Promise<{ head: string; chunks: string[] }> {
  let raw = Buffer.alloc(0)
  const { promise: ended, resolve } = Promise.withResolvers<void>()
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data(_s, d) {
        raw = Buffer.concat([raw, d])
        if (raw.includes('\r\n0\r\n\r\n')) resolve()
      },
      close: () => resolve(),
    },
  })
  socket.write(request)
  await ended
  socket.end()
  const text = raw.toString('latin1')
  const headEnd = text.indexOf('\r\n\r\n')
  const head = text.slice(0, headEnd)
  // an answer that had arrived whole goes as one body of known length: one write
  if (/^content-length:/im.test(head)) return { head, chunks: [raw.subarray(headEnd + 4).toString('utf8')] }
  const chunks: string[] = []
  for (let i = headEnd + 4; i < text.length; ) {
    const eol = text.indexOf('\r\n', i)
    const size = parseInt(text.slice(i, eol), 16)
    if (!size) break
    chunks.push(Buffer.from(text.slice(eol + 2, eol + 2 + size), 'latin1').toString('utf8'))
    i = eol + 2 + size + 2
  }
  return { head, chunks }
}

/** POST `body` (JSON) to `path` over a raw socket, as rawChunks reads it; `headers`: more header lines, each ending in \r\n */
const postRaw = (port: number, path: string, body: string, headers = '') =>
  rawChunks(
    port,
    `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n${headers}` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )

/** the data of the SSE frames in what was read */
const sseData = (chunks: string[]) =>
  chunks
    .join('')
    .split('\n\n')
    .filter(f => f.startsWith('data: '))
    .map(f => f.slice(6))

describe('Gemini, OpenAI or Anthropic upstream, streamed to a client of another dialect: one write per upstream chunk', () => {
  let up: ReturnType<typeof startUpstream>
  let srv: TestServer
  beforeAll(async () => {
    // the bench's upstream: the whole answer (20 text frames and the last one) in one write
    up = startUpstream({ chunks: 20 })
    srv = await startAgproxy({
      request_log: false,
      providers: [
        { name: 'g', type: 'gemini', base_url: up.url, api_key: 'gemini-batches-key-0000', models: ['gemini-bench'] },
        { name: 'o', type: 'openai', base_url: `${up.url}/v1`, api_key: 'sk-batches-key-0000', models: ['gpt-bench'] },
        { name: 'a', type: 'anthropic', base_url: up.url, api_key: 'sk-ant-batches-key-0000', models: ['claude-bench'] },
      ],
    })
  })
  afterAll(async () => {
    await srv?.stop()
    up?.stop()
  })

  test.each(['gemini-bench', 'gpt-bench'])(
    'Anthropic client (%s): the 20 text deltas reach the client in at most 3 writes, and parse as the same events',
    async model => {
      const body = JSON.stringify({ model, max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] })
      const { head, chunks } = await postRaw(srv.port, '/v1/messages', body, 'anthropic-version: 2023-06-01\r\n')
      expect(head).toStartWith('HTTP/1.1 200')
      const text = chunks.join('')
      const events = [...text.matchAll(/^event: (\w+)$/gm)].map(m => m[1])
      expect(events.filter(e => e === 'content_block_delta')).toHaveLength(20)
      expect(events.at(-1)).toBe('message_stop')
      // one write for the upstream's chunk, one for its end (the blocks' stop, message_delta, message_stop); before: one per event
      expect(chunks.length).toBeLessThanOrEqual(3)
    },
  )

  test.each(['gemini-bench', 'claude-bench'])('OpenAI chat client (%s): the 20 content deltas reach the client in at most 3 writes too', async model => {
    const body = JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] })
    const { head, chunks } = await postRaw(srv.port, '/v1/chat/completions', body)
    expect(head).toStartWith('HTTP/1.1 200')
    const frames = sseData(chunks)
    expect(frames.at(-1)).toBe('[DONE]')
    const deltas = frames.slice(0, -1).map(f => JSON.parse(f).choices[0]?.delta?.content)
    expect(deltas.filter(d => d).join('')).toBe(answerChunks(20).join(''))
    expect(chunks.length).toBeLessThanOrEqual(3)
  })

  test.each(['gpt-bench', 'claude-bench'])('Gemini client (%s, alt=sse): the 20 text chunks reach the client in at most 3 writes too', async model => {
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] })
    const { head, chunks } = await postRaw(srv.port, `/v1beta/models/${model}:streamGenerateContent?alt=sse`, body)
    expect(head).toStartWith('HTTP/1.1 200')
    const frames = sseData(chunks).map(f => JSON.parse(f))
    expect(frames.map(f => f.candidates[0].content.parts.map((p: { text?: string }) => p.text ?? '').join('')).join('')).toBe(answerChunks(20).join(''))
    expect(frames.at(-1).candidates[0].finishReason).toBe('STOP')
    expect(chunks.length).toBeLessThanOrEqual(3)
  })

  test('an answer that has arrived whole goes as one body of known length (no stream to pump)', async () => {
    const body = JSON.stringify({ model: 'gemini-bench', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] })
    const { head, chunks } = await postRaw(srv.port, '/v1/messages', body, 'anthropic-version: 2023-06-01\r\n')
    expect(head).toMatch(/^content-type: text\/event-stream/im)
    expect(head).toMatch(/^content-length: \d+/im)
    expect(chunks.join('')).toEndWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')
  })

  test('the official OpenAI SDK reads the batched chat stream as the whole answer', async () => {
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'sk-any', maxRetries: 0 })
    const stream = await client.chat.completions.create({ model: 'gemini-bench', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    let text = ''
    let finish: string | null | undefined
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? ''
      finish = c.choices[0]?.finish_reason ?? finish
    }
    expect(text).toBe(answerChunks(20).join(''))
    expect(finish).toBe('stop')
  })

  test('a stream whose upstream body was read to its end, or cancelled after [DONE], aborts no call (aborting a finished fetch is not free)', async () => {
    const abort = AbortController.prototype.abort
    let fromSrc = 0
    AbortController.prototype.abort = function (this: AbortController, reason?: unknown) {
      if (/\/src\/[\w/-]+\.ts/.test(new Error().stack ?? '')) fromSrc++
      return abort.call(this, reason)
    }
    try {
      for (const model of ['gemini-bench', 'gpt-bench']) {
        const r = await fetch(`${srv.url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
          body: JSON.stringify({ model, max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
        })
        expect(await r.text()).toContain('event: message_stop')
      }
      await Bun.sleep(20) // the guard's end runs after the last byte is sent
    } finally {
      AbortController.prototype.abort = abort
    }
    expect(fromSrc).toBe(0)
  })

  test('the official Anthropic SDK reads the batched stream as the whole answer', async () => {
    const client = new Anthropic({ baseURL: srv.url, apiKey: 'sk-ant-any' })
    const stream = client.messages.stream({ model: 'gemini-bench', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
    let deltas = 0
    stream.on('text', () => deltas++)
    const msg = await stream.finalMessage()
    expect(deltas).toBe(20)
    expect(msg.content.map(b => (b.type === 'text' ? b.text : b.type))).toEqual([answerChunks(20).join('')])
    expect(msg.stop_reason).toBe('end_turn')
  })
})

describe('a translated stream that has not arrived whole is streamed as it comes', () => {
  test('Anthropic client ← gemini provider: the first words reach the client long before the last', async () => {
    const fake = await startFake('gemini')
    const srv = await startAgproxy({ request_log: false, providers: [provider('up', fake, ['up-key-0123456789abcdef'])] })
    try {
      fake.enqueue({ kind: 'slow', text: 'one two three four', chunkDelayMs: 300 })
      const r = await call(srv, 'anthropic', 'up/m', { stream: true })
      expect(r.headers.get('content-length')).toBeNull()
      const reader = r.body!.getReader()
      const td = new TextDecoder()
      let text = ''
      const t0 = Date.now()
      while (!text.includes('one')) text += td.decode((await reader.read()).value)
      const first = Date.now() - t0
      for (let c = await reader.read(); !c.done; c = await reader.read()) text += td.decode(c.value)
      expect(Date.now() - t0 - first).toBeGreaterThan(500) // the rest came later: three more words, 300 ms apart
      expect(text).toContain('event: message_stop')
    } finally {
      await srv.stop()
      await fake.stop()
    }
  })
})

describe('a translated stream that goes silent still releases its upstream', () => {
  const fakes: Fake[] = []
  afterAll(async () => {
    for (const f of fakes) await f.stop()
  })
  test.each(['gemini'] as const)('Anthropic client ← %s provider: the idle limit ends the stream and aborts the call at once', async type => {
    const fake = await startFake(type)
    fakes.push(fake)
    const srv = await startAgproxy({ request_log: false, timeouts: { idle: 0.3 }, providers: [provider('up', fake, ['up-key-0123456789abcdef'])] })
    try {
      fake.enqueue({ kind: 'slow', text: 'one two three', chunkDelayMs: 2000 })
      const r = await call(srv, 'anthropic', 'up/m', { stream: true })
      const text = await r.text()
      expect(text).toContain('one')
      expect(parseSSE(text).at(-1)).toMatchObject({ event: 'error' })
      expect(text).toContain('timeouts.idle')
      // the decoder is still waiting on the silent body (its next frame comes 2 s later): it cannot release it, the call is aborted
      await until(() => fake.last()!.aborted, 1000, 'the upstream call to be released')
    } finally {
      await srv.stop()
    }
  })
})
