/**
 * The compiled executable: built once for this machine through scripts/build.ts's buildTarget() (the
 * same flags `npm run build` uses) into a temp dir (test/support/binary.ts, shared with test/install.test.ts), then run as a user would. --version prints the
 * package.json version; `--port 0` listens on a free port (the banner names it); /healthz, /swagger/json
 * and the offline /swagger page in headless Chromium work from the binary alone.
 */
import { test, expect, beforeAll, afterAll } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Subprocess } from 'bun'
import { chromium } from 'playwright-core'
import { compileArgs, currentTarget, COMPILE_FLAGS, recordStartOrder } from '../scripts/build'
import { builtBinary } from './support/binary'
import { browse, CHROMIUM, CHROMIUM_ARGS } from './support/browser'

const VERSION: string = JSON.parse(readFileSync(join(import.meta.dir, '..', 'package.json'), 'utf8')).version
const target = currentTarget()
const dir = mkdtempSync(join(tmpdir(), 'agproxy-binary-'))
// the binary runs in an empty directory with an empty home: no config file, .env or provider keys of this machine
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, USERPROFILE: dir }

let bin = ''
let proc: Subprocess<'ignore', 'pipe', 'pipe'> | undefined
let base = ''
let stderr = ''

beforeAll(async () => {
  if (!target) return
  const built = await builtBinary()!
  if (!built.ok) throw new Error(`building ${target} failed: ${built.error}`)
  bin = built.file
  console.log(`binary: ${bin} (${(built.size! / 1048576).toFixed(1)} MB, ${COMPILE_FLAGS.join(' ')})`)
  proc = Bun.spawn([bin, '--port', '0'], { cwd: dir, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  void proc.stderr.pipeTo(
    new WritableStream({
      write: c => {
        stderr += new TextDecoder().decode(c)
      },
    }),
  ) // drained, kept for errors
  base = await listeningUrl(proc, 15_000)
}, 90_000)

afterAll(async () => {
  if (proc) {
    proc.kill('SIGTERM')
    await Promise.race([proc.exited, Bun.sleep(5_000)])
    proc.kill('SIGKILL')
  }
  // the binary (~115 MB) is removed at exit by test/support/binary.ts (test/install.test.ts installs it too); the screenshot stays
  rmSync(join(dir, 'profile'), { recursive: true, force: true })
  rmSync(join(dir, 'profile-ui'), { recursive: true, force: true })
})

/** Read the banner until "listening on http://HOST:PORT"; `--port 0` means the port is only known from it. */
async function listeningUrl(p: Subprocess<'ignore', 'pipe', 'pipe'>, ms: number): Promise<string> {
  const reader = p.stdout.getReader()
  const decoder = new TextDecoder()
  let out = ''
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const next = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => undefined)])
    if (!next || next.done) break
    out += decoder.decode(next.value, { stream: true })
    const m = out.match(/listening on (http:\/\/[^\s/]+:\d+)/)
    if (m) {
      reader.releaseLock()
      void p.stdout.pipeTo(new WritableStream())
      return m[1]!
    }
  }
  throw new Error(`the binary did not report its address within ${ms} ms:\n${out}\n${stderr}`)
}

test.skipIf(!target)('--version prints the name, the package.json version, the Bun version and the platform', () => {
  const r = Bun.spawnSync([bin, '--version'], { cwd: dir, env })
  expect(r.exitCode).toBe(0)
  expect(r.stdout.toString().trim()).toBe(`agproxy ${VERSION} (Bun ${Bun.version}, ${target})`)
})

test.skipIf(!target)('the build leaves the executable, not its source maps (they are embedded)', () => {
  expect(readdirSync(dirname(bin)).filter(f => f.endsWith('.map'))).toEqual([])
})

test.skipIf(!target)('started with --port 0, it answers /healthz on the port it prints', async () => {
  expect(new URL(base).port).not.toBe('0')
  const r = await fetch(`${base}/healthz`)
  expect(r.status).toBe(200)
  expect(await r.json()).toEqual({ status: 'ok', version: VERSION })
})

test.skipIf(!target)(
  'its bytecode is laid out by a recorded start (--bytecode-order), which recordStartOrder writes',
  async () => {
    // the build recorded one start of its first compile and compiled again with it (kept beside the cached binary)
    expect(existsSync(join(dirname(bin), 'bytecode-order.txt'))).toBe(true)
    const order = await recordStartOrder(bin, dir)
    expect(order).toBe(join(dir, 'bytecode-order.txt'))
    const lines = readFileSync(order!, 'utf8').split('\n')
    expect(lines[0]).toBe('v2')
    // one line per function the start ran (and per module): thousands
    expect(lines.filter(l => /^[A-Z] [0-9a-f]/.test(l)).length).toBeGreaterThan(1000)
    expect(compileArgs(target!, join(dir, 'x'), undefined, order)).toContain(`--bytecode-order=${order}`)
  },
  60_000,
)

test.skipIf(!target)('/swagger/json lists the OpenAI and Gemini routes', async () => {
  const r = await fetch(`${base}/swagger/json`)
  expect(r.status).toBe(200)
  const doc = (await r.json()) as { info: { version: string }; paths: Record<string, unknown> }
  expect(doc.info.version).toBe(VERSION)
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/chat/completions', '/v1/messages', '/v1beta/models/{model}:generateContent']))
})

test.skipIf(!target || !existsSync(CHROMIUM))(
  '/swagger renders the route list in headless Chromium with other hosts blocked',
  async () => {
    const origin = new URL(base).origin
    const offHost = (u: string) => !/^(data|blob):/.test(u) && new URL(u).origin !== origin
    const ctx = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: CHROMIUM_ARGS,
    })
    const attempts = new Set<string>()
    try {
      await ctx.route('**/*', route => {
        if (!offHost(route.request().url())) return route.continue()
        attempts.add(route.request().url())
        return route.abort('blockedbyclient')
      })
      ctx.on('request', req => {
        if (offHost(req.url())) attempts.add(req.url())
      })
      const page = ctx.pages()[0] ?? (await ctx.newPage())
      await page.goto(`${base}/swagger/`, { waitUntil: 'load' })
      await page.getByText('/v1/chat/completions').first().waitFor({ state: 'visible', timeout: 20_000 })
      await page.getByText('Chat Completions', { exact: true }).first().waitFor({ state: 'visible' })
      await page.getByRole('button', { name: 'Open Group - Gemini' }).first().click()
      await page.getByText('Generate content', { exact: true }).first().waitFor({ state: 'visible', timeout: 5_000 })
      const shot = join(dir, 'binary-swagger.png')
      await page.screenshot({ path: shot })
      console.log(`binary swagger screenshot: ${shot}`)
      expect([...attempts]).toEqual([])
    } finally {
      await ctx.close()
    }
  },
  60_000,
)

test.skipIf(!target)('/ui: the dashboard bundle is in the binary (page, script, style) with its CSP', async () => {
  const page = await fetch(`${base}/ui`)
  expect(page.status).toBe(200)
  expect(page.headers.get('content-security-policy')).toStartWith("default-src 'self'; script-src 'self'")
  expect(await page.text()).toContain('/ui/assets/main.js')
  for (const file of ['main.js', 'main.css']) {
    const r = await fetch(`${base}/ui/assets/${file}`)
    expect(r.status).toBe(200)
    expect((await r.text()).length).toBeGreaterThan(5000)
  }
})

test.skipIf(!target || !existsSync(CHROMIUM))(
  '/ui: log in with the generated admin key and see the overview, in headless Chromium with other hosts blocked',
  async () => {
    const adminKey = readFileSync(join(dir, '.agproxy', 'admin_key'), 'utf8').trim()
    const b = await browse(dir, 'ui', new URL(base).origin)
    try {
      await b.page.goto(`${base}/ui`)
      await b.page.getByLabel('Admin key').fill(adminKey)
      await b.page.getByRole('button', { name: 'Sign in' }).click()
      await b.page.getByTestId('health').getByText('Healthy').waitFor({ timeout: 10_000 })
      const shot = join(dir, 'binary-dashboard.png')
      await b.page.screenshot({ path: shot })
      console.log(`binary dashboard screenshot: ${shot}`)
      expect(b.offOrigin).toEqual([])
      expect(b.consoleErrors).toEqual([])
    } finally {
      await b.close()
    }
  },
  60_000,
)

if (!target) console.warn(`binary.test: ${process.platform}-${process.arch} is not a build target; skipped`)
else if (!existsSync(CHROMIUM))
  console.warn(`binary.test: ${CHROMIUM} is missing, so the browser check is skipped (scripts/test.sh installs it: apt-get install chromium)`)
