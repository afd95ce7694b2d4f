#!/usr/bin/env bun
/**
 * npm run build: standalone agproxy executables (`bun build --compile` of src/index.ts) in dist/.
 *
 *   bun scripts/build.ts                      all five targets
 *   bun scripts/build.ts --target linux-x64   one target (repeatable, or comma-separated)
 *   bun scripts/build.ts --current            this machine's target only
 *   bun scripts/build.ts --outdir DIR         somewhere other than dist/
 *
 * Cross-compiling needs the Bun runtime of the other platform, of exactly this Bun's version. It comes
 * from the npm registry only: `npm pack @oven/bun-<platform>@<version>` (so npm's registry, proxy and
 * integrity check apply), unpacked once into .cache/bun-runtimes/ and passed as --compile-executable-path.
 * If npm cannot fetch it, Bun's own download (which also reads the npm registry) is tried. A target that
 * still fails is reported with the reason and the others are built anyway; the exit code says so.
 *
 * The bytecode is laid out by a recorded start (Bun's --bytecode-order): this machine's target is compiled, started once
 * (recordStartOrder: serve, answer /healthz, stop) with BUN_BYTECODE_ORDER_OUT, and compiled again with what that start
 * ran placed together at the front (≈ 4 ms of the cold start); the other targets get the same order. A target that cannot
 * be run here and has no recorded order is built without one.
 *
 * The version is the one in package.json: src/version.ts imports it, so it is bundled in. The binary of
 * this machine's target is run with --version after the build to check.
 *
 * test/binary.test.ts builds through buildTarget() below, so the test runs what ships.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { tmpdir } from 'node:os'

const ROOT = resolve(import.meta.dir, '..')
export const ENTRY = join(ROOT, 'src', 'index.ts')
export const VERSION: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version

/** agproxy target → Bun's --target and the npm package that holds that platform's runtime */
export const TARGETS = {
  'linux-x64': { bun: 'bun-linux-x64', npm: '@oven/bun-linux-x64' },
  'linux-arm64': { bun: 'bun-linux-arm64', npm: '@oven/bun-linux-aarch64' },
  'darwin-x64': { bun: 'bun-darwin-x64', npm: '@oven/bun-darwin-x64' },
  'darwin-arm64': { bun: 'bun-darwin-arm64', npm: '@oven/bun-darwin-aarch64' },
  'windows-x64': { bun: 'bun-windows-x64', npm: '@oven/bun-windows-x64' },
} as const
export type Target = keyof typeof TARGETS
export const ALL_TARGETS = Object.keys(TARGETS) as Target[]

/**
 * The compile flags, one list for the build and the test.
 * - minify syntax and identifiers, never whitespace: --minify-whitespace can make Elysia crash at start.
 * - --bytecode: safe because src/index.ts exports nothing; it needs --format=esm (the entry uses top-level await).
 * - --splitting: src/index.ts's dynamic import of ./main becomes a chunk of its own, loaded only after the re-execution.
 * - --sourcemap: embedded in the executable (stack traces name src/ files); the .map files written beside it (its own and
 *   one per split chunk) are removed.
 * - no bunfig.toml autoload: a bunfig in the directory the binary is started from must not change it (preloads).
 * - --compile-jit-policy=10: while starting, JavaScriptCore's JIT tiers code up 10× more reluctantly: start-up code runs
 *   once, and compiling it cost more than it saved (≈ 12 ms of the cold start's CPU, with 2 cores). src/main.ts sets the
 *   normal policy back (Bun.unsafe.setJITPolicy(1)) once listening, so the gateway's steady state is as fast as before.
 * The executables are never stripped: `strip` removes the appended bundle.
 */
/** worker entry points (new Worker(new URL(…, import.meta.url))) the executable must carry */
export const WORKERS = [join(ROOT, 'src', 'store', 'writer-thread.ts')]

export const COMPILE_FLAGS = [
  '--compile',
  '--minify-syntax',
  '--minify-identifiers',
  '--bytecode',
  '--format=esm',
  // the entry is its own small chunk: the re-execution that raises the fetch cap (src/index.ts) happens before the rest
  // of the bundle is loaded, so the bundle is loaded once, not twice (~30 ms of cold start)
  '--splitting',
  '--sourcemap',
  '--no-compile-autoload-bunfig',
  '--compile-jit-policy=10',
] as const

export const exeName = (target: Target) => `agproxy-${target}${target.startsWith('windows') ? '.exe' : ''}`

/** This machine's target, if it is one of the five. */
export function currentTarget(): Target | undefined {
  const os = process.platform === 'win32' ? 'windows' : process.platform
  const t = `${os}-${process.arch}`
  return t in TARGETS ? (t as Target) : undefined
}

export const compileArgs = (target: Target, outfile: string, runtime?: string, order?: string) => [
  'build',
  ENTRY,
  // a worker's entry is built in beside the main one (the request log's writer thread)
  ...WORKERS,
  ...COMPILE_FLAGS,
  `--target=${TARGETS[target].bun}`,
  `--outfile=${outfile}`,
  ...(runtime ? [`--compile-executable-path=${runtime}`] : []),
  ...(order ? [`--bytecode-order=${order}`] : []),
]

const CACHE = process.env.AGPROXY_RUNTIME_CACHE ?? join(ROOT, '.cache', 'bun-runtimes')
const npmCmd = process.platform === 'win32' ? 'npm.cmd' : 'npm'

async function run(cmd: string[], opts: { cwd?: string; timeoutMs?: number } = {}) {
  const proc = Bun.spawn(cmd, { cwd: opts.cwd ?? ROOT, stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' })
  const timer = setTimeout(() => proc.kill(), opts.timeoutMs ?? 300_000)
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/**
 * The Bun runtime for `target`, from the npm registry via `npm pack`, cached by version.
 * Returns undefined for this machine's own target (Bun compiles with itself).
 */
export function fetchRuntime(target: Target, log: (s: string) => void = () => {}): Promise<{ path?: string; error?: string }> {
  let p = fetching.get(target)
  if (!p) fetching.set(target, (p = fetchRuntimeOnce(target, log)))
  return p
}
const fetching = new Map<Target, Promise<{ path?: string; error?: string }>>()

async function fetchRuntimeOnce(target: Target, log: (s: string) => void): Promise<{ path?: string; error?: string }> {
  if (target === currentTarget()) return {}
  const bin = target.startsWith('windows') ? 'bun.exe' : 'bun'
  const dest = join(CACHE, `bun-v${Bun.version}`, target, bin)
  if (existsSync(dest)) return { path: dest }
  const spec = `${TARGETS[target].npm}@${Bun.version}`
  log(`fetching the ${target} runtime: npm pack ${spec}`)
  const tmp = mkdtempSync(join(tmpdir(), 'agproxy-runtime-'))
  try {
    const packed = await run([npmCmd, 'pack', spec, '--json', '--pack-destination', tmp], { cwd: tmp })
    if (packed.code !== 0) return { error: `npm pack ${spec} failed: ${npmReason(packed.stderr || packed.stdout)}` }
    const file = (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename
    const untar = await run(['tar', '-xzf', join(tmp, basename(file)), '-C', tmp])
    if (untar.code !== 0) return { error: `could not unpack ${file}: ${lastLine(untar.stderr)}` }
    const got = join(tmp, 'package', 'bin', bin)
    if (!existsSync(got)) return { error: `${spec} has no bin/${bin}` }
    mkdirSync(join(dest, '..'), { recursive: true })
    renameSync(got, dest)
    chmodSync(dest, 0o755)
    return { path: dest }
  } catch (e) {
    return { error: `npm pack ${spec}: ${(e as Error).message}` }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

export interface Built {
  target: Target
  file: string
  ok: boolean
  size?: number
  sha256?: string
  via?: string
  error?: string
  /** the bytecode order it was laid out by (recordStartOrder), if any */
  order?: string
}

/**
 * Compile one target into outDir. Never throws; `ok: false` carries the reason. `order`: a recorded bytecode order to lay
 * it out by; without one, this machine's target is compiled twice, the second time by the order of its first build's start.
 */
export async function buildTarget(target: Target, opts: { outDir: string; log?: (s: string) => void; order?: string }): Promise<Built> {
  const log = opts.log ?? (() => {})
  const file = join(opts.outDir, exeName(target))
  mkdirSync(opts.outDir, { recursive: true })
  rmSync(file, { force: true })
  const runtime = await fetchRuntime(target, log)
  if (runtime.error) log(`${runtime.error}; trying Bun's own download`)
  let order = opts.order
  const compile = async (rt?: string) => {
    const r = await run([process.execPath, ...compileArgs(target, file, rt, order)])
    removeSourceMaps(opts.outDir, file)
    return r
  }
  const attempt = async (rt?: string) => {
    let r = await compile(rt)
    if (r.code === 0 && !order && target === currentTarget()) {
      order = await recordStartOrder(file, opts.outDir, log)
      if (order) r = await compile(rt)
    }
    return r
  }
  let via = runtime.path ? `runtime ${runtime.path}` : target === currentTarget() ? 'this Bun' : `Bun's download`
  let r = await attempt(runtime.path)
  if (r.code !== 0 && runtime.path) {
    log(`${target}: compiling with ${runtime.path} failed (${lastLine(r.stderr)}); trying Bun's own download`)
    via = `Bun's download`
    r = await attempt()
  }
  if (r.code !== 0 || !existsSync(file)) {
    const why = [runtime.error, lastLine(r.stderr || r.stdout) || `bun build exited with ${r.code}`].filter(Boolean).join('; ')
    return { target, file, ok: false, error: why }
  }
  const bytes = await Bun.file(file).bytes()
  const sha256 = new Bun.CryptoHasher('sha256').update(bytes).digest('hex')
  if (target === currentTarget()) {
    const v = await run([file, '--version'], { timeoutMs: 30_000 })
    if (v.stdout.trim().split(' ')[1] !== VERSION)
      return {
        target,
        file,
        ok: false,
        error: `built, but \`${basename(file)} --version\` printed "${v.stdout.trim()}" ${v.stderr.trim()} instead of agproxy ${VERSION} (…)`,
      }
  }
  return { target, file, ok: true, size: statSync(file).size, sha256, via, order }
}

/** The source maps a compile of `exe` writes into `dir` (its own, and one per split chunk): they are embedded in it. */
function removeSourceMaps(dir: string, exe: string) {
  rmSync(`${exe}.map`, { force: true })
  for (const f of readdirSync(dir)) if (f.endsWith('.js.map')) rmSync(join(dir, f), { force: true })
}

/**
 * Start the executable `exe` once as a server (a throwaway config and data dir, --port 0), ask /healthz, stop it, with
 * BUN_BYTECODE_ORDER_OUT set: the functions that start ran, in order, for --bytecode-order. Written to
 * `dir`/bytecode-order.txt; undefined (and why, to `log`) when it could not be recorded: the build goes on without one.
 */
export async function recordStartOrder(exe: string, dir: string, log: (s: string) => void = () => {}): Promise<string | undefined> {
  const tmp = mkdtempSync(join(tmpdir(), 'agproxy-order-'))
  const out = join(dir, 'bytecode-order.txt')
  rmSync(out, { force: true })
  const cfg = join(tmp, 'agproxy.yaml')
  writeFileSync(
    cfg,
    `log_level: warn\nshutdown_grace: 0\ndata_dir: ${JSON.stringify(tmp)}\nrequest_log: true\nproviders:\n` +
      '  - { name: openai, type: openai, base_url: "http://127.0.0.1:9/v1", api_key: sk-order-recording-000000, models: [gpt-4o-mini] }\n',
  )
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp, BUN_BYTECODE_ORDER_OUT: out }
  const proc = Bun.spawn([exe, '--port', '0', '--config', cfg], { cwd: tmp, env, stdin: 'ignore', stdout: 'pipe', stderr: 'ignore' })
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000)
  try {
    const reader = proc.stdout.getReader()
    let text = ''
    let url: string | undefined
    while (!url) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`it exited before listening: ${text.trim().slice(-200)}`)
      text += new TextDecoder().decode(value)
      url = /listening on (http:\/\/\S+)/.exec(text)?.[1]
    }
    reader.releaseLock()
    await (await fetch(`${url}/healthz`)).arrayBuffer()
    proc.kill('SIGTERM') // a graceful stop writes the order file
    await proc.exited
  } catch (e) {
    proc.kill('SIGKILL')
    log(`no bytecode order recorded (${(e as Error).message}); building without one`)
  } finally {
    clearTimeout(timer)
    rmSync(tmp, { recursive: true, force: true })
  }
  return existsSync(out) && statSync(out).size > 0 ? out : undefined
}

/** npm's first error line that says something (not "A complete log of this run…") */
const npmReason = (s: string) =>
  s
    .split('\n')
    .map(l => l.replace(/^npm (error|ERR!)\s*/, '').trim())
    .find(l => l && !/complete log of this run/i.test(l)) ?? lastLine(s)
const lastLine = (s: string) => s.trim().split('\n').filter(Boolean).at(-1)?.trim() ?? ''
const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`

const USAGE = `Usage: bun scripts/build.ts [--target T[,T…]]… [--current] [--outdir DIR]
Targets: ${ALL_TARGETS.join(', ')} (default: all)`

async function main(argv: string[]) {
  const targets: Target[] = []
  let outDir = join(ROOT, 'dist')
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i]!.includes('=') ? (argv[i]!.split(/=(.*)/s) as [string, string]) : [argv[i]!, undefined]
    const value = () => inline ?? argv[++i] ?? ''
    if (name === '--target') {
      for (const t of value().split(',').filter(Boolean)) {
        if (!(t in TARGETS)) {
          console.error(`build: unknown target "${t}"\n${USAGE}`)
          return 2
        }
        targets.push(t as Target)
      }
    } else if (name === '--current') {
      const t = currentTarget()
      if (!t) {
        console.error(`build: this machine (${process.platform}-${process.arch}) is not one of the targets\n${USAGE}`)
        return 2
      }
      targets.push(t)
    } else if (name === '--outdir') outDir = resolve(value())
    else if (name === '--help' || name === '-h') {
      console.log(USAGE)
      return 0
    } else {
      console.error(`build: unknown argument "${argv[i]}"\n${USAGE}`)
      return 2
    }
  }
  const wanted = targets.length ? [...new Set(targets)] : ALL_TARGETS
  console.log(`agproxy ${VERSION}: building ${wanted.join(', ')} with Bun ${Bun.version} into ${outDir}`)
  console.log(`flags: ${COMPILE_FLAGS.join(' ')}`)

  const log = (s: string) => console.log(`  ${s}`)
  await Promise.all(wanted.map(t => fetchRuntime(t, log))) // fetch the runtimes in parallel; buildTarget finds them cached
  const results: Built[] = []
  // this machine's target first: its recorded start lays out the others' bytecode too
  let order: string | undefined
  for (const t of [...wanted].sort((a, b) => Number(b === currentTarget()) - Number(a === currentTarget()))) {
    const b = await buildTarget(t, { outDir, log, order })
    order ??= b.order
    results.push(b)
    console.log(b.ok ? `  ok    ${basename(b.file)}  ${mb(b.size!)}  (${b.via})` : `  FAIL  ${basename(b.file)}: ${b.error}`)
  }
  if (order) rmSync(order, { force: true })
  const ok = results.filter(r => r.ok)
  if (ok.length) writeFileSync(join(outDir, 'SHA256SUMS'), ok.map(r => `${r.sha256}  ${basename(r.file)}\n`).join(''))
  const failed = results.filter(r => !r.ok)
  console.log(`\n${ok.length}/${results.length} built${ok.length ? ` (checksums in ${join(outDir, 'SHA256SUMS')})` : ''}.`)
  if (failed.length) {
    console.error(`Not built: ${failed.map(f => `${f.target} (${f.error})`).join('; ')}`)
    console.error(`Build one target at a time with --target ${currentTarget() ?? 'linux-x64'}, or --current for this machine's.`)
    return 1
  }
  return 0
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)))
