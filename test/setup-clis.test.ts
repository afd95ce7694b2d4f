/**
 * Acceptance of `agproxy setup`: in a HOME that already holds the client's configuration, pointing elsewhere with a stale
 * key among other settings and comments, `setup <client> --yes` writes the client's own configuration, then
 * the real CLI (installed by scripts/install-clis.sh, as test/clis.test.ts uses them) runs one prompt through agproxy
 * with nothing but HOME and PATH in its environment. agproxy runs with auth on, so the key setup wrote must be the
 * one it accepts. A CLI that cannot be installed or started here is skipped with the reason in the test name.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { buildConfig } from '../src/config/load'
import { setupCommand } from '../src/cli/setup'
import type { ClientId } from '../src/cli/setup/client'
import { startAgproxy, type TestServer } from './support/agproxy'
import { ensureClis, removeTemps, run, tempDir, type CliName } from './support/clis'
import { startFake, type Fake, type ProviderType } from './fakes/upstream'

const probes = ensureClis()
const CLIENT_KEY = 'sk-agproxy-setup-test-0123456789abcdef'
/** Gemini CLI's router call (non-streamed, JSON) gets a valid classifier answer */
const ROUTER_JSON = JSON.stringify({ complexity_reasoning: 'a greeting', complexity_score: 5, reasoning: 'a greeting', model_choice: 'flash' })

/** What a user has before running setup: other settings, comments, and a stale setup pointing elsewhere. */
const BEFORE: Record<CliName, Record<string, string>> = {
  claude: {
    '.claude/settings.json': JSON.stringify(
      {
        permissions: { allow: ['Bash(ls:*)'] },
        env: { ANTHROPIC_BASE_URL: 'https://api.anthropic.com', ANTHROPIC_API_KEY: 'sk-ant-stale-0123456789abcdefghij', DISABLE_AUTOUPDATER: '1' },
      },
      null,
      2,
    ),
  },
  codex: {
    '.codex/config.toml':
      '# my settings\nmodel = "gpt-5.5"\nmodel_provider = "openai"\n\n[model_providers.agproxy]\nname = "old"\nbase_url = "http://127.0.0.1:9/v1"\n' +
      'wire_api = "chat"\n\n[profiles.fast]\nmodel = "gpt-5-mini"\n',
    '.codex/.env': 'AGPROXY_API_KEY=stale\n',
  },
  gemini: {
    '.gemini/settings.json':
      '{\n  // Google login before agproxy\n  "security": { "auth": { "selectedType": "oauth-personal" } },\n' +
      '  "general": { "enableAutoUpdate": false },\n  "privacy": { "usageStatisticsEnabled": false }\n}\n',
    '.gemini/.env': 'GEMINI_API_KEY=AIzaStale0123456789abcdefghijklmn\n',
  },
}

const CASES: Array<{ cli: CliName; client: ClientId; type: ProviderType; args: (prompt: string) => string[] }> = [
  { cli: 'claude', client: 'claude-code', type: 'anthropic', args: p => ['-p', p] },
  { cli: 'codex', client: 'codex', type: 'openai', args: p => ['exec', '--skip-git-repo-check', p] },
  // headless Gemini CLI refuses an untrusted folder; --skip-trust is a flag, not a setting
  { cli: 'gemini', client: 'gemini-cli', type: 'gemini', args: p => ['--skip-trust', '-p', p] },
]

const fakes: Fake[] = []
const servers: TestServer[] = []

beforeAll(async () => {
  for (const c of CASES) {
    const fake = await startFake(c.type)
    fakes.push(fake)
    servers.push(
      await startAgproxy({
        auth_mode: 'strict',
        api_keys: [CLIENT_KEY],
        providers: [{ name: `fake-${c.type}`, type: c.type, base_url: fake.url, api_keys: [`key-${c.type}-0123456789`] }],
      }),
    )
  }
})

afterAll(async () => {
  for (const s of servers) await s.stop(0)
  for (const f of fakes) await f.stop()
  removeTemps()
})

CASES.forEach((c, i) => {
  const reason = probes[c.cli].ok ? '' : ` — SKIPPED: ${(probes[c.cli] as { reason: string }).reason}`
  test.skipIf(!probes[c.cli].ok)(
    `${c.client} set up elsewhere with a stale key and other settings: setup --yes, then ${c.cli} runs a prompt through agproxy with only HOME and PATH${reason}`,
    async () => {
      const fake = fakes[i] as Fake
      const srv = servers[i] as TestServer
      const answer = `setup-${c.cli}-relay: amber foxes sleep in the quiet barn.`
      fake.handler = rec => {
        if (rec.method !== 'POST') return undefined
        const streams = c.type === 'gemini' ? rec.path.includes(':streamGenerateContent') : rec.body?.stream === true
        if (c.cli === 'gemini' && !streams) return { kind: 'text', text: ROUTER_JSON }
        return { kind: 'text', text: answer }
      }
      const home = tempDir(`agproxy-setup-${c.cli}-`)
      const cwd = join(home, 'work')
      mkdirSync(cwd)
      for (const [path, text] of Object.entries(BEFORE[c.cli])) {
        mkdirSync(dirname(join(home, path)), { recursive: true })
        writeFileSync(join(home, path), text)
      }
      const config = buildConfig({ port: srv.port, auth_mode: 'strict', api_keys: [CLIENT_KEY] })
      const setup = setupCommand({ client: c.client, yes: true }, config, { home, env: { HOME: home } })
      expect(setup.code).toBe(0)
      expect(setup.out).not.toContain(CLIENT_KEY)
      const r = await run(c.cli, c.args('Say hello in one short sentence.'), { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, cwd, 120_000)
      if (r.code !== 0 || !r.stdout.includes(answer)) throw new Error(`${r.describe()}\n--- agproxy log\n${srv.logs.slice(-10).join('\n')}`)
      const posts = fake.requests.filter(q => q.method === 'POST')
      expect(posts.length).toBeGreaterThan(0)
      // the upstream got the provider key; the CLI got through agproxy's auth with the key setup wrote
      for (const q of posts) expect(q.key).toBe(`key-${c.type}-0123456789`)
    },
    150_000,
  )
})
