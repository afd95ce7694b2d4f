/**
 * Model routing explained (issue 13 §2): a `models:` target naming no provider refuses to start, naming the entry;
 * configured providers without keys take the standard key variable on the official API only; `agproxy models` and
 * `agproxy models resolve NAME` print what the router resolves; the banner's short form and key notes.
 */
import { describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { buildConfig } from '../src/config/load'
import { routingOf, routingProblems } from '../src/dispatch/routing'
import { createDispatcher } from '../src/dispatch'
import { silentLogger } from '../src/log'
import { cleanEnv, configFile, runCli, startCli } from './support/cli'
import { startFake } from './fakes/upstream'

const TYPO = `providers:
  - name: gemini
    type: gemini
    api_keys: [g-key]
  - name: oa
    type: openai
    api_keys: [o-key]
models:
  fast: gemni/gemini-2.5-flash
  smart: { target: oa/gpt-4.1, fallbacks: [anthropic/claude-sonnet-4-5, oa/gpt-4o] }
  lonely: nowhere-model
  ok: gemini/gemini-2.5-pro
`

describe('a models: target naming no provider', () => {
  test('is listed with the entry and the fix, one line each', () => {
    expect(routingProblems(buildConfig(Bun.YAML.parse(TYPO) as Record<string, unknown>), {}, 'agproxy.yaml')).toEqual([
      'agproxy.yaml: models.fast: "gemni/gemini-2.5-flash" names provider "gemni", which is not configured; write it as provider/model with one of: gemini, oa',
      'agproxy.yaml: models.smart.fallbacks[0]: "anthropic/claude-sonnet-4-5" names provider "anthropic", which is not configured; write it as ' +
        'provider/model with one of: gemini, oa',
      'agproxy.yaml: models.lonely: "nowhere-model" names no provider and no provider lists it under models:; write it as provider/model with one of: gemini, oa',
    ])
  })

  test('a bare target a provider lists, a glob target with *, and provider/model all pass', () => {
    const c = buildConfig({
      providers: [{ name: 'local', type: 'openai', base_url: 'http://127.0.0.1:1/v1', models: ['qwen3', 'org/model'] }],
      models: { coder: 'qwen3', 'claude-*': 'local/*', slashy: 'org/model' },
    })
    expect(routingProblems(c, {})).toEqual([])
  })

  test('agproxy refuses to start: exit 1, each problem on its own line naming the file', async () => {
    const file = configFile(TYPO)
    const r = await runCli(['--config', file, '--port', '0'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      `agproxy: ${file}: models.fast: "gemni/gemini-2.5-flash" names provider "gemni", which is not configured; write it as provider/model with one of: gemini, oa\n` +
        `${file}: models.smart.fallbacks[0]: "anthropic/claude-sonnet-4-5" names provider "anthropic", which is not configured; write it as provider/model ` +
        'with one of: gemini, oa\n' +
        `${file}: models.lonely: "nowhere-model" names no provider and no provider lists it under models:; write it as provider/model with one of: gemini, oa\n`,
    )
  })
})

describe('provider keys from the environment', () => {
  const config = buildConfig({
    providers: [
      { name: 'oa', type: 'openai' },
      { name: 'oa-pasted', type: 'openai', base_url: 'https://api.openai.com/v1/chat/completions' },
      { name: 'llama', type: 'openai', base_url: 'http://127.0.0.1:8080/v1' },
      { name: 'claude', type: 'anthropic', api_keys: ['sk-ant-configured'] },
      { name: 'google', type: 'gemini' },
    ],
  })
  const env = { OPENAI_API_KEY: 'sk-env-openai', ANTHROPIC_API_KEY: 'sk-env-anthropic', GOOGLE_API_KEY: 'AIza-env-google' }

  test('a keyless provider on the official API takes its type variable; a local one does not; configured keys win', () => {
    const keys = Object.fromEntries(routingOf(config, env).providers.map(p => [p.name, [p.api_keys ?? [], p.key_from]]))
    expect(keys).toEqual({
      oa: [['sk-env-openai'], 'OPENAI_API_KEY'],
      'oa-pasted': [['sk-env-openai'], 'OPENAI_API_KEY'],
      llama: [[], undefined],
      claude: [['sk-ant-configured'], undefined],
      google: [['AIza-env-google'], 'GOOGLE_API_KEY'],
    })
  })

  test('the dispatcher uses them; each provider says where its keys come from', () => {
    const d = createDispatcher(config, silentLogger, env)
    expect([...d.providers.values()].map(p => [p.name, p.keyNote])).toEqual([
      ['oa', '1 key from OPENAI_API_KEY'],
      ['oa-pasted', '1 key from OPENAI_API_KEY'],
      ['llama', 'no key'],
      ['claude', '1 key'],
      ['google', '1 key from GOOGLE_API_KEY'],
    ])
    expect(createDispatcher(config, silentLogger, {}).providers.get('oa')?.keyNote).toBe('no key: set api_keys or OPENAI_API_KEY')
  })

  test('the banner says where keys come from, which provider has none, and prints the routing in short (never a key)', async () => {
    const file = configFile(
      'providers:\n  - name: oa\n    type: openai\n  - name: llama\n    type: openai\n    base_url: http://127.0.0.1:9/v1\n' +
        'models:\n  fast: oa/gpt-4o-mini\n  "claude-*": llama/*\n',
    )
    const run = await startCli(['--config', file, '--port', '0'], cleanEnv({ OPENAI_API_KEY: 'sk-env-openai-123456' }))
    try {
      expect(run.stdout).toContain('providers: oa (openai, 1 key from OPENAI_API_KEY), llama (openai, no key)\n')
      expect(run.stdout).toContain(
        'models: fast → oa/gpt-4o-mini, claude-* → llama/*; any other name → an error (404 model_not_found): list it under models: or write provider/model ' +
          '(agproxy models prints the table)\n',
      )
      expect(`${run.stdout}${run.stderr}`).not.toContain('sk-env-openai-123456')
    } finally {
      await run.stop()
    }
  }, 20_000)
})

describe('agproxy models', () => {
  const file = configFile(`providers:
  - name: oa
    type: openai
    api_keys: [sk-secret-openai-1]
  - name: local
    type: openai
    base_url: http://127.0.0.1:8080/v1
    models: [qwen3-coder]
models:
  smart: { target: oa/gpt-4.1, fallbacks: [local/qwen3-coder] }
  gpt-*: oa/*
`)

  test('prints the providers, the table in the order tried, provider/model and where any other name goes', async () => {
    const r = await runCli(['models', '--config', file])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(
      [
        `Providers — ${file}:`,
        '  oa (openai, 1 key)',
        '  local (openai, no key)',
        '',
        'Model routing (first match wins, top to bottom):',
        '  NAME            ROUTES TO          FALLBACKS',
        '  smart           oa/gpt-4.1         local/qwen3-coder',
        '  gpt-*  (glob)   oa/*',
        '  qwen3-coder     local/qwen3-coder',
        '  provider/model  that provider (oa, local), the model after the slash',
        '  any other name  an error (404 model_not_found): list it under models: or write provider/model',
        '',
        'agproxy models resolve NAME shows where one name goes.',
        '',
      ].join('\n'),
    )
    expect(r.stdout).not.toContain('sk-secret')
  })

  test.each([
    ['smart', 0, 'smart → oa/gpt-4.1  (by models: "smart")\n  fallbacks: local/qwen3-coder\n'],
    ['GPT-5-mini', 0, 'GPT-5-mini → oa/GPT-5-mini  (by models: "gpt-*")\n'],
    ['qwen3-coder', 0, "qwen3-coder → local/qwen3-coder  (by local's models: list)\n"],
    ['local/llama-3', 0, 'local/llama-3 → local/llama-3  (by provider/model)\n'],
    ['claude-x', 1, 'claude-x: The model `claude-x` does not exist or no provider serves it. Available: smart, gpt-*, local/qwen3-coder.\n'],
  ])('models resolve %s', async (name, code, out) => {
    const r = await runCli(['models', 'resolve', name, '--config', file])
    expect({ code: r.code, out: r.stdout }).toEqual({ code, out })
  })

  test('zero-config: the providers the key variables create, and their globs', async () => {
    const r = await runCli(['models', '--config', configFile('{}\n')], cleanEnv({ ANTHROPIC_API_KEY: 'sk-ant-x' }))
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Providers (none configured: from the key variables)')
    expect(r.stdout).toContain('  anthropic (anthropic, 1 key from ANTHROPIC_API_KEY)\n')
    expect(r.stdout).toContain('  claude-*  (glob)   anthropic/*\n')
    expect(r.stdout).toContain('  any other name     anthropic (the only provider), the model as asked\n')
  })

  test('models resolve without a name → exit 2', async () => {
    const r = await runCli(['models', 'resolve'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('models resolve needs a model name: agproxy models resolve NAME')
  })
})

test.skipIf(process.platform === 'win32')(
  'SIGHUP with a models: target naming no provider: not reloaded, the running routing stays',
  async () => {
    const fake = await startFake('openai')
    const cfg = configFile(`providers:\n  - { name: first, type: openai, base_url: "${fake.url}" }\nmodels:\n  fast: first/gpt-4o-mini\n`)
    const run = await startCli(['--port', '0', '--config', cfg])
    try {
      writeFileSync(cfg, `providers:\n  - { name: first, type: openai, base_url: "${fake.url}" }\nmodels:\n  fast: frist/gpt-4o-mini\n`)
      run.proc.kill('SIGHUP')
      await run.waitFor(/SIGHUP: the configuration was not reloaded, the running one stays: .*models\.fast: "frist\/gpt-4o-mini" names provider "frist"/)
      const r = await fetch(`${run.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }),
      })
      expect(r.status).toBe(200)
      expect(fake.last()?.body.model).toBe('gpt-4o-mini')
    } finally {
      await run.stop()
      await fake.stop()
    }
  },
  30_000,
)
