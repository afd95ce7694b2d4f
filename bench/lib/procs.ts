/** Child processes of the bench: start, wait until listening, read memory, stop. Only processes started here are ever killed. */
import type { Subprocess } from 'bun'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Proc {
  name: string
  proc: Subprocess<'ignore', 'pipe', 'pipe'>
  pid: number
  port: number
  url: string
  /** the last 64 KB of stdout+stderr */
  output(): string
  stop(): Promise<void>
}

const live = new Set<Subprocess>()
export function killAll() {
  for (const p of live) {
    try {
      p.kill('SIGKILL')
    } catch {}
  }
  live.clear()
}
process.on('exit', killAll)

export interface StartOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  /** stdout/stderr line that says the process listens; its first capture group is the port */
  ready?: RegExp
  /** known port (when the process does not print one): ready once GET `probe` answers */
  port?: number
  probe?: string
  timeoutMs?: number
  logDir?: string
}

export async function startProc(name: string, cmd: string[], o: StartOptions = {}): Promise<Proc> {
  const proc = Bun.spawn(cmd, { cwd: o.cwd, env: { ...process.env, ...o.env } as Record<string, string>, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  live.add(proc)
  let out = ''
  let onOut: (() => void) | undefined
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const td = new TextDecoder()
    const reader = s.getReader()
    while (true) {
      const { value: chunk, done } = await reader.read()
      if (done) break
      out += td.decode(chunk, { stream: true })
      if (out.length > 65536) out = out.slice(-65536)
      onOut?.()
    }
  }
  void pump(proc.stdout)
  void pump(proc.stderr)
  const timeoutMs = o.timeoutMs ?? 30_000
  const stop = async () => {
    if (proc.exitCode === null && !proc.killed) {
      proc.kill('SIGTERM')
      const t = setTimeout(() => {
        try {
          proc.kill('SIGKILL')
        } catch {}
      }, 2000)
      await proc.exited
      clearTimeout(t)
    }
    live.delete(proc)
    if (o.logDir) {
      mkdirSync(o.logDir, { recursive: true })
      writeFileSync(join(o.logDir, `${name}.log`), out)
    }
  }
  const fail = async (why: string) => {
    await stop()
    throw new Error(`${name}: ${why}\n  command: ${cmd.join(' ')}\n  output: ${out.trim().split('\n').slice(-15).join('\n          ')}`)
  }

  let port = o.port ?? 0
  const deadline = Date.now() + timeoutMs
  if (o.ready) {
    const m = await new Promise<RegExpExecArray | null>(resolve => {
      const check = () => {
        const m = o.ready!.exec(out)
        if (m) {
          onOut = undefined
          resolve(m)
        }
      }
      onOut = check
      check()
      void proc.exited.then(() => resolve(null))
      setTimeout(() => resolve(null), timeoutMs)
    })
    if (!m) return fail(proc.exitCode !== null ? `exited with ${proc.exitCode} before listening` : `not listening after ${timeoutMs} ms`)
    if (m[1]) port = Number(m[1])
  }
  if (o.probe) {
    while (true) {
      if (proc.exitCode !== null) return fail(`exited with ${proc.exitCode}`)
      try {
        const r = await fetch(`http://127.0.0.1:${port}${o.probe}`)
        await r.arrayBuffer()
        break
      } catch {}
      if (Date.now() > deadline) return fail(`no answer on port ${port} after ${timeoutMs} ms`)
      await Bun.sleep(50)
    }
  }
  return { name, proc, pid: proc.pid, port, url: `http://127.0.0.1:${port}`, output: () => out, stop }
}

/** VmRSS and VmHWM (peak) of a process, in MB */
export function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN)
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
  } catch {
    return undefined
  }
}

/** sample VmRSS every `everyMs` until stopped; returns the highest */
export function sampleRss(pid: number | undefined, everyMs = 100) {
  let max = 0
  const take = () => {
    if (pid) {
      const m = memoryOf(pid)
      if (m && m.rss > max) max = m.rss
    }
  }
  take()
  const t = setInterval(take, everyMs)
  return {
    stop: () => {
      clearInterval(t)
      take()
      return pid ? max : NaN
    },
  }
}

/** a port that was free a moment ago */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const p = s.port!
  s.stop(true)
  return p
}

/** run a command to completion, bounded in time */
export async function run(cmd: string[], o: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}) {
  const proc = Bun.spawn(cmd, { cwd: o.cwd, env: { ...process.env, ...o.env } as Record<string, string>, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  live.add(proc)
  const timer = setTimeout(() => {
    try {
      proc.kill('SIGKILL')
    } catch {}
  }, o.timeoutMs ?? 120_000)
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  live.delete(proc)
  return { code, stdout, stderr }
}

/** user+system CPU time of a process, in clock ticks */
export function cpuTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return Number(f[11]) + Number(f[12]) // utime, stime (fields 14 and 15)
  } catch {
    return 0
  }
}

/**
 * Wait until the given processes are quiet (together ≤ `maxPct` % of one core over 100 ms), at most `maxMs`:
 * a proxy may still be draining streams a load generator abandoned, and that must not land on the next target.
 */
export async function waitQuiet(pids: number[], maxMs = 3000, maxPct = 10): Promise<number> {
  const t0 = performance.now()
  const ticksPerSec = 100,
    windowMs = 200
  while (performance.now() - t0 < maxMs) {
    const a = pids.reduce((n, p) => n + cpuTicks(p), 0)
    await Bun.sleep(windowMs)
    const b = pids.reduce((n, p) => n + cpuTicks(p), 0)
    if (((b - a) / ticksPerSec) * 1000 <= (maxPct / 100) * windowMs) break
  }
  return performance.now() - t0
}

/** how busy the whole machine is (all processes, all cores), in % over `ms` */
export async function machineBusy(ms = 1000): Promise<number> {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    const idle = f[3]! + f[4]!
    return { idle, total: f.reduce((a, b) => a + b, 0) }
  }
  const a = read()
  await Bun.sleep(ms)
  const b = read()
  return 100 * (1 - (b.idle - a.idle) / Math.max(1, b.total - a.total))
}

/** a redis-server (Debian's) on a free loopback port, no persistence: redis_url for the bench's Redis rows */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = probe.port
  probe.stop(true)
  const proc = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdout: 'ignore' })
  live.add(proc)
  for (let i = 0; i < 100; i++) {
    const ok = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).then(
      s => (s.end(), true),
      () => false,
    )
    if (ok) break
    await Bun.sleep(50)
  }
  const stop = async () => {
    proc.kill()
    await proc.exited
    live.delete(proc)
  }
  return { url: `redis://127.0.0.1:${port}`, stop }
}
