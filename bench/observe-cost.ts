#!/usr/bin/env bun
/**
 * What observing requests costs, in process (less noisy than a full load test on a shared machine): the same app
 * serves a pass-through call (whole, or streamed) from a fast fake upstream, in interleaved rounds with
 *   off     nobody subscribed to the Recorder (no trace is built: the cost of the code as it was before)
 *   metrics /metrics only (a trace per request, counted)
 *   on      /metrics and the access log (a line per request, to stderr: run with 2>/dev/null)
 * and prints the median CPU time per request of each (user + system of this process, which also runs the fake: the same
 * for all three; CPU time, unlike wall time, barely moves when other processes load the machine), and the difference.
 *
 *   bun bench/observe-cost.ts [--requests N] [--rounds N] [--concurrency N] 2>/dev/null
 */
import { createApp } from '../src/app'
import { buildConfig } from '../src/config/load'
import { createLogger } from '../src/log'
import { startFake } from '../test/fakes/upstream'

const arg = (n: string, d: number) => {
  const i = process.argv.indexOf(n)
  return i > 0 ? Number(process.argv[i + 1]) : d
}
const requests = arg('--requests', 4000)
const rounds = arg('--rounds', 5)
const concurrency = arg('--concurrency', 16)

const fake = await startFake('openai', { fast: true })
const config = buildConfig({ port: 0, providers: [{ name: 'oa', type: 'openai', base_url: fake.url, api_key: 'sk-bench-upstream-key-0000000001' }] })
const app = createApp(config, { log: createLogger('info'), env: {} })
// the app's own subscribers (metrics first, then the access log), to switch between the three set-ups
const observers = (app.state.recorder as unknown as { observers: unknown[] }).observers
const all = [...observers]
const SETUPS = { off: [], metrics: all.slice(0, 1), on: all } as const

const body = (stream: boolean) => JSON.stringify({ model: 'oa/gpt-4o', stream, messages: [{ role: 'user', content: 'hi' }] })
const one = async (payload: string) => {
  const r = await app.fetch(
    new Request('http://127.0.0.1:8045/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', host: '127.0.0.1:8045' },
      body: payload,
    }),
  )
  await r.arrayBuffer()
}
/** CPU µs per request over `requests` calls, `concurrency` at a time */
async function run(payload: string): Promise<number> {
  let left = requests
  const t0 = process.cpuUsage()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await one(payload)
    }),
  )
  const used = process.cpuUsage(t0)
  return (used.user + used.system) / requests
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
for (const stream of [false, true]) {
  const payload = body(stream)
  await run(payload) // warm-up
  const times: Record<string, number[]> = { off: [], metrics: [], on: [] }
  for (let i = 0; i < rounds; i++)
    for (const [name, subs] of Object.entries(SETUPS)) {
      observers.splice(0, observers.length, ...subs)
      times[name]?.push(await run(payload))
    }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<string, number>
  const pct = (x: number) => `${x >= m.off! ? '+' : ''}${(((x - m.off!) / m.off!) * 100).toFixed(1)} %`
  console.log(
    `${stream ? 'stream' : 'whole '}: off ${m.off!.toFixed(1)} CPU µs/req, metrics ${m.metrics!.toFixed(1)} (${pct(m.metrics!)}), ` +
      `metrics + access log ${m.on!.toFixed(1)} (${pct(m.on!)})  [medians of ${rounds} interleaved rounds × ${requests} requests, ${concurrency} at a time; ` +
      `rounds: ${Object.entries(times)
        .map(([k, v]) => `${k} ${v.map(x => x.toFixed(0)).join('/')}`)
        .join(', ')}]`,
  )
}
await fake.stop()
process.exit(0)
