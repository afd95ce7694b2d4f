/**
 * Secrets never leave, and pass-through streams end well-formed (issue 8 §3, §4 first item).
 * - Provider keys an upstream echoes in a 200 answer are masked for every client dialect × provider type, in JSON
 *   answers and streams, translated or passed through — every configured key, not only the one called.
 * - An upstream message is masked before it is cut, so a key across the cut cannot leak in part.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI } from '@google/genai'
import { startFake, type Fake, type ProviderType } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'
import { call, keyStates, provider } from './support/resilience'
import { maskKey } from '../src/providers/pool'

const KEY: Record<ProviderType, string> = {
  openai: 'sk-proj-SECRETS0000000000000000000oa1',
  anthropic: 'sk-ant-api03-SECRETS00000000000000an1',
  gemini: 'AIzaSySECRETS00000000000000000000ge1',
}
const ALL_KEYS = Object.values(KEY)
const MODEL: Record<ProviderType, string> = { openai: 'gpt-4o', anthropic: 'claude-sonnet-4-6', gemini: 'gemini-2.5-flash' }
const TYPES: ProviderType[] = ['openai', 'anthropic', 'gemini']
type Client = 'openai' | 'anthropic' | 'gemini'

const fakes = {} as Record<ProviderType, Fake>
beforeAll(async () => { for (const t of TYPES) fakes[t] = await startFake(t) })
afterAll(async () => { await Promise.all(Object.values(fakes).map((f) => f.stop())) })
const running: TestServer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop(0)))
  for (const f of Object.values(fakes)) f.reset()
})

/** agproxy with one provider per type, each with its own key; models routed by family. */
async function start(settings: Record<string, unknown> = {}, urls: Partial<Record<ProviderType, string>> = {}) {
  const srv = await startAgproxy({
    timeouts: { connect: 2, first_token: 3, idle: 3, total: 20 },
    retry: { max_attempts: 1, max_wait: 0 },
    providers: TYPES.map((t) => ({ ...provider(t, fakes[t], [KEY[t]]), ...(urls[t] ? { base_url: urls[t] } : {}) })),
    models: { 'gpt-*': 'openai/*', 'claude-*': 'anthropic/*', 'gemini-*': 'gemini/*' },
    ...settings,
  })
  running.push(srv)
  return srv
}

const noRawKey = (text: string) => { for (const k of ALL_KEYS) expect(text).not.toContain(k) }

/** What a client gets, through its official SDK: the answer's text (streamed or not). */
async function ask(srv: TestServer, client: Client, model: string, stream: boolean): Promise<string> {
  const prompt = 'hi'
  if (client === 'openai') {
    const c = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 })
    if (!stream) return (await c.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] })).choices[0]!.message.content ?? ''
    let text = ''
    for await (const ch of await c.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: prompt }] })) text += ch.choices[0]?.delta?.content ?? ''
    return text
  }
  if (client === 'anthropic') {
    const c = new Anthropic({ baseURL: srv.url, apiKey: 'x', maxRetries: 0 })
    const req = { model, max_tokens: 64, messages: [{ role: 'user' as const, content: prompt }] }
    if (!stream) return (await c.messages.create(req)).content.map((b) => (b.type === 'text' ? b.text : '')).join('')
    return c.messages.stream(req).finalText()
  }
  const ai = new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: srv.url } })
  if (!stream) return (await ai.models.generateContent({ model, contents: prompt })).text ?? ''
  let text = ''
  for await (const ch of await ai.models.generateContentStream({ model, contents: prompt })) text += ch.text ?? ''
  return text
}

describe('a provider key echoed in a 200 answer is masked: 3 clients × 3 providers, streamed or not', () => {
  const CELLS = (['openai', 'anthropic', 'gemini'] as Client[]).flatMap((c) => TYPES.flatMap((t) => [[c, t, false], [c, t, true]] as const))
  test.each(CELLS)('%s client ← %s provider, stream %p', async (client, type, stream) => {
    const srv = await start()
    // every configured key, in one content delta: the one called and the other providers'
    fakes[type].setDefault({ kind: 'text', text: `keys: ${ALL_KEYS.join(' ')} end`, chunks: 1 })
    const text = await ask(srv, client, MODEL[type], stream)
    expect(text).toBe(`keys: ${ALL_KEYS.map(maskKey).join(' ')} end`)
    noRawKey(text)
  })

  test('pass-through JSON, read raw: the bytes hold no key either', async () => {
    const srv = await start()
    fakes.openai.setDefault({ kind: 'text', text: `keys: ${ALL_KEYS.join(' ')}` })
    const res = await call(srv, 'openai', MODEL.openai)
    const raw = await res.text()
    expect(raw).toContain(maskKey(KEY.gemini))
    noRawKey(raw)
  })

  test('keys shorter than 12 characters (placeholders of keyless servers) are not masked: answers stay intact', async () => {
    const srv = await startAgproxy({ providers: [provider('local', fakes.openai, ['ollama'])] })
    running.push(srv)
    fakes.openai.setDefault({ kind: 'text', text: 'run it with ollama' })
    expect(await ask(srv, 'openai', 'local-model', false)).toBe('run it with ollama')
  })
})

describe('an upstream message is masked before it is cut', () => {
  // a key no pattern recognises (a relay's own): only the configured-key masking can catch it
  const RELAY_KEY = 'relay-Secret-0123456789abcdefXYZ'
  const PREFIX = RELAY_KEY.slice(0, 10)

  test('a key across character 500 of an error message: not in the answer, nor in a log line', async () => {
    const srv = await startAgproxy({ retry: { max_attempts: 1, max_wait: 0 }, providers: [provider('relay', fakes.openai, [RELAY_KEY])] })
    running.push(srv)
    fakes.openai.setDefault({ kind: 'error', status: 400, message: `${'x'.repeat(490)}${RELAY_KEY} is not allowed` })
    const res = await call(srv, 'openai', 'gpt-4o')
    const body = await res.text()
    expect(res.status).toBe(400)
    expect(body).toContain(`${'x'.repeat(490)}${maskKey(RELAY_KEY)}`)
    expect(body).not.toContain(PREFIX)
    expect(srv.logs.join('\n')).not.toContain(PREFIX)
  })

  test('a key across character 300 of a rate-limit message: not in the key pool reason', async () => {
    const srv = await startAgproxy({ retry: { max_attempts: 1, max_wait: 0 }, providers: [provider('relay', fakes.openai, [RELAY_KEY])] })
    running.push(srv)
    fakes.openai.setDefault({ kind: 'error', status: 429, message: `${'y'.repeat(290)}${RELAY_KEY} is rate limited`, retryDelaySeconds: 30 })
    const res = await call(srv, 'openai', 'gpt-4o')
    const body = await res.text()
    expect(res.status).toBe(429)
    const states = JSON.stringify(await keyStates(srv))
    expect(states).toContain('cooling')
    for (const text of [body, states, srv.logs.join('\n')]) expect(text).not.toContain(PREFIX)
  })
})
