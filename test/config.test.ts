/**
 * A config that explains itself (issue 13 §2): `${VAR}` in values, syntax errors with line and column, an
 * unreadable file or a directory as one line. Each case with its exact message; none prints a secret value.
 */
import { describe, expect, test } from 'bun:test'
import { chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { buildConfig, loadConfig, parseConfigText } from '../src/config/load'
import { cleanEnv, configFile, runCli, tempDir } from './support/cli'

const message = (f: () => unknown) => {
  try {
    f()
  } catch (e) {
    return (e as Error).message
  }
  throw new Error('expected an error')
}

describe('${VAR} in string values', () => {
  const file = {
    providers: [{ name: 'oa', type: 'openai', api_keys: ['${OAI_KEY}'], base_url: '${OAI_BASE:-https://api.openai.com/v1}' }],
    data_dir: '$${HOME}/agproxy',
  }

  test('a set variable is read; an unset one with a default takes the default; $${ is a literal ${', () => {
    const c = buildConfig(file, {}, { OAI_KEY: 'sk-from-env' }, 'agproxy.yaml')
    expect(c.providers[0]).toMatchObject({ api_keys: ['sk-from-env'], base_url: 'https://api.openai.com/v1' })
    expect(c.data_dir).toBe('${HOME}/agproxy')
    expect(buildConfig(file, {}, { OAI_KEY: 'k', OAI_BASE: 'http://127.0.0.1:9/v1' }).providers[0]?.base_url).toBe('http://127.0.0.1:9/v1')
  })

  test('inside a longer string, and in nested blocks (headers, models)', () => {
    const c = buildConfig(
      { providers: [{ name: 'x', type: 'openai', headers: { 'x-org': 'org-${ORG}' } }], models: { fast: '${FAST:-x/gpt-4o-mini}' } },
      {},
      { ORG: '42' },
    )
    expect(c.providers[0]?.headers).toEqual({ 'x-org': 'org-42' })
    expect(c.models).toEqual({ fast: 'x/gpt-4o-mini' })
  })

  test('a missing variable without a default names the setting and the variable, never a value', () => {
    expect(message(() => buildConfig(file, {}, {}, 'agproxy.yaml'))).toBe(
      'agproxy.yaml: providers[0].api_keys[0]: environment variable OAI_KEY is not set; set it, or give a default with ${OAI_KEY:-default}',
    )
  })

  test('an empty variable counts as missing', () => {
    expect(message(() => buildConfig({ api_key: '${K}' }, {}, { K: '' }, 'agproxy.yaml'))).toBe(
      'agproxy.yaml: api_key: environment variable K is not set; set it, or give a default with ${K:-default}',
    )
  })

  test('a ${…} that is no variable name is refused without echoing it', () => {
    expect(message(() => buildConfig({ api_keys: ['${sk-secret-123}'] }, {}, {}, 'agproxy.yaml'))).toBe(
      'agproxy.yaml: api_keys[0]: a ${…} that is not a variable reference; write ${NAME} or ${NAME:-default} (or $${ for a literal ${)',
    )
  })

  test('through the CLI: the file reads the process environment', async () => {
    const f = configFile('api_keys: ["${MY_AGPROXY_KEY}"]\nauth_mode: strict\n')
    const ok = await runCli(['clients', '--config', f], cleanEnv({ MY_AGPROXY_KEY: 'sk-x' }))
    expect(ok.code).toBe(0)
    const missing = await runCli(['clients', '--config', f])
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim()).toBe(
      `agproxy: ${f}: api_keys[0]: environment variable MY_AGPROXY_KEY is not set; set it, or give a default with \${MY_AGPROXY_KEY:-default}`,
    )
  })
})

describe('syntax errors give the line and column', () => {
  test.each([
    ['port: 8045\nproviders: [a, b\nmodels: {}\n', 'agproxy.yaml: cannot parse YAML at line 2, column 12: Unexpected token'],
    ['providers:\n  - name: a\n   type: openai\n', 'agproxy.yaml: cannot parse YAML at line 3, column 4: Unexpected token'],
    ['port: 8045\napi_keys:\n\t- sk-x\n', 'agproxy.yaml: cannot parse YAML at line 3, column 1: Tab characters cannot be used as indentation'],
    ['api_key: "sk-unterminated\n', 'agproxy.yaml: cannot parse YAML at line 1, column 10: Unexpected EOF'],
  ])('YAML %j', (text, expected) => {
    expect(message(() => parseConfigText(text, 'agproxy.yaml'))).toBe(expected)
  })

  test.each([
    ['{\n  "port": 8045,\n  "api_keys": [sk-secret]\n}', 'agproxy.json: cannot parse JSON at line 3, column 16: Unexpected identifier'],
    ['{\n  "port": 8045,\n}', 'agproxy.json: cannot parse JSON at line 3, column 1: Property name must be a string literal'],
  ])('JSON %j (the offending token is not echoed)', (text, expected) => {
    expect(message(() => parseConfigText(text, 'agproxy.json'))).toBe(expected)
  })
})

describe('an unreadable config', () => {
  test('a directory → one line, exit 1, no stack', async () => {
    const dir = join(tempDir(), 'conf.d')
    mkdirSync(dir)
    expect(message(() => loadConfig({ config: dir }, {}))).toBe(`${dir}: is a directory; name the config file itself (e.g. agproxy.yaml)`)
    const r = await runCli(['clients', '--config', dir])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`agproxy: ${dir}: is a directory; name the config file itself (e.g. agproxy.yaml)\n`)
  })

  test.skipIf(process.getuid?.() === 0)('a file without read permission → one line', () => {
    const f = configFile('port: 1\n')
    chmodSync(f, 0o000)
    expect(message(() => loadConfig({ config: f }, {}))).toBe(`${f}: cannot be read: permission denied`)
  })
})
