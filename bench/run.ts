#!/usr/bin/env bun
/**
 * npm run bench: agproxy against a fast fake upstream, a bare Bun proxy, the upstream itself and (with
 * --peers) the Portkey gateway and claude-code-router, all on 127.0.0.1, interleaved round-robin, in one run. Writes
 * bench/results/<date>.md and prints it. See bench/README.md for how to read it.
 *
 *   bun bench/run.ts [--quick] [--peers] [--duration S] [--connections N] [--rounds N] [--rate R]
 *                    [--latency-duration S] [--chunks N] [--streams N] [--hold-ms MS] [--cold-runs N]
 *                    [--loadgen auto|wrk|autocannon|builtin] [--out FILE] [--no-save]
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { freePort, machineBusy, memoryOf, run, sampleRss, startProc, startRedis, killAll, waitQuiet, type Proc } from './lib/procs'
import { pickTool, runBuiltin, runStreams, fromLoadResult, type Measure, type Tool } from './lib/tools'
import { SCENARIOS, TARGET_LABELS, openaiRequest, type PeerId, type Target, type TargetId } from './scenarios'
import type { RequestSpec, StreamsResult } from './loadgen'
import { renderReport, type Report } from './lib/report'

const ROOT = resolve(import.meta.dir, '..')
const TMP = join(ROOT, 'bench', '.tmp')
const BUN = process.execPath
const PORTKEY_VERSION = '1.15.2'
/** @hono/node-server ≥ 1.19 keeps a fetch() response's immutable Headers in `new Response(body, res)`, which breaks
 *  Portkey's streaming ("TypeError: immutable"); 1.13.8 is the last release before that lightweight-Response change we checked */
const HONO_NODE_SERVER = '1.13.8'
/** claude-code-router: 3.1.1 (the newest) cannot be installed from the npm registry (its dependencies @the-next-ai/ai-gateway and
 *  @the-next-ai/bot-gateway-sdk are not published there: npm answers 404); 2.0.0 is the newest that installs (one bundled file) */
const CCR_VERSION = '2.0.0'

// ───────────── options ─────────────

export interface Options {
  quick: boolean
  peers: boolean
  durationS: number
  connections: number
  rounds: number
  rate: number
  latencyS: number
  latencyConnections: number
  warmupS: number
  chunks: number
  pacedMs: number
  streams: number
  holdMs: number
  coldRuns: number
  loadgen: 'auto' | 'wrk' | 'autocannon' | 'builtin'
  out?: string
  save: boolean
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick')
  const o: Options = {
    quick,
    peers: false,
    durationS: quick ? 1 : 2,
    connections: 32,
    rounds: quick ? 1 : 3,
    rate: 250,
    latencyS: quick ? 1 : 1.5,
    latencyConnections: 16,
    warmupS: 1,
    chunks: 20,
    pacedMs: 2,
    streams: 1000,
    holdMs: quick ? 1500 : 2000,
    coldRuns: quick ? 3 : 30,
    loadgen: 'auto',
    save: true,
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const [name, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]
    const val = () => inline ?? argv[++i] ?? ''
    const num = () => {
      const v = Number(val())
      if (!Number.isFinite(v) || v <= 0) die(`${name}: expected a positive number`)
      return v
    }
    switch (name) {
      case '--quick':
        break
      case '--peers':
        o.peers = true
        break
      case '--duration':
        o.durationS = num()
        break
      case '--connections':
      case '-c':
        o.connections = Math.round(num())
        break
      case '--rounds':
        o.rounds = Math.round(num())
        break
      case '--rate':
        o.rate = num()
        break
      case '--latency-duration':
        o.latencyS = num()
        break
      case '--chunks':
        o.chunks = Math.round(num())
        break
      case '--streams':
        o.streams = Math.round(num())
        break
      case '--hold-ms':
        o.holdMs = num()
        break
      case '--cold-runs':
        o.coldRuns = Math.round(num())
        break
      case '--loadgen': {
        const v = val()
        if (!['auto', 'wrk', 'autocannon', 'builtin'].includes(v)) die('--loadgen: auto, wrk, autocannon or builtin')
        o.loadgen = v as Options['loadgen']
        break
      }
      case '--out':
        o.out = resolve(val())
        break
      case '--no-save':
        o.save = false
        break
      case '--help':
      case '-h':
        console.log(readFileSync(import.meta.path, 'utf8').split('*/')[0])
        process.exit(0)
        break
      default:
        die(`unknown option ${a} (see --help)`)
    }
  }
  return o
}

function die(msg: string): never {
  console.error(`bench: ${msg}`)
  process.exit(2)
}
const log = (s: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`)
const median = (xs: number[]) => {
  const v = xs.filter(x => Number.isFinite(x)).sort((a, b) => a - b)
  if (!v.length) return NaN
  const m = v.length >> 1
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2
}

// ───────────── pieces ─────────────

async function buildBinary(): Promise<{ file: string; size: number; how: string; buildMs: number }> {
  const file = join(TMP, 'bin', 'agproxy')
  mkdirSync(join(TMP, 'bin'), { recursive: true })
  const t0 = performance.now()
  const b = await import('../scripts/build.ts')
  const target = b.currentTarget()
  if (target) {
    // what the release build does (scripts/build.ts buildTarget: its flags, and the bytecode laid out by a recorded start)
    const built = await b.buildTarget(target, { outDir: join(TMP, 'bin') })
    if (!built.ok) throw new Error(`compiling the binary failed: ${built.error}`)
    const how = `scripts/build.ts buildTarget(${target})${built.order ? ', bytecode laid out by a recorded start' : ''}`
    return { file: built.file, size: built.size!, how, buildMs: performance.now() - t0 }
  }
  const args = ['build', '--compile', '--minify-syntax', '--minify-identifiers', '--bytecode', join(ROOT, 'src', 'index.ts'), '--outfile', file]
  const how = 'bun build --compile --minify-syntax --minify-identifiers --bytecode'
  const r = await run([BUN, ...args], { cwd: ROOT, timeoutMs: 300_000 })
  if (r.code !== 0 || !existsSync(file)) throw new Error(`compiling the binary failed: ${(r.stderr || r.stdout).trim().slice(-800)}`)
  return { file, size: statSync(file).size, how, buildMs: performance.now() - t0 }
}

async function installPortkey(): Promise<{ entry: string; version: string } | { error: string }> {
  const dir = join(TMP, 'peers')
  const entry = join(dir, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js')
  const pkgFile = join(dir, 'node_modules', '@portkey-ai', 'gateway', 'package.json')
  const installed = () => (existsSync(pkgFile) ? (JSON.parse(readFileSync(pkgFile, 'utf8')).version as string) : undefined)
  const hono = join(dir, 'node_modules', '@hono', 'node-server', 'package.json')
  const honoOk = () => existsSync(hono) && JSON.parse(readFileSync(hono, 'utf8')).version === HONO_NODE_SERVER
  if (installed() !== PORTKEY_VERSION || !honoOk()) {
    if (!Bun.which('npm') || !Bun.which('node')) return { error: 'npm and node are needed to install and run Portkey' }
    log(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into ${relative(ROOT, dir)} (npm) …`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify(
        { private: true, dependencies: { '@portkey-ai/gateway': PORTKEY_VERSION }, overrides: { '@hono/node-server': HONO_NODE_SERVER } },
        null,
        2,
      )}\n`,
    )
    const r = await run(['npm', 'install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, timeoutMs: 300_000 })
    if (r.code !== 0 || installed() !== PORTKEY_VERSION)
      return { error: `npm install failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}` }
  }
  return { entry, version: installed()! }
}

/** claude-code-router (`@musistudio/claude-code-router`) into bench/.tmp/peers-ccr; run with node, its config in a HOME of its own */
async function installCcr(): Promise<{ entry: string; version: string } | { error: string }> {
  const dir = join(TMP, 'peers-ccr')
  const pkgFile = join(dir, 'node_modules', '@musistudio', 'claude-code-router', 'package.json')
  const installed = () => (existsSync(pkgFile) ? (JSON.parse(readFileSync(pkgFile, 'utf8')).version as string) : undefined)
  if (installed() !== CCR_VERSION) {
    if (!Bun.which('npm') || !Bun.which('node')) return { error: 'npm and node are needed to install and run claude-code-router' }
    log(`installing @musistudio/claude-code-router@${CCR_VERSION} into ${relative(ROOT, dir)} (npm) …`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ private: true, dependencies: { '@musistudio/claude-code-router': CCR_VERSION } }, null, 2)}\n`)
    const r = await run(['npm', 'install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, timeoutMs: 300_000 })
    if (r.code !== 0 || installed() !== CCR_VERSION) return { error: `npm install failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}` }
  }
  return { entry: join(dir, 'node_modules', '@musistudio', 'claude-code-router', 'dist', 'cli.js'), version: installed()! }
}

/** claude-code-router's ~/.claude-code-router/config.json for the bench upstream (an OpenAI-compatible and a Gemini provider,
 *  picked by the request's `provider,model`); its HOME */
function ccrHome(upstreamUrl: string, port: number): string {
  const home = join(TMP, 'peers-ccr', 'home')
  mkdirSync(join(home, '.claude-code-router'), { recursive: true })
  const config = {
    PORT: port,
    HOST: '127.0.0.1',
    LOG: false,
    Providers: [
      { name: 'bench-openai', api_base_url: `${upstreamUrl}/v1/chat/completions`, api_key: 'sk-bench-upstream-0000', models: ['gpt-bench', 'gpt-bench-paced'] },
      {
        name: 'bench-gemini',
        api_base_url: `${upstreamUrl}/v1beta/models/`,
        api_key: 'bench-gemini-key-000',
        models: ['gemini-bench', 'gemini-bench-paced'],
        transformer: { use: ['gemini'] },
      },
    ],
    Router: { default: 'bench-openai,gpt-bench' },
  }
  writeFileSync(join(home, '.claude-code-router', 'config.json'), `${JSON.stringify(config, null, 2)}\n`)
  return home
}

/** `requestLog`: the request log (SQLite in a data_dir under bench/.tmp) on, as by default, or off; `redisUrl`: redis_url set */
function agproxyConfig(upstreamUrl: string, requestLog = true, redisUrl?: string): string {
  const file = join(TMP, `agproxy-bench${requestLog ? '' : '-nolog'}${redisUrl ? '-redis' : ''}.yaml`)
  // every run starts from an empty database: a request log grown by earlier runs (hundreds of MB) would make runs differ
  rmSync(join(TMP, `data${requestLog ? '' : '-nolog'}${redisUrl ? '-redis' : ''}`), { recursive: true, force: true })
  writeFileSync(
    file,
    `# written by bench/run.ts
log_level: warn
shutdown_grace: 1
data_dir: ${join(TMP, `data${requestLog ? '' : '-nolog'}${redisUrl ? '-redis' : ''}`)}
request_log: ${requestLog}
providers:
  - name: bench-openai
    type: openai
    base_url: ${upstreamUrl}/v1
    api_key: sk-bench-upstream-0000
    models: [gpt-bench, gpt-bench-paced, gpt-bench-hold]
  - name: bench-gemini
    type: gemini
    base_url: ${upstreamUrl}
    api_key: bench-gemini-key-000
    models: [gemini-bench, gemini-bench-paced, gemini-bench-hold]
${redisUrl ? `redis_url: ${redisUrl}\n` : ''}`,
  )
  return file
}

interface Launch {
  cmd: (port: number) => string[]
  ready?: RegExp
  env?: Record<string, string | undefined>
  cwd?: string
  knownPort?: boolean
  probe?: string
  /** a HOME of its own, prepared for the port it gets (claude-code-router reads its port from ~/.claude-code-router) */
  home?: (port: number) => string
}

const LISTEN_RE = /listening on http:\/\/[^\s]*:(\d+)/

function launchers(cfg: string, upstreamUrl: string, binary: string, peers: Partial<Record<PeerId, string>> = {}): Partial<Record<TargetId, Launch>> {
  // agproxy reads its provider keys from the config; keep the caller's AGPROXY_* settings out
  const clean = Object.fromEntries(
    Object.keys(process.env)
      .filter(k => k.startsWith('AGPROXY_'))
      .map(k => [k, undefined]),
  )
  const l: Partial<Record<TargetId, Launch>> = {
    bare: { cmd: () => [BUN, join(ROOT, 'bench', 'bare-proxy.ts'), '--upstream', upstreamUrl], ready: LISTEN_RE },
    src: { cmd: () => [BUN, join(ROOT, 'src', 'index.ts'), '--port', '0', '--config', cfg], ready: LISTEN_RE, env: clean, cwd: TMP },
    bin: { cmd: () => [binary, '--port', '0', '--config', cfg], ready: LISTEN_RE, env: clean, cwd: TMP },
  }
  const portkey = peers.portkey
  if (portkey) l.portkey = { cmd: port => ['node', portkey, `--port=${port}`, '--headless'], env: { NODE_ENV: 'production' }, knownPort: true, probe: '/' }
  const ccr = peers.ccr
  // `start` serves in the foreground; HOME is set per start (below) to where its config names the port
  if (ccr) l.ccr = { cmd: () => ['node', ccr, 'start'], env: { NODE_ENV: 'production' }, knownPort: true, probe: '/', home: port => ccrHome(upstreamUrl, port) }
  return l
}

async function startTarget(id: TargetId, launch: Launch, extraEnv: Record<string, string> = {}, name: string = id): Promise<{ target: Target; proc: Proc }> {
  const port = launch.knownPort ? freePort() : undefined
  const proc = await startProc(name, launch.cmd(port ?? 0), {
    ready: launch.ready,
    port,
    probe: launch.probe,
    env: { ...launch.env, ...(launch.home && port ? { HOME: launch.home(port) } : {}), ...extraEnv },
    cwd: launch.cwd,
    logDir: join(TMP, 'logs'),
  })
  return { target: { id, label: TARGET_LABELS[id], url: proc.url, pid: proc.pid }, proc }
}

/** one request: the answer must be a 200 with content (and, streaming, at least `minFrames` frames) */
async function preflight(req: RequestSpec, minFrames: number): Promise<string | undefined> {
  try {
    const r = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(10_000) })
    const text = await r.text()
    if (r.status !== 200) return `answered ${r.status}: ${text.replace(/\s+/g, ' ').slice(0, 240)}`
    const frames = text.split(/\r?\n\r?\n/).filter(f => f.trim()).length
    if (minFrames && frames < minFrames) return `stream had ${frames} frames, expected ≥ ${minFrames}: ${text.replace(/\s+/g, ' ').slice(0, 200)}`
    if (!text.length) return 'empty answer'
  } catch (e) {
    return `request failed: ${(e as Error).message}`
  }
}

async function coldStart(cmd: (port: number) => string[], runs: number, cwd: string, env: Record<string, string | undefined>): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const port = freePort()
    const t0 = performance.now()
    const proc = Bun.spawn(cmd(port), { cwd, env: { ...process.env, ...env } as Record<string, string>, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' })
    let ok = false
    while (performance.now() - t0 < 15_000 && proc.exitCode === null) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`)
        await r.arrayBuffer()
        if (r.status === 200) {
          ok = true
          break
        }
      } catch {}
      await Bun.sleep(1)
    }
    const ms = performance.now() - t0
    proc.kill('SIGKILL')
    await proc.exited
    if (ok) times.push(ms)
    await Bun.sleep(50)
  }
  return times
}

async function machine(tool: Tool) {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? process.arch
  const node = Bun.which('node') ? (await run(['node', '--version'])).stdout.trim() : 'absent'
  const head = (await run(['git', 'rev-parse', '--short', 'HEAD'], { cwd: ROOT })).stdout.trim()
  const dirty = (await run(['git', 'status', '--porcelain', '--', 'src', 'package.json'], { cwd: ROOT })).stdout.trim() ? ' + uncommitted changes in src/' : ''
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    bun: Bun.version,
    node,
    tool: `${tool.name} (${tool.version})`,
    git: `${head || 'unknown'}${dirty}`,
  }
}

// ───────────── the run ─────────────

async function main() {
  const o = parseOptions(process.argv.slice(2))
  const started = new Date()
  const t0 = performance.now()
  mkdirSync(TMP, { recursive: true })
  process.on('SIGINT', () => {
    killAll()
    process.exit(130)
  })
  process.on('SIGTERM', () => {
    killAll()
    process.exit(143)
  })

  const busyBefore = await machineBusy(1000)
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  log(`machine before the run: ${busyBefore.toFixed(0)} % busy over 1 s, load average ${loadBefore}`)
  const tool = await pickTool(o.loadgen, TMP, log)
  log(`throughput load generator: ${tool.name} (${tool.version}); latency, TTFB and open streams: built-in`)

  log('compiling the agproxy binary …')
  const binary = await buildBinary()
  log(`binary ${relative(ROOT, binary.file)}: ${(binary.size / 1048576).toFixed(1)} MB, compiled in ${(binary.buildMs / 1000).toFixed(1)} s`)

  const peers: Partial<Record<PeerId, { entry: string; version: string }>> = {}
  const peerErrors: Partial<Record<PeerId, string>> = {}
  if (o.peers) {
    for (const [id, install] of [
      ['portkey', installPortkey],
      ['ccr', installCcr],
    ] as const) {
      const p = await install()
      if ('error' in p) {
        peerErrors[id] = p.error
        log(`${TARGET_LABELS[id]} left out: ${p.error}`)
      } else peers[id] = p
    }
  }

  const upstream = await startProc(
    'upstream',
    [BUN, join(ROOT, 'bench', 'upstream.ts'), '--chunks', String(o.chunks), '--paced-ms', String(o.pacedMs), '--hold-ms', String(o.holdMs)],
    { ready: LISTEN_RE, logDir: join(TMP, 'logs') },
  )
  const cfg = agproxyConfig(upstream.url)
  const launch = launchers(cfg, upstream.url, binary.file, { portkey: peers.portkey?.entry, ccr: peers.ccr?.entry })
  const direct: Target = { id: 'direct', label: TARGET_LABELS.direct, url: upstream.url, pid: upstream.pid }
  const order: TargetId[] = ['direct', 'bare', 'src', 'bin', ...(Object.keys(peers) as PeerId[])]

  // cold start: the binary (the target) and the source (for reference), alternating
  log(`cold start: ${o.coldRuns} runs each of the binary and the source …`)
  const cold = { bin: [] as number[], src: [] as number[] }
  for (let i = 0; i < o.coldRuns; i++) {
    cold.bin.push(...(await coldStart(p => [binary.file, '--port', String(p), '--config', cfg], 1, TMP, launch.bin!.env!)))
    cold.src.push(...(await coldStart(p => [BUN, join(ROOT, 'src', 'index.ts'), '--port', String(p), '--config', cfg], 1, TMP, launch.src!.env!)))
  }

  // open streams: each proxy fresh, so VmHWM is this test's peak
  log(`${o.streams} open streams (upstream holds each ${o.holdMs} ms after the first frame) …`)
  const streamRows: Report['streams'] = []
  // (claude-code-router takes Anthropic clients only: this test is OpenAI chat)
  const streamCases: { id: TargetId; label: string; env?: Record<string, string> }[] = [
    ...order.filter(id => id !== 'ccr').map(id => ({ id, label: TARGET_LABELS[id] })),
    { id: 'bin', label: `${TARGET_LABELS.bin}, BUN_CONFIG_MAX_HTTP_REQUESTS=4096`, env: { BUN_CONFIG_MAX_HTTP_REQUESTS: '4096' } },
  ]
  for (const c of streamCases) {
    let proc: Proc | undefined
    let target = direct
    try {
      if (c.id !== 'direct') ({ target, proc } = await startTarget(c.id, launch[c.id]!, c.env, `${c.id}-streams`))
      const req = openaiRequest(target, 'gpt-bench-hold', true, upstream.url)!
      await waitQuiet([upstream.pid, ...(proc ? [proc.pid] : [])])
      const idle = c.id === 'direct' ? undefined : memoryOf(target.pid!)
      const sampler = sampleRss(c.id === 'direct' ? undefined : target.pid)
      const res: StreamsResult = await runStreams({ ...req, count: o.streams, timeoutMs: Math.max(30_000, o.holdMs * 8 + 10_000) })
      const peakSampled = sampler.stop()
      const mem = c.id === 'direct' ? undefined : memoryOf(target.pid!)
      streamRows.push({ label: c.label, id: c.id, env: c.env, res, idleRss: idle?.rss, peakRss: mem ? Math.max(mem.hwm, peakSampled) : undefined })
      log(
        `  ${c.label}: ${res.maxOpen}/${o.streams} open at once, ${res.completed} completed, ` +
          `${res.errors} errors${mem ? `, peak RSS ${mem.hwm.toFixed(0)} MB` : ''}`,
      )
    } catch (e) {
      streamRows.push({ label: c.label, id: c.id, env: c.env, error: (e as Error).message.split('\n')[0] })
      log(`  ${c.label}: ${(e as Error).message.split('\n')[0]}`)
    } finally {
      await proc?.stop()
    }
  }

  // throughput and latency: all targets up at once, interleaved
  log('starting the targets …')
  const procs: Proc[] = []
  const targets: Target[] = [direct]
  const startErrors: Partial<Record<TargetId, string>> = {}
  for (const id of order.slice(1)) {
    try {
      const s = await startTarget(id, launch[id]!)
      targets.push(s.target)
      procs.push(s.proc)
    } catch (e) {
      startErrors[id] = (e as Error).message.split('\n')[0]
      log(`  ${id}: ${startErrors[id]}`)
    }
  }

  const pids = [upstream.pid, ...procs.map(p => p.pid)]
  const quiet = () => waitQuiet(pids)
  const results: Report['scenarios'] = []
  for (const sc of SCENARIOS) {
    log(`scenario ${sc.id} …`)
    const parts: Target[] = []
    const skipped: Record<string, string> = { ...startErrors }
    for (const t of targets) {
      const req = sc.request(t, '', upstream.url)
      if (!req) {
        skipped[t.id] = 'does not support this scenario'
        continue
      }
      const why = await preflight(req, sc.stream ? Math.min(o.chunks, 3) : 0)
      if (why) {
        skipped[t.id] = why
        log(`  ${t.id} left out: ${why}`)
        continue
      }
      parts.push(t)
    }
    const thr: Record<string, (Measure & { rss: number })[]> = {}
    const lat: Record<string, Measure[]> = {}
    const errors: Record<string, string> = {}
    const safe = async <T>(id: string, f: () => Promise<T>) => {
      try {
        return await f()
      } catch (e) {
        errors[id] = (e as Error).message.split('\n')[0]!
        log(`  ${id}: ${errors[id]}`)
      }
    }
    // warm-up: JIT, connection pools
    for (const t of parts) {
      await quiet()
      await safe(t.id, () => tool.throughput(sc.request(t, '', upstream.url)!, o.connections, o.warmupS))
    }
    for (let r = 0; r < o.rounds; r++) {
      for (const t of rotate(parts, r)) {
        await quiet()
        const s = sampleRss(t.id === 'direct' ? undefined : t.pid)
        const m = await safe(t.id, () => tool.throughput(sc.request(t, '', upstream.url)!, o.connections, o.durationS))
        const rss = s.stop()
        if (m) (thr[t.id] ??= []).push({ ...m, rss })
      }
    }
    for (let r = 0; r < o.rounds; r++) {
      for (const t of rotate(parts, r)) {
        await quiet()
        const req = sc.request(t, sc.stream ? '-paced' : '', upstream.url)!
        const m = await safe(t.id, async () =>
          fromLoadResult(
            await runBuiltin({ ...req, connections: o.latencyConnections, durationMs: o.latencyS * 1000, rate: o.rate, countFrames: sc.stream, warmupMs: 200 }),
          ),
        )
        if (m) (lat[t.id] ??= []).push(m)
      }
    }
    results.push({ scenario: sc, targets: parts.map(t => t.id), skipped, errors, throughput: thr, latency: lat })
  }
  const sequential = await sequentialOverhead(o, targets, upstream.url, quiet)
  for (const p of procs) await p.stop()
  const requestLog = await requestLogCost(o, upstream.url, tool, quiet, log)
  const redis = await redisCost(o, upstream.url, tool, quiet)
  await upstream.stop()
  const busyAfter = await machineBusy(1000)
  log(`machine after the run: ${busyAfter.toFixed(0)} % busy over 1 s`)

  const report: Report = {
    started,
    seconds: (performance.now() - t0) / 1000,
    options: o,
    machine: await machine(tool),
    tool: tool.name,
    binary: { ...binary, file: relative(ROOT, binary.file), dist: distBinary() },
    cold,
    streams: streamRows,
    scenarios: results,
    requestLog,
    redis,
    sequential,
    background: { busyBefore, busyAfter, loadBefore },
    peers: o.peers ? await peersLine(peers, peerErrors) : undefined,
  }
  const md = renderReport(report, { median })
  if (o.save) {
    const file =
      o.out ?? join(ROOT, 'bench', 'results', `${started.toISOString().slice(0, 16).replace('T', '_').replace(':', '-')}${o.quick ? '-quick' : ''}.md`)
    mkdirSync(join(file, '..'), { recursive: true })
    writeFileSync(file, md)
    log(`written to ${relative(ROOT, file)}`)
  }
  console.log(md)
  log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}

/** What the report says of the peers: their versions, or why one is left out. */
async function peersLine(peers: Partial<Record<PeerId, { version: string }>>, errors: Partial<Record<PeerId, string>>): Promise<string> {
  const node = Bun.which('node') ? (await run(['node', '--version'])).stdout.trim() : 'absent'
  const portkey = peers.portkey
    ? `@portkey-ai/gateway ${peers.portkey.version} (with @hono/node-server ${HONO_NODE_SERVER})`
    : `Portkey not measured: ${errors.portkey}`
  const ccr = peers.ccr
    ? `@musistudio/claude-code-router ${peers.ccr.version} (3.1.1 does not install from npm: its @the-next-ai/* dependencies are not published)`
    : `claude-code-router not measured: ${errors.ccr}`
  return `${portkey}; ${ccr}; on Node ${node}`
}

/** the scenarios of the sequential row: an OpenAI client (Portkey too) and an Anthropic one (claude-code-router too) */
const SEQUENTIAL_SCENARIOS = ['openai-chat', 'anthropic-openai']
const SEQ = { warmups: 15, rounds: 7, perRound: 25 }

/** Sequential overhead (the method of an independent public gateway benchmark): one request at a time, 15 warm-ups, then
 *  7 rounds × 25 requests per target (rounds interleaved across targets); per target the median of its 175 latencies, ms. */
async function sequentialOverhead(o: Options, targets: Target[], upstreamUrl: string, quiet: () => Promise<unknown>): Promise<Report['sequential']> {
  const out: NonNullable<Report['sequential']> = []
  for (const id of SEQUENTIAL_SCENARIOS) {
    const sc = SCENARIOS.find(s => s.id === id)!
    const rounds = o.quick ? 2 : SEQ.rounds
    log(`sequential overhead, ${sc.title} (one request at a time, ${rounds} × ${SEQ.perRound} after ${SEQ.warmups} warm-ups) …`)
    const parts = targets.flatMap(t => {
      const req = sc.request(t, '', upstreamUrl)
      return req ? [{ t, req }] : []
    })
    const ms: Record<string, number[]> = {}
    const one = async (req: RequestSpec) => {
      const t0 = performance.now()
      const r = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body })
      await r.arrayBuffer()
      if (r.status !== 200) throw new Error(`answered ${r.status}`)
      return performance.now() - t0
    }
    try {
      for (const { req } of parts) for (let i = 0; i < SEQ.warmups; i++) await one(req)
      for (let r = 0; r < rounds; r++)
        for (const { t, req } of rotate(parts, r)) {
          await quiet()
          for (let i = 0; i < SEQ.perRound; i++) (ms[t.id] ??= []).push(await one(req))
        }
    } catch (e) {
      log(`  sequential ${id}: ${(e as Error).message}`)
    }
    out.push({
      scenario: sc.title,
      rounds: `${rounds} × ${SEQ.perRound} after ${SEQ.warmups} warm-ups`,
      ms: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, median(v)])),
    })
  }
  return out
}

/** Paired rounds of the on/off comparisons: this many pairs of 1-s rounds (order alternating), their ratio the median of the
 *  pairs' ratios: the machine's speed drifts over seconds (2 cores shared with the load generator and the upstream), and a
 *  ratio of two rounds a second apart sees much less of the drift than a ratio of medians of few long rounds. (With 12 pairs
 *  the median of the same code's request-log ratio ranged 0.80–0.95 from run to run; 24 narrow that.) */
const PAIRS = { full: 24, quick: 2, roundS: 1 }

/** The same pass-through call on two agproxy targets (`on`, `off`), warmed up, then in pairs of short rounds, the order
 *  alternating; req/s of pair i in rps.on[i] and rps.off[i]. */
async function onOffRounds(
  o: Options,
  tool: Tool,
  quiet: () => Promise<unknown>,
  upstreamUrl: string,
  targets: Record<'on' | 'off', { target: Target }>,
  rps: Record<'on' | 'off', number[]>,
) {
  const pair = [
    ['on', targets.on],
    ['off', targets.off],
  ] as const
  const call = (t: { target: Target }) => openaiRequest(t.target, 'gpt-bench', false, upstreamUrl)!
  // the writer thread flushes ~5 times a second: it needs a few seconds of batches before its code is compiled
  // (JIT tier-up), so the pair warms up at least 3 s, not the main targets' 1 s
  for (const [, t] of pair) await tool.throughput(call(t), o.connections, Math.max(3, o.warmupS))
  const pairs = o.quick ? PAIRS.quick : PAIRS.full
  for (let r = 0; r < pairs; r++) {
    await quiet()
    for (const [which, t] of rotate([...pair], r)) rps[which].push((await tool.throughput(call(t), o.connections, PAIRS.roundS)).rps)
  }
}

/** Pass-through throughput of agproxy (source) with redis_url set (a redis-server of its own) and without, interleaved rounds. */
async function redisCost(o: Options, upstreamUrl: string, tool: Tool, quiet: () => Promise<unknown>): Promise<Report['redis']> {
  if (!Bun.which('redis-server')) {
    log('redis_url on vs off: left out (no redis-server; apt-get install -y redis-server)')
    return { on: [], off: [], note: 'redis-server is not installed (apt-get install -y redis-server)' }
  }
  log('redis_url on vs off (pass-through, openai-chat) …')
  const redis = await startRedis()
  const on = await startTarget('src', launchers(agproxyConfig(upstreamUrl, true, redis.url), upstreamUrl, '').src!, {}, 'src-redis-on')
  const off = await startTarget('src', launchers(agproxyConfig(upstreamUrl, true), upstreamUrl, '').src!, {}, 'src-redis-off')
  const rps = { on: [] as number[], off: [] as number[] }
  try {
    await onOffRounds(o, tool, quiet, upstreamUrl, { on, off }, rps)
    log(`  redis_url set: ${rps.on.map(Math.round).join(', ')} req/s; not set: ${rps.off.map(Math.round).join(', ')} req/s`)
    return rps
  } catch (e) {
    log(`  redis comparison failed: ${(e as Error).message.split('\n')[0]}`)
    return { ...rps, note: (e as Error).message.split('\n')[0] }
  } finally {
    await on.proc.stop()
    await off.proc.stop()
    await redis.stop()
  }
}

/** Pass-through throughput of agproxy (source) with the request log on and off, interleaved rounds in the same run. */
async function requestLogCost(
  o: Options,
  upstreamUrl: string,
  tool: Tool,
  quiet: () => Promise<unknown>,
  log: (s: string) => void,
): Promise<Report['requestLog']> {
  log('request log on vs off (pass-through, openai-chat) …')
  const on = await startTarget('src', launchers(agproxyConfig(upstreamUrl, true), upstreamUrl, '').src!, {}, 'src-log-on')
  const off = await startTarget('src', launchers(agproxyConfig(upstreamUrl, false), upstreamUrl, '').src!, {}, 'src-log-off')
  const rps = { on: [] as number[], off: [] as number[] }
  try {
    await onOffRounds(o, tool, quiet, upstreamUrl, { on, off }, rps)
    log(`  request log on: ${rps.on.map(Math.round).join(', ')} req/s; off: ${rps.off.map(Math.round).join(', ')} req/s`)
    return rps
  } catch (e) {
    log(`  request log comparison failed: ${(e as Error).message.split('\n')[0]}`)
    return undefined
  } finally {
    await on.proc.stop()
    await off.proc.stop()
  }
}

function rotate<T>(xs: T[], r: number): T[] {
  const k = r % Math.max(1, xs.length)
  return [...xs.slice(k), ...xs.slice(0, k)]
}

function distBinary(): { file: string; size: number } | undefined {
  const target = `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`
  const file = join(ROOT, 'dist', `agproxy-${target}${process.platform === 'win32' ? '.exe' : ''}`)
  return existsSync(file) ? { file: relative(ROOT, file), size: statSync(file).size } : undefined
}

if (import.meta.main) {
  try {
    await main()
    process.exit(0)
  } catch (e) {
    console.error(`bench: ${(e as Error).stack ?? e}`)
    killAll()
    process.exit(1)
  }
}
