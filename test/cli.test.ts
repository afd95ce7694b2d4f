/**
 * The `agproxy` command, run as users run it (`bun src/index.ts …`), with a throwaway HOME and an
 * explicit --config so the machine's own settings never leak in.
 *
 * Settings come from, highest first: flags > env (AGPROXY_*) > config file > defaults.
 * The config file is --config, else $AGPROXY_CONFIG, else ./agproxy.yaml, else ~/.config/agproxy/config.yaml.
 */
import { describe, test, expect } from 'bun:test'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROUTES } from '../src/http/route-table'
import { parseArgs } from '../src/cli/args'
import { clientsText } from '../src/cli/print'
import { bindHost, effectiveAuthMode, loadConfig, type Flags } from '../src/config/load'
import { VERSION } from '../src/version'
import { cleanEnv, configFile, runCli, startCli, tempDir } from './support/cli'
import { ANY_MODEL_BODY } from './support/front-door'

/** The port and whether a key is needed, as `agproxy clients` prints them. */
function clientsSays(stdout: string) {
  const port = Number(stdout.match(/OPENAI_BASE_URL = http:\/\/127\.0\.0\.1:(\d+)\/v1/)?.[1])
  const key = /A key is required \(auth_mode (\w+)\)/.exec(stdout)?.[1] ?? (stdout.includes('No key is required (auth is off)') ? 'none' : '?')
  return { port, key }
}

describe('help and version', () => {
  test('--help → usage, exit 0', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage:')
    for (const word of ['--port', '--host', '--allow-lan', '--auth-mode', '--api-key', '--config', '--help', '--version', 'routes', 'clients'])
      expect(r.stdout).toContain(word)
  })

  test.each([
    ['-h', 'help'],
    ['help', 'help'],
    ['-v', 'version'],
    ['--version', 'version'],
    ['routes', 'routes'],
    ['clients', 'clients'],
    ['serve', 'serve'],
  ])('%s is the %s command', (arg, command) => {
    expect(parseArgs([arg])).toEqual({ command, flags: {} } as any)
  })

  test('--help does not read the config file (a broken one cannot hide the help)', async () => {
    const r = await runCli(['--config', configFile('auth_mode: strcit\n'), '--help'])
    expect(r.code).toBe(0)
  })

  test('--version → name, version, Bun version and platform, exit 0', async () => {
    const r = await runCli(['--version'])
    expect(r).toEqual({
      code: 0,
      stdout: `agproxy ${VERSION} (Bun ${Bun.version}, ${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch})\n`,
      stderr: '',
    })
  })

  test('a bad argument → exit 2 with one clear line', async () => {
    const r = await runCli(['--bogus'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('agproxy: unknown argument "--bogus"\nRun agproxy --help for usage.\n')
  })

  test.each([
    [['--port', 'abc'], '--port: expected a port number, got "abc"'],
    [['--port'], '--port needs a value'],
    [['--config', '--port', '1'], '--config needs a value'],
  ])('%p → %s', (args, error) => {
    expect(parseArgs(args).error).toBe(error)
  })

  test('flags parse as given (repeatable --api-key, --flag=value)', () => {
    expect(parseArgs(['--port=9000', '--host', '::1', '--allow-lan', '--auth-mode', 'strict', '--api-key', 'a', '--api-key=b', '--config', 'x.yaml'])).toEqual({
      command: 'serve',
      flags: { port: 9000, host: '::1', allowLan: true, authMode: 'strict', apiKeys: ['a', 'b'], config: 'x.yaml' },
    })
  })
})

describe('routes and clients', () => {
  test('`routes` prints every route with its methods and tag', async () => {
    const r = await runCli(['routes'])
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines).toHaveLength(ROUTES.length)
    for (const route of ROUTES) {
      const line = lines.find(l => l.split(/\s+/)[1] === route.path)
      expect({ path: route.path, line: line?.split(/\s+/).slice(0, 3) }).toEqual({
        path: route.path,
        line: [route.methods.join(','), route.path, route.tag],
      })
    }
  })

  test("`clients` prints each family's base URL and says no key is needed (defaults)", async () => {
    const cfg = configFile('{}\n')
    const r = await runCli(['clients', '--config', cfg])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('OPENAI_BASE_URL = http://127.0.0.1:8045/v1')
    expect(r.stdout).toContain('ANTHROPIC_BASE_URL / base URL = http://127.0.0.1:8045\n')
    expect(r.stdout).toContain('GOOGLE_GEMINI_BASE_URL / httpOptions.baseUrl = http://127.0.0.1:8045\n')
    expect(r.stdout).toContain('Claude Code:   ANTHROPIC_BASE_URL=http://127.0.0.1:8045 ANTHROPIC_API_KEY=any')
    expect(r.stdout).toContain('base_url = "http://127.0.0.1:8045/v1"')
    expect(r.stdout).toContain('No key is required (auth is off)')
  })

  test('`clients` says when a key is needed', async () => {
    const r = await runCli(['clients', '--config', configFile('{}\n'), '--auth-mode', 'strict', '--api-key', 'sk-x'])
    expect(r.stdout).toContain('A key is required (auth_mode strict)')
    expect(r.stdout).toContain('ANTHROPIC_API_KEY=<key>')
    expect(r.stdout).not.toContain('sk-x')
  })

  test('`clients` with LAN access: auto means a key is needed', () => {
    expect(clientsSays(clientsText(loadConfig({ config: configFile('{}\n'), allowLan: true }, {}).config))).toEqual({ port: 8045, key: 'all_except_health' })
  })
})

describe('config files', () => {
  test('a bad value → exit 1 naming the file, the setting and what was expected', async () => {
    const file = configFile('port: 9000\nauth_mode: strcit\n')
    const r = await runCli(['clients', '--config', file])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim()).toBe(`agproxy: ${file}: auth_mode: expected one of off|strict|all_except_health|auto, got "strcit"`)
  })

  test('the same in a JSON file', async () => {
    const file = configFile('{"auth_mode": "strcit"}', 'agproxy.json')
    const r = await runCli(['clients', '--config', file])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(`agproxy: ${file}: auth_mode: expected one of off|strict|all_except_health|auto, got "strcit"`)
  })

  test.each([
    ['auth_mod: off\n', 'auth_mod: unknown setting'],
    ['port: "eighty"\n', 'port: expected a number'],
    ['providers:\n  - name: Bad Name\n    type: openai\n', 'providers[0].name: expected a string matching'],
    ['port: [1\n', 'cannot parse'],
    ['- just\n- a list\n', 'expected a mapping of settings'],
  ])('%j → a ConfigError: %s', (text, says) => {
    const file = configFile(text)
    expect(() => loadConfig({ config: file }, {})).toThrow(`${file}: `)
    expect(() => loadConfig({ config: file }, {})).toThrow(says)
  })

  test('a missing --config file → exit 1', async () => {
    const r = await runCli(['clients', '--config', '/nonexistent/agproxy.yaml'])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe('agproxy: /nonexistent/agproxy.yaml: config file not found')
  })

  test.each([
    ['YAML', 'port: 9101\nauth_mode: strict\napi_keys: [sk-a]\n', 'agproxy.yaml'],
    ['JSON', '{"port": 9101, "auth_mode": "strict", "api_keys": ["sk-a"]}', 'agproxy.json'],
  ])('%s settings apply', (_, text, name) => {
    const { config, file } = loadConfig({ config: configFile(text, name) }, {})
    expect(file).toEndWith(name)
    expect({ port: config.port, auth: config.auth_mode, keys: config.api_keys }).toEqual({ port: 9101, auth: 'strict', keys: ['sk-a'] })
  })

  test('$AGPROXY_CONFIG names the file when there is no --config', async () => {
    const r = await runCli(['clients'], cleanEnv({ AGPROXY_CONFIG: configFile('port: 9103\n') }))
    expect(clientsSays(r.stdout).port).toBe(9103)
  })

  test('./agproxy.yaml in the working directory is found', async () => {
    const dir = tempDir()
    configFile('port: 9104\n', 'agproxy.yaml', dir)
    const r = await runCli(['clients'], cleanEnv(), dir)
    expect(clientsSays(r.stdout).port).toBe(9104)
  })

  test('~/.config/agproxy/config.yaml is found last', async () => {
    const home = tempDir('agproxy-home-')
    mkdirSync(join(home, '.config', 'agproxy'), { recursive: true })
    writeFileSync(join(home, '.config', 'agproxy', 'config.yaml'), 'port: 9105\n')
    const r = await runCli(['clients'], cleanEnv({}, home), tempDir())
    expect(clientsSays(r.stdout).port).toBe(9105)
  })
})

describe('precedence: flags > env > file > defaults', () => {
  const file = configFile('port: 9201\nauth_mode: off\n')
  const keysFile = configFile('auth_mode: strict\napi_keys: [sk-file]\n')

  /** [case, flags, env, expected port, expected effective auth] — resolved in-process by loadConfig, as the CLI does */
  const TABLE: Array<[string, Flags, Record<string, string>, number, string]> = [
    ['defaults', { config: configFile('{}\n') }, {}, 8045, 'off'],
    ['file', { config: file }, {}, 9201, 'off'],
    ['env over file', { config: file }, { AGPROXY_PORT: '9202', AGPROXY_AUTH_MODE: 'strict' }, 9202, 'strict'],
    ['flags over env', { config: file, port: 9203, authMode: 'off' }, { AGPROXY_PORT: '9202', AGPROXY_AUTH_MODE: 'strict' }, 9203, 'off'],
    [
      'env AGPROXY_ALLOW_LAN_ACCESS turns auto into all_except_health',
      { config: file },
      { AGPROXY_ALLOW_LAN_ACCESS: 'true', AGPROXY_AUTH_MODE: 'auto' },
      9201,
      'all_except_health',
    ],
    ['--allow-lan over env', { config: file, allowLan: true }, { AGPROXY_ALLOW_LAN_ACCESS: 'false', AGPROXY_AUTH_MODE: 'auto' }, 9201, 'all_except_health'],
  ]
  test.each(TABLE)('%s', (_: string, flags: Flags, env: Record<string, string>, port: number, auth: string) => {
    const { config } = loadConfig(flags, env)
    expect({ port: config.port, auth: effectiveAuthMode(config) as string }).toEqual({ port, auth })
  })

  test.each([
    [{}, { AGPROXY_HOST: '::1' }, '::1'],
    [{ host: '127.0.0.2' }, { AGPROXY_HOST: '::1' }, '127.0.0.2'],
    [{ allowLan: true }, {}, '0.0.0.0'],
    [{}, {}, '127.0.0.1'],
  ] as Array<[Flags, Record<string, string>, string]>)('bind address: flags %o env %o → %s', (flags, env, host) => {
    expect(bindHost(loadConfig({ config: configFile('{}\n'), ...flags }, env).config)).toBe(host)
  })

  test('the CLI applies them the same way (flags over env over file)', async () => {
    const r = await runCli(['clients', '--config', file, '--port=9203', '--auth-mode', 'off'], cleanEnv({ AGPROXY_PORT: '9202', AGPROXY_AUTH_MODE: 'strict' }))
    expect(r.stderr).toBe('')
    expect(clientsSays(r.stdout)).toEqual({ port: 9203, key: 'none' })
  })

  test('a bad env value is blamed on the env var, not the file', async () => {
    const r = await runCli(['clients', '--config', file], cleanEnv({ AGPROXY_AUTH_MODE: 'strcit' }))
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe('agproxy: AGPROXY_AUTH_MODE: auth_mode: expected one of off|strict|all_except_health|auto, got "strcit"')
  })

  test('a bad flag value is blamed on the flag', () => {
    expect(() => loadConfig({ config: file, authMode: 'strcit' }, {})).toThrow(
      '--auth-mode: auth_mode: expected one of off|strict|all_except_health|auto, got "strcit"',
    )
  })

  test.each([
    [{ AGPROXY_PORT: 'abc' }, 'AGPROXY_PORT: expected a port number, got "abc"'],
    [{ AGPROXY_ALLOW_LAN_ACCESS: 'maybe' }, 'AGPROXY_ALLOW_LAN_ACCESS: expected true or false, got "maybe"'],
    [{ AGPROXY_PORT: '70000' }, 'AGPROXY_PORT: port: expected a number >= 0 <= 65535 (whole number), got 70000'],
  ])('%o → %s', (env, message) => {
    expect(() => loadConfig({ config: file }, env)).toThrow(message)
  })

  test.each([
    ['file', {}, {}, ['sk-file']],
    ['AGPROXY_API_KEYS over the file', {}, { AGPROXY_API_KEYS: 'sk-env-1, sk-env-2' }, ['sk-env-1', 'sk-env-2']],
    ['--api-key over both', { apiKeys: ['sk-flag-1', 'sk-flag-2'] }, { AGPROXY_API_KEYS: 'sk-env-1' }, ['sk-flag-1', 'sk-flag-2']],
  ] as Array<[string, Flags, Record<string, string>, string[]]>)('keys: %s', (_, flags, env, keys) => {
    expect(loadConfig({ config: keysFile, ...flags }, env).config.api_keys).toEqual(keys)
  })

  test('keys: a started server accepts the --api-key keys only (not env, not file)', async () => {
    const call = (url: string, key: string) =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify(ANY_MODEL_BODY),
      }).then(r => r.status)
    const run = await startCli(
      ['--config', keysFile, '--port', '0', '--api-key', 'sk-flag-1', '--api-key', 'sk-flag-2'],
      cleanEnv({ AGPROXY_API_KEYS: 'sk-env-1' }),
    )
    try {
      expect([await call(run.url, 'sk-file'), await call(run.url, 'sk-env-1'), await call(run.url, 'sk-flag-1'), await call(run.url, 'sk-flag-2')]).toEqual([
        401, 401, 503, 503,
      ])
    } finally {
      expect(await run.stop()).toBe(0)
    }
  }, 20_000)
})

describe('serving', () => {
  test('the start banner prints the listen address, the auth mode and the client settings; SIGTERM → exit 0', async () => {
    const cfg = configFile('log_level: info\n')
    const run = await startCli(['--config', cfg, '--port', '0'])
    const port = Number(new URL(run.url).port)
    try {
      expect(run.stdout).toContain(`agproxy ${VERSION} listening on http://127.0.0.1:${port} (config ${cfg})`)
      expect(run.stdout).toContain('auth: off (auto), 0 key(s)')
      expect(run.stdout).toContain(`OPENAI_BASE_URL = http://127.0.0.1:${port}/v1`)
      expect(run.stdout).toContain(`ANTHROPIC_BASE_URL / base URL = http://127.0.0.1:${port}\n`)
      expect(run.stdout).toContain(`GOOGLE_GEMINI_BASE_URL / httpOptions.baseUrl = http://127.0.0.1:${port}\n`)
      expect(run.stdout).toContain(`Docs: http://127.0.0.1:${port}/swagger`)
      expect((await fetch(`${run.url}/healthz`)).status).toBe(200)
    } finally {
      expect(await run.stop('SIGTERM')).toBe(0)
    }
    expect(run.stderr).toContain('SIGTERM')
  }, 20_000)

  test('with strict auth the banner shows the mode and key count (never the keys); SIGINT → exit 0', async () => {
    // keys no generated key can begin with (the admin key generated at first start is printed once: 'sk-' and random)
    const keys = ['sk-strict-banner-key-alpha-0001', 'sk-strict-banner-key-beta-0002']
    const run = await startCli(['--config', configFile('{}\n'), '--port', '0', '--auth-mode', 'strict', '--api-key', keys[0]!, '--api-key', keys[1]!])
    try {
      expect(run.stdout).toContain('auth: strict, 2 key(s)')
      expect(run.stdout).toContain('A key is required (auth_mode strict)')
      for (const k of keys) expect(run.stdout + run.stderr).not.toContain(k.slice(0, 12))
    } finally {
      expect(await run.stop('SIGINT')).toBe(0)
    }
  }, 20_000)

  test('a port in use → one line naming the port, exit non-zero', async () => {
    const blocker = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('busy') })
    try {
      const r = await runCli(['--config', configFile('{}\n'), '--port', String(blocker.port)])
      expect(r.code).not.toBe(0)
      const lines = r.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toStartWith(`agproxy: port ${blocker.port} is already in use on 127.0.0.1`)
      expect(lines[0]).toContain('--port')
    } finally {
      blocker.stop(true)
    }
  }, 20_000)

  test("a host that is no address of this machine → one line naming it and saying what to set, exit non-zero (not the socket call's words)", async () => {
    for (const [host, why] of [
      [':::', 'not an address'],
      ['256.1.1.1', 'not an address'],
      ['no such host!', 'no such host name'],
    ]) {
      const r = await runCli(['--config', configFile('{}\n'), '--port', '0', '--host', host!])
      expect({ host, code: r.code }).toEqual({ host, code: 1 })
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter(l => l.startsWith('agproxy:'))
      expect(lines).toEqual([expect.stringContaining(`agproxy: cannot listen on ${JSON.stringify(host)} (host), port 0: ${why}; set host (--host`)])
      expect(lines[0]).toContain('127.0.0.1 for this machine only, 0.0.0.0 for every interface')
      expect(r.stderr).not.toMatch(/EINVAL|baseURI|getaddrinfo|\n\s+at /)
    }
  }, 30_000)

  test('the port is bound first: a port in use stops the start before the request log is opened', async () => {
    // (bound first, a client connecting while the gateway is built waits for its answer instead of being refused)
    const blocker = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('busy') })
    const dir = tempDir()
    try {
      const r = await runCli(['--config', configFile(`data_dir: ${dir}\nrequest_log: true\n`), '--port', String(blocker.port)])
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain(`port ${blocker.port} is already in use`)
      expect(existsSync(join(dir, 'agproxy.db'))).toBe(false)
    } finally {
      blocker.stop(true)
    }
  }, 20_000)
})
