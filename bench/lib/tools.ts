/**
 * Load generators behind one interface. Throughput (closed loop) runs on wrk when installed (installed with
 * apt-get when missing and running as root), else autocannon when installed, else the built-in generator.
 * Latency at a fixed rate, TTFB, frame counts and open streams always use the built-in one (bench/loadgen.ts),
 * which runs as its own process like the others.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { LoadOptions, LoadResult, RequestSpec, StreamsOptions, StreamsResult } from '../loadgen'
import { run } from './procs'

const LOADGEN = resolve(import.meta.dir, '..', 'loadgen.ts')

export type ToolName = 'wrk' | 'autocannon' | 'builtin'

/** what every generator reports for a closed-loop run */
export interface Measure {
  tool: ToolName
  requests: number
  rps: number
  /** ms */
  p50: number
  p90: number
  p99: number
  errors: number
  non2xx: number
  ttfbP50?: number
  ttfbP99?: number
  frames?: number | null
}

export interface Tool {
  name: ToolName
  version: string
  throughput(req: RequestSpec, connections: number, durationS: number): Promise<Measure>
}

// ───────────── built-in ─────────────

async function loadgen<T>(opts: object, timeoutMs: number): Promise<T> {
  const r = await run([process.execPath, LOADGEN, JSON.stringify(opts)], { timeoutMs })
  const line = r.stdout.trim().split('\n').at(-1) ?? ''
  if (r.code !== 0 || !line.startsWith('{')) throw new Error(`built-in load generator failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-500)}`)
  return JSON.parse(line) as T
}

export const fromLoadResult = (r: LoadResult): Measure => ({
  tool: 'builtin',
  requests: r.requests,
  rps: r.rps,
  p50: r.latency.p50,
  p90: r.latency.p90,
  p99: r.latency.p99,
  errors: r.errors + r.timeouts,
  non2xx: r.non2xx,
  ttfbP50: r.ttfb.p50,
  ttfbP99: r.ttfb.p99,
  frames: r.framesPerResponse,
})

export function runBuiltin(o: LoadOptions): Promise<LoadResult> {
  return loadgen<LoadResult>({ mode: 'load', ...o }, (o.warmupMs ?? 0) + o.durationMs + (o.timeoutMs ?? 10_000) + 15_000)
}

export function runStreams(o: StreamsOptions): Promise<StreamsResult> {
  return loadgen<StreamsResult>({ mode: 'streams', ...o }, o.timeoutMs + 15_000)
}

const builtin: Tool = {
  name: 'builtin',
  version: 'bench/loadgen.ts',
  async throughput(req, connections, durationS) {
    return fromLoadResult(await runBuiltin({ ...req, connections, durationMs: durationS * 1000, countFrames: true }))
  },
}

// ───────────── wrk ─────────────

function luaString(s: string): string {
  let eq = ''
  while (s.includes(`]${eq}]`)) eq += '='
  return `[${eq}[${s}]${eq}]`
}

function wrkScript(req: RequestSpec, dir: string): string {
  const lines = [
    `wrk.method = ${luaString(req.method ?? 'POST')}`,
    req.body !== undefined ? `wrk.body = ${luaString(req.body)}` : '',
    ...Object.entries(req.headers ?? {}).map(([k, v]) => `wrk.headers[ ${luaString(k)} ] = ${luaString(v)}`),
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    "  io.write(string.format('\\nBENCH_JSON " +
      '{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%f,"p90":%f,"p99":%f}\\n\',',
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency:percentile(50), latency:percentile(90), latency:percentile(99)))',
    'end',
  ]
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `wrk-${Bun.hash(lines.join('\n')).toString(16)}.lua`)
  writeFileSync(file, `${lines.filter(Boolean).join('\n')}\n`)
  return file
}

function wrkTool(bin: string, version: string, tmp: string): Tool {
  return {
    name: 'wrk',
    version,
    async throughput(req, connections, durationS) {
      const script = wrkScript(req, join(tmp, 'wrk'))
      const r = await run([bin, '-t1', `-c${connections}`, `-d${Math.max(1, Math.round(durationS))}s`, '--timeout', '10s', '-s', script, req.url], {
        timeoutMs: durationS * 1000 + 30_000,
      })
      const m = /BENCH_JSON (\{.*\})/.exec(r.stdout)
      if (!m) throw new Error(`wrk failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-500)}`)
      const j = JSON.parse(m[1]!)
      return {
        tool: 'wrk',
        requests: j.requests,
        rps: j.requests / (j.duration_us / 1e6),
        p50: j.p50 / 1000,
        p90: j.p90 / 1000,
        p99: j.p99 / 1000,
        errors: j.connect + j.read + j.write + j.timeout,
        non2xx: j.status,
      }
    },
  }
}

// ───────────── autocannon ─────────────

function autocannonTool(bin: string, version: string): Tool {
  return {
    name: 'autocannon',
    version,
    async throughput(req, connections, durationS) {
      const args = [bin, '-j', '-c', String(connections), '-d', String(Math.max(1, Math.round(durationS))), '-m', req.method ?? 'POST']
      for (const [k, v] of Object.entries(req.headers ?? {})) args.push('-H', `${k}=${v}`)
      if (req.body !== undefined) args.push('-b', req.body)
      args.push(req.url)
      const r = await run(args, { timeoutMs: durationS * 1000 + 30_000 })
      const start = r.stdout.indexOf('{')
      if (start < 0) throw new Error(`autocannon failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-500)}`)
      const j = JSON.parse(r.stdout.slice(start))
      return {
        tool: 'autocannon',
        requests: j.requests.total,
        rps: j.requests.total / (j.duration || durationS),
        p50: j.latency.p50,
        p90: j.latency.p90,
        p99: j.latency.p99,
        errors: (j.errors ?? 0) + (j.timeouts ?? 0),
        non2xx: j.non2xx ?? 0,
      }
    },
  }
}

// ───────────── choosing one ─────────────

async function versionOf(cmd: string[]): Promise<string> {
  const r = await run(cmd, { timeoutMs: 10_000 })
  return ((r.stdout + r.stderr).trim().split('\n')[0] ?? '').slice(0, 80)
}

/** `want`: a tool to force, or 'auto'. `log` narrates what happens (installation). */
export async function pickTool(want: 'auto' | ToolName, tmp: string, log: (s: string) => void): Promise<Tool> {
  if (want === 'builtin') return builtin
  if (want === 'auto' || want === 'wrk') {
    let wrk = Bun.which('wrk')
    if (!wrk && process.getuid?.() === 0 && Bun.which('apt-get')) {
      log('wrk is not installed: apt-get install -y wrk …')
      const env = { DEBIAN_FRONTEND: 'noninteractive' }
      let r = await run(['apt-get', 'install', '-y', '-qq', 'wrk'], { timeoutMs: 180_000, env })
      if (r.code !== 0) {
        await run(['apt-get', 'update', '-qq'], { timeoutMs: 180_000, env })
        r = await run(['apt-get', 'install', '-y', '-qq', 'wrk'], { timeoutMs: 180_000, env })
      }
      wrk = Bun.which('wrk')
      if (!wrk) log(`could not install wrk: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`)
    }
    if (wrk) {
      const v = await versionOf([wrk, '-v'])
      return wrkTool(wrk, /wrk \S+/.exec(v)?.[0] ?? 'wrk', tmp)
    }
    if (want === 'wrk') log('wrk is not available; falling back')
  }
  const ac = Bun.which('autocannon') ?? [resolve(import.meta.dir, '..', '..', 'node_modules', '.bin', 'autocannon')].find(existsSync)
  if (ac) return autocannonTool(ac, `autocannon ${await versionOf([ac, '--version'])}`)
  if (want === 'autocannon') log('autocannon is not installed; using the built-in load generator')
  return builtin
}
