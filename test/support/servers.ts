/**
 * Real Redis and PostgreSQL servers for the several-instances tests: Debian's redis-server and PostgreSQL 15 (scripts/test.sh
 * installs them), each started on a free loopback port with its data in a temp dir, and stopped afterwards. A missing
 * server skips the test, except under CI=true where it fails it.
 */
import { mkdtempSync, rmSync, chownSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const PG_BIN = '/usr/lib/postgresql/15/bin'

/** Whether `bin` exists; under CI a missing one throws (the test fails, never skips quietly). */
export function have(bin: string): boolean {
  const ok = Bun.which(bin) !== null || Bun.file(bin).size > 0
  if (!ok && process.env.CI === 'true') throw new Error(`${bin} is not installed; scripts/test.sh installs it (apt-get)`)
  return ok
}

export const hasRedis = () => have('redis-server')
export const hasPostgres = () => have(`${PG_BIN}/initdb`)

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = s.port
  s.stop(true)
  return port
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await ok().catch(() => false)) return
    await Bun.sleep(50)
  }
  throw new Error(`${what} did not start within ${ms} ms`)
}

const answers = async (port: number) => {
  const c = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).catch(() => undefined)
  c?.end()
  return !!c
}

export interface RedisServer {
  url: string
  port: number
  stop(): Promise<void>
  /** start it again on the same port (after stop) */
  start(): Promise<void>
}

/** A redis-server on a free loopback port, no persistence. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort()
  let proc: ReturnType<typeof Bun.spawn> | undefined
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      proc = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdout: 'ignore',
        stderr: 'ignore',
      })
      await waitFor('redis-server', () => answers(port))
    },
    async stop() {
      proc?.kill()
      await proc?.exited
      proc = undefined
    },
  }
  await server.start()
  return server
}

export interface PostgresServer {
  url: string
  /** stop the server, keeping its data (resume starts it again on the same port) */
  pause(): Promise<void>
  resume(): Promise<void>
  stop(): Promise<void>
}

/** A PostgreSQL 15 on a free loopback port, its cluster in a temp dir owned by the postgres user (initdb refuses root). */
export async function startPostgres(): Promise<PostgresServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'agproxy-pg-'))
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  const run = async (cmd: string[]) => {
    const argv = asRoot ? ['su', 'postgres', '-s', '/bin/sh', '-c', cmd.map(a => `'${a}'`).join(' ')] : cmd
    const p = Bun.spawn(argv, { stdout: 'pipe', stderr: 'pipe' })
    if ((await p.exited) !== 0) throw new Error(`${cmd[0]} failed: ${await new Response(p.stderr).text()}`)
  }
  if (asRoot) {
    const id = Bun.spawnSync(['id', '-u', 'postgres']).stdout.toString().trim()
    const gid = Bun.spawnSync(['id', '-g', 'postgres']).stdout.toString().trim()
    chownSync(dir, Number(id), Number(gid))
  }
  await run([`${PG_BIN}/initdb`, '-D', data, '-U', 'agproxy', '--auth=trust', '-E', 'UTF8'])
  const start = async () => {
    await run([`${PG_BIN}/pg_ctl`, '-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-l', join(dir, 'log'), '-w', 'start'])
    await waitFor('postgres', () => answers(port))
  }
  await start()
  return {
    url: `postgres://agproxy@127.0.0.1:${port}/postgres`,
    pause: () => run([`${PG_BIN}/pg_ctl`, '-D', data, '-m', 'fast', '-w', 'stop']),
    resume: start,
    async stop() {
      await run([`${PG_BIN}/pg_ctl`, '-D', data, '-m', 'immediate', 'stop']).catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
