/**
 * scripts/install.sh against a local release server (AGPROXY_DOWNLOAD_BASE → Bun.serve on 127.0.0.1:0; no network):
 * the real binary (built once, test/support/binary.ts) is installed and runs --version; a tampered binary, a file
 * SHA256SUMS does not list, a failed download and an unsupported OS or CPU (uname faked on PATH) install nothing and
 * leave an earlier install as it was. The mechanics cases install a small shell script standing in for the binary.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { currentTarget } from '../scripts/build'
import { VERSION } from '../src/version'
import { builtBinary } from './support/binary'
import { ROOT, tempDir } from './support/cli'

const INSTALL = join(ROOT, 'scripts', 'install.sh')
const sha256 = (b: Uint8Array | string) => new Bun.CryptoHasher('sha256').update(b).digest('hex')
const target = currentTarget()
const posix = process.platform === 'linux' || process.platform === 'darwin'

/** The release server: path → body (a file path is streamed); every request is logged. */
let files: Record<string, Uint8Array | string | Blob> = {}
const asked: string[] = []
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(req) {
    const name = new URL(req.url).pathname.split('/').pop() ?? ''
    asked.push(name)
    const body = files[name]
    return body === undefined ? new Response('Not Found', { status: 404 }) : new Response(body as BodyInit)
  },
})
const BASE = `http://127.0.0.1:${server.port}/releases/v1`
afterAll(() => server.stop(true))

/** A release of `name` (bytes) with a SHA256SUMS listing `listed` (default: the right checksum). */
function release(name: string, bytes: Uint8Array | string | Blob, sums?: string) {
  files = {
    [name]: bytes,
    SHA256SUMS: sums ?? `${'0'.repeat(64)}  agproxy-other\n${sha256(typeof bytes === 'string' || bytes instanceof Uint8Array ? bytes : '')}  ${name}\n`,
  }
}

/** A stand-in "binary": a shell script answering --version. */
const stub = (v = '9.9.9') => `#!/bin/sh\necho "agproxy ${v} (stub)"\n`

/** A PATH dir whose `uname` says what the test wants (os for -s, cpu for -m). */
function fakeUname(os: string, cpu: string) {
  const dir = tempDir('agproxy-uname-')
  writeFileSync(join(dir, 'uname'), `#!/bin/sh\ncase "$1" in -s) echo ${os} ;; -m) echo ${cpu} ;; *) echo ${os} ;; esac\n`)
  chmodSync(join(dir, 'uname'), 0o755)
  return dir
}

/** Run install.sh with a throwaway HOME; `prefix` given with --prefix. */
async function install(opts: { prefix?: string; env?: Record<string, string>; pathFirst?: string } = {}) {
  const home = tempDir('agproxy-home-')
  const env = {
    PATH: `${opts.pathFirst ? `${opts.pathFirst}:` : ''}${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: home,
    AGPROXY_DOWNLOAD_BASE: BASE,
    ...opts.env,
  }
  const args = opts.prefix ? ['--prefix', opts.prefix] : []
  const proc = Bun.spawn(['sh', INSTALL, ...args], { env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { code, stdout, stderr, home }
}

const thisFile = target ? `agproxy-${target}` : 'agproxy-linux-x64'

describe.skipIf(!posix || !target)('install.sh with the real binary', () => {
  test('installs the binary for this OS and CPU into ~/.local/bin; it runs --version', async () => {
    const built = await builtBinary()!
    if (!built.ok) throw new Error(`building failed: ${built.error}`)
    files = { [thisFile]: Bun.file(built.file), SHA256SUMS: `${built.sha256}  ${thisFile}\n` }
    asked.length = 0
    const r = await install()
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(asked).toEqual(['SHA256SUMS', thisFile])
    const bin = join(r.home, '.local', 'bin', 'agproxy')
    expect(r.stdout).toContain(`Installed agproxy ${VERSION} (Bun ${Bun.version}, ${target}) as ${bin}\n`)
    expect(r.stdout).toContain(`${join(r.home, '.local', 'bin')} is not on your PATH`)
    expect(r.stdout).toContain('service install')
    const v = Bun.spawnSync([bin, '--version'], { env: { PATH: '/usr/bin:/bin', HOME: r.home } })
    expect(v.stdout.toString()).toBe(`agproxy ${VERSION} (Bun ${Bun.version}, ${target})\n`)
  }, 120_000)

  test('a tampered binary (one byte changed) is refused and nothing is installed', async () => {
    const built = await builtBinary()!
    const bytes = await Bun.file(built.file).bytes()
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 1
    files = { [thisFile]: bytes, SHA256SUMS: `${built.sha256}  ${thisFile}\n` }
    const r = await install()
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `agproxy install: checksum mismatch for ${thisFile}: SHA256SUMS says ${built.sha256}, the download is ${sha256(bytes)}. ` +
        'The file is damaged or was tampered with; nothing was installed.\n',
    )
    expect(existsSync(join(r.home, '.local'))).toBe(false)
  }, 120_000)
})

describe.skipIf(!posix)('install.sh mechanics (a stand-in binary)', () => {
  test('--prefix DIR installs DIR/bin/agproxy (mode 755) and names the next step', async () => {
    release(thisFile, stub())
    const prefix = join(tempDir(), 'opt')
    const r = await install({ prefix, pathFirst: join(prefix, 'bin') })
    expect(r.code).toBe(0)
    const bin = join(prefix, 'bin', 'agproxy')
    expect(readFileSync(bin, 'utf8')).toBe(stub())
    expect(statSync(bin).mode & 0o777).toBe(0o755)
    expect(r.stdout).toContain(`Installed agproxy 9.9.9 (stub) as ${bin}\n`)
    expect(r.stdout).not.toContain('is not on your PATH') // it is: the next step says plain `agproxy`
    expect(r.stdout).toContain('\n  agproxy clients ')
    expect(readdirSync(join(prefix, 'bin'))).toEqual(['agproxy'])
  })

  test('a checksum mismatch leaves an earlier install untouched and no stray file', async () => {
    const prefix = tempDir()
    mkdirSync(join(prefix, 'bin'))
    writeFileSync(join(prefix, 'bin', 'agproxy'), stub('1.0.0'))
    release(thisFile, stub('6.6.6'), `${sha256(stub('9.9.9'))}  ${thisFile}\n`)
    const r = await install({ prefix })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`agproxy install: checksum mismatch for ${thisFile}`)
    expect(r.stderr).toContain('nothing was installed')
    expect(readFileSync(join(prefix, 'bin', 'agproxy'), 'utf8')).toBe(stub('1.0.0'))
    expect(readdirSync(join(prefix, 'bin'))).toEqual(['agproxy'])
  })

  test('SHA256SUMS that does not list the file → refused', async () => {
    release(thisFile, stub(), `${sha256(stub())}  agproxy-somewhere-else\n`)
    const r = await install()
    expect(r).toMatchObject({ code: 1, stderr: `agproxy install: SHA256SUMS at ${BASE} does not list ${thisFile}; nothing was installed\n` })
    expect(existsSync(join(r.home, '.local'))).toBe(false)
  })

  test('a missing file (404) → a clear line naming the URL', async () => {
    files = { SHA256SUMS: `${sha256(stub())}  ${thisFile}\n` }
    const r = await install()
    expect(r.code).toBe(1)
    expect(r.stderr).toEndWith(`agproxy install: could not download ${BASE}/${thisFile}\n`)
    expect(existsSync(join(r.home, '.local'))).toBe(false)
  })

  test('a download that does not run here → refused', async () => {
    const broken = '#!/bin/sh\necho "cannot execute: wrong architecture" >&2\nexit 126\n'
    release(thisFile, broken)
    const r = await install()
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `agproxy install: the downloaded ${thisFile} does not run on this machine: cannot execute: wrong architecture; nothing was installed\n`,
    )
    expect(existsSync(join(r.home, '.local'))).toBe(false)
  })

  test.each([
    ['Linux', 'aarch64', 'agproxy-linux-arm64'],
    ['Linux', 'x86_64', 'agproxy-linux-x64'],
    ['Darwin', 'arm64', 'agproxy-darwin-arm64'],
  ])('uname %s %s → downloads %s', async (os, cpu, file) => {
    release(file, stub())
    asked.length = 0
    const r = await install({ pathFirst: fakeUname(os, cpu) })
    expect(r.code).toBe(0)
    expect(asked).toEqual(['SHA256SUMS', file])
  })

  test.each([
    ['FreeBSD', 'x86_64', 'no agproxy release for FreeBSD; build it from source (npm run build), see the README'],
    ['Linux', 'riscv64', 'no agproxy release for linux on riscv64 (there are x64 and arm64); build it from source (npm run build)'],
    ['MINGW64_NT-10.0', 'x86_64', `on Windows use install.ps1 in PowerShell: irm ${BASE}/install.ps1 | iex`],
  ])('uname %s %s → refused: %s', async (os, cpu, says) => {
    asked.length = 0
    const r = await install({ pathFirst: fakeUname(os, cpu) })
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: `agproxy install: ${says}\n` })
    expect(asked).toEqual([])
  })
})
