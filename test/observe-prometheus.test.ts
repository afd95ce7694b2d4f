/**
 * /metrics as Prometheus itself reads it: a scrape passes `promtool check metrics`, and a real Prometheus server
 * (Debian's `prometheus` package, installed by scripts/test.sh; its own service is never used: this test starts one
 * on a free loopback port with a temporary config and storage, and stops it) scrapes agproxy with the client key and
 * answers PromQL queries over its HTTP API with the series and values agproxy served.
 * Without the binaries the tests are skipped with a warning, except under CI=true, where they fail.
 */
import { describe, test, expect, beforeAll, afterAll } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAgproxy, type TestServer } from './support/agproxy'
import { startFake, type Fake } from './fakes/upstream'
import { provider, call } from './support/resilience'
import { buildConfig } from '../src/config/load'

const PROMETHEUS = Bun.which('prometheus')
const PROMTOOL = Bun.which('promtool')
const CI = process.env.CI === 'true'
const MISSING = 'install Debian\'s "prometheus" package (scripts/test.sh does: apt-get install prometheus)'
if (!PROMETHEUS || !PROMTOOL) {
  if (CI) test('prometheus and promtool are installed (CI=true)', () => expect(`prometheus ${PROMETHEUS}, promtool ${PROMTOOL}`).toBe(MISSING))
  else console.warn(`\n!!! observe-prometheus.test: prometheus/promtool missing, so the scrape tests are SKIPPED: ${MISSING} !!!\n`)
}

const KEY = 'sk-agproxy-prometheus-test-0000000000001'

let fake: Fake, srv: TestServer
beforeAll(async () => {
  fake = await startFake('openai')
  fake.setDefault({ kind: 'text', text: 'scraped', usage: { input: 5, output: 3 } })
  srv = await startAgproxy({ auth_mode: 'all_except_health', api_keys: [KEY], providers: [provider('oa', fake, ['sk-prom-upstream-key-000000000001'])] })
  for (const stream of [false, true, false]) await (await call(srv, 'openai', 'oa/gpt-4o', { stream, headers: { authorization: `Bearer ${KEY}` } })).text()
})
afterAll(async () => {
  await srv.stop(0)
  await fake.stop()
})

const scrape = async () => (await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text()

test.skipIf(!PROMTOOL)('promtool check metrics accepts a scrape', async () => {
  const proc = Bun.spawn([PROMTOOL ?? 'promtool', 'check', 'metrics'], { stdin: new TextEncoder().encode(await scrape()), stdout: 'pipe', stderr: 'pipe' })
  const [out, errOut, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  expect({ code, out: out + errOut }).toEqual({ code: 0, out: '' })
})

describe.skipIf(!PROMETHEUS)('a real Prometheus server scrapes agproxy', () => {
  let dir: string
  let prom: ReturnType<typeof Bun.spawn> | undefined
  let api: string
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agproxy-prometheus-'))
    const port = freePort()
    api = `http://127.0.0.1:${port}`
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        '  - job_name: agproxy',
        `    authorization: { credentials: ${KEY} }`,
        `    static_configs: [{ targets: ['127.0.0.1:${srv.port}'] }]`,
        '',
      ].join('\n'),
    )
    prom = Bun.spawn(
      [
        PROMETHEUS ?? 'prometheus',
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdout: 'ignore', stderr: 'pipe', cwd: dir },
    )
  })
  afterAll(async () => {
    prom?.kill()
    await prom?.exited
    rmSync(dir, { recursive: true, force: true })
  })

  /** a PromQL instant query, retried until it has a result (the first scrape takes a second or two) */
  async function query(q: string, until = Date.now() + 20_000): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    let last = ''
    while (Date.now() < until) {
      try {
        const r = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`)
        const j = (await r.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }
        if (j.status === 'success' && j.data.result.length) return j.data.result
        last = JSON.stringify(j)
      } catch (e) {
        last = String(e)
      }
      await Bun.sleep(250)
    }
    throw new Error(
      `no result for ${q} (last answer: ${last}; prometheus stderr: ${prom?.stderr ? (await new Response(prom.stderr as ReadableStream).text()).slice(-2000) : ''})`,
    )
  }

  test('the scrape target is up, and PromQL answers with the series and values agproxy served', async () => {
    const up = await query('up{job="agproxy"} == 1')
    expect(up[0]?.metric.instance).toBe(`127.0.0.1:${srv.port}`)
    const requests = await query('sum by (provider, model) (agproxy_requests_total{endpoint="openai.chat",status_class="2xx"})')
    expect(requests).toHaveLength(1)
    expect(requests[0]?.metric).toEqual({ provider: 'oa', model: 'gpt-4o' })
    expect(requests[0]?.value[1]).toBe('3')
    // two whole answers of 5 input tokens each; the stream did not ask stream_options.include_usage, so OpenAI reports none
    const tokens = await query('agproxy_tokens_total{provider="oa",kind="input"}')
    expect(tokens[0]?.value[1]).toBe('10')
    const keys = await query('agproxy_provider_keys{provider="oa",state="active"}')
    expect(keys[0]?.value[1]).toBe('1')
    const p = await query(
      'histogram_quantile(0.5, sum by (le) (rate(agproxy_request_duration_seconds_bucket{endpoint="openai.chat"}[1m])))',
      Date.now() + 5000,
    ).catch(() => [])
    // a rate needs two scrapes: only checked to be a number when Prometheus already has them
    for (const r of p) expect(Number.isNaN(Number(r.value[1])) || Number(r.value[1]) >= 0).toBe(true)
    const build = await query('agproxy_build_info')
    expect(build[0]?.metric.version).toMatch(/^\d+\.\d+\.\d+/)
  }, 60_000)
})

/** A loopback port nobody listens on now. */
function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port as number
  s.stop(true)
  return port
}

test('a reload keeps the counters: a series counts the requests served before it too (Prometheus sees no reset)', async () => {
  const settings = { auth_mode: 'all_except_health', api_keys: [KEY], providers: [provider('oa', fake, ['sk-prom-upstream-key-000000000001'])] }
  const s = await startAgproxy(settings)
  const served = async () => {
    const text = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text()
    let n = 0
    for (const line of text.split('\n')) if (line.startsWith('agproxy_requests_total{') && line.includes('provider="oa"')) n += Number(line.split(' ').at(-1))
    return n
  }
  try {
    await (await call(s, 'openai', 'oa/gpt-4o', { headers: { authorization: `Bearer ${KEY}` } })).text()
    expect(await served()).toBe(1)
    s.reload(buildConfig({ port: 0, data_dir: s.agproxy.config.data_dir, ...settings }, {}, {}, 'test-config'))
    await (await call(s, 'openai', 'oa/gpt-4o', { headers: { authorization: `Bearer ${KEY}` } })).text()
    expect(await served()).toBe(2)
  } finally {
    await s.stop(0)
  }
})
