/**
 * What ships, checked where it cannot run here: the release workflow builds exactly the targets scripts/build.ts
 * builds (with `npm run build`) and publishes each of their files, SHA256SUMS and the installers; the installers and
 * `version --check` agree on where releases live; the Dockerfile passes dockerfilelint, runs as non-root with /data as
 * data_dir and LAN access on, and its HEALTHCHECK (`agproxy health`) works with those settings on the real binary.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ALL_TARGETS, currentTarget, exeName } from '../scripts/build'
import { DOWNLOAD_BASE, RELEASE_REPO } from '../src/cli/version'
import { VERSION } from '../src/version'
import { startAgproxy, type TestServer } from './support/agproxy'
import { builtBinary } from './support/binary'
import { cleanEnv, ROOT, runCli, tempDir } from './support/cli'

const read = (f: string) => readFileSync(join(ROOT, f), 'utf8')

interface Step {
  name?: string
  run?: string
  uses?: string
  with?: Record<string, unknown>
}
const workflow = Bun.YAML.parse(read('.github/workflows/release.yml')) as {
  on: { push: { tags: string[] } }
  jobs: Record<string, { steps: Step[] }>
}
const steps = Object.values(workflow.jobs).flatMap(j => j.steps)
const runs = steps.map(s => s.run ?? '')

describe('release workflow', () => {
  test('runs on a version tag, tests before building', () => {
    expect(workflow.on.push.tags).toEqual(['v*'])
    const test = runs.findIndex(r => r.trim() === 'npm test')
    const build = runs.findIndex(r => r.startsWith('npm run build'))
    expect(test).toBeGreaterThan(-1)
    expect(build).toBeGreaterThan(test)
  })

  test('builds with `npm run build` (= bun scripts/build.ts) for exactly the targets of scripts/build.ts', () => {
    expect(JSON.parse(read('package.json')).scripts.build).toBe('bun scripts/build.ts')
    const build = runs.filter(r => r.includes('scripts/build.ts') || r.includes('npm run build'))
    expect(build).toHaveLength(1)
    const m = /^npm run build -- --target (\S+)$/.exec(build[0]?.trim() ?? '')
    expect(m?.[1]?.split(',')).toEqual(ALL_TARGETS)
  })

  test('publishes every built file, SHA256SUMS and both installers', () => {
    const publish = runs.find(r => r.includes('gh release create')) ?? ''
    const files = publish.split(/\s+/).filter(w => /^(dist|scripts)\//.test(w))
    expect(files).toEqual([...ALL_TARGETS.map(t => `dist/${exeName(t)}`), 'dist/SHA256SUMS', 'scripts/install.sh', 'scripts/install.ps1'])
    expect(runs).toContain('cd dist && sha256sum -c SHA256SUMS')
  })

  test('pushes the image for the platforms the Dockerfile has binaries for', () => {
    const push = steps.find(s => s.uses?.startsWith('docker/build-push-action'))
    expect(push?.with?.platforms).toBe('linux/amd64,linux/arm64')
    for (const t of ['linux-x64', 'linux-arm64'] as const) {
      expect(read('Dockerfile')).toContain(`f=${exeName(t)} ;;`)
      expect(read('.dockerignore')).toContain(`!dist/${exeName(t)}\n`)
    }
  })
})

describe('installers', () => {
  test('install.sh, install.ps1 and `version --check` agree on where releases are', () => {
    expect(DOWNLOAD_BASE).toBe(`https://github.com/${RELEASE_REPO}/releases/latest/download`)
    for (const f of ['scripts/install.sh', 'scripts/install.ps1']) {
      const text = read(f)
      expect(text).toContain(`REPO = '${RELEASE_REPO}'`.replace('REPO = ', f.endsWith('.sh') ? 'REPO=' : '$Repo = '))
      expect(text).toContain('/releases/latest/download')
      expect(text).toContain('AGPROXY_DOWNLOAD_BASE')
      expect(text).toContain('SHA256SUMS')
    }
    expect(read('scripts/install.ps1')).toContain(`$File = '${exeName('windows-x64')}'`)
  })
})

describe('Dockerfile', () => {
  test('passes dockerfilelint', () => {
    const r = Bun.spawnSync([join(ROOT, 'node_modules/.bin/dockerfilelint'), '-j', 'Dockerfile'], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
    const report = JSON.parse(r.stdout.toString()) as { totalIssues: number; files: { issues: unknown[] }[] }
    expect(report.files[0]?.issues).toEqual([])
    expect(report.totalIssues).toBe(0)
    expect(r.exitCode).toBe(0)
  })

  test('dockerfilelint does find a problem (the check checks)', () => {
    const r = Bun.spawnSync([join(ROOT, 'node_modules/.bin/dockerfilelint'), '-j', 'FROM debian:latest\nEXPOSE 80:80\n'], { stdout: 'pipe' })
    expect((JSON.parse(r.stdout.toString()) as { totalIssues: number }).totalIssues).toBeGreaterThan(0)
  })

  test('non-root, /data volume as data_dir, LAN access on, HEALTHCHECK via `agproxy health`, agproxy as entrypoint', () => {
    const d = read('Dockerfile')
    const last = d.slice(d.lastIndexOf('\nFROM '))
    expect(last).toMatch(/\nUSER 65532:65532\n/)
    expect(last).toContain('VOLUME ["/data"]')
    expect(last).toContain('AGPROXY_DATA_DIR=/data')
    expect(last).toContain('AGPROXY_ALLOW_LAN_ACCESS=true')
    expect(last).toContain('COPY --from=stage --chown=65532:65532 /data /data')
    expect(last).toContain('EXPOSE 8045')
    expect(last).toMatch(/\nHEALTHCHECK .*CMD \["\/usr\/local\/bin\/agproxy", "health"\]\n/)
    expect(last).toContain('ENTRYPOINT ["/usr/local/bin/agproxy"]')
    expect(last).not.toMatch(/AGPROXY_AUTH_MODE|AGPROXY_API_KEYS/) // the key comes from the user (or is generated)
  })
})

/** The ENV of the Dockerfile's final stage. */
function imageEnv(): Record<string, string> {
  const d = read('Dockerfile')
  const block = /\nENV ((?:[^\n]*\\\n)*[^\n]*)/.exec(d.slice(d.lastIndexOf('\nFROM ')))?.[1] ?? ''
  return Object.fromEntries([...block.matchAll(/(\w+)=(\S+)/g)].map(m => [m[1], m[2]]))
}

const freePort = () => {
  const s = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  const port = s.port
  s.stop(true)
  return port
}

describe.skipIf(!currentTarget() || process.platform === 'win32')('the image settings on the real binary', () => {
  let proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'> | undefined
  afterAll(async () => {
    proc?.kill()
    await proc?.exited
  })

  test('with the ENV of the image (data_dir redirected), a key is required and `agproxy health` passes', async () => {
    const built = await builtBinary()!
    if (!built.ok) throw new Error(built.error)
    const data = tempDir('agproxy-data-')
    const port = freePort()
    const env = { ...cleanEnv(), ...imageEnv(), AGPROXY_DATA_DIR: data, HOME: data, AGPROXY_PORT: String(port) }
    expect(imageEnv()).toMatchObject({ AGPROXY_DATA_DIR: '/data', AGPROXY_ALLOW_LAN_ACCESS: 'true', HOME: '/data' })
    proc = Bun.spawn([built.file], { cwd: tempDir(), env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
    const started = Date.now()
    let up = false
    while (!up && Date.now() - started < 15_000) {
      up = Bun.spawnSync([built.file, 'health'], { cwd: tempDir(), env }).exitCode === 0
      if (!up) await Bun.sleep(200)
    }
    expect(up).toBe(true)
    const h = Bun.spawnSync([built.file, 'health'], { cwd: tempDir(), env })
    expect(h.stdout.toString()).toBe(`agproxy ${VERSION} answers on http://127.0.0.1:${port} (ok)\n`)
    const key = readFileSync(join(data, 'api_key'), 'utf8').trim() // generated into the data volume
    expect((await fetch(`http://127.0.0.1:${port}/v1/models`)).status).toBe(401)
    expect((await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200)
  }, 60_000)
})

describe('agproxy health', () => {
  const servers: TestServer[] = []
  afterAll(async () => {
    for (const s of servers) await s.stop(0)
  })

  test('an instance answering → exit 0 with its version and address', async () => {
    const srv = await startAgproxy()
    servers.push(srv)
    const r = await runCli(['health', '--port', String(srv.port)], cleanEnv())
    expect(r).toEqual({ code: 0, stdout: `agproxy ${VERSION} answers on http://127.0.0.1:${srv.port} (ok)\n`, stderr: '' })
  })

  test('auth_mode strict: health sends the configured key; a wrong key → exit 1 saying so', async () => {
    const srv = await startAgproxy({ auth_mode: 'strict', api_keys: ['sk-right'] })
    servers.push(srv)
    const ok = await runCli(['health', '--port', String(srv.port), '--auth-mode', 'strict', '--api-key', 'sk-right'], cleanEnv())
    expect(ok.code).toBe(0)
    const bad = await runCli(['health', '--port', String(srv.port), '--auth-mode', 'strict', '--api-key', 'sk-wrong'], cleanEnv())
    expect(bad).toEqual({
      code: 1,
      stdout: '',
      stderr: `agproxy: an agproxy answers on http://127.0.0.1:${srv.port} but refuses the key this config has (401)\n`,
    })
  })

  test('nothing listening → exit 1, one line', async () => {
    const port = freePort()
    const r = await runCli(['health', '--port', String(port)], cleanEnv())
    expect(r).toEqual({ code: 1, stdout: '', stderr: `agproxy: nothing answers on http://127.0.0.1:${port}\n` })
  })
})
