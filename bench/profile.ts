#!/usr/bin/env bun
/**
 * Profile agproxy (from source) under one bench scenario: `bun --cpu-prof` while the load generator runs, then the
 * functions with the most self time.
 *
 *   bun bench/profile.ts [--scenario openai-chat|openai-chat-stream|anthropic-gemini|anthropic-gemini-stream]
 *                        [--duration S] [--connections N] [--entry src/index.ts] [--top N] [--log-level info]
 *                        [--config-extra 'access_log: false'] [--request-log on|off] [--redis on|off] [--vs-bare N]
 *
 * --entry runs another copy of the gateway (e.g. a patched copy of src/ to measure a fix); the profile is written to
 * bench/.tmp/prof/. Prints req/s so that before/after numbers come from the same tool. --log-level (default warn: no
 * access log) and --config-extra (YAML lines, \n-separated, appended) change the config it writes, e.g. to compare the
 * access log on (--log-level info) and off. --redis on starts a redis-server (Debian's) on a free loopback port and sets
 * redis_url (key states and counters shared), to compare with the same run --redis off. --vs-bare N also measures the
 * bare Bun proxy (bench/bare-proxy.ts) in N rounds interleaved with agproxy's and prints agproxy ÷ bare (the issue's ratio).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { startProc, startRedis } from './lib/procs'
import { pickTool } from './lib/tools'
import { SCENARIOS, TARGET_LABELS } from './scenarios'

const ROOT = resolve(import.meta.dir, '..')
const TMP = join(ROOT, 'bench', '.tmp')
const arg = (n: string, d: string) => {
  const i = process.argv.indexOf(n)
  return i > 0 ? process.argv[i + 1]! : d
}
const scenario = SCENARIOS.find(s => s.id === arg('--scenario', 'openai-chat'))
if (!scenario) {
  console.error(`unknown scenario; one of ${SCENARIOS.map(s => s.id).join(', ')}`)
  process.exit(2)
}
const duration = Number(arg('--duration', '5'))
const connections = Number(arg('--connections', '32'))
const entry = resolve(arg('--entry', join(ROOT, 'src', 'index.ts')))
const top = Number(arg('--top', '25'))
const noProfile = process.argv.includes('--no-profile')
const configExtra = arg('--config-extra', '').replace(/\\n/g, '\n')
const logLevel = arg('--log-level', 'warn')
/** the request log (SQLite in bench/.tmp/profile-data) on, as by default, or off; not given: the config says nothing of it
 *  (so an --entry from before the request log existed still reads the config) */
const requestLogArg = process.argv.includes('--request-log') ? arg('--request-log', 'on') : undefined
const requestLog = requestLogArg !== 'off'
const requestLogLines = requestLogArg === undefined ? '' : `data_dir: "${join(TMP, 'profile-data')}"\nrequest_log: ${requestLog}\n`
/** a redis-server of its own and redis_url set (several-instances mode), or none */
const withRedis = arg('--redis', 'off') === 'on'
/** --vs-bare N: N rounds of the bare Bun proxy interleaved with agproxy's, and the ratio of the medians */
const vsBare = process.argv.includes('--vs-bare') ? Number(arg('--vs-bare', '3')) || 3 : 0

const dir = join(TMP, 'prof')
rmSync(dir, { recursive: true, force: true })
mkdirSync(dir, { recursive: true })
const LISTEN_RE = /listening on http:\/\/[^\s]*:(\d+)/
const up = await startProc('upstream', [process.execPath, join(ROOT, 'bench', 'upstream.ts')], { ready: LISTEN_RE })
const redis = withRedis ? await startRedis() : undefined
const cfg = join(TMP, 'agproxy-profile.yaml')
await Bun.write(
  cfg,
  `log_level: ${logLevel}\nshutdown_grace: 1\n${requestLogLines}providers:\n  - { name: bench-openai, type: openai, base_url: "${up.url}/v1", api_key: sk-bench-upstream-0000, ` +
    `models: [gpt-bench, gpt-bench-paced] }\n  - { name: bench-gemini, type: gemini, base_url: "${up.url}", api_key: bench-gemini-key-000, models: ` +
    `[gemini-bench, gemini-bench-paced] }\n${redis ? `redis_url: ${redis.url}\n` : ''}${configExtra ? `${configExtra}\n` : ''}`,
)
const prof = noProfile ? [] : ['--cpu-prof', '--cpu-prof-md', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250']
const ag = await startProc('agproxy', [process.execPath, ...prof, entry, '--port', '0', '--config', cfg], { ready: LISTEN_RE, cwd: TMP })
const tool = await pickTool('auto', TMP, s => console.error(s))
const req = scenario.request({ id: 'src', label: TARGET_LABELS.src, url: ag.url }, '', up.url)!
await tool.throughput(req, connections, 1) // warm-up
const m = await tool.throughput(req, connections, duration)
const line = (what: string, r: typeof m) =>
  `${what}: ${Math.round(r.rps)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (${r.tool}, ${connections} connections, ` +
  `${duration} s)${r.errors + r.non2xx ? `, ${r.errors} errors, ${r.non2xx} non-2xx` : ''}`
console.log(line(`${scenario.id}${requestLog ? '' : ' (request log off)'}${redis ? ' (redis_url)' : ''}`, m))
if (vsBare) {
  // the floor (bench/bare-proxy.ts) on the same upstream, measured right after, rounds interleaved with agproxy's
  const bare = await startProc('bare', [process.execPath, join(ROOT, 'bench', 'bare-proxy.ts'), '--upstream', up.url], { ready: LISTEN_RE })
  const bareReq = scenario.request({ id: 'bare', label: TARGET_LABELS.bare, url: bare.url }, '', up.url)!
  await tool.throughput(bareReq, connections, 1)
  const ours = [m.rps]
  const floor: number[] = []
  for (let i = 0; i < vsBare; i++) {
    const b = await tool.throughput(bareReq, connections, duration)
    floor.push(b.rps)
    console.log(line('  bare Bun proxy', b))
    if (i < vsBare - 1) {
      const a = await tool.throughput(req, connections, duration)
      ours.push(a.rps)
      console.log(line('  agproxy', a))
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  console.log(`agproxy ÷ bare Bun proxy: ${(median(ours) / median(floor)).toFixed(2)}× (medians of ${ours.length} and ${floor.length} interleaved rounds)`)
  await bare.stop()
}
await ag.stop()
await up.stop()
await redis?.stop()
if (noProfile) process.exit(0)

const file = readdirSync(dir).find(f => f.endsWith('.cpuprofile'))
if (!file) {
  console.error(`no .cpuprofile in ${dir}`)
  process.exit(1)
}
const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[]
  samples: number[]
}
const byId = new Map(p.nodes.map(n => [n.id, n]))
const self = new Map<string, number>()
for (const s of p.samples) {
  const n = byId.get(s)!
  const cf = n.callFrame
  const key = `${cf.functionName || '(anonymous)'}  ${cf.url.replace(`${ROOT}/`, '').replace(/^.*node_modules\//, 'node_modules/')}:${cf.lineNumber + 1}`
  self.set(key, (self.get(key) ?? 0) + 1)
}
const total = p.samples.length
console.log(`\nself time, top ${top} of ${total} samples (${join('bench/.tmp/prof', file)}; the .md beside it has call trees):`)
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`)
// totals per file (self), to see which module costs what
const byFile = new Map<string, number>()
for (const [k, v] of self) {
  const f = k.split('  ')[1]!.replace(/:\d+$/, '') || '(native)'
  byFile.set(f, (byFile.get(f) ?? 0) + v)
}
console.log('\nself time per file:')
for (const [k, v] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`)
process.exit(0)
