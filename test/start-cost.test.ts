/**
 * What a start does before the first answer: only what serving needs. The PostgreSQL client (bun:sql, ~20 ms) loads
 * only with database_url, the bundled price table (~20 ms) at the first price asked, and the request log's writer
 * thread starts with its first batch. The executable still prices and logs (the lazily loaded modules are in it).
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { RequestLog } from '../src/store/request-log'
import { createPricer } from '../src/store/prices'
import { createLogger } from '../src/log'
import { record } from './support/records'
import { builtBinary } from './support/binary'
import { startFake } from './fakes/upstream'
import { cleanEnv, configFile, startCli, tempDir } from './support/cli'
import { COMPILE_FLAGS } from '../scripts/build'
import { Database } from 'bun:sqlite'
import { Elysia } from 'elysia'
import { createApp } from '../src/app'
import { listen } from '../src/server'
import { buildConfig } from '../src/config/load'

const ROOT = resolve(import.meta.dir, '..')

/** In a fresh process: listen with the request log on (SQLite), answer /healthz, then GET `later` (its status and the
 *  modules loaded by then in `after`); the modules of interest that were loaded (a Bun plugin sees every module load;
 *  it loads them as they are). */
async function loadedAtStart(
  later?: string,
): Promise<{ status: number; loaded: string[]; atListen: string[]; dbSoon: boolean; after?: { status: number; loaded: string[] } }> {
  const dir = mkdtempSync(join(tmpdir(), 'agproxy-start-'))
  const script = join(dir, 'probe.ts')
  writeFileSync(
    script,
    `const loaded: string[] = []
Bun.plugin({ name: 'probe', setup(b) {
  // synchronous: a module that require() loads must not become async
  b.onLoad({ filter: /(store\\/postgres\\.ts|store\\/sqlite\\.ts|genai-prices|@elysiajs\\/openapi|jsonc-parser|dialects\\/\\w+\\/[\\w-]+\\/schema\\.ts)/ }, a => {
    loaded.push(a.path.endsWith('/schema.ts') ? 'a request schema' : (['genai-prices', 'openapi', 'jsonc-parser', 'store/sqlite.ts'].find(m => a.path.includes(m)) ?? 'store/postgres.ts'))
    return { contents: require('node:fs').readFileSync(a.path, 'utf8'), loader: a.path.endsWith('.ts') ? 'ts' : 'js' }
  })
} })
const { listen } = await import(${JSON.stringify(join(ROOT, 'src', 'server.ts'))})
const { buildConfig } = await import(${JSON.stringify(join(ROOT, 'src', 'config', 'load.ts'))})
const l = listen(buildConfig({ port: 0, data_dir: ${JSON.stringify(dir)}, request_log: true, log_level: 'error' }), { env: {} })
const atListen = [...loaded]
const r = await fetch(l.url + '/healthz')
await r.arrayBuffer()
const atStart = [...loaded]
const later = ${JSON.stringify(later ?? '')}
const after = later ? await fetch(l.url + later).then(async r => ({ status: r.status, body: await r.text(), loaded })) : undefined
const dbSoon = await (async () => { for (let i = 0; i < 200 && !require('node:fs').existsSync(${JSON.stringify(join(dir, 'agproxy.db'))}); i++) await Bun.sleep(10); return require('node:fs').existsSync(${JSON.stringify(join(dir, 'agproxy.db'))}) })()
console.log(JSON.stringify({ status: r.status, loaded: atStart, atListen, dbSoon, after }))
await l.stop(0)
process.exit(0)
`,
  )
  const p = Bun.spawn([process.execPath, script], { cwd: dir, stdout: 'pipe', stderr: 'pipe', env: { ...process.env, AGPROXY_DATA_DIR: dir } })
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  const line = out.trim().split('\n').at(-1) ?? ''
  if (!line.startsWith('{')) throw new Error(`probe failed: ${out}\n${err}`)
  return JSON.parse(line)
}

/** The modules of interest `agproxy <args>` (from source) loaded: a preloaded Bun plugin records them and prints them
 *  to stderr at exit. */
async function loadedByCommand(args: string[]): Promise<{ code: number; out: string; loaded: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'agproxy-cmd-'))
  const probe = join(dir, 'probe.ts')
  writeFileSync(
    probe,
    `const loaded: string[] = []
Bun.plugin({ name: 'probe', setup(b) {
  b.onLoad({ filter: /(src\\/server\\.ts|src\\/app\\.ts|node_modules\\/elysia\\/|@sinclair\\/typebox)/ }, a => {
    loaded.push(a.path.includes('/elysia/') ? 'elysia' : a.path.includes('typebox') ? 'typebox' : a.path.slice(a.path.lastIndexOf('src/')))
    return { contents: require('node:fs').readFileSync(a.path, 'utf8'), loader: a.path.endsWith('.ts') ? 'ts' : 'js' }
  })
} })
process.on('exit', () => console.error('LOADED ' + JSON.stringify([...new Set(loaded)])))
`,
  )
  const p = Bun.spawn([process.execPath, '--preload', probe, join(ROOT, 'src', 'index.ts'), ...args], {
    cwd: dir,
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, AGPROXY_DATA_DIR: dir },
  })
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  const line = err.split('\n').find(l => l.startsWith('LOADED '))
  if (!line) throw new Error(`probe failed: ${out}\n${err}`)
  return { code, out, loaded: JSON.parse(line.slice('LOADED '.length)) }
}

describe('start-up', () => {
  test('--version and --help load neither the server nor Elysia nor TypeBox', async () => {
    for (const args of [['--version'], ['--help'], ['version']]) {
      const { code, out, loaded } = await loadedByCommand(args)
      expect(code).toBe(0)
      expect(out.length).toBeGreaterThan(0)
      expect({ args, loaded }).toEqual({ args, loaded: [] })
    }
  })

  test('serving with the request log on (SQLite) loads neither the PostgreSQL client nor the price table nor jsonc-parser nor a request schema', async () => {
    const { status, loaded } = await loadedAtStart()
    expect(status).toBe(200)
    // (the SQLite store is loaded once listen has returned: see the next test)
    expect(loaded.filter(m => m !== 'store/sqlite.ts')).toEqual([])
  })

  test("the request log's database is opened after listen returns (the first answers do not wait for SQLite), and soon", async () => {
    const { status, atListen, dbSoon } = await loadedAtStart()
    expect(status).toBe(200)
    expect(atListen).toEqual([])
    expect(dbSoon).toBe(true)
  })

  test('the /swagger plugin (@elysiajs/openapi) is loaded at the first request to /swagger, not at start', async () => {
    const { status, loaded, after } = await loadedAtStart('/swagger/json')
    expect(status).toBe(200)
    expect(loaded).not.toContain('openapi')
    expect(after?.status).toBe(200)
    expect(after?.loaded).toContain('openapi')
  })

  test('serving sets the JIT back to its normal policy once listening (the executable starts with a reluctant one)', async () => {
    expect(COMPILE_FLAGS).toContain('--compile-jit-policy=10')
    // a preloaded probe records, in order, the banner and the policies set
    const probe = join(tempDir(), 'jit-probe.ts')
    writeFileSync(
      probe,
      `const seen: string[] = []
const set = Bun.unsafe.setJITPolicy
Bun.unsafe.setJITPolicy = (n: number) => { seen.push('jit ' + n); set(n) }
const log = console.log
console.log = (...a: unknown[]) => { if (String(a[0]).includes('listening on')) seen.push('listening'); log(...a) }
process.on('exit', () => console.error('SEEN ' + JSON.stringify(seen)))
`,
    )
    const dir = tempDir()
    const cfg = configFile(`log_level: warn\nshutdown_grace: 1\ndata_dir: ${dir}\n`, 'agproxy.yaml', dir)
    const run = await startCli(['--port', '0', '--config', cfg], cleanEnv({ BUN_OPTIONS: `--preload=${probe}` }))
    try {
      const r = await fetch(`${run.url}/healthz`)
      expect(r.status).toBe(200)
      await r.arrayBuffer()
    } finally {
      await run.stop()
    }
    const seen = run.stderr.split('\n').find(l => l.startsWith('SEEN '))
    expect(seen && JSON.parse(seen.slice('SEEN '.length))).toEqual(['listening', 'jit 1'])
  })

  test('serving compiles no validator of its own at start (each at its first use), nor for /healthz, nor builds the docs', async () => {
    // a preloaded probe counts TypeBox compiles called from src/schema/validate.ts (Elysia's own t.Integer compiles are not ours)
    const probe = join(tempDir(), 'compile-probe.ts')
    writeFileSync(
      probe,
      `const { TypeCompiler } = await import(Bun.resolveSync('@sinclair/typebox/compiler', ${JSON.stringify(join(ROOT, 'src'))}))
const compile = TypeCompiler.Compile
let ours = 0
let all = 0
TypeCompiler.Compile = (...a: unknown[]) => { all++; if (new Error().stack?.includes('schema/validate.ts')) ours++; return compile(...a) }
globalThis.compiledByUs = () => ours
globalThis.compiledAll = () => all
// and the schemas src/endpoints/docs.ts builds (Elysia's t is one object: its builders are looked up at each call)
const { t } = await import(Bun.resolveSync('elysia', ${JSON.stringify(join(ROOT, 'src'))}))
const object = t.Object
let docs = 0
t.Object = (...a: unknown[]) => { if (new Error().stack?.includes('endpoints/docs.ts')) docs++; return object(...a) }
globalThis.docsBuilt = () => docs
`,
    )
    const script = join(tempDir(), 'start.ts')
    writeFileSync(
      script,
      `const { listen } = await import(${JSON.stringify(join(ROOT, 'src', 'server.ts'))})
const { buildConfig } = await import(${JSON.stringify(join(ROOT, 'src', 'config', 'load.ts'))})
const l = listen(buildConfig({ port: 0, request_log: false, log_level: 'error', admin_key: 'adm-0123456789abcdef' }), { env: {} })
const before = globalThis.compiledAll()
const r = await fetch(l.url + '/healthz')
await r.arrayBuffer()
const byHealth = globalThis.compiledAll() - before
const atStart = globalThis.compiledByUs()
const docsAtStart = globalThis.docsBuilt()
const bad = await fetch(l.url + '/admin/keys', { method: 'POST', headers: { authorization: 'Bearer adm-0123456789abcdef' }, body: '{"name": 5}' })
const message = (await bad.json()).error?.message
const swagger = await fetch(l.url + '/swagger/json')
await swagger.arrayBuffer()
console.log(JSON.stringify({ status: r.status, byHealth, atStart, docsAtStart, bad: bad.status, message, after: globalThis.compiledByUs(), docs: globalThis.docsBuilt(), swagger: swagger.status }))
await l.stop(0)
process.exit(0)
`,
    )
    const p = Bun.spawn([process.execPath, '--preload', probe, script], { cwd: tempDir(), stdout: 'pipe', stderr: 'pipe' })
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
    const line = out.trim().split('\n').at(-1) ?? ''
    if (!line.startsWith('{')) throw new Error(`probe failed: ${out}\n${err}`)
    const got = JSON.parse(line)
    expect(got.status).toBe(200)
    expect(got.atStart).toBe(0)
    // nor does the first /healthz (its answer's schema is documentation, not a check Elysia compiles and runs)
    expect(got.byHealth).toBe(0)
    // the admin API's body check still names the field, compiled when first needed
    expect(got.bad).toBe(400)
    expect(got.message).toContain('name')
    expect(got.after).toBe(1)
    // the endpoints' docs (their answers' schemas) are built with the first /swagger, not at start
    expect(got.docsAtStart).toBe(0)
    expect(got.swagger).toBe(200)
    expect(got.docs).toBeGreaterThan(10)
  })

  test('the routes the front door does not answer itself (Elysia) are built at their first request, or just after listen: not before a health probe or a model call', async () => {
    // every build of the gateway's Elysia app sets its error handler once (app.ts): counted here
    const onError = Elysia.prototype.onError
    let builds = 0
    Elysia.prototype.onError = function (this: Elysia, ...a: Parameters<typeof onError>) {
      builds++
      return onError.apply(this, a)
    } as typeof onError
    const up = await startFake('openai')
    try {
      const config = buildConfig({
        port: 0,
        request_log: false,
        log_level: 'error',
        providers: [{ name: 'fake', type: 'openai', base_url: up.url, api_key: 'sk-fake-0000', models: ['gpt-x'] }],
      })
      const app = createApp(config)
      const health = await app.fetch(new Request('http://127.0.0.1/healthz'))
      expect(health.status).toBe(200)
      expect(await health.json()).toMatchObject({ status: 'ok' })
      const call = await app.fetch(
        new Request('http://127.0.0.1/v1/chat/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] }),
        }),
      )
      expect(call.status).toBe(200)
      await call.arrayBuffer()
      expect(builds).toBe(0)
      // the first request another route answers builds them, once
      const models = await app.fetch(new Request('http://127.0.0.1/v1/models'))
      expect(models.status).toBe(200)
      expect(builds).toBe(1)
      expect((await app.fetch(new Request('http://127.0.0.1/v1/models'))).status).toBe(200)
      expect(builds).toBe(1)
      // a listener builds them one macrotask after listen returns
      const l = listen(config, { env: {} })
      try {
        expect(builds).toBe(1)
        await Bun.sleep(5)
        expect(builds).toBe(2)
      } finally {
        await l.stop(0)
      }
    } finally {
      Elysia.prototype.onError = onError
      await up.stop()
    }
  })

  test('nothing that serves imports node:crypto (loading it costs ~8 ms of every start; Bun has its own hashes)', () => {
    const files = [...new Bun.Glob('src/**/*.ts').scanSync(ROOT)].filter(f => !f.startsWith('src/cli/'))
    const importers = files.filter(f => /from 'node:crypto'|require\('node:crypto'\)/.test(readFileSync(join(ROOT, f), 'utf8')))
    expect(importers).toEqual([])
  })

  test("a start that logs (log_level info) writes its lines without creating Node's process.stderr (~10 ms)", async () => {
    // a preloaded probe puts a counting getter in place of process.stderr (a stream of its own if anything reads it)
    const probe = join(tempDir(), 'stderr-probe.ts')
    writeFileSync(
      probe,
      `let read = 0
let stream: unknown
Object.defineProperty(process, 'stderr', { configurable: true, get() { read++; return (stream ??= require('node:fs').createWriteStream('', { fd: 2 })) } })
process.on('exit', () => console.log('STDERR READ ' + read))
`,
    )
    const dir = tempDir()
    writeFileSync(join(dir, 'admin_key'), 'adm-start-log-0123456789abcdef\n')
    const cfg = configFile(`log_level: info\nshutdown_grace: 1\ndata_dir: ${dir}\n`, 'agproxy.yaml', dir)
    const run = await startCli(['--port', '0', '--config', cfg], cleanEnv({ BUN_OPTIONS: `--preload=${probe}` }))
    try {
      // the start's info line, written by the logger's buffered sink
      await run.waitFor(/INFO {2}admin API: using the admin key stored in/)
      expect((await fetch(`${run.url}/healthz`)).status).toBe(200)
    } finally {
      await run.stop()
    }
    expect(run.stdout).toContain('STDERR READ 0')
  })

  test('the price table, loaded at the first price asked, prices as before', () => {
    const price = createPricer({})
    expect(price('gpt-4o', { inputTokens: 1_000_000, outputTokens: 0 })).toBeGreaterThan(0)
    expect(price('no-such-model-anywhere', { inputTokens: 1, outputTokens: 1 })).toBeNull()
  })

  test('the writer thread starts with the first batch, not when the log opens', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'agproxy-start-')), 'agproxy.db')
    const log = new RequestLog({ file, log: createLogger('error'), retention: { days: 30, max_mb: 500 }, logBodies: false, thread: true, flushMs: 10 })
    // (its private field: no public way to see a thread)
    const worker = () => (log as unknown as { worker?: Worker }).worker
    expect(log.reader).toBeDefined()
    expect(worker()).toBeUndefined()
    log.push(record())
    for (let i = 0; i < 100 && (log.queued || !worker()); i++) await Bun.sleep(10)
    expect(worker()).toBeDefined()
    await log.close()
  })

  test('the executable prices and logs a call (the lazily loaded price table and writer thread are in it)', async () => {
    const built = await builtBinary()
    if (!built?.ok) return // no executable for this machine (binary.test.ts says why)
    const fake = await startFake('openai')
    const dir = mkdtempSync(join(tmpdir(), 'agproxy-start-bin-'))
    const cfg = join(dir, 'agproxy.yaml')
    writeFileSync(
      cfg,
      `log_level: warn\nshutdown_grace: 1\ndata_dir: ${dir}\nrequest_log: true\nproviders:\n` +
        `  - { name: oa, type: openai, base_url: "${fake.url}", api_key: sk-upstream-start-0123456789, models: [gpt-4o-mini] }\n`,
    )
    const proc = Bun.spawn([built.file, '--port', '0', '--config', cfg], {
      cwd: dir,
      stdout: 'pipe',
      stderr: 'pipe',
      env: { PATH: process.env.PATH ?? '', HOME: dir },
    })
    try {
      const reader = proc.stdout.getReader()
      let out = ''
      let port: string | undefined
      while (!port) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`the binary exited: ${out}`)
        out += new TextDecoder().decode(value)
        port = /listening on http:\/\/[^\s]*:(\d+)/.exec(out)?.[1]
      }
      fake.enqueue({ kind: 'text', text: 'hi', usage: { input: 11, output: 7 } })
      const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a' }] }),
      })
      expect(r.status).toBe(200)
      await r.arrayBuffer()
      await Bun.sleep(600) // the first batch (after ~200 ms) starts the writer thread, which writes it
    } finally {
      proc.kill('SIGTERM') // shutdown writes what is pending
      await proc.exited
      await fake.stop()
    }
    const db = new Database(join(dir, 'agproxy.db'), { readonly: true })
    const row = db.query("SELECT status, input_tokens, cost_usd FROM requests WHERE path = '/v1/chat/completions'").get() as Record<string, number>
    db.close()
    expect(row.status).toBe(200)
    expect(row.input_tokens).toBe(11)
    expect(row.cost_usd).toBeCloseTo(createPricer({})('gpt-4o-mini', { inputTokens: 11, outputTokens: 7 })!, 12)
  }, 120_000)
})
