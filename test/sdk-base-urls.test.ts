/**
 * The official clients, configured with the right base URL and with the wrong ones users actually
 * paste, all reach agproxy's canonical handlers: a model call gets the "no provider is configured"
 * 503 as that SDK's own error class (never a 404), a listing gets a 200.
 */
import { describe, test, expect, beforeAll, afterAll } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI, ApiError } from '@google/genai'
import { startAgproxy, type TestServer } from './support/agproxy'
import { NO_PROVIDER } from './support/front-door'

let srv: TestServer
beforeAll(async () => {
  srv = await startAgproxy()
})
afterAll(() => srv.stop(0))

/** Base URLs relative to the agproxy origin: the right one for each family, and the usual mistakes. */
const BASES = ['', '/v1', '/v1/chat/completions', '/v1beta', '/v1/v1']
const base = (suffix: string) => `${srv.url}${suffix}`

const user = [{ role: 'user' as const, content: 'hi' }]
const drain = async (it: AsyncIterable<unknown>) => {
  for await (const _ of it) void _
}

async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    const value = await p
    throw new Error(`expected an error, got ${JSON.stringify(value)?.slice(0, 200)}`)
  } catch (e) {
    return e
  }
}

describe.each(BASES)('openai SDK, baseURL http://localhost:PORT%s', suffix => {
  const client = () => new OpenAI({ baseURL: base(suffix), apiKey: 'any', maxRetries: 0 })
  const CALLS: Array<[string, (c: OpenAI) => Promise<unknown>]> = [
    ['chat.completions.create', c => c.chat.completions.create({ model: 'gpt-x', messages: user })],
    ['chat.completions.create (stream)', async c => drain(await c.chat.completions.create({ model: 'gpt-x', messages: user, stream: true }))],
    ['completions.create', c => c.completions.create({ model: 'gpt-x', prompt: 'hi' })],
    ['responses.create', c => c.responses.create({ model: 'gpt-x', input: 'hi' })],
    ['responses.create (stream)', async c => drain(await c.responses.create({ model: 'gpt-x', input: 'hi', stream: true }))],
    ['embeddings.create', c => c.embeddings.create({ model: 'text-embedding-x', input: 'hi' })],
  ]
  test.each(CALLS)('%s → 503 InternalServerError, no provider', async (_, call) => {
    const e = await rejection(call(client()))
    expect(e).toBeInstanceOf(OpenAI.InternalServerError)
    expect(e.status).toBe(503)
    expect(e.message).toMatch(NO_PROVIDER)
  })
  test('models.list → 200', async () => {
    const page = await client().models.list()
    expect(page.data).toEqual([])
  })
})

describe.each(BASES)('@anthropic-ai/sdk, baseURL http://localhost:PORT%s', suffix => {
  const client = () => new Anthropic({ baseURL: base(suffix), apiKey: 'any', maxRetries: 0 })
  const CALLS: Array<[string, (c: Anthropic) => Promise<unknown>]> = [
    ['messages.create', c => c.messages.create({ model: 'claude-x', max_tokens: 8, messages: user })],
    ['messages.create (stream)', async c => drain(await c.messages.create({ model: 'claude-x', max_tokens: 8, messages: user, stream: true }))],
    ['messages.stream', c => drain(c.messages.stream({ model: 'claude-x', max_tokens: 8, messages: user }))],
    ['messages.countTokens', c => c.messages.countTokens({ model: 'claude-x', messages: user })],
    ['beta.messages.countTokens (?beta=true)', c => c.beta.messages.countTokens({ model: 'claude-x', messages: user })],
  ]
  test.each(CALLS)('%s → 503 ServiceUnavailableError, no provider', async (_, call) => {
    const e = await rejection(call(client()))
    expect(e).toBeInstanceOf(Anthropic.APIError)
    expect(e.constructor.name).toBe('ServiceUnavailableError')
    expect(e.status).toBe(503)
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'api_error' } })
    expect(e.message).toMatch(NO_PROVIDER)
  })
  test('models.list → 200', async () => {
    const page = await client().models.list()
    expect(page.data).toEqual([])
  })
})

/** @google/genai 3.x defaults to API version v1: its generateContent lands on /v1/models/{m}:generateContent */
describe.each(
  BASES.flatMap(
    b =>
      [
        [b, undefined],
        [b, 'v1beta'],
      ] as Array<[string, string | undefined]>,
  ),
)('@google/genai, baseUrl http://localhost:PORT%s, apiVersion %s', (suffix, apiVersion) => {
  const client = () => new GoogleGenAI({ apiKey: 'any', httpOptions: { baseUrl: base(suffix), ...(apiVersion ? { apiVersion } : {}) } })
  const CALLS: Array<[string, (c: GoogleGenAI) => Promise<unknown>]> = [
    ['models.generateContent', c => c.models.generateContent({ model: 'gemini-x', contents: 'hi' })],
    ['models.generateContentStream', async c => drain(await c.models.generateContentStream({ model: 'gemini-x', contents: 'hi' }))],
    ['models.countTokens', c => c.models.countTokens({ model: 'gemini-x', contents: 'hi' })],
  ]
  test.each(CALLS)('%s → 503 ApiError, no provider', async (_, call) => {
    const e = await rejection(call(client()))
    expect(e).toBeInstanceOf(ApiError)
    expect(e.status).toBe(503)
    const body = JSON.parse(e.message)
    expect(body.error).toMatchObject({ code: 503, status: 'UNAVAILABLE' })
    expect(body.error.message).toMatch(NO_PROVIDER)
  })
  test('models.list → 200', async () => {
    const pager = await client().models.list()
    expect(pager.page).toEqual([])
  })
})

test('the right base URLs need no rewriting', async () => {
  const before = srv.logs.length
  await rejection(new OpenAI({ baseURL: base('/v1'), apiKey: 'any', maxRetries: 0 }).chat.completions.create({ model: 'gpt-x', messages: user }))
  await rejection(new Anthropic({ baseURL: base(''), apiKey: 'any', maxRetries: 0 }).messages.create({ model: 'claude-x', max_tokens: 8, messages: user }))
  for (const apiVersion of ['v1', 'v1beta'])
    await rejection(
      new GoogleGenAI({ apiKey: 'any', httpOptions: { baseUrl: base(''), apiVersion } }).models.generateContent({ model: 'gemini-x', contents: 'hi' }),
    )
  expect(srv.logs.slice(before).filter(l => l.includes(' → '))).toEqual([])
})
