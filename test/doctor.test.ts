/**
 * `agproxy doctor` against a real agproxy and fake upstreams, with temporary HOMEs: everything set up by `agproxy setup`
 * (all ✓, a real request through each client's route, exit 0), broken client settings (a doubled or missing /v1, a
 * wrong key, a base URL elsewhere), a rejected and a cooling provider key, and no agproxy running. Keys never appear.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { buildConfig } from '../src/config/load'
import type { Config } from '../src/config/schema'
import { diagnoseBaseUrl, doctorCommand } from '../src/cli/doctor'
import { setupCommand } from '../src/cli/setup'
import { CLIENT_IDS, CLIENTS } from '../src/cli/setup/index'
import { maskKey } from '../src/providers/pool'
import { startAgproxy, type TestServer } from './support/agproxy'
import { cleanEnv, configFile, runCli, tempDir } from './support/cli'
import { startFake, type Fake } from './fakes/upstream'

const KEY = 'sk-agproxy-doctor-key-0123456789-agp7'
const GOOD = { openai: 'sk-openai-good-0123456789abc-oai1', anthropic: 'sk-ant-good-0123456789abcde-ant1', gemini: 'AIzaGood0123456789abcdefghij-gem1' }
const BAD = 'sk-openai-revoked-0123456789-bad9'

let fakes: Record<'openai' | 'anthropic' | 'gemini', Fake>
const servers: TestServer[] = []
const homes: string[] = []
const home = () => {
  const h = tempDir('agproxy-doctor-home-')
  homes.push(h)
  return h
}

beforeAll(async () => {
  fakes = {
    openai: await startFake('openai', { keys: [GOOD.openai] }),
    anthropic: await startFake('anthropic', { keys: [GOOD.anthropic] }),
    gemini: await startFake('gemini', { keys: [GOOD.gemini] }),
  }
})
afterAll(async () => {
  for (const s of servers) await s.stop(0)
  for (const f of Object.values(fakes)) await f.stop()
  for (const h of homes) rmSync(h, { recursive: true, force: true })
})

/** agproxy (auth on) with one provider per type; `openaiKeys` lets a test add a revoked key. */
async function instance(openaiKeys = [GOOD.openai]): Promise<{ srv: TestServer; config: Config }> {
  const settings = {
    auth_mode: 'strict',
    api_keys: [KEY],
    providers: [
      { name: 'claude', type: 'anthropic', base_url: fakes.anthropic.url, api_keys: [GOOD.anthropic], models: ['claude-sonnet-4-5'] },
      { name: 'oai', type: 'openai', base_url: fakes.openai.url, api_keys: openaiKeys, models: ['gpt-5-codex', 'gpt-4.1'] },
      { name: 'goog', type: 'gemini', base_url: fakes.gemini.url, api_keys: [GOOD.gemini], models: ['gemini-2.5-flash'] },
    ],
  }
  const srv = await startAgproxy(settings)
  servers.push(srv)
  return { srv, config: buildConfig({ ...settings, port: srv.port }) }
}

const put = (path: string, text: string) => {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, text)
}
/** the section of the report for one heading */
const section = (out: string, title: string) => {
  const lines = out.split('\n')
  const at = lines.indexOf(title)
  if (at === -1) throw new Error(`no section "${title}" in\n${out}`)
  const end = lines.findIndex((l, i) => i > at && l !== '' && !l.startsWith('  '))
  return lines.slice(at + 1, end === -1 ? undefined : end).join('\n')
}
const noKeys = (out: string) => {
  for (const k of [KEY, BAD, ...Object.values(GOOD)]) expect(out).not.toContain(k)
}

describe('base URL diagnosis (resolve-path’s knowledge of the mistakes agproxy tolerates)', () => {
  const origin = 'http://127.0.0.1:8045'
  test.each([
    ['claude-code', 'http://localhost:8045', '✓', 'points here'],
    ['claude-code', 'http://127.0.0.1:8045/', '✓', 'points here'],
    ['claude-code', 'http://127.0.0.1:8045/v1', '!', 'the base URL ends in a version (/v1) and the client added it again'],
    ['claude-code', 'http://127.0.0.1:8045/v1/messages', '!', 'the base URL already contains an endpoint path and the client appended its own'],
    ['codex', 'http://127.0.0.1:8045', '!', 'the base URL lacks the /v1 the client expects'],
    ['opencode', 'http://127.0.0.1:8045/v1/chat/completions', '!', 'the base URL already contains an endpoint path'],
    ['gemini-cli', 'http://127.0.0.1:8045/v1beta', '!', 'the base URL ends in a version'],
    ['codex', 'http://127.0.0.1:8045/llm/v1', '✗', 'which agproxy does not serve'],
    ['codex', 'http://127.0.0.1:9999/v1', '!', 'points at http://127.0.0.1:9999, not this agproxy'],
    ['gemini-cli', '127.0.0.1:8045', '✗', 'is not a URL'],
  ] as const)('%s with %s → %s', (client, base, mark, text) => {
    const d = diagnoseBaseUrl(base, origin, CLIENTS[client], CLIENTS[client].defaultModel)
    expect(d.mark).toBe(mark)
    expect(d.text).toContain(text)
    if (mark !== '✓') expect(d.fix).toContain(`agproxy setup ${client}`)
  })
})

describe('agproxy doctor', () => {
  test('every client set up by agproxy setup: all ✓, one real request through each route, exit 0', async () => {
    const { config } = await instance()
    const h = home()
    for (const client of CLIENT_IDS) expect(setupCommand({ client, yes: true }, config, { home: h, env: { HOME: h } }).code).toBe(0)
    const r = await doctorCommand(config, { home: h, env: { HOME: h } })
    if (process.env.DOCTOR_SHOW) console.info(r.out)
    expect(r.code).toBe(0)
    expect(r.out).not.toContain('✗')
    expect(r.out).toContain('All checks passed.')
    const claude = section(r.out, 'Claude Code')
    expect(claude).toContain('✓ base URL http://127.0.0.1:')
    expect(claude).toContain('(ANTHROPIC_BASE_URL in ~/.claude/settings.json)')
    expect(claude).toContain(`✓ key ${maskKey(KEY)} (ANTHROPIC_AUTH_TOKEN in ~/.claude/settings.json) is accepted`)
    expect(claude).toContain('✓ POST /v1/messages (model claude-sonnet-4-5) → 200 from provider claude')
    expect(section(r.out, 'Codex CLI')).toContain('✓ POST /v1/responses (model gpt-5-codex) → 200 from provider oai')
    expect(section(r.out, 'Codex CLI')).toContain('(AGPROXY_API_KEY in ~/.codex/.env) is accepted')
    expect(section(r.out, 'Gemini CLI')).toContain('✓ POST /v1beta/models/gemini-2.5-flash:generateContent (model gemini-2.5-flash) → 200 from provider goog')
    expect(section(r.out, 'opencode')).toContain('✓ POST /v1/chat/completions')
    const providers = section(r.out, 'Providers')
    for (const label of [
      `claude (anthropic) key ${maskKey(GOOD.anthropic)}`,
      `oai (openai) key ${maskKey(GOOD.openai)}`,
      `goog (gemini) key ${maskKey(GOOD.gemini)}`,
    ])
      expect(providers).toContain(`✓ ${label}: model list answered 200`)
    noKeys(r.out)
  })

  test('broken settings: doubled and missing /v1, a wrong key, a base URL elsewhere, a revoked and a cooling provider key', async () => {
    const { srv, config } = await instance([GOOD.openai, BAD])
    const origin = `http://127.0.0.1:${srv.port}`
    const h = home()
    // Claude Code: base URL with /v1 (Claude Code appends /v1/messages), and an old key
    put(
      join(h, '.claude/settings.json'),
      JSON.stringify({ env: { ANTHROPIC_BASE_URL: `${origin}/v1`, ANTHROPIC_AUTH_TOKEN: 'sk-wrong-0123456789abcdefghij' } }),
    )
    // Codex: base_url without /v1 (agproxy copes), the right key in the environment
    put(
      join(h, '.codex/config.toml'),
      `model_provider = "agproxy"\n[model_providers.agproxy]\nname = "agproxy"\nbase_url = "${origin}"\nwire_api = "responses"\nenv_key = "AGPROXY_API_KEY"\n`,
    )
    // the anthropic key rests after a 429 the running instance saw
    fakes.anthropic.enqueue({ kind: 'error', status: 429, retryDelaySeconds: 900 })
    const limited = await fetch(`${origin}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(limited.status).toBe(429)
    await limited.text()
    const env = {
      HOME: h,
      AGPROXY_API_KEY: KEY,
      GOOGLE_GEMINI_BASE_URL: 'https://generativelanguage.googleapis.com',
      GEMINI_API_KEY: 'AIzaReal0123456789abcdefghijk',
    }
    const r = await doctorCommand(config, { home: h, env })
    if (process.env.DOCTOR_SHOW) console.info(r.out)
    expect(r.code).toBe(1)
    const claude = section(r.out, 'Claude Code')
    expect(claude).toContain(`! base URL ${origin}/v1: the base URL ends in a version (/v1) and the client added it again (agproxy copes)`)
    expect(claude).toContain(`— set it to ${origin} (agproxy setup claude-code)`)
    expect(claude).toContain(
      "✗ key sk-…ghij (ANTHROPIC_AUTH_TOKEN in ~/.claude/settings.json) is not one of this agproxy's api_keys — run agproxy setup claude-code",
    )
    expect(claude).toMatch(/✗ POST \/v1\/v1\/messages \(model claude-sonnet-4-5\) → 401: .* — the key is refused: run agproxy setup claude-code/)
    const codex = section(r.out, 'Codex CLI')
    expect(codex).toContain('the base URL lacks the /v1 the client expects (agproxy copes)')
    expect(codex).toContain('(AGPROXY_API_KEY in the environment) is accepted')
    expect(codex).toContain('✓ POST /responses (model gpt-5-codex) → 200 from provider oai')
    expect(section(r.out, 'Gemini CLI')).toContain('! points at https://generativelanguage.googleapis.com, not this agproxy')
    expect(section(r.out, 'opencode')).toContain('! not set up for agproxy (no base URL set) — run agproxy setup opencode')
    expect(section(r.out, 'Environment')).toContain(`GOOGLE_GEMINI_BASE_URL=https://generativelanguage.googleapis.com: points at`)
    const providers = section(r.out, 'Providers')
    expect(providers).toContain(`✓ oai (openai) key ${maskKey(GOOD.openai)}: model list answered 200`)
    expect(providers).toMatch(
      new RegExp(`✗ oai \\(openai\\) key ${maskKey(BAD).replace('…', '.')}: rejected \\(401: .*\\) — replace or remove it under providers: oai`),
    )
    expect(providers).toMatch(
      new RegExp(
        `! claude \\(anthropic\\) key ${maskKey(GOOD.anthropic).replace('…', '.')}: the running agproxy rests it (for model claude-sonnet-4-5 )?for 1[45] min`,
      ),
    )
    expect(r.out).toContain('Some checks failed (✗)')
    noKeys(r.out)
  })

  test('the commands as users run them: `agproxy setup claude-code --yes`, then `agproxy doctor` exits 0', async () => {
    const { srv } = await instance()
    const h = home()
    const yaml =
      `port: ${srv.port}\nauth_mode: strict\napi_keys: [${KEY}]\nproviders:\n` +
      `  - { name: claude, type: anthropic, base_url: "${fakes.anthropic.url}", api_keys: [${GOOD.anthropic}], models: [claude-sonnet-4-5] }\n`
    const file = configFile(yaml, 'agproxy.yaml', h)
    const env = cleanEnv({}, h)
    const setup = await runCli(['setup', 'claude-code', '--yes', '--config', file], env)
    expect(setup.code).toBe(0)
    noKeys(setup.stdout + setup.stderr)
    const r = await runCli(['doctor', '--config', file], env)
    if (process.env.DOCTOR_SHOW) console.info(r.stdout)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(section(r.stdout, 'Claude Code')).toContain('✓ POST /v1/messages (model claude-sonnet-4-5) → 200 from provider claude')
    expect(section(r.stdout, 'Codex CLI')).toContain('! not set up for agproxy (no base URL set) — run agproxy setup codex')
    expect(r.stdout).toContain('No check failed; 3 warnings (!) above.')
    noKeys(r.stdout)
  })

  test('Gemini CLI started in a project with its own .env does not read ~/.gemini/.env: doctor says so', async () => {
    const config = buildConfig({ port: 1 })
    const h = home()
    setupCommand({ client: 'gemini-cli', yes: true }, config, { home: h, env: { HOME: h } })
    put(join(h, 'proj/.env'), 'DATABASE_URL=postgres://localhost/app\n')
    mkdirSync(join(h, 'proj/src'))
    const r = await doctorCommand(config, { home: h, env: { HOME: h }, cwd: join(h, 'proj/src'), timeoutMs: 3000 })
    const gemini = section(r.out, 'Gemini CLI')
    expect(gemini).toContain('! started in ~/proj/src, Gemini CLI reads ~/proj/.env, not ~/.gemini/.env')
    expect(gemini).toContain('! not set up for agproxy (no base URL set)')
  })

  test('a provider that echoes the raw key in its error: the key is masked in the report', async () => {
    const echo = await startFake('openai')
    try {
      echo.handler = rec => (rec.key === BAD ? { kind: 'error', status: 401, message: `the key ${BAD} was revoked` } : undefined)
      const config = buildConfig({ port: 1, providers: [{ name: 'relay', type: 'openai', base_url: echo.url, api_keys: [BAD] }] })
      const r = await doctorCommand(config, { home: home(), env: {}, timeoutMs: 3000 })
      expect(section(r.out, 'Providers')).toContain(`✗ relay (openai) key ${maskKey(BAD)}: rejected (401: the key ${maskKey(BAD)} was revoked)`)
      noKeys(r.out)
    } finally {
      await echo.stop()
    }
  })

  test('no agproxy running: ✗ with how to start it, exit 1', async () => {
    const config = buildConfig({ port: 1 })
    const h = home()
    setupCommand({ client: 'claude-code', yes: true }, config, { home: h, env: { HOME: h } })
    const r = await doctorCommand(config, { home: h, env: { HOME: h }, timeoutMs: 3000 })
    expect(r.code).toBe(1)
    expect(r.out).toContain('✗ no agproxy answers at http://127.0.0.1:1')
    expect(r.out).toContain('start it (agproxy --port 1)')
    expect(section(r.out, 'Claude Code')).toContain('! no request sent: agproxy is not running')
  })
})
