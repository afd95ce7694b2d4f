/**
 * Azure OpenAI (`type: azure`, issue 14 §4) through the official SDKs against the Azure fake: classic deployment paths
 * with api-version, the v1 endpoint, the deployments map, `api-key` and Entra ID bearer auth, a pasted URL repaired,
 * Azure's own errors (DeploymentNotFound, content filter) in each caller's dialect, and the config checks.
 * The 3×3 dialect matrix runs against azure too (test/support/matrix.ts PROVIDERS).
 */
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI } from '@google/genai'
import { buildConfig, ConfigError } from '../src/config/load'
import { repairBaseUrl } from '../src/providers/registry'
import { azureContentFilterError } from './fakes/azure'
import { startFake } from './fakes/upstream'
import { startAgproxy, type TestServer } from './support/agproxy'

const az = await startFake('azure', {
  keys: ['az-key-1', 'entra-token-1'],
  deployments: { 'prod-4o': 'gpt-4o', 'embed-small': 'text-embedding-3-small', 'prod-reasoner': 'o4-mini' },
})
const servers: TestServer[] = []
afterAll(async () => {
  await Promise.all(servers.map(s => s.stop(0)))
  await az.stop()
})
beforeEach(() => az.reset())

async function gateway(provider: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const srv = await startAgproxy(
    {
      providers: [{ name: 'az', type: 'azure', base_url: az.url, api_keys: ['az-key-1'], deployments: { 'gpt-4o': 'prod-4o' }, ...provider }],
      models: { 'gpt-4o': 'az/gpt-4o', 'o4-mini': 'az/o4-mini', 'text-embedding-3-small': 'az/text-embedding-3-small', 'gpt-9': 'az/gpt-9' },
      retry: { max_attempts: 1, max_wait: 0 },
    },
    env,
  )
  servers.push(srv)
  return { srv, oa: new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'client-key', maxRetries: 0 }) }
}

const hi = [{ role: 'user' as const, content: 'hello azure' }]

describe('classic resource endpoint', () => {
  test('chat: /openai/deployments/{deployment}/chat/completions?api-version=2024-10-21, api-key header, the client key not forwarded', async () => {
    const { oa } = await gateway()
    const r = await oa.chat.completions.create({ model: 'gpt-4o', messages: hi })
    expect(r.choices[0]?.message.content).toBe('echo: hello azure')
    const rec = az.last()!
    expect(rec.path).toBe('/openai/deployments/prod-4o/chat/completions')
    expect(rec.query['api-version']).toBe('2024-10-21')
    expect(rec.headers['api-key']).toBe('az-key-1')
    expect(rec.headers.authorization).toBeUndefined()
    expect(JSON.stringify(rec.headers)).not.toContain('client-key')
  })

  test('a model with no deployments entry is its own deployment; api_version is configurable', async () => {
    const { oa } = await gateway({ api_version: '2025-04-01-preview' })
    const stream = await oa.chat.completions.create({ model: 'o4-mini', messages: hi, stream: true, stream_options: { include_usage: true } })
    let text = ''
    let usage: OpenAI.CompletionUsage | undefined
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? ''
      usage ??= c.usage ?? undefined
    }
    expect(text).toBe('echo: hello azure')
    expect(usage?.total_tokens).toBeGreaterThan(0)
    expect(az.last()!.path).toBe('/openai/deployments/o4-mini/chat/completions')
    expect(az.last()!.query['api-version']).toBe('2025-04-01-preview')
  })

  test('a classic path keeps the model in the body: an o-series model behind any deployment name gets max_completion_tokens', async () => {
    const { srv } = await gateway({ deployments: { 'o4-mini': 'prod-reasoner' } })
    const an = new Anthropic({ baseURL: srv.url, apiKey: 'client-key', maxRetries: 0 })
    await an.messages.create({ model: 'o4-mini', max_tokens: 64, messages: hi })
    const rec = az.last()!
    expect(rec.path).toBe('/openai/deployments/prod-reasoner/chat/completions')
    expect(rec.body.model).toBe('o4-mini')
    expect(rec.body.max_completion_tokens).toBe(64)
    expect(rec.body.max_tokens).toBeUndefined()
  })

  test('embeddings go to the deployment path', async () => {
    const { oa } = await gateway({ deployments: { 'text-embedding-3-small': 'embed-small' } })
    const e = await oa.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] })
    expect(e.data).toHaveLength(2)
    expect(az.last()!.path).toBe('/openai/deployments/embed-small/embeddings')
  })

  test('Responses (Codex) go to the v1 API with the deployment as model', async () => {
    const { oa } = await gateway()
    const r = await oa.responses.create({ model: 'gpt-4o', input: 'via responses' })
    expect(r.output_text).toBe('echo: via responses')
    expect(az.last()!.path).toBe('/openai/v1/responses')
    expect(az.last()!.body.model).toBe('prod-4o')
  })

  test('Anthropic and Gemini clients are translated to the deployment path', async () => {
    const { srv } = await gateway()
    const an = new Anthropic({ baseURL: srv.url, apiKey: 'client-key', maxRetries: 0 })
    const m = await an.messages.create({ model: 'gpt-4o', max_tokens: 64, messages: hi })
    expect(m.content[0]).toMatchObject({ type: 'text', text: 'echo: hello azure' })
    expect(az.last()!.path).toBe('/openai/deployments/prod-4o/chat/completions')
    const ge = new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: srv.url } })
    const g = await ge.models.generateContent({ model: 'gpt-4o', contents: 'hello gemini' })
    expect(g.text).toBe('echo: hello gemini')
  })

  test('a pasted deployment URL is reduced to the resource endpoint', () => {
    const pasted = 'https://contoso.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21'
    expect(repairBaseUrl('azure', pasted).url).toBe('https://contoso.openai.azure.com')
    expect(repairBaseUrl('azure', 'https://contoso.openai.azure.com/openai/v1/chat/completions').url).toBe('https://contoso.openai.azure.com/openai/v1')
    expect(repairBaseUrl('azure', 'https://contoso.openai.azure.com/').url).toBe('https://contoso.openai.azure.com')
  })
})

describe('v1 endpoint and Entra ID', () => {
  test('base_url …/openai/v1: /openai/v1/chat/completions, the deployment in the body, no api-version', async () => {
    const { oa } = await gateway({ base_url: `${az.url}/openai/v1` })
    const r = await oa.chat.completions.create({ model: 'gpt-4o', messages: hi })
    expect(r.choices[0]?.message.content).toBe('echo: hello azure')
    const rec = az.last()!
    expect(rec.path).toBe('/openai/v1/chat/completions')
    expect(rec.body.model).toBe('prod-4o')
    expect(rec.query['api-version']).toBeUndefined()
  })

  test('auth: entra sends AZURE_OPENAI_AD_TOKEN as a bearer token, never as api-key', async () => {
    const { oa, srv } = await gateway({ auth: 'entra', api_keys: undefined }, { AZURE_OPENAI_AD_TOKEN: 'entra-token-1' })
    const r = await oa.chat.completions.create({ model: 'gpt-4o', messages: hi })
    expect(r.choices[0]?.message.content).toBe('echo: hello azure')
    expect(az.last()!.headers.authorization).toBe('Bearer entra-token-1')
    expect(az.last()!.headers['api-key']).toBeUndefined()
    expect(srv.logs.join('\n')).not.toContain('entra-token-1')
  })

  test('auth: entra without a token: a warning at start names AZURE_OPENAI_AD_TOKEN', async () => {
    const { srv } = await gateway({ auth: 'entra', api_keys: undefined })
    expect(srv.logs.some(l => l.includes('provider az: auth: entra but no token; set AZURE_OPENAI_AD_TOKEN'))).toBe(true)
  })

  test('a wrong key: Azure 401 becomes a key rejection, the key masked', async () => {
    const { oa } = await gateway({ api_keys: ['az-wrong-key-123456'] })
    const e = (await oa.chat.completions.create({ model: 'gpt-4o', messages: hi }).catch(x => x)) as InstanceType<typeof OpenAI.APIError>
    expect(e.message).toContain('upstream rejected the provider key for az')
    expect(e.message).not.toContain('az-wrong-key-123456')
  })
})

describe("Azure's errors in the caller's dialect", () => {
  test('DeploymentNotFound is a model error naming the deployment problem', async () => {
    const { oa } = await gateway()
    const e = (await oa.chat.completions.create({ model: 'gpt-9', messages: hi }).catch(x => x)) as InstanceType<typeof OpenAI.APIError>
    expect(e.status).toBe(404)
    expect(e.code).toBe('model_not_found')
    expect(e.message).toContain('The API deployment for this resource does not exist')
  })

  test('the content filter: 400 with the category and severity, for OpenAI, Anthropic and Gemini callers', async () => {
    const { oa, srv } = await gateway()
    az.handler = () => ({ kind: 'error', status: 400, body: azureContentFilterError('violence', 'medium').body })
    const e = (await oa.chat.completions.create({ model: 'gpt-4o', messages: hi }).catch(x => x)) as InstanceType<typeof OpenAI.APIError>
    expect(e.status).toBe(400)
    expect(e.code).toBe('content_filter')
    expect(e.message).toContain("Azure OpenAI's content filter blocked the prompt (violence: severity medium)")

    const an = await fetch(`${srv.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'gpt-4o', max_tokens: 10, messages: hi }),
    })
    const ab = (await an.json()) as any
    expect(an.status).toBe(400)
    expect(ab).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } })
    expect(ab.error.message).toContain('violence: severity medium')

    az.handler = () => ({ kind: 'error', status: 400, body: azureContentFilterError('jailbreak').body })
    const ge = await fetch(`${srv.url}/v1beta/models/gpt-4o:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'x' }] }] }),
    })
    const gb = (await ge.json()) as any
    expect(ge.status).toBe(400)
    expect(gb.error.status).toBe('INVALID_ARGUMENT')
    expect(gb.error.message).toContain('jailbreak: detected')
  })
})

describe('a stream the content filter ends (finish_reason content_filter)', () => {
  test("each caller sees its dialect's filtered end: content_filter, refusal, SAFETY", async () => {
    const { oa, srv } = await gateway()
    az.setDefault({ kind: 'text', text: 'partial answer', finish: 'content_filter' })
    const stream = await oa.chat.completions.create({ model: 'gpt-4o', messages: hi, stream: true })
    let finish: string | null | undefined
    for await (const c of stream) finish = c.choices[0]?.finish_reason ?? finish
    expect(finish).toBe('content_filter')

    const an = new Anthropic({ baseURL: srv.url, apiKey: 'client-key', maxRetries: 0 })
    const msg = await an.messages.stream({ model: 'gpt-4o', max_tokens: 64, messages: hi }).finalMessage()
    expect(msg.stop_reason).toBe('refusal')

    const ge = new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: srv.url } })
    let reason: string | undefined
    for await (const c of await ge.models.generateContentStream({ model: 'gpt-4o', contents: 'x' })) reason = c.candidates?.[0]?.finishReason ?? reason
    expect(reason).toBe('SAFETY')
  })
})

describe('config', () => {
  const provider = (p: Record<string, unknown>) => () => buildConfig({ providers: [{ name: 'p', ...p }] })
  test('azure needs its base_url; azure-only settings are refused elsewhere', () => {
    expect(provider({ type: 'azure', api_key: 'k' })).toThrow(ConfigError)
    expect(provider({ type: 'azure', api_key: 'k' })).toThrow('needs its resource endpoint')
    expect(provider({ type: 'openai', api_version: '2024-10-21' })).toThrow('only a provider of type azure takes api_version')
    expect(provider({ type: 'openai', deployments: { a: 'b' } })).toThrow('only a provider of type azure takes deployments')
    expect(provider({ type: 'anthropic', responses: 'chat' })).toThrow('only openai and azure providers take responses')
    expect(provider({ type: 'azure', base_url: 'https://x.openai.azure.com', api_version: 'latest' })).toThrow(ConfigError)
    expect(provider({ type: 'azure', base_url: 'https://x.openai.azure.com', api_version: '2024-10-21', auth: 'entra' })).not.toThrow()
  })
})
