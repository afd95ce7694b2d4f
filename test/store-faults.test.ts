/**
 * The request log's database failing under a running agproxy: read-only, full, corrupted, and the process killed
 * (kill -9) while writing. Each time requests keep succeeding, nothing crashes, /healthz says `degraded` with the
 * reason (and `ok` again once it recovers), and the database opens on restart.
 *
 * Read-only and full are real filesystem conditions: the data_dir is a tmpfs (root can mount one here) mounted
 * read-only, or filled up to its size limit (ENOSPC → SQLITE_FULL, exactly what a full disk gives SQLite). Without
 * the right to mount, those two are skipped (they say so).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { startAgproxy, type TestServer } from './support/agproxy'
import { record } from './support/records'
import { startFake, type Fake } from './fakes/upstream'
import { openSqliteStore } from '../src/store/sqlite'
import { toRow } from '../src/store/sql'

const ADMIN = 'adm-0123456789abcdef-faults'
const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' })

/** A tmpfs of `size` at a fresh directory, or undefined when this process may not mount. */
function tmpfs(size: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'agproxy-tmpfs-'))
  return sh(`mount -t tmpfs -o size=${size} tmpfs ${dir}`).status === 0 ? dir : undefined
}
const mounts: string[] = []
const canMount = (() => {
  const d = tmpfs('64k')
  if (d) sh(`umount ${d}`)
  return !!d
})()

let fake: Fake
beforeAll(async () => {
  fake = await startFake('openai')
  fake.setDefault({ kind: 'text', text: 'still serving', usage: { input: 7, output: 3 } })
})
afterAll(async () => {
  await fake.stop()
  for (const m of mounts) sh(`umount -l ${m}`)
})

const settings = (dataDir: string) => ({
  data_dir: dataDir,
  admin_key: ADMIN,
  providers: [{ name: 'oai', type: 'openai', base_url: fake.url, api_keys: ['sk-fault-0123456789abcdef'] }],
  models: { 'gpt-*': 'oai/*' },
})
const chat = (srv: TestServer) =>
  fetch(`${srv.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  })
const health = async (srv: TestServer) => (await fetch(`${srv.url}/healthz`)).json() as Promise<{ status: string; reasons?: string[] }>
async function until(what: () => Promise<boolean> | boolean, ms = 5000) {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(50)) if (await what()) return
  throw new Error('timed out')
}
/** requests through the gateway still succeed, with their answer */
async function stillServing(srv: TestServer) {
  for (let i = 0; i < 3; i++) {
    const res = await chat(srv)
    expect(res.status).toBe(200)
    expect((await res.json()).choices[0].message.content).toBe('still serving')
  }
}
const errors = (srv: TestServer) => srv.logs.filter(l => l.includes('ERROR') && l.includes('request log'))

describe.skipIf(!canMount)('a real filesystem failing under the request log', () => {
  test('read-only data_dir: serves, degraded with the reason, one error; writable again → ok, rows written', async () => {
    const dir = tmpfs('8m')!
    mounts.push(dir)
    // a database from an earlier run, then the filesystem goes read-only
    const earlier = openSqliteStore(join(dir, 'agproxy.db'))
    const old = record()
    earlier.store.write([toRow({ ...old, costUsd: null })])
    earlier.store.close()
    expect(sh(`mount -o remount,ro ${dir}`).status).toBe(0)
    const srv = await startAgproxy(settings(dir), { AGPROXY_LOG_RETRY_MS: '200' })
    try {
      const pending = Array.from({ length: 5 }, () => record())
      for (const r of pending) srv.agproxy.state.recorder.emit(r)
      await stillServing(srv)
      await until(async () => (await health(srv)).status === 'degraded')
      const h = await health(srv)
      expect(h.reasons?.[0]).toMatch(/^request-log: cannot (open|write to) .*agproxy\.db: .*(read-only|readonly|unable to open)/i)
      await Bun.sleep(600) // several retries
      expect(errors(srv).length).toBe(1)
      expect(sh(`mount -o remount,rw ${dir}`).status).toBe(0)
      await until(async () => (await health(srv)).status === 'ok')
      // the earlier row and the five pending ones
      for (const r of [old, ...pending])
        expect((await fetch(`${srv.url}/admin/requests/${r.id}`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200)
      expect(srv.logs.some(l => l.includes('request log: writing to') && l.includes('again'))).toBe(true)
    } finally {
      await srv.stop(0)
    }
  })

  test('disk full: serves, degraded (SQLITE_FULL), one error; space freed → ok, the pending rows written', async () => {
    const dir = tmpfs('4m')!
    mounts.push(dir)
    const srv = await startAgproxy(settings(dir), { AGPROXY_LOG_RETRY_MS: '200' })
    try {
      srv.agproxy.state.recorder.emit(record())
      await until(() => existsSync(join(dir, 'agproxy.db-wal')))
      await Bun.sleep(300)
      // fill what is left of the 4 MB
      sh(`dd if=/dev/zero of=${dir}/filler bs=4k count=1100 2>/dev/null`)
      const big = Array.from({ length: 50 }, () => record({ error: 'x'.repeat(20_000) }))
      for (const r of big) srv.agproxy.state.recorder.emit(r)
      await stillServing(srv)
      await until(async () => (await health(srv)).status === 'degraded')
      expect((await health(srv)).reasons?.[0]).toMatch(/^request-log: cannot write to .*agproxy\.db: .*(full|SQLITE_FULL)/i)
      await Bun.sleep(600)
      expect(errors(srv).length).toBe(1)
      rmSync(join(dir, 'filler'))
      await until(async () => (await health(srv)).status === 'ok')
      const one = await fetch(`${srv.url}/admin/requests/${big.at(-1)!.id}`, { headers: { authorization: `Bearer ${ADMIN}` } })
      expect(one.status).toBe(200)
    } finally {
      await srv.stop(0)
    }
  })
})

describe('a corrupted database file at start', () => {
  test('is moved aside (kept), a fresh one starts, one error line; agproxy serves and reports ok', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agproxy-corrupt-'))
    const file = join(dir, 'agproxy.db')
    const earlier = openSqliteStore(file)
    earlier.store.write([toRow({ ...record(), costUsd: null })])
    earlier.store.close()
    const bytes = Buffer.alloc(8192, 0x41)
    writeFileSync(file, bytes)
    const srv = await startAgproxy(settings(dir))
    try {
      await stillServing(srv)
      expect(readdirSync(dir).filter(f => f.startsWith('agproxy.db.corrupt-') && /corrupt-[\dTZ-]+$/.test(f)).length).toBe(1)
      expect(errors(srv)).toEqual([expect.stringContaining('was not a readable database; it was moved aside to')])
      expect((await health(srv)).status).toBe('ok')
      const r = record()
      srv.agproxy.state.recorder.emit(r)
      await until(async () => (await fetch(`${srv.url}/admin/requests/${r.id}`, { headers: { authorization: `Bearer ${ADMIN}` } })).status === 200)
    } finally {
      await srv.stop(0)
    }
  })
})

describe('kill -9 during writes', () => {
  test('the request log killed mid-batch: the database opens, is intact, and holds every batch it reported written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agproxy-kill-'))
    const file = join(dir, 'agproxy.db')
    // the request log's own writer at full speed in another process, saying after each flush how many rows are in
    const script = join(dir, 'writer.ts')
    writeFileSync(
      script,
      `import { RequestLog } from '${join(import.meta.dir, '../src/store/request-log')}'
import { silentLogger } from '${join(import.meta.dir, '../src/log')}'
import { record } from '${join(import.meta.dir, 'support/records')}'
const log = new RequestLog({ file: ${JSON.stringify(file)}, log: silentLogger, retention: { days: 30, max_mb: 500 }, logBodies: false })
let n = 0
for (;;) {
  for (let i = 0; i < 200; i++) log.push(record({ error: 'e'.repeat(500) }))
  if (log.flush()) { n += 200; console.log('written', n) }
  await Bun.sleep(0)
}
`,
    )
    const proc = Bun.spawn([process.execPath, script], { stdout: 'pipe', stderr: 'inherit' })
    let out = ''
    const reader = proc.stdout.getReader()
    while ((out.match(/written/g) ?? []).length < 20) out += new TextDecoder().decode((await reader.read()).value)
    proc.kill('SIGKILL')
    await proc.exited
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      out += new TextDecoder().decode(value)
    }
    const reported = Math.max(...[...out.matchAll(/written (\d+)/g)].map(m => Number(m[1])))
    expect(reported).toBeGreaterThanOrEqual(4000)
    const db = new Database(file)
    expect((db.query('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe('ok')
    db.close()
    const { store } = openSqliteStore(file)
    expect(store.info().rows).toBeGreaterThanOrEqual(reported)
    expect(store.usage({ by: [] }).reduce((n, u) => n + u.requests, 0)).toBe(store.info().rows)
    store.close()
  }, 60_000)

  test('agproxy killed under request load restarts on the same database, which holds what it had written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agproxy-kill9-'))
    mkdirSync(dir, { recursive: true })
    const config = join(dir, 'agproxy.json')
    writeFileSync(config, JSON.stringify({ ...settings(dir), port: 0, data_dir: dir }))
    const start = async () => {
      const proc = Bun.spawn(['node_modules/.bin/bun', 'src/index.ts', '--config', config], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      let out = ''
      const reader = proc.stdout.getReader()
      while (!/listening on http:\/\/[^:]+:(\d+)/.test(out)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`agproxy did not start: ${out}${await new Response(proc.stderr).text()}`)
        out += new TextDecoder().decode(value)
      }
      return { proc, url: `http://127.0.0.1:${/listening on http:\/\/[^:]+:(\d+)/.exec(out)![1]}` }
    }
    const admin = (url: string, path: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })
    const first = await start()
    const post = () =>
      fetch(`${first.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      }).then(
        r => r.status,
        () => 0,
      )
    const load = Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 60; i++) if ((await post()) === 0) return
    })
    await Bun.sleep(700)
    const before = (await (await admin(first.url, '/admin/requests?limit=500')).json()).requests.length as number
    first.proc.kill('SIGKILL')
    await first.proc.exited
    await Promise.all(load)
    const db = new Database(join(dir, 'agproxy.db'))
    expect((db.query('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe('ok')
    db.close()
    const second = await start()
    try {
      expect(await (await fetch(`${second.url}/healthz`)).json()).toMatchObject({ status: 'ok' })
      const after = (await (await admin(second.url, '/admin/requests?limit=500')).json()).requests.length as number
      expect(after).toBeGreaterThanOrEqual(before)
      const status = await fetch(`${second.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      })
      expect(status.status).toBe(200)
    } finally {
      second.proc.kill('SIGTERM')
      await second.proc.exited
    }
  }, 60_000)
})
