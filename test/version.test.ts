/**
 * `agproxy --version` (name, version, Bun version, platform) and `agproxy version --check` against a local releases
 * API (AGPROXY_RELEASES_URL): newer, same, older, and every way the check can fail — one line, exit 1, no stack.
 * The releases URL is asked only by `version --check`: never by --version nor at start.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { parseArgs } from '../src/cli/args'
import { platformName, versionCheck } from '../src/cli/version'
import { VERSION } from '../src/version'
import { cleanEnv, configFile, runCli, startCli } from './support/cli'

/** A releases API that answers what the test sets, and counts the requests it got. */
let answer: () => Response = () => Response.json({ tag_name: `v${VERSION}`, html_url: 'https://example.test/releases/tag/x' })
let hits = 0
const releases = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch: () => {
    hits++
    return answer()
  },
})
const RELEASES = `http://127.0.0.1:${releases.port}/repos/x/y/releases/latest`
afterAll(() => releases.stop(true))

/** A port nothing listens on. */
const closedPort = () => {
  const s = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  const port = s.port
  s.stop(true)
  return port
}

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at |Error:|\.ts:\d+/)

describe('--version', () => {
  test('prints name, version, Bun version and platform, exit 0', async () => {
    const r = await runCli(['--version'])
    expect(r).toEqual({ code: 0, stdout: `agproxy ${VERSION} (Bun ${Bun.version}, ${platformName()})\n`, stderr: '' })
    expect(platformName('win32', 'x64')).toBe('windows-x64')
  })

  test('`version`, --version and start never ask the releases URL', async () => {
    hits = 0
    const env = cleanEnv({ AGPROXY_RELEASES_URL: RELEASES })
    expect((await runCli(['version'], env)).code).toBe(0)
    expect((await runCli(['-v'], env)).code).toBe(0)
    const running = await startCli(['--port', '0', '--config', configFile('{}\n')], env)
    await running.stop()
    expect(hits).toBe(0)
  })
})

describe('version --check', () => {
  test('parses; --check without `version` is refused', () => {
    expect(parseArgs(['version', '--check'])).toEqual({ command: 'version', flags: {}, check: true })
    expect(parseArgs(['--version', '--check'])).toEqual({ command: 'version', flags: {}, check: true })
    expect(parseArgs(['--check']).error).toBe('--check goes with the version command: agproxy version --check')
  })

  test('a newer release → says so with the update command, exit 0', async () => {
    answer = () => Response.json({ tag_name: 'v99.0.0', html_url: 'https://example.test/releases/tag/v99.0.0' })
    hits = 0
    const r = await runCli(['version', '--check'], cleanEnv({ AGPROXY_RELEASES_URL: RELEASES }))
    expect(hits).toBe(1)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`A newer agproxy is out: 99.0.0 (this is ${VERSION}). Release notes: https://example.test/releases/tag/v99.0.0\n`)
    expect(r.stdout).toContain('Update: curl -fsSL https://github.com/')
  })

  test('the same version → "is the latest release"; an older one → this is newer', async () => {
    answer = () => Response.json({ tag_name: `v${VERSION}` })
    expect(await versionCheck({ url: RELEASES })).toEqual({ code: 0, out: `agproxy ${VERSION} is the latest release.` })
    answer = () => Response.json({ tag_name: '0.0.1' })
    expect(await versionCheck({ url: RELEASES })).toEqual({ code: 0, out: `agproxy ${VERSION} is newer than the latest release (0.0.1).` })
  })

  test.each([
    ['404 (no release yet)', () => new Response('{"message":"Not Found"}', { status: 404 }), 'no release is published there (404)'],
    ['403 (rate limit)', () => new Response('{}', { status: 403 }), 'rate-limited (403); try again later'],
    ['500', () => new Response('oops', { status: 500 }), 'it answered 500'],
    ['not JSON', () => new Response('<html>'), 'the answer is not JSON'],
    ['no tag_name', () => Response.json({ name: 'x' }), 'the answer names no release version (tag_name)'],
  ])('%s → one line on stderr, exit 1', async (_, reply, why) => {
    answer = reply
    const r = await runCli(['version', '--check'], cleanEnv({ AGPROXY_RELEASES_URL: RELEASES }))
    expect(r).toEqual({ code: 1, stdout: '', stderr: `agproxy: could not check for a newer release at ${RELEASES}: ${why}\n` })
  })

  test('no network (nothing listens) → one clear line, exit 1, no stack', async () => {
    const url = `http://127.0.0.1:${closedPort()}/latest`
    const r = await runCli(['version', '--check'], cleanEnv({ AGPROXY_RELEASES_URL: url }))
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toStartWith(`agproxy: could not check for a newer release at ${url}: `)
    noStack(r.stderr)
  })

  test('a silent server → a timeout line; a URL with credentials is shown without them', async () => {
    const silent = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    try {
      const r = await versionCheck({ url: `http://user:secret@127.0.0.1:${silent.port}/latest?token=t0k`, timeoutMs: 300 })
      expect(r).toEqual({ code: 1, out: `agproxy: could not check for a newer release at http://…@127.0.0.1:${silent.port}/latest?…: no answer within 0.3 s` })
    } finally {
      silent.stop(true)
    }
  })
})
