/**
 * Keeps the benchmark from rotting: the built-in load generator (bench/loadgen.ts) and the bench's fake
 * upstream, for about a second, must report sane numbers. The bench itself runs with `npm run bench`.
 */
import { test, expect, afterAll } from 'bun:test'
import { runLoad } from '../bench/loadgen'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI } from '@google/genai'
import OpenAI from 'openai'
import { answerChunks, startUpstream } from '../bench/upstream'
import { fixedAnswers } from './fakes/fixed'

const up = startUpstream({ chunks: 5, pacedMs: 1 })
afterAll(() => up.stop())

const chat = (model: string, stream: boolean) => ({
  url: `${up.url}/v1/chat/completions`,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...(stream ? { stream: true } : {}) }),
})

test('closed loop: answers, throughput and latency percentiles are sane', async () => {
  const r = await runLoad({ ...chat('gpt-bench', false), connections: 8, durationMs: 600, warmupMs: 100 })
  expect(r.mode).toBe('closed')
  expect(r.errors + r.timeouts + r.non2xx).toBe(0)
  expect(r.requests).toBeGreaterThan(100)
  expect(r.rps).toBeGreaterThan(100)
  expect(r.status['200']).toBe(r.requests)
  expect(r.latency.p50).toBeGreaterThan(0)
  expect(r.latency.p50).toBeLessThanOrEqual(r.latency.p99)
  expect(r.latency.p99).toBeLessThanOrEqual(r.latency.max)
  expect(r.latency.p99).toBeLessThan(1000)
  expect(r.bytesPerResponse).toBeGreaterThan(100)
}, 5000)

test('open loop on paced streams: the rate holds, TTFB comes before the end, every frame is counted', async () => {
  const r = await runLoad({ ...chat('gpt-bench-paced', true), connections: 4, durationMs: 400, rate: 100, countFrames: true })
  expect(r.mode).toBe('open')
  expect(r.errors + r.timeouts + r.non2xx).toBe(0)
  expect(r.requests).toBeGreaterThanOrEqual(30)
  expect(r.requests).toBeLessThanOrEqual(41)
  // role frame + 5 content frames + finish + [DONE]
  expect(r.framesPerResponse).toBe(8)
  expect(r.ttfb.p50).toBeLessThan(r.latency.p50)
  expect(r.latency.p50).toBeGreaterThanOrEqual(6) // 6 frames after the first write, ≥ 1 ms apart
}, 5000)

test('the bench upstream serves the fakes’ own answers, and each official SDK reads them', async () => {
  const fixed = fixedAnswers(5)
  const text = answerChunks(5).join('')
  const body = await fetch(`${up.url}/v1/chat/completions`, chat('gpt-bench', false)).then(r => r.text())
  expect(body).toBe(new TextDecoder().decode(fixed.openai.json))

  const oa = new OpenAI({ baseURL: `${up.url}/v1`, apiKey: 'k', maxRetries: 0 })
  expect((await oa.chat.completions.create({ model: 'gpt-bench', messages: [{ role: 'user', content: 'hi' }] })).choices[0]?.message.content).toBe(text)
  let streamed = ''
  for await (const c of await oa.chat.completions.create({ model: 'gpt-bench', messages: [{ role: 'user', content: 'hi' }], stream: true }))
    streamed += c.choices[0]?.delta.content ?? ''
  expect(streamed).toBe(text)

  const an = new Anthropic({ baseURL: up.url, apiKey: 'k', maxRetries: 0 })
  const msg = await an.messages.stream({ model: 'claude-bench', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).finalMessage()
  expect(msg.content).toEqual([expect.objectContaining({ type: 'text', text })])

  const g = new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: up.url } })
  expect((await g.models.generateContent({ model: 'gemini-bench', contents: 'hi' })).text).toBe(text)
  let gStreamed = ''
  for await (const c of await g.models.generateContentStream({ model: 'gemini-bench', contents: 'hi' })) gStreamed += c.text ?? ''
  expect(gStreamed).toBe(text)
}, 10000)
