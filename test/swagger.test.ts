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
import { startFake } from './fakes/upstream'
import { form } from './support/front-door'
import { CHROMIUM, CHROMIUM_ARGS } from './support/browser'

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

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document, read field by field
type Doc = Record<string, any>
const spec = async (host?: string): Promise<Doc> => {
  const r = await fetch(`${srv.url}/swagger/json`, host ? { headers: { host } } : {})
  expect(r.status).toBe(200)
  return (await r.json()) as Doc
}
const operations = (doc: Doc) =>
  Object.entries(doc.paths as Record<string, Record<string, Doc>>).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })))

test('every operation has a description, a response schema (JSON, and SSE where it streams) and an error shape', async () => {
  const ops = operations(await spec())
  expect(ops.length).toBeGreaterThanOrEqual(25)
  expect(ops.filter(o => !o.op.description).map(o => `${o.method} ${o.path}`)).toEqual([])
  const answered = (o: { op: Doc; method: string }) => {
    const [status, res] = (Object.entries(o.op.responses ?? {}) as Array<[string, Doc]>).find(([s]) => /^2/.test(s)) ?? []
    // JSON answers have their schema; the few text answers (Prometheus /metrics, the admin event stream, the dashboard page) theirs
    return (
      status === '204' ||
      o.method === 'head' ||
      !!res?.content?.['application/json']?.schema ||
      !!res?.content?.['text/plain']?.schema ||
      !!res?.content?.['text/event-stream']?.schema ||
      !!res?.content?.['text/html']?.schema
    )
  }
  expect(ops.filter(o => !answered(o)).map(o => `${o.method} ${o.path}`)).toEqual([])
  // the streaming endpoints document their stream too
  for (const path of ['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/messages', '/v1beta/models/{model}:streamGenerateContent'])
    expect(Object.keys((await spec()).paths[path].post.responses[200].content)).toEqual(['application/json', 'text/event-stream'])
  // model calls: their dialect's error body
  expect(ops.filter(o => o.method === 'post' && o.op.tags[0] !== 'System' && !o.op.responses.default).map(o => o.path)).toEqual([])
  // integers read as integers (not Elysia's numeric-string union)
  const chat = (await spec()).paths['/v1/chat/completions'].post.responses[200].content['application/json'].schema
  expect(chat.properties.created).toEqual({ type: 'integer' })
  // one id per operation
  const ids = ops.map(o => o.op.operationId)
  expect(new Set(ids).size).toBe(ids.length)
})

test('every request body has an example that is accepted as sent (no placeholders)', async () => {
  const ops = operations(await spec()).filter(o => o.op.requestBody)
  expect(ops.length).toBeGreaterThanOrEqual(12)
  for (const { path, op } of ops) {
    const multipart = op.requestBody.content['multipart/form-data']
    const example = (multipart ?? op.requestBody.content['application/json']).example
    expect(example).toBeDefined()
    expect(JSON.stringify(example)).not.toContain('""')
    // sent to this agproxy (no provider configured): past validation, it fails only for want of a provider
    const concrete = path.replace('{model}', op.parameters?.find((p: Doc) => p.name === 'model')?.example ?? '')
    const init = multipart ? form(example) : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(example) }
    const r = await fetch(`${srv.url}${concrete}`, init)
    expect({ path, status: r.status }).toEqual({ path, status: 503 })
    expect(await r.text()).toContain('no provider is configured')
  }
})

test('the security schemes: bearer, x-api-key, x-goog-api-key and ?key=, each dialect its own first', async () => {
  const doc = await spec()
  expect(doc.components.securitySchemes).toEqual({
    bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    'x-api-key': expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }),
    'x-goog-api-key': expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-goog-api-key' }),
    'key-query': expect.objectContaining({ type: 'apiKey', in: 'query', name: 'key' }),
    // the admin API's own key (never a client key)
    adminKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
  })
  expect(doc.paths['/admin/status'].get.security).toEqual([{ adminKey: [] }])
  expect(doc.paths['/v1/chat/completions'].post.security).toEqual([{ bearer: [] }])
  expect(doc.paths['/v1/messages'].post.security).toEqual([{ 'x-api-key': [] }, { bearer: [] }])
  expect(doc.paths['/v1beta/models/{model}:generateContent'].post.security).toEqual([{ 'x-goog-api-key': [] }, { 'key-query': [] }])
  // health needs no key (auth_mode all_except_health)
  expect(doc.paths['/healthz'].get.security[0]).toEqual({})
})

test('the server URL and the base-URL table are the address the reader used; no HOST:PORT placeholder', async () => {
  const used = `127.0.0.1:${srv.port}`
  const doc = await spec(used)
  expect(doc.servers).toEqual([{ url: `http://${used}`, description: 'this agproxy' }])
  expect(doc.info.description).toContain(`| base URL / OPENAI_BASE_URL | \`http://${used}/v1\` |`)
  expect(doc.info.description).toContain(`| Claude Code, Anthropic SDK | ANTHROPIC_BASE_URL / base URL | \`http://${used}\` |`)
  expect(doc.tags.find((t: Doc) => t.name === 'OpenAI').description).toBe(`OpenAI dialect. Base URL: \`http://${used}/v1\``)
  expect(JSON.stringify(doc)).not.toContain('HOST:PORT')
  expect((await spec()).servers[0].url).toBe(origin)
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
test.skipIf(!existsSync(CHROMIUM))(
  '"Try it": with auth on, pick Chat Completions, send the example without a key (401), fill the key, send again → 200 from the upstream',
  async () => {
    const fake = await startFake('openai')
    const key = 'sk-agproxy-swagger-try-it'
    const gw = await startAgproxy({
      auth_mode: 'all_except_health',
      api_keys: [key],
      providers: [{ name: 'oa', type: 'openai', base_url: fake.url, api_key: 'sk-up' }],
    })
    const ctx = await chromium.launchPersistentContext(join(dir, 'profile-try'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
    })
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage())
      await page.goto(`${gw.url}/swagger`, { waitUntil: 'load' })
      await page.getByText('Chat Completions', { exact: true }).first().click()
      await page.getByRole('button', { name: /Test Request.*post \/v1\/chat\/completions/ }).click()
      const send = async () => {
        const answer = page.waitForResponse(r => r.url() === `${gw.url}/v1/chat/completions`)
        await page.getByRole('button', { name: /^Send post request/ }).click()
        const r = await answer
        return { status: r.status(), body: (await r.json()) as Doc, auth: (await r.request().allHeaders()).authorization }
      }
      const refused = await send()
      expect(refused.status).toBe(401)
      expect(refused.body.error.message).toContain('Send your agproxy key in one of: "Authorization: Bearer <key>"')
      expect(fake.requests).toEqual([])

      await page.getByPlaceholder('Token').fill(key)
      const ok = await send()
      expect(ok.auth).toBe(`Bearer ${key}`)
      expect(ok.status).toBe(200)
      expect(ok.body.choices[0].message.content).toBe('echo: Say hello in one short sentence.')
      await page.getByText('200 OK').first().waitFor({ state: 'visible', timeout: 5_000 })
      // the example went to the upstream as sent
      expect(fake.requests.map(r => [r.path, r.key, r.body])).toEqual([
        ['/v1/chat/completions', 'sk-up', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }], max_tokens: 64 }],
      ])
      const file = join(dir, 'swagger-try-it.png')
      await page.screenshot({ path: file })
      console.log(`swagger screenshot: ${file}`)
    } finally {
      await ctx.close()
      await gw.stop(0)
      await fake.stop()
    }
  },
  90_000,
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
    args: CHROMIUM_ARGS,
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
