/**
 * /swagger works offline: the page names no other host, the UI script and the document are served from
 * agproxy itself, `/swagger/` (trailing slash) works as well, and headless Chromium with every other host
 * blocked renders the route list. Screenshots go to this run's temp dir (the path is printed).
 */
import { test, expect, afterAll } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { startAgproxy } from './support/agproxy'

const CHROMIUM = '/usr/bin/chromium'
const srv = await startAgproxy()
const dir = mkdtempSync(join(tmpdir(), 'agproxy-swagger-'))
afterAll(async () => {
  await srv.stop(0)
  rmSync(join(dir, 'profile'), { recursive: true, force: true }) // keep the screenshots
})

const origin = new URL(srv.url).origin
const offHost = (u: string, base: string) => {
  try {
    return new URL(u, base).origin !== origin
  } catch {
    return true
  }
}

test('/swagger/json lists the OpenAI, Anthropic and Gemini routes', async () => {
  const r = await fetch(`${srv.url}/swagger/json`)
  expect(r.status).toBe(200)
  const doc = (await r.json()) as { openapi: string; info: { version: string }; paths: Record<string, unknown> }
  expect(doc.openapi).toStartWith('3.')
  expect(Object.keys(doc.paths)).toEqual(
    expect.arrayContaining([
      '/v1/chat/completions',
      '/v1/responses',
      '/v1/messages',
      '/v1beta/models/{model}:generateContent',
      '/v1beta/models/{model}:streamGenerateContent',
    ]),
  )
  expect(Object.keys(doc.paths).filter(p => p.startsWith('/swagger'))).toEqual([])
})

for (const path of ['/swagger', '/swagger/']) {
  test(`GET ${path}: the page names no other host, and what it loads is served here`, async () => {
    const page = `${srv.url}${path}`
    const r = await fetch(page)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toContain('text/html')
    const html = await r.text()
    // every absolute URL anywhere in the page, and every src/href, must stay on this host
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)\\]+/gi)].map(m => m[0])
    const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map(m => m[1]!)
    expect([...urls, ...refs].filter(u => offHost(u, page))).toEqual([])

    // the UI script: the embedded Scalar bundle
    const scripts = [...html.matchAll(/<script\b[^>]*\bsrc\s*=\s*["']([^"']+)["']/gi)].map(m => m[1]!)
    expect(scripts.length).toBeGreaterThan(0)
    for (const src of scripts) {
      const s = await fetch(new URL(src, page))
      expect(s.status).toBe(200)
      expect(s.headers.get('content-type')).toContain('javascript')
      expect((await s.arrayBuffer()).byteLength).toBeGreaterThan(1_000_000)
    }
    // the document URL the UI fetches, resolved against this page's own URL (a relative one breaks /swagger/)
    const config = JSON.parse(html.match(/data-configuration='([^']*)'/)![1]!) as { url: string; proxyUrl?: string }
    expect(config.proxyUrl).toBe('') // no scalar.com request proxy for Try-it calls
    const spec = await fetch(new URL(config.url, page))
    expect(spec.status).toBe(200)
    expect(((await spec.json()) as { paths: object }).paths).toHaveProperty(['/v1/chat/completions'])
  })
}

test.skipIf(!existsSync(CHROMIUM))(
  'headless Chromium, other hosts blocked, renders the route list at /swagger and /swagger/',
  async () => {
    const shots = await renderOffline(srv.url, dir)
    for (const s of shots) console.log(`swagger screenshot: ${s}`)
  },
  60_000,
)
if (!existsSync(CHROMIUM))
  console.warn(`swagger.test: ${CHROMIUM} is missing, so the browser check is skipped (scripts/test.sh installs it: apt-get install chromium)`)

/**
 * Open /swagger and /swagger/ in headless Chromium with a fresh profile, every request to another host
 * aborted and recorded, and check the route list renders. Returns the screenshot paths.
 */
async function renderOffline(base: string, outDir: string): Promise<string[]> {
  const ctx = await chromium.launchPersistentContext(join(outDir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  })
  const attempts = new Set<string>()
  const failures: string[] = []
  try {
    await ctx.route('**/*', route => {
      const url = route.request().url()
      if (offHost(url, base) && !url.startsWith('data:') && !url.startsWith('blob:')) {
        attempts.add(url)
        return route.abort('blockedbyclient')
      }
      return route.continue()
    })
    ctx.on('request', req => {
      const u = req.url()
      if (offHost(u, base) && !/^(data|blob):/.test(u)) attempts.add(u)
    })
    ctx.on('response', res => {
      if (res.status() >= 400) failures.push(`${res.status()} ${res.url()}`)
    })
    const page = ctx.pages()[0] ?? (await ctx.newPage())
    page.on('websocket', ws => {
      if (offHost(ws.url(), base)) attempts.add(ws.url())
    })

    const shots: string[] = []
    for (const [path, name] of [
      ['/swagger', 'swagger.png'],
      ['/swagger/', 'swagger-trailing-slash.png'],
    ] as const) {
      await page.goto(`${base}${path}`, { waitUntil: 'load' })
      await page.getByText('/v1/chat/completions').first().waitFor({ state: 'visible', timeout: 20_000 })
      await page.getByText('Chat Completions', { exact: true }).first().waitFor({ state: 'visible' })
      // open the Anthropic and Gemini groups of the sidebar: their operations are listed too
      for (const group of ['Anthropic', 'Gemini'])
        await page
          .getByRole('button', { name: `Open Group - ${group}` })
          .first()
          .click()
      for (const summary of ['Messages (Claude Code)', 'Generate content'])
        await page.getByText(summary, { exact: true }).first().waitFor({ state: 'visible', timeout: 5_000 })
      // nothing the rendered page loads (script, style, image, frame) comes from another host
      const resources = await page.evaluate(() =>
        [...document.querySelectorAll('script[src], link[href], img[src], iframe[src], source[src], video[src], audio[src], embed[src], object[data]')].map(
          e => (e as HTMLScriptElement).src || (e as HTMLLinkElement).href || (e as HTMLObjectElement).data,
        ),
      )
      expect(resources.filter(u => offHost(u, base) && !/^(data|blob):/.test(u))).toEqual([])
      const file = join(outDir, name)
      await page.screenshot({ path: file })
      shots.push(file)
    }
    expect([...attempts]).toEqual([])
    expect(failures).toEqual([])
    return shots
  } finally {
    await ctx.close()
  }
}
