/**
 * `agproxy setup <client>`: temporary HOMEs holding each client's real configuration files, fresh, pre-existing with
 * other settings and comments, already set up (known-good), and broken. Setup changes only its own keys (proven by
 * parsing before and after), keeps a backup, shows a diff with keys masked, asks before writing, and --undo restores.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parse as parseJsonc } from 'jsonc-parser'
import { parse as parseToml } from 'smol-toml'
import { buildConfig } from '../src/config/load'
import { parseArgs } from '../src/cli/args'
import { setupCommand, type SetupArgs, type SetupIO } from '../src/cli/setup'
import type { ClientId } from '../src/cli/setup/client'
import { maskKey } from '../src/providers/pool'
import { cleanEnv, configFile, runCli, tempDir } from './support/cli'

const homes: string[] = []
const home = () => {
  const h = tempDir('agproxy-setup-home-')
  homes.push(h)
  return h
}
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true })
})

const KEY = 'sk-agproxy-client-key-0123456789abcdef'
const authOff = buildConfig({ port: 8045 })
const authOn = buildConfig({ port: 9123, auth_mode: 'strict', api_keys: [KEY] })

const put = (path: string, text: string) => {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, text)
}
const read = (path: string) => readFileSync(path, 'utf8')
const setup = (h: string, args: SetupArgs, config = authOff, io: SetupIO = {}) => setupCommand(args, config, { home: h, env: { HOME: h }, ...io })
const backups = (path: string) => (existsSync(dirname(path)) ? readdirSync(dirname(path)).filter(n => n.includes('.agproxy-backup-')) : [])
/** every line of `before` is still in `after`, in order (comments and formatting kept; a JSON line may gain its comma) */
function keepsLines(before: string, after: string, except: RegExp[] = []) {
  const bare = (l: string) => l.replace(/,$/, '')
  const lines = after.split('\n').map(bare)
  let at = 0
  for (const l of before
    .split('\n')
    .map(bare)
    .filter(l => l.trim() && !except.some(re => re.test(l)))) {
    const found = lines.indexOf(l, at)
    if (found === -1) throw new Error(`line lost: ${JSON.stringify(l)}\n--- after\n${after}`)
    at = found + 1
  }
}
const jsonc = (text: string) => parseJsonc(text, [], { allowTrailingComma: true })

describe('fresh HOME: each client gets its configuration, a backup marker, and --undo removes it', () => {
  const files: Record<ClientId, string[]> = {
    'claude-code': ['.claude/settings.json'],
    codex: ['.codex/config.toml', '.codex/.env'],
    'gemini-cli': ['.gemini/settings.json', '.gemini/.env'],
    opencode: ['.config/opencode/opencode.json'],
  }
  for (const [client, paths] of Object.entries(files) as Array<[ClientId, string[]]>)
    test(client, () => {
      const h = home()
      const r = setup(h, { client, yes: true })
      expect(r.code).toBe(0)
      expect(r.out).toContain('Undo with: agproxy setup --undo')
      for (const p of paths) {
        expect(existsSync(join(h, p))).toBe(true)
        expect(backups(join(h, p)).some(b => b.endsWith('.absent'))).toBe(true)
      }
      const undo = setup(h, { client, undo: true, yes: true })
      expect(undo.code).toBe(0)
      for (const p of paths) {
        expect(existsSync(join(h, p))).toBe(false)
        expect(backups(join(h, p))).toEqual([])
      }
    })

  test('the values written are those `agproxy clients` prints, and the key is one the instance accepts', () => {
    const h = home()
    for (const client of Object.keys(files) as ClientId[]) expect(setup(h, { client, yes: true }, authOn).code).toBe(0)
    const claude = JSON.parse(read(join(h, '.claude/settings.json')))
    expect(claude.env).toEqual({ ANTHROPIC_BASE_URL: 'http://127.0.0.1:9123', ANTHROPIC_AUTH_TOKEN: KEY })
    // a new file is laid out as JSON.stringify would
    expect(read(join(h, '.claude/settings.json'))).toBe(`${JSON.stringify(claude, null, 2)}\n`)
    expect(read(join(h, '.gemini/settings.json'))).toBe(`${JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }, null, 2)}\n`)
    const codex = parseToml(read(join(h, '.codex/config.toml'))) as any
    expect(codex.model_provider).toBe('agproxy')
    expect(codex.model_providers.agproxy).toMatchObject({ base_url: 'http://127.0.0.1:9123/v1', wire_api: 'responses', env_key: 'AGPROXY_API_KEY' })
    expect(read(join(h, '.codex/.env'))).toBe(`AGPROXY_API_KEY=${KEY}\n`)
    expect(JSON.parse(read(join(h, '.gemini/settings.json'))).security.auth.selectedType).toBe('gemini-api-key')
    expect(read(join(h, '.gemini/.env'))).toBe(`GEMINI_API_KEY=${KEY}\nGOOGLE_GEMINI_BASE_URL=http://127.0.0.1:9123\n`)
    const oc = JSON.parse(read(join(h, '.config/opencode/opencode.json')))
    expect(oc.provider.agproxy).toMatchObject({ npm: '@ai-sdk/openai-compatible', options: { baseURL: 'http://127.0.0.1:9123/v1', apiKey: KEY } })
    expect(Object.keys(oc.provider.agproxy.models).length).toBeGreaterThan(0)
  })
})

describe('pre-existing configuration with other settings: only agproxy’s keys change, comments stay', () => {
  test('Claude Code settings.json: other env and settings kept; an existing ANTHROPIC_API_KEY is the one updated', () => {
    const h = home()
    const file = join(h, '.claude/settings.json')
    const before = `{
    "permissions": { "allow": ["Bash(npm run test:*)"] },
    "model": "opus",
    "env": {
        "DISABLE_TELEMETRY": "1",
        "ANTHROPIC_API_KEY": "sk-ant-old-0123456789abcdefghij",
        "ANTHROPIC_BASE_URL": "https://api.anthropic.com"
    }
}
`
    put(file, before)
    const r = setup(h, { client: 'claude-code', yes: true }, authOn)
    expect(r.code).toBe(0)
    const after = read(file)
    keepsLines(before, after, [/ANTHROPIC_/])
    const data = JSON.parse(after)
    expect(data.env).toEqual({ DISABLE_TELEMETRY: '1', ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: 'http://127.0.0.1:9123' })
    expect(data.permissions).toEqual({ allow: ['Bash(npm run test:*)'] })
    // four-space indentation kept
    expect(after).toContain('\n        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9123"')
    // --undo gives the file back byte for byte
    expect(setup(h, { client: 'claude-code', undo: true, yes: true }).code).toBe(0)
    expect(read(file)).toBe(before)
  })

  test('Codex config.toml: comments, tables and other providers kept; an old agproxy table and model_provider replaced', () => {
    const h = home()
    const file = join(h, '.codex/config.toml')
    const before = `# my Codex settings
model = "gpt-5.5"   # the default model
model_provider = "openai"
approval_policy = "on-request"
notify = [
  "notify-send",
  "codex",
]

# MCP servers
[mcp_servers.docs]
command = "docs-mcp"
args = ["--port", "3000"]

[model_providers.agproxy]
name = "agproxy (old)"
base_url = "http://localhost:9999/v1"
wire_api = "chat"

# a local model
[model_providers.ollama]
name = "Ollama"
base_url = "http://localhost:11434/v1"

[profiles.fast]
model = "gpt-5-mini"
`
    put(file, before)
    put(join(h, '.codex/.env'), '# keys\nOTHER_TOKEN=abc\nAGPROXY_API_KEY=stale\n')
    const r = setup(h, { client: 'codex', yes: true }, authOn)
    expect(r.code).toBe(0)
    const after = read(file)
    keepsLines(before, after, [/^model_provider =/, /^name = "agproxy \(old\)"/, /9999/, /^wire_api = "chat"/])
    const was = parseToml(before) as any
    const now = parseToml(after) as any
    expect(now.model_provider).toBe('agproxy')
    expect(now.model_providers.agproxy).toMatchObject({ base_url: 'http://127.0.0.1:9123/v1', wire_api: 'responses', env_key: 'AGPROXY_API_KEY' })
    for (const k of ['model', 'approval_policy', 'notify', 'mcp_servers', 'profiles']) expect(now[k]).toEqual(was[k])
    expect(now.model_providers.ollama).toEqual(was.model_providers.ollama)
    expect(read(join(h, '.codex/.env'))).toBe(`# keys\nOTHER_TOKEN=abc\nAGPROXY_API_KEY=${KEY}\n`)
    // the diff shows the change with the key masked
    expect(r.out).toContain('+wire_api = "responses"')
    expect(r.out).toContain('-wire_api = "chat"')
    expect(r.out).not.toContain(KEY)
    expect(r.out).toContain(maskKey(KEY))
  })

  test('an empty env object gets its first key laid out on its own lines', () => {
    const h = home()
    const file = join(h, '.claude/settings.json')
    put(file, '{\n  "model": "opus",\n  "env": {}\n}\n')
    expect(setup(h, { client: 'claude-code', yes: true }).code).toBe(0)
    expect(read(file)).toBe(
      '{\n  "model": "opus",\n  "env": {\n    "ANTHROPIC_BASE_URL": "http://127.0.0.1:8045",\n    "ANTHROPIC_AUTH_TOKEN": "agproxy"\n  }\n}\n',
    )
  })

  test('Codex config.toml with only tables: model_provider goes above the first table, as a top-level key', () => {
    const h = home()
    const file = join(h, '.codex/config.toml')
    put(file, '# profiles only\n[profiles.a]\nmodel = "x"\n')
    expect(setup(h, { client: 'codex', yes: true }).code).toBe(0)
    const now = parseToml(read(file)) as any
    expect(now.model_provider).toBe('agproxy')
    expect(now.profiles).toEqual({ a: { model: 'x' } })
  })

  test('Gemini CLI settings.json (JSONC with comments) and .env with other variables', () => {
    const h = home()
    const settings = join(h, '.gemini/settings.json')
    const before = `{
  // my Gemini CLI settings
  "general": { "vimMode": true },
  "security": {
    "auth": { "selectedType": "oauth-personal" }, // was Google login
    "folderTrust": { "enabled": true }
  },
  "mcpServers": { "fs": { "command": "fs-mcp" } },
}
`
    put(settings, before)
    put(join(h, '.gemini/.env'), 'GOOGLE_CLOUD_PROJECT=my-project\nGEMINI_API_KEY="AIzaSyOld-0123456789abcdefghijklmnop"\n')
    expect(setup(h, { client: 'gemini-cli', yes: true }, authOn).code).toBe(0)
    const after = read(settings)
    keepsLines(before, after, [/selectedType/])
    expect(after).toContain('// my Gemini CLI settings')
    expect(after).toContain('// was Google login')
    const data = jsonc(after)
    expect(data.security).toEqual({ auth: { selectedType: 'gemini-api-key' }, folderTrust: { enabled: true } })
    expect(data.general).toEqual({ vimMode: true })
    expect(data.mcpServers).toEqual({ fs: { command: 'fs-mcp' } })
    expect(read(join(h, '.gemini/.env'))).toBe(`GOOGLE_CLOUD_PROJECT=my-project\nGEMINI_API_KEY=${KEY}\nGOOGLE_GEMINI_BASE_URL=http://127.0.0.1:9123\n`)
  })

  test('opencode.jsonc: comments and other providers kept, the agproxy provider added', () => {
    const h = home()
    const file = join(h, '.config/opencode/opencode.jsonc')
    const before = `{
  "$schema": "https://opencode.ai/config.json",
  // local models
  "provider": {
    "ollama": { "npm": "@ai-sdk/openai-compatible", "options": { "baseURL": "http://localhost:11434/v1" }, "models": { "qwen3": {} } }
  },
  "theme": "tokyonight"
}
`
    put(file, before)
    const config = buildConfig({
      port: 8045,
      providers: [{ name: 'oa', type: 'openai', api_keys: ['k'], models: ['gpt-4.1-mini'] }],
      models: { fast: 'oa/gpt-4.1-mini' },
    })
    expect(setup(h, { client: 'opencode', yes: true }, config).code).toBe(0)
    const after = read(file)
    keepsLines(before, after)
    const data = jsonc(after)
    expect(data.theme).toBe('tokyonight')
    expect(data.provider.ollama).toEqual(jsonc(before).provider.ollama)
    expect(data.provider.agproxy.options).toEqual({ baseURL: 'http://127.0.0.1:8045/v1', apiKey: 'agproxy' })
    expect(Object.keys(data.provider.agproxy.models)).toEqual(['fast', 'gpt-4.1-mini', 'oa/gpt-4.1-mini'])
    expect(existsSync(join(h, '.config/opencode/opencode.json'))).toBe(false)
  })
})

describe('known-good and broken states', () => {
  test('already set up: nothing to change, no new backup', () => {
    const h = home()
    expect(setup(h, { client: 'gemini-cli', yes: true }).code).toBe(0)
    const count = backups(join(h, '.gemini/settings.json')).length
    const again = setup(h, { client: 'gemini-cli', yes: true })
    expect(again.code).toBe(0)
    expect(again.out).toContain('already points at http://127.0.0.1:8045; nothing to change')
    expect(backups(join(h, '.gemini/settings.json')).length).toBe(count)
  })

  test.each([
    ['claude-code', '.claude/settings.json', '{ "env": { "A": 1 ', /settings\.json: not valid JSON .* on line 1/],
    ['gemini-cli', '.gemini/settings.json', '[1, 2]', /settings\.json: expected an object at the top level/],
    ['codex', '.codex/config.toml', 'model = "x"\n[model_providers\n', /config\.toml: not valid TOML on line 2/],
    ['opencode', '.config/opencode/opencode.json', '{ "provider": "none" }', /"provider" is not an object/],
  ] as const)('%s with a broken %s: refused with the file and line, nothing written', (client, path, text, message) => {
    const h = home()
    put(join(h, path), text)
    const r = setup(h, { client, yes: true })
    expect(r.code).toBe(1)
    expect(r.out).toMatch(message)
    expect(r.out).toContain('~/')
    expect(read(join(h, path))).toBe(text)
    expect(backups(join(h, path))).toEqual([])
  })

  test('a Codex agproxy provider written as an inline table: refused rather than defined twice', () => {
    const h = home()
    const text = 'model_providers = { agproxy = { name = "x", base_url = "http://h/v1" } }\n'
    put(join(h, '.codex/config.toml'), text)
    const r = setup(h, { client: 'codex', yes: true })
    expect(r.code).toBe(1)
    expect(read(join(h, '.codex/config.toml'))).toBe(text)
  })

  test('LAN access with no api_keys: the key the instance generated into its data dir is written', () => {
    const h = home()
    const data = join(h, 'agproxy-data')
    put(join(data, 'api_key'), `${KEY}\n`)
    expect(setup(h, { client: 'claude-code', yes: true }, buildConfig({ allow_lan_access: true, data_dir: data })).code).toBe(0)
    expect(JSON.parse(read(join(h, '.claude/settings.json'))).env.ANTHROPIC_AUTH_TOKEN).toBe(KEY)
  })

  test('auth on with no key configured: refused, naming the setting to add', () => {
    const r = setup(home(), { client: 'codex', yes: true }, buildConfig({ auth_mode: 'strict' }))
    expect(r.code).toBe(1)
    expect(r.out).toContain('add api_keys')
  })

  test('unknown or missing client: usage, exit 2', () => {
    expect(setup(home(), { client: 'cursor' }).code).toBe(2)
    expect(setup(home(), {}).out).toContain('claude-code, codex, gemini-cli, opencode')
  })

  test('--undo without a backup says so', () => {
    const r = setup(home(), { client: 'opencode', undo: true, yes: true })
    expect(r.code).toBe(1)
    expect(r.out).toContain('no backup made by agproxy setup was found')
  })

  test('undo steps back one setup at a time', () => {
    const h = home()
    const file = join(h, '.claude/settings.json')
    put(file, '{ "model": "opus" }\n')
    expect(setup(h, { client: 'claude-code', yes: true }, authOff).code).toBe(0)
    const first = read(file)
    Bun.sleepSync(5)
    expect(setup(h, { client: 'claude-code', yes: true }, authOn).code).toBe(0)
    expect(setup(h, { client: 'claude-code', undo: true, yes: true }).code).toBe(0)
    expect(read(file)).toBe(first)
    expect(setup(h, { client: 'claude-code', undo: true, yes: true }).code).toBe(0)
    expect(read(file)).toBe('{ "model": "opus" }\n')
  })
})

describe('arguments', () => {
  test.each([
    [['setup', 'codex', '--yes'], { client: 'codex', yes: true }],
    [['setup', '--undo', 'claude-code', '-y'], { client: 'claude-code', undo: true, yes: true }],
    [['--port', '9000', 'setup', 'opencode', '--print'], { client: 'opencode', print: true }],
  ])('%p', (argv, want) => {
    const a = parseArgs(argv)
    expect(a.error).toBeUndefined()
    expect(a.command).toBe('setup')
    expect(a.setup).toEqual(want)
  })

  test('setup flags elsewhere, or a second client: refused', () => {
    expect(parseArgs(['--yes']).error).toContain('belong to agproxy setup')
    expect(parseArgs(['doctor', '--print']).error).toContain('belong to agproxy setup')
    expect(parseArgs(['setup', 'codex', 'opencode']).error).toContain('unknown argument "opencode"')
    expect(parseArgs(['doctor']).command).toBe('doctor')
  })
})

describe('asking before writing', () => {
  test('--print shows the diff (key masked) and writes nothing', () => {
    const h = home()
    const r = setup(h, { client: 'claude-code', print: true }, authOn)
    expect(r.code).toBe(0)
    expect(r.out).toContain('+++ ~/.claude/settings.json')
    expect(r.out).toContain(`"ANTHROPIC_AUTH_TOKEN": "${maskKey(KEY)}"`)
    expect(r.out).not.toContain(KEY)
    expect(r.out).toContain('nothing was written')
    expect(existsSync(join(h, '.claude'))).toBe(false)
  })

  test('interactive: "n" writes nothing, "y" writes', () => {
    const h = home()
    const questions: string[] = []
    const no = setup(h, { client: 'opencode' }, authOff, {
      interactive: true,
      ask: q => {
        questions.push(q)
        return 'n'
      },
    })
    expect(no.code).toBe(1)
    // the diff comes with the question, before the answer
    expect(questions[0]).toMatch(/^--- \/dev\/null\n\+\+\+ ~\/\.config\/opencode\/opencode\.json\n[\s\S]*Write these changes\? \[y\/N\]$/)
    expect(no.out).toBe('Nothing was written.')
    expect(existsSync(join(h, '.config/opencode/opencode.json'))).toBe(false)
    const yes = setup(h, { client: 'opencode' }, authOff, { interactive: true, ask: () => 'y' })
    expect(yes.code).toBe(0)
    expect(existsSync(join(h, '.config/opencode/opencode.json'))).toBe(true)
  })

  test('the command with stdin not a terminal and neither --yes nor --print: refused, nothing written', async () => {
    const h = tempDir('agproxy-setup-cli-')
    homes.push(h)
    const config = configFile('port: 8123\n')
    const r = await runCli(['setup', 'codex', '--config', config], cleanEnv({}, h))
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('stdin is not a terminal')
    expect(r.stderr).toContain('--yes')
    expect(existsSync(join(h, '.codex'))).toBe(false)
    // --port points the client elsewhere; --yes writes
    const w = await runCli(['setup', 'codex', '--config', config, '--port', '9555', '--yes'], cleanEnv({}, h))
    expect(w.code).toBe(0)
    expect((parseToml(read(join(h, '.codex/config.toml'))) as any).model_providers.agproxy.base_url).toBe('http://127.0.0.1:9555/v1')
  })
})
