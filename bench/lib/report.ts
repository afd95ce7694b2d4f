/** The Markdown report of one bench run. Every ratio pairs numbers from the same round of the same run. */
import type { Options } from '../run'
import type { Measure, ToolName } from './tools'
import type { PeerId, Scenario, TargetId } from '../scenarios'
import { PEERS, TARGET_LABELS } from '../scenarios'
import type { StreamsResult } from '../loadgen'

export interface Report {
  started: Date
  seconds: number
  options: Options
  machine: { cpu: string; cores: number; kernel: string; bun: string; node: string; tool: string; git: string }
  tool: ToolName
  binary: { file: string; size: number; how: string; buildMs: number; dist?: { file: string; size: number } }
  cold: { bin: number[]; src: number[] }
  streams: { label: string; id: TargetId; env?: Record<string, string>; res?: StreamsResult; idleRss?: number; peakRss?: number; error?: string }[]
  scenarios: {
    scenario: Scenario
    targets: TargetId[]
    skipped: Record<string, string>
    errors: Record<string, string>
    throughput: Record<string, (Measure & { rss: number })[]>
    latency: Record<string, Measure[]>
  }[]
  peers?: string
  /** pass-through req/s of agproxy (source) with the request log on and off, paired rounds (on[i] and off[i] back to back) */
  requestLog?: { on: number[]; off: number[] }
  /** pass-through req/s of agproxy (source) with redis_url set and not, paired rounds (`note`: why not measured) */
  redis?: { on: number[]; off: number[]; note?: string }
  /** one request at a time: per scenario, the median latency (ms) of each target */
  sequential?: { scenario: string; rounds: string; ms: Record<string, number> }[]
  /** how busy the machine was without the bench (other processes) */
  background: { busyBefore: number; busyAfter: number; loadBefore: string }
}

/** thresholds the issue sets */
/** The performance issue's goals (issue 15), and the observability and client-keys issues' on ÷ off pairs. */
export const GOALS = {
  requestLog: 0.95,
  redis: 0.95,
  /** ÷ the bare Bun proxy: pass-through (streaming too) and translated answers */
  passthrough: 0.8,
  translated: 0.8,
  /** a translated stream */
  translatedStream: 0.5,
  /** added p50 (TTFB for streams) vs the upstream directly at the fixed rate: at most the bare proxy's added + this */
  addedOverBareMs: 0.2,
  /** agproxy ÷ each peer, in the scenarios the peer takes part in */
  vsPeer: { portkey: 25, ccr: 1 } as Record<PeerId, number>,
  sequentialMs: 0.2,
  streamsRssMb: 200,
  coldStartMs: 40,
}

const f0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—')
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—')
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—')
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}` : '—')
const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—')
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`
const verdict = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? ' ✅ met' : ' ❌ missed')

export function renderReport(r: Report, h: { median: (xs: number[]) => number }): string {
  const { median } = h
  const o = r.options
  const lines: string[] = []
  const out = (s = '') => lines.push(s)

  /** per round ratio/difference of a target against a reference, then the median (rounds pair by index) */
  const paired = (a: number[] | undefined, b: number[] | undefined, op: (x: number, y: number) => number) => {
    if (!a?.length || !b?.length) return NaN
    const n = Math.min(a.length, b.length)
    return median(Array.from({ length: n }, (_, i) => op(a[i]!, b[i]!)))
  }

  type Row = {
    rps: number
    p50: number
    p99: number
    xBare: number
    xPeer: Record<PeerId, number>
    latP50: number
    latP99: number
    addedP50: number
    ttfb: number
    addedTtfb: number
    frames: number
    rss: number
    errors: number
  }
  const rowsOf = (s: Report['scenarios'][number]) => {
    const rows = new Map<TargetId, Row>()
    const rps = (id: string) => s.throughput[id]?.map(m => m.rps)
    const lp50 = (id: string) => s.latency[id]?.map(m => m.p50)
    const lttfb = (id: string) => s.latency[id]?.map(m => m.ttfbP50 ?? NaN)
    for (const id of s.targets) {
      const t = s.throughput[id] ?? []
      const l = s.latency[id] ?? []
      rows.set(id, {
        rps: median(t.map(m => m.rps)),
        p50: median(t.map(m => m.p50)),
        p99: median(t.map(m => m.p99)),
        xBare: id === 'bare' ? NaN : paired(rps(id), rps('bare'), (x, y) => x / y),
        xPeer: Object.fromEntries(PEERS.map(p => [p, id === p ? NaN : paired(rps(id), rps(p), (x, y) => x / y)])) as Record<PeerId, number>,
        latP50: median(l.map(m => m.p50)),
        latP99: median(l.map(m => m.p99)),
        addedP50: id === 'direct' ? NaN : paired(lp50(id), lp50('direct'), (x, y) => x - y),
        ttfb: median(l.map(m => m.ttfbP50 ?? NaN)),
        addedTtfb: id === 'direct' ? NaN : paired(lttfb(id), lttfb('direct'), (x, y) => x - y),
        frames: median(l.map(m => m.frames ?? NaN)),
        rss: Math.max(...t.map(m => m.rss), -Infinity),
        errors: [...t, ...l].reduce((n, m) => n + m.errors + m.non2xx, 0),
      })
    }
    return rows
  }
  const all = r.scenarios.map(s => ({ s, rows: rowsOf(s) }))

  out(`# agproxy benchmark — ${r.started.toISOString().slice(0, 16).replace('T', ' ')} UTC${o.quick ? ' (quick smoke run: numbers are rough)' : ''}`)
  out()
  out(`- Machine: ${r.machine.cpu}, ${r.machine.cores} cores, Linux ${r.machine.kernel}; Bun ${r.machine.bun}; Node ${r.machine.node}`)
  const bg = r.background
  const noisy =
    Math.max(bg.busyBefore, bg.busyAfter) > 10
      ? ' — **the machine was not quiet: absolute numbers are low and noisy; the same-round ratios are the numbers to compare**'
      : ''
  out(
    `- Other load on the machine: ${f0(bg.busyBefore)} % CPU busy just before the run, ${f0(bg.busyAfter)} % just after (load average before: ` +
      `${bg.loadBefore})${noisy}`,
  )
  out(`- agproxy: git ${r.machine.git}; binary built with ${r.binary.how}`)
  out(
    `- Load: throughput with ${r.machine.tool}, ${o.connections} connections, ${o.rounds} round(s) × ${o.durationS} s per target (after a ${o.warmupS} s ` +
      `warm-up); latency and TTFB with the built-in generator at a fixed ${o.rate} req/s (open loop, ${o.rounds} × ${o.latencyS} s); targets interleaved ` +
      `round-robin in every round; medians over rounds`,
  )
  out(
    `- Upstream: bench/upstream.ts (fixed answers, ${o.chunks} content chunks per stream; for latency runs one frame every ${o.pacedMs} ms after the ` +
      `first write)`,
  )
  if (r.peers) out(`- Peer: ${r.peers}`)
  out(`- Command: \`bun bench/run.ts ${process.argv.slice(2).join(' ')}\`; took ${f0(r.seconds)} s`)
  out()

  // ── targets
  out('## Targets')
  out()
  out('| target | scenario | goal | agproxy (source) | agproxy (binary) |')
  out('|---|---|---|---|---|')
  const cell = (v: number, fmt: (x: number) => string, ok: (x: number) => boolean) => (Number.isFinite(v) ? `${fmt(v)}${verdict(ok(v))}` : 'not measured')
  for (const { s, rows } of all) {
    const src = rows.get('src'),
      bin = rows.get('bin')
    const goal = s.scenario.kind === 'passthrough' ? GOALS.passthrough : s.scenario.stream ? GOALS.translatedStream : GOALS.translated
    out(
      `| throughput vs bare Bun proxy | ${s.scenario.title} | ≥ ${goal}× | ${cell(src?.xBare ?? NaN, ratio, x => x >= goal)} | ` +
        `${cell(bin?.xBare ?? NaN, ratio, x => x >= goal)} |`,
    )
  }
  // added latency (p50; TTFB for a stream) over the upstream directly, against the bare proxy's of the same rounds + 0.2 ms
  for (const { s, rows } of all) {
    const what = s.scenario.stream ? 'added TTFB (p50)' : 'added p50 latency'
    const added = (id: TargetId) => (s.scenario.stream ? rows.get(id)?.addedTtfb : rows.get(id)?.addedP50) ?? NaN
    const limit = added('bare') + GOALS.addedOverBareMs
    const ms = (x: number) => `${signed(x)} ms`
    out(
      `| ${what} vs upstream directly, at ${o.rate} req/s | ${s.scenario.title} | ≤ bare Bun proxy's ${Number.isFinite(limit) ? ms(added('bare')) : '(not measured)'} + ` +
        `${GOALS.addedOverBareMs} ms | ${cell(added('src'), ms, x => x <= limit)} | ${cell(added('bin'), ms, x => x <= limit)} |`,
    )
  }
  for (const peer of PEERS) {
    const goal = GOALS.vsPeer[peer]
    const name = TARGET_LABELS[peer]
    for (const { s, rows } of all) {
      if (!s.targets.includes(peer)) continue
      const src = rows.get('src'),
        bin = rows.get('bin')
      out(
        `| throughput vs ${name} | ${s.scenario.title} | ${goal > 1 ? `≥ ${goal}×` : 'ahead (> 1×)'} | ` +
          `${cell(src?.xPeer[peer] ?? NaN, ratio, x => x >= goal)} | ${cell(bin?.xPeer[peer] ?? NaN, ratio, x => x >= goal)} |`,
      )
    }
    if (!all.some(({ s }) => s.targets.includes(peer)))
      out(
        `| throughput vs ${name} | — | ${goal > 1 ? `≥ ${goal}×` : 'ahead'} | not measured (${o.peers ? `${name} did not run` : 'run with --peers'}) | not measured |`,
      )
  }
  for (const q of r.sequential ?? []) {
    const over = (id: TargetId) => (q.ms[id] ?? NaN) - (q.ms.direct ?? NaN)
    out(
      `| sequential overhead (one request at a time, median of ${q.rounds}, minus the upstream directly; bare Bun proxy ` +
        `${f2(over('bare'))} ms) | ${q.scenario} | ≤ ${GOALS.sequentialMs} ms | ${cell(
          over('src'),
          x => `${f2(x)} ms`,
          x => x <= GOALS.sequentialMs,
        )} | ` +
        `${cell(
          over('bin'),
          x => `${f2(x)} ms`,
          x => x <= GOALS.sequentialMs,
        )} |`,
    )
  }
  const streamCell = (id: TargetId) => {
    const row = r.streams.find(x => x.id === id && !x.env)
    if (!row?.res || row.peakRss === undefined) return row?.error ? `failed: ${row.error}` : 'not measured'
    const allOpen = row.res.maxOpen >= o.streams && row.res.completed >= o.streams
    const ok = allOpen && row.peakRss <= GOALS.streamsRssMb
    return `${f0(row.peakRss)} MB, ${row.res.maxOpen}/${o.streams} open at once${verdict(ok)}${!allOpen ? ' (not all streams were open together)' : ''}`
  }
  out(
    `| ${o.streams} open streams: peak RSS, all open at once | OpenAI chat streaming | ≤ ${GOALS.streamsRssMb} MB | ${streamCell('src')} | ` +
      `${streamCell('bin')} |`,
  )
  /** an on ÷ off pair of the same run: the median of its paired rounds' ratios (rounds i of on and off ran back to back) */
  const onOff = (what: string, goal: number, p: { on: number[]; off: number[]; note?: string } | undefined) => {
    if (!p?.on.length || p.on.length !== p.off.length)
      return out(`| pass-through throughput, ${what} | OpenAI chat | ≥ ${goal} | not measured${p?.note ? ` (${p.note})` : ''} | — |`)
    const ratios = p.on.map((on, i) => on / p.off[i]!).sort((a, b) => a - b)
    const q = (f: number) => ratios[Math.min(ratios.length - 1, Math.floor(f * ratios.length))]!
    const rr = median(ratios)
    out(
      `| pass-through throughput, ${what} (same run, median of ${ratios.length} paired 1-s rounds; quartiles ${ratio(q(0.25))}–${ratio(q(0.75))}) | OpenAI chat | ` +
        `≥ ${goal} | ${f0(median(p.on))} ÷ ${f0(median(p.off))} req/s; paired ${ratio(rr)}${verdict(rr >= goal)} | — |`,
    )
  }
  onOff('request log on ÷ off', GOALS.requestLog, r.requestLog)
  onOff('redis_url set ÷ not', GOALS.redis, r.redis)
  const coldBin = median(r.cold.bin),
    coldSrc = median(r.cold.src)
  out(
    `| cold start to first 200 on /healthz (median of ${r.cold.bin.length}) | — | ≤ ${GOALS.coldStartMs} ms (binary) | ${f1(coldSrc)} ms (reference) | ` +
      `${cell(
        coldBin,
        x => `${f1(x)} ms`,
        x => x <= GOALS.coldStartMs,
      )} |`,
  )
  out()

  // ── main table
  out('## Throughput and latency')
  out()
  out(
    `req/s, p50 and p99: closed loop, ${o.connections} connections (${r.tool}). “@ ${o.rate}/s”: open loop at ${o.rate} req/s; for streams the upstream ` +
      `paces its frames, so p50 there is the whole stream and TTFB is what matters. × columns and + columns pair each round with the reference's same round.`,
  )
  out()
  out(
    `| scenario | target | req/s | p50 ms | p99 ms | × bare Bun | ${PEERS.map(p => `× ${TARGET_LABELS[p]}`).join(' | ')} | p50 ms @ ${o.rate}/s | p99 ms @ ${o.rate}/s | + p50 vs direct | TTFB p50 ms ` +
      `| + TTFB vs direct | frames/answer | peak RSS MB | errors |`,
  )
  out(`|---|---|---|---|---|---|${PEERS.map(() => '---|').join('')}---|---|---|---|---|---|---|---|---|`)
  for (const { s, rows } of all) {
    for (const [id, x] of rows) {
      const st = s.scenario.stream
      out(
        `| ${s.scenario.title} | ${TARGET_LABELS[id]} | ${f0(x.rps)} | ${f2(x.p50)} | ${f2(x.p99)} | ${ratio(x.xBare)} | ${PEERS.map(p => ratio(x.xPeer[p])).join(' | ')} | ` +
          `${f2(x.latP50)} | ${f2(x.latP99)} | ${signed(x.addedP50)} | ${st ? f2(x.ttfb) : '—'} | ${st ? signed(x.addedTtfb) : '—'} | ` +
          `${st ? f1(x.frames) : '—'} | ${id === 'direct' ? '—' : f0(x.rss)} | ${x.errors} |`,
      )
    }
  }
  out()
  const left: string[] = []
  for (const { s } of all) {
    for (const [id, why] of Object.entries(s.skipped))
      if (!(PEERS as readonly string[]).includes(id) || o.peers) left.push(`${s.scenario.title} — ${TARGET_LABELS[id as TargetId]}: ${why}`)
    for (const [id, why] of Object.entries(s.errors)) left.push(`${s.scenario.title} — ${TARGET_LABELS[id as TargetId]} (error during a run): ${why}`)
  }
  if (left.length) {
    out('Left out or incomplete:')
    out()
    for (const l of left) out(`- ${l}`)
    out()
  }
  out('Scenarios:')
  out()
  for (const { s } of all) out(`- **${s.scenario.title}** — ${s.scenario.note}`)
  out()

  // ── sequential
  if (r.sequential?.length) {
    out('## Sequential overhead')
    out()
    out(
      `One request at a time (the method of an independent public gateway benchmark): per target ${r.sequential[0]?.rounds} (rounds × requests), the ` +
        'rounds interleaved across targets; the median latency of all of them, and the same minus the upstream directly.',
    )
    out()
    out('| scenario | target | median ms | overhead ms |')
    out('|---|---|---|---|')
    for (const q of r.sequential)
      for (const [id, v] of Object.entries(q.ms))
        out(`| ${q.scenario} | ${TARGET_LABELS[id as TargetId]} | ${f2(v)} | ${id === 'direct' ? '—' : f2(v - (q.ms.direct ?? NaN))} |`)
    out()
  }

  // ── streams
  out(`## ${o.streams} open streams`)
  out()
  out(
    `Every stream is opened at once (OpenAI chat, stream: true, pass-through); the upstream sends the first frame, then holds the stream ${o.holdMs} ms ` +
      `before finishing. Each proxy is started fresh for this test, so its VmHWM (peak RSS, /proc/<pid>/status) is this test's peak.`,
  )
  out()
  out('| target | open at once | completed | errors | TTFB p50 ms | TTFB p99 ms | all done after s | RSS idle MB | peak RSS MB |')
  out('|---|---|---|---|---|---|---|---|---|')
  for (const x of r.streams) {
    if (!x.res) {
      out(`| ${x.label} | failed: ${x.error ?? '?'} | | | | | | | |`)
      continue
    }
    out(
      `| ${x.label} | ${x.res.maxOpen} / ${x.res.count} | ${x.res.completed} | ${x.res.errors + x.res.non2xx} | ${f1(x.res.ttfb.p50)} | ` +
        `${f1(x.res.ttfb.p99)} | ${f1(x.res.durationMs / 1000)} | ${x.idleRss === undefined ? '—' : f0(x.idleRss)} | ` +
        `${x.peakRss === undefined ? '—' : f0(x.peakRss)} |`,
    )
  }
  out()
  const capped = r.streams.filter(x => x.res && !x.env && x.res.maxOpen < o.streams && x.id !== 'direct' && !(PEERS as readonly string[]).includes(x.id))
  if (capped.length) {
    out(
      `Bun's fetch() keeps at most 256 requests in flight per process unless the environment sets BUN_CONFIG_MAX_HTTP_REQUESTS before start (it cannot be ` +
        `raised from inside a running process); ${capped.map(x => x.label).join(', ')} held ${[...new Set(capped.map(x => x.res!.maxOpen))].join('/')} ` +
        `streams open and queued the rest. The row with the variable set shows the memory with all streams open.`,
    )
    out()
  }

  // ── binary
  out('## Binary and cold start')
  out()
  out(`| | size | cold start: median (min–max) to the first 200 on /healthz |`)
  out('|---|---|---|')
  const range = (xs: number[]) => (xs.length ? `${f1(median(xs))} ms (${f1(Math.min(...xs))}–${f1(Math.max(...xs))}), ${xs.length} runs` : 'did not start')
  out(`| ${r.binary.file} (this run's build) | ${mb(r.binary.size)} | ${range(r.cold.bin)} |`)
  out(`| bun src/index.ts | — | ${range(r.cold.src)} |`)
  if (r.binary.dist) out(`| ${r.binary.dist.file} (npm run build, not rebuilt here) | ${mb(r.binary.dist.size)} | — |`)
  out()
  return `${lines.join('\n')}\n`
}
