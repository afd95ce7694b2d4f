/**
 * Responses on servers that only speak Chat Completions (issue 14 §1): `responses: auto | chat | native` on an openai
 * provider, through the official `openai` SDK's responses.create, stream and not, against a chat-only fake (its
 * /v1/responses answers vLLM's `{"detail":"Not Found"}` 404). And an upstream 404 on a path is never model_not_found.
 */
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startFake } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'

const chatOnly = await startFake('openai', { keys: ['k-1', 'k-2'], chatOnly: true })
const full = await startFake('openai', { keys: ['k-1', 'k-2'] })
const servers: TestServer[] = []
afterAll(async () => {
  await Promise.all(servers.map(s => s.stop(0)))
  await Promise.all([chatOnly.stop(), full.stop()])
})
beforeEach(() => {
  chatOnly.reset()
  full.reset()
})

async function gateway(responses?: 'native' | 'chat' | 'auto', base = chatOnly.url) {
  const srv = await startAgproxy({
    providers: [{ name: 'local', type: 'openai', base_url: base, api_keys: ['k-1', 'k-2'], ...(responses && { responses }) }],
    models: { 'gpt-4o': 'local/gpt-4o' },
    retry: { max_attempts: 2, max_wait: 0 },
  })
  servers.push(srv)
  return { srv, oa: new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'client', maxRetries: 0 }) }
}

const paths = () => chatOnly.requests.map(r => `${r.method} ${r.path}`)
const fallbackLines = (srv: TestServer) => srv.logs.filter(l => l.includes('has no /v1/responses; translating Responses to Chat Completions'))

async function streamText(oa: OpenAI, input: string) {
  const stream = await oa.responses.create({ model: 'gpt-4o', input, stream: true })
  let text = ''
  let completed: OpenAI.Responses.Response | undefined
  for await (const ev of stream) {
    if (ev.type === 'response.output_text.delta') text += ev.delta
    if (ev.type === 'response.completed') completed = ev.response
  }
  return { text, completed }
}

describe('responses: auto (the default)', () => {
  test('a 404 on /v1/responses: translated through Chat Completions, remembered, one log line', async () => {
    const { srv, oa } = await gateway()
    const first = await oa.responses.create({ model: 'gpt-4o', input: 'hello there' })
    expect(first.output_text).toBe('echo: hello there')
    expect(first.status).toBe('completed')
    expect(first.usage?.input_tokens).toBeGreaterThan(0)
    expect(paths()).toEqual(['POST /v1/responses', 'POST /v1/chat/completions'])
    // the fallback is not the key's fault: both keys stay active
    const keys = JSON.stringify(await (await fetch(`${srv.url}/agproxy/keys`)).json())
    expect(keys).toContain('"status":"active"')
    expect(keys).not.toContain('cooling')
    expect(keys).not.toContain('disabled')

    chatOnly.reset()
    const { text, completed } = await streamText(oa, 'and a stream')
    expect(text).toBe('echo: and a stream')
    expect(completed?.status).toBe('completed')
    expect(completed?.usage?.output_tokens).toBeGreaterThan(0)
    // remembered: straight to Chat Completions
    expect(paths()).toEqual(['POST /v1/chat/completions'])
    expect(chatOnly.last()!.body.stream).toBe(true)
    expect(fallbackLines(srv)).toHaveLength(1)
    expect(fallbackLines(srv)[0]).toContain('provider local')
  })

  test('a stream first: the fallback happens before any byte reached the client', async () => {
    const { srv, oa } = await gateway('auto')
    const { text } = await streamText(oa, 'streamed first')
    expect(text).toBe('echo: streamed first')
    expect(paths()).toEqual(['POST /v1/responses', 'POST /v1/chat/completions'])
    expect(fallbackLines(srv)).toHaveLength(1)
  })

  test('tools through the fallback: a function call comes back as a Responses function_call', async () => {
    const { oa } = await gateway()
    chatOnly.setDefault({ kind: 'tool_calls', calls: [{ id: 'call_1', name: 'get_weather', args: { city: 'Paris' } }] })
    const r = await oa.responses.create({
      model: 'gpt-4o',
      input: 'weather?',
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }],
    })
    const call = r.output.find(o => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall
    expect(call.name).toBe('get_weather')
    expect(JSON.parse(call.arguments)).toEqual({ city: 'Paris' })
    expect(chatOnly.last()!.body.tools[0].function.name).toBe('get_weather')
  })

  test('a 405 on /v1/responses (a server that routes the path for GET only) falls back too', async () => {
    const { srv, oa } = await gateway('auto', full.url)
    full.handler = rec => (rec.path === '/v1/responses' ? { kind: 'error', status: 405, body: { detail: 'Method Not Allowed' } } : undefined)
    const r = await oa.responses.create({ model: 'gpt-4o', input: 'after a 405' })
    expect(r.output_text).toBe('echo: after a 405')
    expect(full.requests.map(x => x.path)).toEqual(['/v1/responses', '/v1/chat/completions'])
    expect(fallbackLines(srv)).toHaveLength(1)
  })

  test('a server with /v1/responses is passed through, never translated', async () => {
    const { srv, oa } = await gateway('auto', full.url)
    const r = await oa.responses.create({ model: 'gpt-4o', input: 'native' })
    expect(r.output_text).toBe('echo: native')
    expect(full.requests.map(x => x.path)).toEqual(['/v1/responses'])
    expect(fallbackLines(srv)).toHaveLength(0)
  })

  test('an unknown model on /v1/responses is model_not_found, not a fallback', async () => {
    const { srv, oa } = await gateway('auto', full.url)
    full.setDefault({ kind: 'error', status: 404 })
    const e = (await oa.responses.create({ model: 'gpt-4o', input: 'x' }).catch(x => x)) as InstanceType<typeof OpenAI.APIError>
    expect(e.status).toBe(404)
    expect(e.code).toBe('model_not_found')
    expect(full.requests.map(x => x.path)).toEqual(['/v1/responses'])
    expect(fallbackLines(srv)).toHaveLength(0)
  })
})

describe('responses: chat and native', () => {
  test('chat: never tries /v1/responses', async () => {
    const { srv, oa } = await gateway('chat')
    expect((await oa.responses.create({ model: 'gpt-4o', input: 'direct' })).output_text).toBe('echo: direct')
    expect((await streamText(oa, 'direct stream')).text).toBe('echo: direct stream')
    expect(paths()).toEqual(['POST /v1/chat/completions', 'POST /v1/chat/completions'])
    expect(fallbackLines(srv)).toHaveLength(0)
  })

  test('native: the 404 reaches the client as not_found naming the upstream path, not model_not_found', async () => {
    const { oa } = await gateway('native')
    const e = (await oa.responses.create({ model: 'gpt-4o', input: 'x' }).catch(x => x)) as InstanceType<typeof OpenAI.APIError>
    expect(e.status).toBe(404)
    expect(e.code).not.toBe('model_not_found')
    expect(e.message).toContain('provider local has no POST /v1/responses')
    expect(e.message).toContain('base_url')
    expect(paths()).toEqual(['POST /v1/responses'])
  })
})

describe('an upstream 404 on a path is never model_not_found', () => {
  test('a wrong base_url: the Chat Completions 404 (OpenAI "Invalid URL") names the path', async () => {
    const { oa } = await gateway(undefined, full.url.replace(/\/v1$/, '/wrong'))
    const e = (await oa.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch(x => x)) as InstanceType<
      typeof OpenAI.APIError
    >
    expect(e.status).toBe(404)
    expect(e.code).not.toBe('model_not_found')
    expect(e.message).toContain('has no POST /wrong/chat/completions')
  })

  test('Anthropic and Gemini callers get their own not_found bodies naming the path', async () => {
    const { srv } = await gateway(undefined, full.url.replace(/\/v1$/, '/wrong'))
    const an = await fetch(`${srv.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    })
    expect(an.status).toBe(404)
    const ab = (await an.json()) as any
    expect(ab.type).toBe('error')
    expect(ab.error.type).toBe('not_found_error')
    expect(ab.error.message).toContain('has no POST /wrong/chat/completions')
    const ge = await fetch(`${srv.url}/v1beta/models/gpt-4o:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'x' }] }] }),
    })
    expect(ge.status).toBe(404)
    const gb = (await ge.json()) as any
    expect(gb.error.status).toBe('NOT_FOUND')
    expect(gb.error.message).toContain('has no POST /wrong/chat/completions')
  })
})
