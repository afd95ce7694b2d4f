/**
 * What observing a request costs on its path stays small: /metrics counts a request of a kind it has seen before with
 * one lookup (not one per metric family and label set), and what it renders is unchanged by that; a trace merges the
 * usage a stream reports into its own object (no spread per report).
 */
import { describe, expect, test } from 'bun:test'
import { Metrics } from '../src/observe/metrics'
import { Recorder, type RequestRecord } from '../src/observe/record'
import { Trace } from '../src/observe/trace'
import { record } from './support/records'

/** Map lookups made while `f` runs */
function lookups(f: () => void): number {
  const get = Map.prototype.get
  let n = 0
  Map.prototype.get = function (this: Map<unknown, unknown>, k: unknown) {
    n++
    return get.call(this, k)
  }
  try {
    f()
  } finally {
    Map.prototype.get = get
  }
  return n
}

const gauges = { version: 't', keys: [], openStreams: 0, droppedLogRows: 0 }
/** the series lines of a rendering (the start time differs between two Metrics) */
const series = (text: string) => text.split('\n').filter(l => l && !l.startsWith('#') && !l.startsWith('agproxy_start_time_seconds'))

describe('metrics per request', () => {
  test('a request of a kind seen before is counted with one lookup', () => {
    const m = new Metrics()
    // (a client key's counters are looked up by key: one more lookup per counter when a client key is known)
    const rec = record({ clientKey: undefined, usage: { inputTokens: 5, outputTokens: 7, cachedInputTokens: 2, reasoningTokens: 1 } })
    m.observe(rec)
    // duration, time to first byte, requests, 4 token kinds and the attempt: one series found for all
    expect(lookups(() => m.observe({ ...rec, latencyMs: 31 }))).toBe(1)
  })

  test('the series are as each request counted apart', () => {
    const m = new Metrics()
    const recs = [
      record(),
      record({ status: 502, errorKind: 'upstream', attempts: [{ provider: 'oai', model: 'gpt-4o-mini', key: 'main', status: 502, error: 'upstream', ms: 3 }] }),
      record({ stream: true, end: 'client_gone', status: 499, clientKey: undefined }),
      record({
        retries: 1,
        failovers: 1,
        provider: 'ant',
        routedModel: 'claude-x',
        attempts: [
          { provider: 'oai', model: 'gpt-4o-mini', key: 'main', status: 0, error: 'unavailable', ms: 1 },
          { provider: 'ant', model: 'claude-x', key: 'k', status: 200, ms: 9 },
        ],
      }),
      record(),
    ]
    for (const r of recs) m.observe(r)
    const text = m.render(gauges)
    expect(text).toContain('agproxy_requests_total{dialect="openai",endpoint="openai.chat",provider="oai",model="gpt-4o-mini",status_class="2xx"} 2')
    expect(text).toContain('agproxy_upstream_attempts_total{provider="oai",status_class="2xx"} 3')
    expect(text).toContain('agproxy_upstream_attempts_total{provider="oai",status_class="5xx"} 1')
    expect(text).toContain('agproxy_upstream_attempts_total{provider="oai",status_class="none"} 1')
    expect(text).toContain('agproxy_upstream_attempts_total{provider="ant",status_class="2xx"} 1')
    expect(text).toContain('agproxy_tokens_total{provider="oai",model="gpt-4o-mini",kind="input"} 4000')
    expect(text).toContain('agproxy_tokens_total{provider="ant",model="claude-x",kind="output"} 100')
    expect(text).toContain('agproxy_request_duration_seconds_count{dialect="openai",endpoint="openai.chat",stream="false"} 4')
    expect(text).toContain('agproxy_time_to_first_byte_seconds_count{dialect="openai",endpoint="openai.chat"} 3')
    expect(text).toContain('agproxy_client_requests_total{client_key="alice",status_class="2xx"} 3')
    // observing again the same requests in another order gives the same series
    const again = new Metrics()
    for (const r of [...recs].reverse()) again.observe(r)
    expect(series(again.render(gauges)).sort()).toEqual(series(text).sort())
  })
})

describe('a trace', () => {
  test('merges usage reports (later fields win); a report after the record left does not change it', () => {
    const recorder = new Recorder()
    const got: RequestRecord[] = []
    recorder.subscribe(r => got.push(r))
    const t = new Trace(recorder, '127.0.0.1', 'POST', '/v1/messages')
    t.addUsage({ inputTokens: 12, cachedInputTokens: 3 })
    t.addUsage({ outputTokens: 1 })
    t.addUsage({ outputTokens: 40, reasoningTokens: 5 })
    t.addUsage(undefined)
    t.answer(200)
    expect(got[0]?.usage).toEqual({ inputTokens: 12, outputTokens: 40, cachedInputTokens: 3, reasoningTokens: 5 })
    t.addUsage({ outputTokens: 99 })
    expect(got[0]?.usage?.outputTokens).toBe(40)
    expect(t.usage?.outputTokens).toBe(99)
  })
})
