/**
 * `agproxy service install|uninstall|status` in a throwaway HOME: the systemd user unit passes `systemd-analyze verify`
 * (and runs this agproxy by absolute path with the config in use, restarting on failure), the launchd agent parses as a
 * property list (python3's plistlib), Windows gets the scheduled task printed, `uninstall` removes them, and `status`
 * says whether an agproxy answers on the service's address.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from '../src/cli/args'
import { launchdPlist, plistCommand, serviceCommand, systemdUnit, unitCommand, type Ran, type ServiceContext } from '../src/cli/service'
import { VERSION } from '../src/version'
import { startAgproxy, type TestServer } from './support/agproxy'
import { builtBinary } from './support/binary'
import { cleanEnv, ROOT, runCli, tempDir } from './support/cli'

const hasAnalyze = Bun.spawnSync(['sh', '-c', 'command -v systemd-analyze']).exitCode === 0
const hasPython = Bun.spawnSync(['sh', '-c', 'command -v python3']).exitCode === 0
const servers: TestServer[] = []
afterAll(async () => {
  for (const s of servers) await s.stop(0)
})

/** `systemd-analyze verify` of a unit file: exit code and everything it said. */
function analyze(file: string) {
  const r = Bun.spawnSync(['systemd-analyze', 'verify', file], { stdout: 'pipe', stderr: 'pipe' })
  return { code: r.exitCode, said: `${r.stdout}${r.stderr}`.trim() }
}

/** python3's plistlib reading a file: the parsed value as JSON, or the parse error. */
function plist(file: string): { ok: boolean; value?: Record<string, unknown>; error?: string } {
  const r = Bun.spawnSync(['python3', '-c', 'import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],"rb"))))', file], {
    stdout: 'pipe',
    stderr: 'pipe',
  })
  return r.exitCode === 0 ? { ok: true, value: JSON.parse(r.stdout.toString()) } : { ok: false, error: r.stderr.toString() }
}

/** A config file in a folder whose name needs quoting and escaping in a unit (space, %, $). */
function oddConfig() {
  const dir = join(tempDir(), 'my cfg %h $HOME')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'agproxy.yaml')
  writeFileSync(file, '{}\n')
  return file
}

describe('systemd (the CLI, in a temporary HOME)', () => {
  const home = tempDir('agproxy-home-')
  const env = cleanEnv({}, home)
  const unit = join(home, '.config', 'systemd', 'user', 'agproxy.service')
  const config = oddConfig()
  const launcher = [process.execPath, join(ROOT, 'src', 'index.ts')]

  test.skipIf(process.platform !== 'linux')('install writes a unit running this agproxy with the config, restarted on failure', async () => {
    const r = await runCli(['service', 'install', '--config', config, '--port', '9123'], env)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toStartWith(`Wrote ${unit}\n`)
    expect(r.stdout).toContain('journalctl --user -u agproxy')
    const text = readFileSync(unit, 'utf8')
    expect(text).toContain('\nRestart=on-failure\n')
    expect(text).toContain('\nWantedBy=default.target\n')
    expect(text).toContain('%%h $$HOME') // a literal % and $ survive systemd's specifier and variable expansion
    expect(unitCommand(text)).toEqual([...launcher, '--config', config, '--port', '9123'])
  })

  test.skipIf(process.platform !== 'linux' || !hasAnalyze)('systemd-analyze verify accepts the unit (and refuses a broken one)', () => {
    expect(analyze(unit)).toEqual({ code: 0, said: '' })
    const broken = join(tempDir(), 'agproxy.service')
    writeFileSync(broken, readFileSync(unit, 'utf8').replace('Restart=on-failure', 'Restart=sometimes'))
    expect(analyze(broken).said).toContain('Failed to parse service restart specifier')
  })

  test.skipIf(process.platform !== 'linux')('status: installed, what systemd says, and nothing answering on the port', async () => {
    const r = await runCli(['service', 'status'], env)
    expect(r.code).toBe(1)
    expect(r.stdout).toStartWith(`Installed: ${unit}\n`)
    expect(r.stdout).toMatch(/\n(systemd: \S+|systemctl --user is not available here \(.+\), so systemd cannot be asked whether it runs)\n/)
    expect(r.stdout).toContain('\nLogs: journalctl --user -u agproxy\n')
    expect(r.stdout).toEndWith('Not running: nothing answers on http://127.0.0.1:9123\n')
  })

  test.skipIf(process.platform !== 'linux')('status of a service whose port has an agproxy: running, with its version and address', async () => {
    const srv = await startAgproxy()
    servers.push(srv)
    const h = tempDir('agproxy-home-')
    expect((await runCli(['service', 'install', '--port', String(srv.port)], cleanEnv({}, h))).code).toBe(0)
    const r = await runCli(['service', 'status'], cleanEnv({}, h))
    expect(r.code).toBe(0)
    expect(r.stdout).toEndWith(`Running: agproxy ${VERSION} answers on http://127.0.0.1:${srv.port} (ok)\n`)
  })

  test.skipIf(process.platform !== 'linux')('uninstall removes the unit; again → nothing to remove', async () => {
    const r = await runCli(['service', 'uninstall'], env)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Removed ${unit}`)
    expect(existsSync(unit)).toBe(false)
    const again = await runCli(['service', 'uninstall'], env)
    expect(again).toEqual({ code: 0, stdout: `agproxy is not installed as a service (no ${unit}); nothing to remove.\n`, stderr: '' })
  })

  test('--api-key is refused (a service definition is readable), nothing is written', async () => {
    const h = tempDir('agproxy-home-')
    const r = await runCli(['service', 'install', '--api-key', 'sk-secret-123'], cleanEnv({}, h))
    expect(r.code).toBe(1)
    expect(r.stderr).toStartWith('agproxy: service install: --api-key is not written into a service definition')
    expect(`${r.stdout}${r.stderr}`).not.toContain('sk-secret-123')
    expect(existsSync(join(h, '.config'))).toBe(false)
  })

  test('arguments: service needs an action', () => {
    expect(parseArgs(['service', 'status'])).toEqual({ command: 'service', action: 'status', flags: {} })
    expect(parseArgs(['service', 'install', '--port', '9000'])).toEqual({ command: 'service', action: 'install', flags: { port: 9000 } })
    expect(parseArgs(['service']).error).toBe('service needs one of: install, uninstall, status')
    expect(parseArgs(['service', 'start']).error).toBe('service needs one of: install, uninstall, status')
  })
})

describe.skipIf(process.platform !== 'linux')('systemd, from the compiled binary', () => {
  test('the unit runs the binary by its absolute path (no bun, no script); systemd-analyze accepts it', async () => {
    const built = await builtBinary()
    if (!built?.ok) throw new Error(`building failed: ${built?.error}`)
    const home = tempDir('agproxy-home-')
    const config = oddConfig()
    const r = Bun.spawnSync([built.file, 'service', 'install', '--config', config], { cwd: tempDir(), env: cleanEnv({}, home), stdout: 'pipe', stderr: 'pipe' })
    expect(r.stderr.toString()).toBe('')
    expect(r.exitCode).toBe(0)
    const unit = join(home, '.config', 'systemd', 'user', 'agproxy.service')
    expect(unitCommand(readFileSync(unit, 'utf8'))).toEqual([built.file, '--config', config])
    if (hasAnalyze) expect(analyze(unit)).toEqual({ code: 0, said: '' })
  }, 60_000)
})

/** A context for another platform: commands recorded and answered by `answer`. */
function fakeContext(platform: NodeJS.Platform, answer: (cmd: string[]) => Ran = () => ({ code: 0, out: '' })) {
  const ran: string[][] = []
  const ctx: ServiceContext = {
    platform,
    home: tempDir('agproxy-home-'),
    env: {},
    launcher: ['/opt/agproxy & co/agproxy'],
    flags: { port: 9124 },
    file: '/etc/agproxy <main>.yaml',
    run: cmd => {
      ran.push(cmd)
      return answer(cmd)
    },
    fetch: (() => Promise.reject(new Error('refused'))) as unknown as typeof fetch,
    uid: 501,
  }
  return { ctx, ran }
}

describe('launchd (macOS)', () => {
  test.skipIf(!hasPython)('install writes a launch agent that parses as a property list, and loads it', async () => {
    const { ctx, ran } = fakeContext('darwin')
    const r = await serviceCommand('install', ctx)
    const file = join(ctx.home, 'Library', 'LaunchAgents', 'dev.agproxy.plist')
    expect(r.code).toBe(0)
    expect(r.out).toContain(`Wrote ${file}\n`)
    expect(r.out).toContain(`Logs: ${join(ctx.home, 'Library', 'Logs', 'agproxy.log')}`)
    const parsed = plist(file)
    expect(parsed.error).toBeUndefined()
    expect(parsed.value).toEqual({
      Label: 'dev.agproxy',
      ProgramArguments: ['/opt/agproxy & co/agproxy', '--config', '/etc/agproxy <main>.yaml', '--port', '9124'],
      WorkingDirectory: ctx.home,
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 5,
      StandardOutPath: join(ctx.home, 'Library', 'Logs', 'agproxy.log'),
      StandardErrorPath: join(ctx.home, 'Library', 'Logs', 'agproxy.log'),
    })
    expect(plistCommand(readFileSync(file, 'utf8'))).toEqual(parsed.value?.ProgramArguments as string[])
    expect(ran).toContainEqual(['launchctl', 'bootstrap', 'gui/501', file])
  })

  test.skipIf(!hasPython)('plistlib refuses a broken property list (the check checks)', () => {
    const file = join(tempDir(), 'x.plist')
    writeFileSync(file, launchdPlist(['/a'], { home: '/h' }).replace('<true/>', '<true>'))
    expect(plist(file).ok).toBe(false)
  })

  test('status asks launchd; uninstall boots it out and removes the agent', async () => {
    const { ctx, ran } = fakeContext('darwin', cmd =>
      cmd[1] === 'print' ? { code: 0, out: 'gui/501/dev.agproxy = {\n\tstate = running\n}' } : { code: 0, out: '' },
    )
    ctx.file = oddConfig() // status loads the service's config to find its address
    await serviceCommand('install', ctx)
    const s = await serviceCommand('status', ctx)
    expect(s.out).toContain('\nlaunchd: running\n')
    expect(s.out).toEndWith('Not running: nothing answers on http://127.0.0.1:9124')
    const u = await serviceCommand('uninstall', ctx)
    expect(u.out).toBe(`Stopped and removed ${join(ctx.home, 'Library', 'LaunchAgents', 'dev.agproxy.plist')}`)
    expect(existsSync(join(ctx.home, 'Library', 'LaunchAgents', 'dev.agproxy.plist'))).toBe(false)
    expect(ran).toContainEqual(['launchctl', 'bootout', 'gui/501/dev.agproxy'])
  })
})

test('another OS (FreeBSD) → refused with one line, nothing written or run', async () => {
  const { ctx, ran } = fakeContext('freebsd')
  expect(await serviceCommand('install', ctx)).toEqual({
    code: 1,
    out: 'agproxy: service install: freebsd is not supported (Linux with systemd, macOS, Windows are); run agproxy under your service manager',
  })
  expect(ran).toEqual([])
})

describe('Windows', () => {
  test('install prints the scheduled task to register (restart on failure, a log file) and writes nothing', async () => {
    const { ctx, ran } = fakeContext('win32')
    ctx.launcher = ['C:\\Users\\me\\bin\\agproxy.exe']
    const r = await serviceCommand('install', ctx)
    expect(r.code).toBe(0)
    expect(r.out).toContain('Register-ScheduledTask -TaskName agproxy')
    expect(r.out).toContain('-RestartCount 999')
    expect(r.out).toContain(`C:\\Users\\me\\bin\\agproxy.exe --config "/etc/agproxy <main>.yaml" --port 9124 >> "%LOCALAPPDATA%\\agproxy\\agproxy.log" 2>&1`)
    expect((await serviceCommand('uninstall', ctx)).out).toContain('Unregister-ScheduledTask -TaskName agproxy')
    expect(ran).toEqual([])
    expect(existsSync(join(ctx.home, 'Library'))).toBe(false)
  })
})

test('the unit quotes what systemd would otherwise split or expand, and reads back the same', () => {
  const cmd = ['/opt/my apps/agproxy', '--config', '/c/100%/a"b\\c $X.yaml']
  expect(unitCommand(systemdUnit(cmd))).toEqual(cmd)
})
