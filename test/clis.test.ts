/**
 * Acceptance: the real coding CLIs, installed from npm (scripts/install-clis.sh), each complete one
 * prompt through agproxy against a fake upstream of every provider type, configured exactly as the
 * README tells users (base URL = agproxy, any key, a single provider that catches whatever model the
 * CLI's defaults name).
 *
 *   Claude Code  `claude -p`             → POST /v1/messages?beta=true (stream, anthropic-beta list, role:system in messages)
 *   Codex CLI    `codex exec`            → POST /v1/responses (store:false, include, web_search / namespace tools)
 *   Gemini CLI   `gemini -p`             → POST …:generateContent (router model) then …:streamGenerateContent?alt=sse
 *
 * Each cell checks: exit 0, the fake's distinctive answer on stdout, what the CLI sent (a tap on agproxy's
 * socket) and what the fake received after translation. All nine runs start together; each test awaits its own.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake, type ProviderType } from './fakes/upstream'
import { claudeCode, codexExec, ensureClis, geminiCli, removeTemps, tapClient, type CliName, type CliRun, type ClientRequest } from './support/clis'

const probes = ensureClis()
const TYPES: ProviderType[] = ['anthropic', 'openai', 'gemini']
const LAUNCH: Record<CliName, (origin: string, prompt: string) => Promise<CliRun>> = { claude: claudeCode, codex: codexExec, gemini: geminiCli }

/** What Gemini CLI's router (classifier) call is answered with: valid for both of its classifier schemas. */
const ROUTER_JSON = JSON.stringify({ complexity_reasoning: 'a one-line greeting', complexity_score: 5, reasoning: 'a one-line greeting', model_choice: 'flash' })

interface Cell {
  cli: CliName
  type: ProviderType
  /** a token in the prompt, to find it in the upstream request */
  token: string
  /** the fake's distinctive answer */
  answer: string
  fake: Fake
  srv: TestServer
  client: ReturnType<typeof tapClient>
  run: Promise<CliRun>
}

const cells = new Map<string, Cell>()
const key = (cli: CliName, type: ProviderType) => `${cli}→${type}`
const MODEL_GLOBS: Record<string, Record<string, string>> = { [key('gemini', 'openai')]: { 'gemini-*': 'fake-openai/gpt-5-mini' } }

async function setUp(cli: CliName, type: ProviderType): Promise<Cell> {
  const token = `RELAY-${cli.toUpperCase()}-${type.toUpperCase()}-${Math.random().toString(36).slice(2, 8)}`
  const answer = `The ${type} fake relays ${token}: violet herons nest under the old stone bridge.`
  const fake = await startFake(type)
  fake.handler = (rec) => {
    if (rec.method !== 'POST') return undefined
    const streams = type === 'gemini' ? rec.path.includes(':streamGenerateContent') : rec.body?.stream === true
    // Gemini CLI asks a small model, non-streaming and for JSON, which model should answer
    if (cli === 'gemini' && !streams) return { kind: 'text', text: ROUTER_JSON }
    return { kind: 'text', text: answer }
  }
  // one provider: the single-provider fallback routes whatever model the CLI asks for to it; one cell maps
  // the CLI's default models with a `models:` glob instead, as a user pointing Gemini CLI at OpenAI would
  const srv = await startAgproxy({
    providers: [{ name: `fake-${type}`, type, base_url: fake.url, api_keys: [`key-${type}-0123456789`] }],
    ...(MODEL_GLOBS[key(cli, type)] ? { models: MODEL_GLOBS[key(cli, type)] } : {}),
  })
  const client = tapClient(srv)
  const run = LAUNCH[cli](`http://127.0.0.1:${srv.port}`, `Relay check ${token}: reply with one short greeting.`)
  return { cli, type, token, answer, fake, srv, client, run }
}

for (const cli of Object.keys(LAUNCH) as CliName[]) {
  if (!probes[cli].ok) continue
  for (const type of TYPES) cells.set(key(cli, type), await setUp(cli, type))
}

afterAll(async () => {
  await Promise.allSettled([...cells.values()].map((c) => c.run))
  for (const c of cells.values()) { c.srv.stop(0); await c.fake.stop() }
  removeTemps()
})

/** Run the cell's CLI to completion and check the parts every cell shares. */
async function finished(cli: CliName, type: ProviderType) {
  const cell = cells.get(key(cli, type))!
  const run = await cell.run
  await cell.client.settled()
  const context = `${run.describe()}\n--- agproxy log\n${cell.srv.logs.slice(-15).join('\n')}\n--- upstream saw\n${cell.fake.requests.map((r) => `${r.method} ${r.path}`).join('\n')}`
  if (run.code !== 0) throw new Error(`the CLI failed:\n${context}`)
  if (!run.stdout.includes(cell.answer)) throw new Error(`the fake's answer is not on stdout:\n${context}`)
  const upstream = cell.fake.requests.filter((r) => r.method === 'POST')
  expect(upstream.length).toBeGreaterThan(0)
  return { cell, run, client: cell.client.requests, upstream }
}

// ───────────── helpers over wire bodies ─────────────

/** every string inside a value, joined (to find a prompt or a system text wherever a codec put it) */
const allText = (v: unknown): string =>
  typeof v === 'string' ? v : Array.isArray(v) ? v.map(allText).join('\n') : v && typeof v === 'object' ? Object.values(v).map(allText).join('\n') : ''

const blockText = (content: unknown): string =>
  typeof content === 'string' ? content : Array.isArray(content) ? content.map((b: any) => (typeof b?.text === 'string' ? b.text : '')).join('') : ''

const withToken = (reqs: { body: any }[], token: string) => reqs.filter((r) => allText(r.body).includes(token))

/** the prompt reached the upstream as a user turn */
function expectPromptInUserTurn(type: ProviderType, body: any, token: string) {
  const turns: any[] = type === 'gemini' ? body.contents : body.messages
  const user = turns.filter((m) => m.role === 'user')
  expect(user.some((m) => allText(type === 'gemini' ? m.parts : m.content).includes(token))).toBe(true)
}

const skipReason = (cli: CliName) => (probes[cli].ok ? '' : ` — SKIPPED: ${(probes[cli] as { reason: string }).reason}`)
const cliTest = (cli: CliName, name: string, fn: () => Promise<void>) =>
  test.skipIf(!probes[cli].ok)(`${name}${skipReason(cli)}`, fn, 150_000)

for (const cli of ['claude', 'codex', 'gemini'] as CliName[]) {
  if (!probes[cli].ok) console.warn(`clis.test: ${cli} cannot run here: ${(probes[cli] as { reason: string }).reason}`)
  else console.info(`clis.test: ${cli} ${probes[cli].ok ? (probes[cli] as { version: string }).version : ''}`)
}

// ───────────── Claude Code ─────────────

describe('Claude Code: claude -p, ANTHROPIC_BASE_URL=<agproxy>', () => {
  /** the one streaming Messages call Claude Code makes with the prompt */
  function claudeCall(client: ClientRequest[], token: string) {
    const calls = withToken(client.filter((r) => r.method === 'POST' && r.path === '/v1/messages'), token)
    expect(calls).toHaveLength(1)
    const c = calls[0]!
    expect(c.query.beta).toBe('true')
    expect(c.body.stream).toBe(true)
    const betas = (c.headers['anthropic-beta'] ?? '').split(',').map((s) => s.trim()).filter(Boolean)
    expect(betas).toContain('claude-code-20250219')
    expect(betas.length).toBeGreaterThan(3)
    const systemTexts = (c.body.messages as any[]).filter((m) => m.role === 'system').map((m) => blockText(m.content)).filter(Boolean)
    // the mid-conversation-system beta puts role:system entries among the messages
    if (betas.some((b) => b.startsWith('mid-conversation-system'))) expect(systemTexts.length).toBeGreaterThan(0)
    return { call: c, betas, systemTexts }
  }

  cliTest('claude', '→ anthropic provider: the request passes through untouched, anthropic-beta forwarded', async () => {
    const { cell, client, upstream } = await finished('claude', 'anthropic')
    const { call } = claudeCall(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up).toHaveLength(1)
    expect(up[0]!.path).toBe('/v1/messages')
    expect(up[0]!.headers['anthropic-beta']).toBe(call.headers['anthropic-beta'])
    expect(up[0]!.body).toEqual(call.body)
  })

  cliTest('claude', '→ gemini provider: streamGenerateContent?alt=sse, system entries kept', async () => {
    const { cell, client, upstream } = await finished('claude', 'gemini')
    const { call, systemTexts } = claudeCall(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up).toHaveLength(1)
    const g = up[0]!
    expect(g.path).toBe(`/v1beta/models/${call.body.model}:streamGenerateContent`)
    expect(g.query.alt).toBe('sse')
    expectPromptInUserTurn('gemini', g.body, cell.token)
    for (const c of g.body.contents) expect(['user', 'model']).toContain(c.role)
    const seen = allText([g.body.systemInstruction, g.body.contents])
    for (const s of systemTexts) expect(seen).toContain(s)
    const systemBlocks = typeof call.body.system === 'string' ? [call.body.system] : (call.body.system as any[]).map((b) => b.text)
    for (const s of systemBlocks) expect(allText(g.body.systemInstruction)).toContain(s)
    // Claude Code's tools became function declarations
    const names = (g.body.tools ?? []).flatMap((t: any) => (t.functionDeclarations ?? []).map((f: any) => f.name))
    expect(names).toEqual(expect.arrayContaining((call.body.tools as any[]).filter((t) => t.input_schema).map((t) => t.name)))
  })

  cliTest('claude', '→ openai provider: a streaming chat completion, system entries kept', async () => {
    const { cell, client, upstream } = await finished('claude', 'openai')
    const { call, systemTexts } = claudeCall(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up).toHaveLength(1)
    const o = up[0]!
    expect(o.path).toBe('/v1/chat/completions')
    expect(o.body.model).toBe(call.body.model)
    expect(o.body.stream).toBe(true)
    expectPromptInUserTurn('openai', o.body, cell.token)
    const sys = allText((o.body.messages as any[]).filter((m) => m.role === 'system' || m.role === 'developer').map((m) => m.content))
    for (const s of systemTexts) expect(sys).toContain(s)
  })
})

// ───────────── Codex CLI ─────────────

describe('Codex CLI: codex exec, CODEX_HOME/config.toml model_providers base_url=<agproxy>/v1', () => {
  function codexCall(client: ClientRequest[], token: string) {
    const calls = withToken(client.filter((r) => r.method === 'POST' && r.path === '/v1/responses'), token)
    expect(calls).toHaveLength(1)
    const c = calls[0]!
    expect(c.body.stream).toBe(true)
    expect(c.body.store).toBe(false)
    expect(c.body.include).toContain('reasoning.encrypted_content')
    const tools = (c.body.tools ?? []) as any[]
    // Codex sends tool types beyond `function`
    expect(tools.some((t) => t.type !== 'function')).toBe(true)
    return { call: c, tools }
  }

  /** each client tool reached the upstream under its flattened name, or was dropped with a warning */
  function expectToolsMapped(tools: any[], upstreamNames: string[], builtins: unknown, logs: string[]) {
    for (const t of tools) {
      if (t.type === 'function' || t.type === 'custom') expect(upstreamNames).toContain(t.name)
      else if (t.type === 'namespace') for (const inner of t.tools ?? []) expect(upstreamNames).toContain(t.name.endsWith('_') ? t.name + inner.name : `${t.name}__${inner.name}`)
      else {
        const mapped = /^web_search/.test(t.type) ? /web_search|googleSearch/.test(JSON.stringify(builtins)) : false
        if (!mapped) expect(logs.some((l) => /WARN/.test(l) && l.includes(t.type))).toBe(true)
      }
    }
  }

  cliTest('codex', '→ openai provider: /v1/responses passes through untouched', async () => {
    const { cell, client, upstream } = await finished('codex', 'openai')
    const { call } = codexCall(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up).toHaveLength(1)
    expect(up[0]!.path).toBe('/v1/responses')
    expect(up[0]!.body).toEqual(call.body)
  })

  cliTest('codex', '→ anthropic provider: a streaming Messages call, namespace tools flattened, web_search mapped', async () => {
    const { cell, client, upstream } = await finished('codex', 'anthropic')
    const { call, tools } = codexCall(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up).toHaveLength(1)
    const a = up[0]!
    expect(a.path).toBe('/v1/messages')
    expect(a.body.model).toBe(call.body.model)
    expect(a.body.stream).toBe(true)
    expect(a.body).not.toHaveProperty('store')
    expect(a.body).not.toHaveProperty('include')
    expectPromptInUserTurn('anthropic', a.body, cell.token)
    // instructions and developer messages became the system prompt
    const instructions = [call.body.instructions, ...(call.body.input as any[]).filter((i) => i.role === 'developer' || i.role === 'system')
      .flatMap((i) => (typeof i.content === 'string' ? [i.content] : (i.content as any[]).map((c) => c.text)))]
    for (const s of instructions.filter((x): x is string => typeof x === 'string' && x !== '')) expect(allText(a.body.system)).toContain(s)
    const upTools = (a.body.tools ?? []) as any[]
    expectToolsMapped(tools, upTools.filter((t) => t.input_schema).map((t) => t.name), upTools.filter((t) => !t.input_schema), cell.srv.logs)
  })

  cliTest('codex', '→ gemini provider: streamGenerateContent?alt=sse, namespace tools flattened, web_search mapped', async () => {
    const { cell, client, upstream } = await finished('codex', 'gemini')
    const { call, tools } = codexCall(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up).toHaveLength(1)
    const g = up[0]!
    expect(g.path).toBe(`/v1beta/models/${call.body.model}:streamGenerateContent`)
    expect(g.query.alt).toBe('sse')
    expectPromptInUserTurn('gemini', g.body, cell.token)
    const upTools = (g.body.tools ?? []) as any[]
    const names = upTools.flatMap((t) => (t.functionDeclarations ?? []).map((f: any) => f.name))
    expectToolsMapped(tools, names, upTools.filter((t) => !t.functionDeclarations), cell.srv.logs)
  })
})

// ───────────── Gemini CLI ─────────────

describe('Gemini CLI: gemini -p, GOOGLE_GEMINI_BASE_URL=<agproxy>, API-key auth', () => {
  /** the router call (generateContent, JSON schema) then the real one (streamGenerateContent?alt=sse) */
  function geminiCalls(client: ClientRequest[], token: string) {
    const calls = withToken(client.filter((r) => r.method === 'POST'), token)
    const router = calls.findIndex((r) => r.path.endsWith(':generateContent'))
    const main = calls.findIndex((r) => r.path.endsWith(':streamGenerateContent'))
    expect(router).toBeGreaterThanOrEqual(0)
    expect(main).toBeGreaterThan(router)
    expect(calls[main]!.query.alt).toBe('sse')
    const model = (r: ClientRequest) => decodeURIComponent(r.path.replace(/^\/v1(beta)?\/models\//, '').replace(/:[A-Za-z]+$/, ''))
    return { router: calls[router]!, main: calls[main]!, routerModel: model(calls[router]!), mainModel: model(calls[main]!) }
  }

  cliTest('gemini', '→ gemini provider: both calls pass through', async () => {
    const { cell, client, upstream } = await finished('gemini', 'gemini')
    const { router, main } = geminiCalls(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up.map((r) => r.path)).toEqual([router.path, main.path])
    expect(up[1]!.query.alt).toBe('sse')
    expect(up[0]!.body).toEqual(router.body)
    expect(up[1]!.body).toEqual(main.body)
  })

  cliTest('gemini', '→ openai provider (models: gemini-* glob): router call with a JSON-schema response_format, then a streaming chat completion', async () => {
    const { cell, client, upstream } = await finished('gemini', 'openai')
    const { router, routerModel, mainModel } = geminiCalls(client, cell.token)
    // this cell maps gemini-* to gpt-5-mini (models: glob)
    expect(routerModel).toStartWith('gemini-')
    expect(mainModel).toStartWith('gemini-')
    const up = withToken(upstream, cell.token)
    expect(up.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions'])
    const [r, m] = up as [any, any]
    expect(r.body.model).toBe('gpt-5-mini')
    expect(r.body.stream ?? false).toBe(false)
    const schema = router.body.generationConfig?.responseJsonSchema ?? router.body.generationConfig?.responseSchema
    if (schema) {
      expect(r.body.response_format?.type).toBe('json_schema')
      // Gemini CLI writes Gemini's upper-case type names; OpenAI only accepts JSON Schema's
      expect(r.body.response_format.json_schema.schema.type).toBe('object')
      expect(JSON.stringify(r.body.response_format)).not.toMatch(/"type":"(OBJECT|STRING|INTEGER|NUMBER|BOOLEAN|ARRAY)"/)
    }
    expect(m.body.model).toBe('gpt-5-mini')
    expect(m.body.stream).toBe(true)
    expectPromptInUserTurn('openai', m.body, cell.token)
  })

  cliTest('gemini', '→ anthropic provider: router call, then a streaming Messages call', async () => {
    const { cell, client, upstream } = await finished('gemini', 'anthropic')
    const { routerModel, mainModel } = geminiCalls(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up.map((r) => r.path)).toEqual(['/v1/messages', '/v1/messages'])
    const [r, m] = up as [any, any]
    expect(r.body.model).toBe(routerModel)
    expect(r.body.stream ?? false).toBe(false)
    expect(m.body.model).toBe(mainModel)
    expect(m.body.stream).toBe(true)
    expectPromptInUserTurn('anthropic', m.body, cell.token)
    for (const b of [r.body, m.body]) for (const msg of b.messages) expect(['user', 'assistant']).toContain(msg.role)
  })
})
