/**
 * Acceptance: the real coding CLIs, installed from npm (scripts/install-clis.sh), each complete one
 * prompt through agproxy against a fake upstream of every provider type, configured exactly as the
 * README tells users (base URL = agproxy; any key, or agproxy's own key in the cells with auth on; a single
 * provider that catches whatever model the CLI's defaults name, or a `models:` glob).
 *
 *   Claude Code  `claude -p`             → POST /v1/messages?beta=true (stream, anthropic-beta list, role:system in messages)
 *   Codex CLI    `codex exec`            → POST /v1/responses (store:false, include, web_search / namespace tools)
 *   Gemini CLI   `gemini -p`             → POST …:generateContent (router model) then …:streamGenerateContent?alt=sse
 *
 * Each cell checks: exit 0, the fake's distinctive answer on stdout, what the CLI sent (a tap on agproxy's
 * socket) and what the fake received after translation. A second set of cells makes the fake call the CLI's
 * own read tool first, so the tool call and its result cross the translation both ways.
 * All 18 runs are started at load (CLIS_TEST_CONCURRENCY at a time, default 6); each test awaits its own.
 * A CLI that cannot be installed or started here is skipped with the reason in the test name.
 * CLIS_TEST_VERBOSE=1 prints each run's output and traffic.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake, type ProviderType } from './fakes/upstream'
import { join } from 'node:path'
import { CLI_NAMES, LAUNCHERS, ensureClis, removeTemps, tapClient, type CliName, type CliRun, type ClientRequest } from './support/clis'

const probes = ensureClis()
const TYPES: ProviderType[] = ['anthropic', 'openai', 'gemini']
type Scenario = 'text' | 'tool'

/** the openai-type cells run agproxy with auth on: each CLI then sends agproxy's key the way the README says */
const CLIENT_KEY = 'agproxy-client-key-0123456789'
const authOn = (type: ProviderType) => type === 'openai'
/** gpt-5-codex is unknown to Codex (fallback metadata); gpt-5.5 is known and brings custom and tool_search tools */
const codexModel = (type: ProviderType) => (type === 'openai' ? 'gpt-5-codex' : 'gpt-5.5')

/** What Gemini CLI's router (classifier) call is answered with: valid for both of its classifier schemas. */
const ROUTER_JSON = JSON.stringify({
  complexity_reasoning: 'a one-line greeting',
  complexity_score: 5,
  reasoning: 'a one-line greeting',
  model_choice: 'flash',
})

/** The read-only tool each CLI declares, called by the fake in the tool scenario to read NOTES.md in the CLI's cwd. */
const READ_TOOL: Record<CliName, (cwd: string) => { name: string; args: Record<string, unknown> }> = {
  claude: cwd => ({ name: 'Read', args: { file_path: join(cwd, 'NOTES.md') } }),
  codex: () => ({ name: 'exec_command', args: { cmd: 'cat NOTES.md' } }),
  gemini: cwd => ({ name: 'read_file', args: { file_path: join(cwd, 'NOTES.md') } }),
}

interface Cell {
  cli: CliName
  type: ProviderType
  scenario: Scenario
  /** a token in the prompt, to find it in the upstream request */
  token: string
  /** the fake's distinctive answer */
  answer: string
  /** tool scenario: what NOTES.md says, the tool call the fake makes */
  note: string
  callId: string
  tool?: { name: string; args: Record<string, unknown> }
  fake: Fake
  srv: TestServer
  client: ReturnType<typeof tapClient>
  run: Promise<CliRun>
}

const cells = new Map<string, Cell>()
const key = (cli: CliName, type: ProviderType, scenario: Scenario = 'text') => `${cli}→${type}${scenario === 'text' ? '' : ` (${scenario})`}`
const MODEL_GLOBS: Record<string, Record<string, string>> = { [key('gemini', 'openai')]: { 'gemini-*': 'fake-openai/gpt-5-mini' } }

/** a tool result in a generation request body, whatever its dialect */
function hasToolResult(body: any): boolean {
  if (!body || typeof body !== 'object') return false
  return (
    (body.messages ?? []).some((m: any) => m.role === 'tool' || (Array.isArray(m.content) && m.content.some((c: any) => c?.type === 'tool_result'))) ||
    (body.contents ?? []).some((c: any) => (c.parts ?? []).some((p: any) => p.functionResponse)) ||
    (Array.isArray(body.input) && body.input.some((i: any) => i?.type === 'function_call_output'))
  )
}

async function setUp(cli: CliName, type: ProviderType, scenario: Scenario): Promise<Cell> {
  const id = Math.random().toString(36).slice(2, 8)
  const token = `RELAY-${cli.toUpperCase()}-${type.toUpperCase()}-${scenario.toUpperCase()}-${id}`
  const answer =
    scenario === 'text'
      ? `The ${type} fake relays ${token}: violet herons nest under the old stone bridge.`
      : `The ${type} fake read the notes for ${token}: the lighthouse keeper feeds three gulls.`
  const fake = await startFake(type)
  const cell = { cli, type, scenario, token, answer, note: `notes-marker-${id}`, callId: `call_relay_${id}`, fake } as Cell
  fake.handler = rec => {
    if (rec.method !== 'POST') return undefined
    const streams = type === 'gemini' ? rec.path.includes(':streamGenerateContent') : rec.body?.stream === true
    // Gemini CLI asks a small model, non-streaming and for JSON, which model should answer
    if (cli === 'gemini' && !streams) return { kind: 'text', text: ROUTER_JSON }
    if (scenario === 'tool' && !hasToolResult(rec.body)) return { kind: 'tool_calls', calls: [{ id: cell.callId, ...cell.tool! }] }
    return { kind: 'text', text: answer }
  }
  // one provider: the single-provider fallback routes whatever model the CLI asks for to it; one cell maps
  // the CLI's default models with a `models:` glob instead, as a user pointing Gemini CLI at OpenAI would
  const glob = MODEL_GLOBS[key(cli, type, scenario)]
  cell.srv = await startAgproxy({
    providers: [{ name: `fake-${type}`, type, base_url: fake.url, api_keys: [`key-${type}-0123456789`] }],
    ...(glob ? { models: glob } : {}),
    ...(authOn(type) ? { auth_mode: 'strict', api_keys: [CLIENT_KEY] } : {}),
  })
  cell.client = tapClient(cell.srv)
  const prompt = scenario === 'text' ? `Relay check ${token}: reply with one short greeting.` : `Relay check ${token}: read NOTES.md, then say what it says.`
  cell.run = slot(() => {
    const launched = LAUNCHERS[cli](`http://127.0.0.1:${cell.srv.port}`, prompt, {
      key: authOn(type) ? CLIENT_KEY : 'any',
      model: codexModel(type),
      files: scenario === 'tool' ? { 'NOTES.md': `${cell.note}\n` } : {},
    })
    cell.tool = READ_TOOL[cli](launched.cwd)
    return launched.result
  })
  return cell
}

/** at most CLIS_TEST_CONCURRENCY (default 6) CLIs at once: they start slowly and mostly on the CPU */
const MAX_RUNNING = Number(process.env.CLIS_TEST_CONCURRENCY) || 6
let running = 0
const waiting: (() => void)[] = []
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_RUNNING) await new Promise<void>(r => waiting.push(r))
  running++
  try {
    return await fn()
  } finally {
    running--
    waiting.shift()?.()
  }
}

for (const cli of CLI_NAMES) {
  if (!probes[cli].ok) continue
  for (const scenario of ['text', 'tool'] as Scenario[]) for (const type of TYPES) cells.set(key(cli, type, scenario), await setUp(cli, type, scenario))
}

afterAll(async () => {
  await Promise.allSettled([...cells.values()].map(c => c.run))
  for (const c of cells.values()) {
    c.srv.stop(0)
    await c.fake.stop()
  }
  removeTemps()
}, 150_000)

/** Run the cell's CLI to completion and check the parts every cell shares. */
async function finished(cli: CliName, type: ProviderType, scenario: Scenario = 'text') {
  const cell = cells.get(key(cli, type, scenario))!
  const run = await cell.run
  await cell.client.settled()
  const context =
    `${run.describe()}\n--- the CLI sent\n${cell.client.requests.map(r => `${r.method} ${r.path}`).join('\n')}` +
    `\n--- agproxy log\n${cell.srv.logs.slice(-15).join('\n')}\n--- upstream saw\n${cell.fake.requests.map(r => `${r.method} ${r.path}`).join('\n')}`
  if (process.env.CLIS_TEST_VERBOSE) console.info(`── ${key(cli, type, scenario)}\n${context}`)
  if (run.code !== 0) throw new Error(`the CLI failed:\n${context}`)
  if (!run.stdout.includes(cell.answer)) throw new Error(`the fake's answer is not on stdout:\n${context}`)
  const upstream = cell.fake.requests.filter(r => r.method === 'POST')
  expect(upstream.length).toBeGreaterThan(0)
  // with auth on, the CLI sent agproxy's key (x-api-key / Authorization / x-goog-api-key) and got through
  if (authOn(type)) for (const r of cell.client.requests.filter(r => r.method === 'POST')) expect(JSON.stringify(r.headers)).toContain(CLIENT_KEY)
  // the upstream sees the provider's key, never the client's
  for (const r of upstream) expect(r.key).toBe(`key-${type}-0123456789`)
  return { cell, run, client: cell.client.requests, upstream }
}

// ───────────── helpers over wire bodies ─────────────

/** every string inside a value, joined (to find a prompt or a system text wherever a codec put it) */
const allText = (v: unknown): string =>
  typeof v === 'string' ? v : Array.isArray(v) ? v.map(allText).join('\n') : v && typeof v === 'object' ? Object.values(v).map(allText).join('\n') : ''

const blockText = (content: unknown): string =>
  typeof content === 'string' ? content : Array.isArray(content) ? content.map((b: any) => (typeof b?.text === 'string' ? b.text : '')).join('') : ''

const withToken = <R extends { body: any }>(reqs: R[], token: string): R[] => reqs.filter(r => allText(r.body).includes(token))

/** the prompt reached the upstream as a user turn */
function expectPromptInUserTurn(type: ProviderType, body: any, token: string) {
  const turns: any[] = type === 'gemini' ? body.contents : body.messages
  const user = turns.filter(m => m.role === 'user')
  expect(user.some(m => allText(type === 'gemini' ? m.parts : m.content).includes(token))).toBe(true)
}

const skipReason = (cli: CliName) => (probes[cli].ok ? '' : ` — SKIPPED: ${(probes[cli] as { reason: string }).reason}`)
const cliTest = (cli: CliName, name: string, fn: () => Promise<void>) => test.skipIf(!probes[cli].ok)(`${name}${skipReason(cli)}`, fn, 150_000)

for (const cli of CLI_NAMES) {
  if (!probes[cli].ok) console.warn(`clis.test: ${cli} cannot run here: ${(probes[cli] as { reason: string }).reason}`)
  else console.info(`clis.test: ${cli} ${probes[cli].ok ? (probes[cli] as { version: string }).version : ''}`)
}

// ───────────── Claude Code ─────────────

describe('Claude Code: claude -p, ANTHROPIC_BASE_URL=<agproxy>', () => {
  /** the one streaming Messages call Claude Code makes with the prompt */
  function claudeCall(client: ClientRequest[], token: string) {
    const calls = withToken(
      client.filter(r => r.method === 'POST' && r.path === '/v1/messages'),
      token,
    )
    expect(calls).toHaveLength(1)
    const c = calls[0]!
    expect(c.query.beta).toBe('true')
    expect(c.body.stream).toBe(true)
    const betas = (c.headers['anthropic-beta'] ?? '')
      .split(',')
      .map(s => s.trim())
      .filter(Boolean)
    expect(betas).toContain('claude-code-20250219')
    expect(betas.length).toBeGreaterThan(3)
    const systemTexts = (c.body.messages as any[])
      .filter(m => m.role === 'system')
      .map(m => blockText(m.content))
      .filter(Boolean)
    // the mid-conversation-system beta puts role:system entries among the messages
    if (betas.some(b => b.startsWith('mid-conversation-system'))) expect(systemTexts.length).toBeGreaterThan(0)
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
    expect(g.path).toBe(`/v1beta/models/${encodeURIComponent(call.body.model)}:streamGenerateContent`)
    expect(g.query.alt).toBe('sse')
    expectPromptInUserTurn('gemini', g.body, cell.token)
    for (const c of g.body.contents) expect(['user', 'model']).toContain(c.role)
    const seen = allText([g.body.systemInstruction, g.body.contents])
    for (const s of systemTexts) expect(seen).toContain(s)
    const systemBlocks = typeof call.body.system === 'string' ? [call.body.system] : (call.body.system as any[]).map(b => b.text)
    for (const s of systemBlocks) expect(allText(g.body.systemInstruction)).toContain(s)
    // Claude Code's tools became function declarations
    const names = (g.body.tools ?? []).flatMap((t: any) => (t.functionDeclarations ?? []).map((f: any) => f.name))
    expect(names).toEqual(expect.arrayContaining((call.body.tools as any[]).filter(t => t.input_schema).map(t => t.name)))
  })

  cliTest('claude', '→ openai provider (auth on): a streaming chat completion, system entries kept', async () => {
    const { cell, client, upstream } = await finished('claude', 'openai')
    const { call, systemTexts } = claudeCall(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up).toHaveLength(1)
    const o = up[0]!
    expect(o.path).toBe('/v1/chat/completions')
    expect(o.body.model).toBe(call.body.model)
    expect(o.body.stream).toBe(true)
    expectPromptInUserTurn('openai', o.body, cell.token)
    const sys = allText((o.body.messages as any[]).filter(m => m.role === 'system' || m.role === 'developer').map(m => m.content))
    for (const s of systemTexts) expect(sys).toContain(s)
  })
})

// ───────────── Codex CLI ─────────────

describe('Codex CLI: codex exec, CODEX_HOME/config.toml model_providers base_url=<agproxy>/v1', () => {
  function codexCall(client: ClientRequest[], token: string) {
    const calls = withToken(
      client.filter(r => r.method === 'POST' && r.path === '/v1/responses'),
      token,
    )
    expect(calls).toHaveLength(1)
    const c = calls[0]!
    expect(c.body.stream).toBe(true)
    expect(c.body.store).toBe(false)
    expect(c.body.include).toContain('reasoning.encrypted_content')
    const tools = (c.body.tools ?? []) as any[]
    // Codex sends tool types beyond `function`
    expect(tools.some(t => t.type !== 'function')).toBe(true)
    return { call: c, tools }
  }

  /**
   * Each client tool reached the upstream: functions and custom tools by name, namespace tools flattened to
   * `<namespace>__<name>`, web_search as the provider's search tool. Returns the built-in types that were
   * dropped (they must not reach the upstream, and the request must not fail because of them).
   */
  function expectToolsMapped(tools: any[], upstreamNames: string[], builtins: unknown[]): string[] {
    const dropped: string[] = []
    for (const t of tools) {
      if (t.type === 'function' || t.type === 'custom') expect(upstreamNames).toContain(t.name)
      else if (t.type === 'namespace')
        for (const inner of t.tools ?? []) expect(upstreamNames).toContain(t.name.endsWith('_') ? t.name + inner.name : `${t.name}__${inner.name}`)
      else if (/^web_search/.test(t.type)) expect(JSON.stringify(builtins)).toMatch(/web_search|googleSearch/)
      else {
        expect(JSON.stringify(builtins)).not.toContain(t.type)
        dropped.push(t.type)
      }
    }
    return dropped
  }

  /** the warning for each dropped built-in tool, in agproxy's log */
  async function expectDropWarnings(type: ProviderType) {
    const { cell, client, upstream } = await finished('codex', type)
    const { tools } = codexCall(client, cell.token)
    const up = withToken(upstream, cell.token)[0]!
    const upTools = (up.body.tools ?? []) as any[]
    const dropped =
      type === 'anthropic'
        ? expectToolsMapped(
            tools,
            upTools.filter(t => t.input_schema).map(t => t.name),
            upTools.filter(t => !t.input_schema),
          )
        : expectToolsMapped(
            tools,
            upTools.flatMap(t => (t.functionDeclarations ?? []).map((f: any) => f.name)),
            upTools.filter(t => !t.functionDeclarations),
          )
    expect(dropped.length).toBeGreaterThan(0) // gpt-5.5 brings tool_search
    for (const d of dropped) expect(cell.srv.logs.filter(l => /WARN/.test(l) && l.includes(d))).not.toEqual([])
  }

  cliTest('codex', '→ openai provider (auth on): /v1/responses passes through untouched', async () => {
    const { cell, client, upstream } = await finished('codex', 'openai')
    const { call } = codexCall(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up).toHaveLength(1)
    expect(up[0]!.path).toBe('/v1/responses')
    expect(up[0]!.body).toEqual(call.body)
  })

  cliTest('codex', '→ anthropic provider: a streaming Messages call, namespace tools flattened, web_search mapped, the rest dropped', async () => {
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
    const instructions = [
      call.body.instructions,
      ...(call.body.input as any[])
        .filter(i => i.role === 'developer' || i.role === 'system')
        .flatMap(i => (typeof i.content === 'string' ? [i.content] : (i.content as any[]).map(c => c.text))),
    ]
    for (const s of instructions.filter((x): x is string => typeof x === 'string' && x !== '')) expect(allText(a.body.system)).toContain(s)
    const upTools = (a.body.tools ?? []) as any[]
    expectToolsMapped(
      tools,
      upTools.filter(t => t.input_schema).map(t => t.name),
      upTools.filter(t => !t.input_schema),
    )
  })

  cliTest('codex', '→ gemini provider: streamGenerateContent?alt=sse, namespace tools flattened, web_search mapped, the rest dropped', async () => {
    const { cell, client, upstream } = await finished('codex', 'gemini')
    const { call, tools } = codexCall(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up).toHaveLength(1)
    const g = up[0]!
    expect(g.path).toBe(`/v1beta/models/${encodeURIComponent(call.body.model)}:streamGenerateContent`)
    expect(g.query.alt).toBe('sse')
    expectPromptInUserTurn('gemini', g.body, cell.token)
    const upTools = (g.body.tools ?? []) as any[]
    const names = upTools.flatMap(t => (t.functionDeclarations ?? []).map((f: any) => f.name))
    expectToolsMapped(
      tools,
      names,
      upTools.filter(t => !t.functionDeclarations),
    )
  })

  // what the upstream encoder drops is named in the log (dispatch.ts logs codec warnings as they come,
  // including those of plan.request(), which runs per attempt after the plan is made)
  for (const type of ['anthropic', 'gemini'] as ProviderType[])
    cliTest('codex', `→ ${type} provider: each dropped built-in tool is named in a warning in agproxy's log`, () => expectDropWarnings(type))
})

// ───────────── Gemini CLI ─────────────

describe('Gemini CLI: gemini -p, GOOGLE_GEMINI_BASE_URL=<agproxy>, API-key auth', () => {
  /** the router call (generateContent, JSON schema) then the real one (streamGenerateContent?alt=sse) */
  function geminiCalls(client: ClientRequest[], token: string) {
    const calls = withToken(
      client.filter(r => r.method === 'POST'),
      token,
    )
    const router = calls.findIndex(r => r.path.endsWith(':generateContent'))
    const main = calls.findIndex(r => r.path.endsWith(':streamGenerateContent'))
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
    expect(up.map(r => r.path)).toEqual([router.path, main.path])
    expect(up[1]!.query.alt).toBe('sse')
    expect(up[0]!.body).toEqual(router.body)
    expect(up[1]!.body).toEqual(main.body)
  })

  cliTest(
    'gemini',
    '→ openai provider (auth on, models: gemini-* glob): router call with a JSON-schema response_format, then a streaming chat completion',
    async () => {
      const { cell, client, upstream } = await finished('gemini', 'openai')
      const { router, routerModel, mainModel } = geminiCalls(client, cell.token)
      // this cell maps gemini-* to gpt-5-mini (models: glob)
      expect(routerModel).toStartWith('gemini-')
      expect(mainModel).toStartWith('gemini-')
      const up = withToken(upstream, cell.token)
      expect(up.map(r => r.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions'])
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
    },
  )

  cliTest('gemini', '→ anthropic provider: router call, then a streaming Messages call', async () => {
    const { cell, client, upstream } = await finished('gemini', 'anthropic')
    const { routerModel, mainModel } = geminiCalls(client, cell.token)
    const up = withToken(upstream, cell.token)
    expect(up.map(r => r.path)).toEqual(['/v1/messages', '/v1/messages'])
    const [r, m] = up as [any, any]
    expect(r.body.model).toBe(routerModel)
    expect(r.body.stream ?? false).toBe(false)
    expect(m.body.model).toBe(mainModel)
    expect(m.body.stream).toBe(true)
    expectPromptInUserTurn('anthropic', m.body, cell.token)
    for (const b of [r.body, m.body]) for (const msg of b.messages) expect(['user', 'assistant']).toContain(msg.role)
  })
})

// ───────────── one tool round trip ─────────────

/**
 * The fake answers the prompt with a call of the CLI's own read tool on NOTES.md; the CLI runs it and sends
 * the result back; the fake then answers. The call must reach the CLI in its dialect (id and arguments
 * intact) and the result must reach the upstream in the provider's, paired with the call.
 */
describe("one tool round trip: the fake calls the CLI's read tool, the CLI sends the result back", () => {
  /** the upstream's last generation request: the assistant's tool call and the paired result, in the provider's dialect */
  function expectResultUpstream(cell: Cell, body: any) {
    const name = cell.tool!.name
    if (cell.type === 'anthropic') {
      const uses = (body.messages as any[])
        .flatMap(m => (m.role === 'assistant' && Array.isArray(m.content) ? m.content : []))
        .filter((b: any) => b.type === 'tool_use')
      const results = (body.messages as any[])
        .flatMap(m => (m.role === 'user' && Array.isArray(m.content) ? m.content : []))
        .filter((b: any) => b.type === 'tool_result')
      expect(uses.map((u: any) => [u.id, u.name])).toEqual([[cell.callId, name]])
      expect(results.map((r: any) => r.tool_use_id)).toEqual([cell.callId])
      expect(allText(results[0].content)).toContain(cell.note)
    } else if (cell.type === 'openai' && Array.isArray(body.input)) {
      // Responses pass-through (Codex)
      const calls = body.input.filter((i: any) => i.type === 'function_call')
      const outputs = body.input.filter((i: any) => i.type === 'function_call_output')
      expect(calls.map((c: any) => [c.call_id, c.name])).toEqual([[cell.callId, name]])
      expect(outputs.map((o: any) => o.call_id)).toEqual([cell.callId])
      expect(allText(outputs[0].output)).toContain(cell.note)
    } else if (cell.type === 'openai') {
      const calls = (body.messages as any[]).flatMap(m => (m.role === 'assistant' ? (m.tool_calls ?? []) : []))
      const results = (body.messages as any[]).filter(m => m.role === 'tool')
      expect(calls.map((c: any) => [c.id, c.function.name])).toEqual([[cell.callId, name]])
      expect(results.map((r: any) => r.tool_call_id)).toEqual([cell.callId])
      expect(allText(results[0].content)).toContain(cell.note)
    } else {
      const parts = (role: string) => (body.contents as any[]).filter(c => c.role === role).flatMap(c => c.parts ?? [])
      const calls = parts('model')
        .filter(p => p.functionCall)
        .map(p => p.functionCall)
      const responses = parts('user')
        .filter(p => p.functionResponse)
        .map(p => p.functionResponse)
      expect(calls.map((c: any) => c.name)).toEqual([name])
      expect(responses.map((r: any) => r.name)).toEqual([name])
      if (calls[0].id || responses[0].id) expect(responses[0].id).toBe(calls[0].id)
      expect(allText(responses[0].response)).toContain(cell.note)
      // Gemini rejects a functionCall without its thoughtSignature in the current turn; the CLI or agproxy supplies one
      for (const p of parts('model').filter(p => p.functionCall)) expect(typeof p.thoughtSignature).toBe('string')
    }
  }

  for (const cli of CLI_NAMES)
    for (const type of TYPES) {
      cliTest(cli, `${cli} → ${type} provider`, async () => {
        const { cell, client, upstream } = await finished(cli, type, 'tool')
        // the CLI sent the tool result back in its own dialect, carrying the file's content
        const withResult = client.filter(r => r.method === 'POST' && hasToolResult(r.body))
        expect(withResult).toHaveLength(1)
        expect(allText(withResult[0]!.body)).toContain(cell.note)
        if (cli === 'codex') {
          const input = withResult[0]!.body.input as any[]
          const call = input.find(i => i.type === 'function_call')
          expect(input.find(i => i.type === 'function_call_output').call_id).toBe(call.call_id)
          expect(call.name).toBe(cell.tool!.name)
          // the fake's call id reached Codex intact (Gemini's functionCalls carry none: agproxy makes one up)
          if (type !== 'gemini') expect(call.call_id).toBe(cell.callId)
        }
        // upstream: the call, then the call with its result (Gemini CLI's router calls aside)
        const calls = withToken(upstream, cell.token).filter(
          r => !(cli === 'gemini' && r.path.endsWith(':generateContent')) && !(cli === 'gemini' && type !== 'gemini' && r.body.stream !== true),
        )
        expect(calls).toHaveLength(2)
        expect(hasToolResult(calls[0]!.body)).toBe(false)
        expectResultUpstream(cell, calls[1]!.body)
      })
    }
})
