/**
 * Acceptance for issue 14 §1, §3 and §4 with the real CLIs (test/clis.test.ts's launchers): Codex CLI, which speaks only
 * /v1/responses, through agproxy to a Chat-Completions-only server in `responses: auto` (one log line says the fallback
 * was taken); and one prompt from each of Claude Code, Codex CLI and Gemini CLI to an Azure OpenAI provider and to an
 * AWS Bedrock provider.
 * A CLI that cannot be installed or started here is skipped with the reason in the test name.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'
import { makeServiceAccount } from './fakes/vertex'
import { LAUNCHERS, ensureClis, removeTemps, type CliName, type CliRun } from './support/clis'

const probes = ensureClis()
const ROUTER_JSON = JSON.stringify({ complexity_reasoning: 'a greeting', complexity_score: 5, reasoning: 'a greeting', model_choice: 'flash' })

interface Run {
  fake: Fake
  srv: TestServer
  answer: string
  run: Promise<CliRun>
}
const runs: Run[] = []

/** One CLI, one prompt, through agproxy to `fake` (provider `provider`), every model routed to `target`. */
async function launch(cli: CliName, fake: Fake, provider: Record<string, unknown>, target: string): Promise<Run> {
  const answer = `The ${provider.type} fake answers ${cli}: ${Math.random().toString(36).slice(2, 10)} amber foxes.`
  fake.handler = rec => {
    if (rec.method !== 'POST') return undefined
    // Gemini CLI first asks a small model, non-streaming and for JSON, which model should answer
    // (Bedrock says it streams in the path: /converse-stream)
    if (cli === 'gemini' && rec.body?.stream !== true && !rec.path.includes(':stream') && !rec.path.endsWith('-stream'))
      return { kind: 'text', text: ROUTER_JSON }
    return { kind: 'text', text: answer }
  }
  const srv = await startAgproxy({ providers: [provider], models: { '*': target } })
  const r: Run = {
    fake,
    srv,
    answer,
    run: LAUNCHERS[cli](`http://127.0.0.1:${srv.port}`, 'Say hello in one short line.', { key: 'any', model: 'gpt-5.5' }).result,
  }
  runs.push(r)
  return r
}

afterAll(async () => {
  await Promise.allSettled(runs.map(r => r.run))
  for (const r of runs) {
    r.srv.stop(0)
    await r.fake.stop()
  }
  removeTemps()
}, 150_000)

async function done(r: Run) {
  const run = await r.run
  const context = `${run.describe()}\n--- agproxy log\n${r.srv.logs.slice(-15).join('\n')}\n--- upstream saw\n${r.fake.requests.map(x => `${x.method} ${x.path}`).join('\n')}`
  if (run.code !== 0) throw new Error(`the CLI failed:\n${context}`)
  if (!run.stdout.includes(r.answer)) throw new Error(`the fake's answer is not on stdout:\n${context}`)
  return r.fake.requests.filter(x => x.method === 'POST')
}

const skip = (cli: CliName) => !probes[cli].ok
const label = (cli: CliName, name: string) => `${name}${probes[cli].ok ? '' : ` — SKIPPED: ${(probes[cli] as { reason: string }).reason}`}`

const chatOnly = skip('codex') ? undefined : await startFake('openai', { keys: ['k-chat-only'], chatOnly: true })
const codexChat =
  chatOnly && (await launch('codex', chatOnly, { name: 'llama', type: 'openai', base_url: chatOnly.url, api_key: 'k-chat-only' }, 'llama/gpt-4o'))

const azureRuns = new Map<CliName, Run>()
for (const cli of ['claude', 'codex', 'gemini'] as CliName[]) {
  if (skip(cli)) continue
  const az = await startFake('azure', { keys: ['k-azure-0123456789'], deployments: { 'prod-4o': 'gpt-4o' } })
  const provider = { name: 'az', type: 'azure', base_url: az.url, api_key: 'k-azure-0123456789', deployments: { 'gpt-4o': 'prod-4o' } }
  azureRuns.set(cli, await launch(cli, az, provider, 'az/gpt-4o'))
}

// vertex: Claude Code to a Claude model (rawPredict), Codex CLI and Gemini CLI to a Gemini model, one service account
const sa = await makeServiceAccount('agproxy-cli@cli-project.iam.gserviceaccount.com', 'cli-project')
const vertexRuns = new Map<CliName, Run>()
const VERTEX_MODEL: Record<CliName, string> = { claude: 'claude-sonnet-4-6', codex: 'gemini-2.5-flash', gemini: 'gemini-2.5-flash' }
for (const cli of ['claude', 'codex', 'gemini'] as CliName[]) {
  if (skip(cli)) continue
  const vx = await startFake('vertex', { vertexAccounts: { [sa.json.client_email!]: sa.publicKey } })
  const provider = { name: 'vx', type: 'vertex', base_url: vx.url, location: 'us-east5', credentials: { ...sa.json, token_uri: `${vx.url}/token` } }
  vertexRuns.set(cli, await launch(cli, vx, provider, `vx/${VERTEX_MODEL[cli]}`))
}

// bedrock: Claude Code through InvokeModel, the others through Converse; SigV4 verified by the fake
const BEDROCK_KEY = 'AKIACLITESTBEDROCK01:cliTestSecretKey/0123456789abcdefghij'
const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0'
const bedrockRuns = new Map<CliName, Run>()
for (const cli of ['claude', 'codex', 'gemini'] as CliName[]) {
  if (skip(cli)) continue
  const br = await startFake('bedrock', { keys: [BEDROCK_KEY] })
  bedrockRuns.set(cli, await launch(cli, br, { name: 'br', type: 'bedrock', base_url: br.url, region: 'us-west-2', api_key: BEDROCK_KEY }, `br/${SONNET}`))
}

describe('Codex CLI → a Chat Completions-only server, responses: auto', () => {
  test.skipIf(skip('codex'))(
    label('codex', 'the 404 on /v1/responses is followed by Chat Completions; one log line says so'),
    async () => {
      const up = await done(codexChat!)
      expect(up[0]!.path).toBe('/v1/responses')
      expect(up.slice(1).every(r => r.path === '/v1/chat/completions')).toBe(true)
      expect(up.filter(r => r.path === '/v1/responses')).toHaveLength(1)
      const lines = codexChat!.srv.logs.filter(l => l.includes('provider llama has no /v1/responses; translating Responses to Chat Completions'))
      expect(lines).toHaveLength(1)
    },
    150_000,
  )
})

describe('the CLIs → an Azure OpenAI provider', () => {
  const paths: Record<CliName, RegExp> = {
    claude: /^\/openai\/deployments\/prod-4o\/chat\/completions$/,
    codex: /^\/openai\/v1\/responses$/,
    gemini: /^\/openai\/deployments\/prod-4o\/chat\/completions$/,
  }
  for (const cli of ['claude', 'codex', 'gemini'] as CliName[]) {
    test.skipIf(skip(cli))(
      label(cli, `${cli}: a prompt reaches the deployment with the api-key header`),
      async () => {
        const up = await done(azureRuns.get(cli)!)
        expect(up.length).toBeGreaterThan(0)
        for (const r of up) {
          expect(r.path).toMatch(paths[cli])
          expect(r.headers['api-key']).toBe('k-azure-0123456789')
          if (cli !== 'codex') expect(r.query['api-version']).toBe('2024-10-21')
          else expect(r.body.model).toBe('prod-4o')
        }
      },
      150_000,
    )
  }
})

describe('the CLIs → a Vertex AI provider', () => {
  for (const cli of ['claude', 'codex', 'gemini'] as CliName[]) {
    test.skipIf(skip(cli))(
      label(cli, `${cli}: a prompt reaches the project's ${VERTEX_MODEL[cli]} with a token from the verified service-account JWT`),
      async () => {
        const up = await done(vertexRuns.get(cli)!)
        const tokens = up.filter(r => r.path === '/token')
        expect(tokens).toHaveLength(1)
        const calls = up.filter(r => r.path !== '/token')
        expect(calls.length).toBeGreaterThan(0)
        const publisher = cli === 'claude' ? 'anthropic' : 'google'
        for (const r of calls) {
          expect(r.path).toStartWith(`/v1/projects/cli-project/locations/us-east5/publishers/${publisher}/models/`)
          expect(r.headers.authorization).toMatch(/^Bearer ya29\.fake-/)
        }
        if (cli === 'claude') expect(calls.some(r => r.body.anthropic_version === 'vertex-2023-10-16' && !('model' in r.body))).toBe(true)
      },
      150_000,
    )
  }
})

describe('the CLIs → an AWS Bedrock provider', () => {
  // Claude Code's Messages go to Claude through InvokeModel as they are; the others are translated to Converse
  const op: Record<CliName, RegExp> = { claude: /^invoke(-with-response-stream)?$/, codex: /^converse(-stream)?$/, gemini: /^converse(-stream)?$/ }
  for (const cli of ['claude', 'codex', 'gemini'] as CliName[]) {
    test.skipIf(skip(cli))(
      label(cli, `${cli}: a prompt reaches Claude on Bedrock, signed with SigV4 (verified by the fake)`),
      async () => {
        const up = await done(bedrockRuns.get(cli)!)
        expect(up.length).toBeGreaterThan(0)
        for (const r of up) {
          const [, model, operation] = /^\/model\/([^/]+)\/(.+)$/.exec(r.path) ?? []
          expect(decodeURIComponent(model ?? '')).toBe(SONNET)
          expect(operation).toMatch(op[cli])
          expect(r.headers.authorization).toContain('Credential=AKIACLITESTBEDROCK01/')
        }
      },
      150_000,
    )
  }
})
