/** Overview: addresses, auth mode, version and uptime, health; requests, errors, latency and tokens over the last hour or day. */
import { useMemo, useState } from 'preact/hooks'
import { api, type Overview as O } from '../api'
import { Chart } from '../chart'
import { Card, ErrorBox, Pill, Stat, usePoll } from '../components'
import { compact, duration, ms, num } from '../format'

const AUTH: Record<string, string> = { strict: 'On', all_except_health: 'On', off: 'Off' }

export function Overview() {
  const { data, error } = usePoll(() => api<O>('/admin/overview'), 5000)
  const [range, setRange] = useState<'hour' | 'day'>('hour')
  const points = data?.[range] ?? []
  const x = useMemo(() => points.map(p => p.t / 1000), [data, range])
  const traffic = useMemo(
    () => [
      { label: 'Requests', color: '--c1', values: points.map(p => p.requests), bars: true },
      { label: 'Errors', color: '--bad', values: points.map(p => p.errors), bars: true },
    ],
    [data, range],
  )
  const latency = useMemo(
    () => [
      { label: 'p50', color: '--c2', values: points.map(p => p.p50Ms) },
      { label: 'p95', color: '--c3', values: points.map(p => p.p95Ms) },
    ],
    [data, range],
  )
  const tokens = useMemo(
    () => [
      { label: 'Input tokens', color: '--c1', values: points.map(p => p.inputTokens) },
      { label: 'Output tokens', color: '--c4', values: points.map(p => p.outputTokens) },
    ],
    [data, range],
  )
  if (!data) return error ? <ErrorBox error={error} /> : <div class="loading">Loading…</div>
  const sum = (f: (p: (typeof points)[number]) => number) => points.reduce((a, p) => a + f(p), 0)
  const requests = sum(p => p.requests)
  const errors = sum(p => p.errors)
  const p95 = Math.max(0, ...points.map(p => p.p95Ms ?? 0))
  return (
    <div class="stack">
      <ErrorBox error={error} />
      <div class="grid stats">
        <Stat
          label="Health"
          testid="health"
          tone={data.status === 'ok' ? 'ok' : 'warn'}
          value={<Pill tone={data.status === 'ok' ? 'ok' : 'warn'}>{data.status === 'ok' ? 'Healthy' : 'Degraded'}</Pill>}
          hint={data.reasons.length ? data.reasons.join('; ') : `${data.providers} provider${data.providers === 1 ? '' : 's'}`}
        />
        <Stat label="Version" value={data.version} hint={`up ${duration(data.uptimeSeconds)}`} />
        <Stat
          label="Auth"
          value={AUTH[data.authMode] ?? data.authMode}
          hint={`auth_mode ${data.authMode}${data.requestLog ? ' · request log on' : ' · request log off'}`}
        />
        <Stat label="Open streams" testid="open-streams" value={num(data.openStreams)} hint="answers streaming now" />
      </div>
      <Card title="Listen addresses">
        <ul class="addresses">
          <li>
            <Pill tone="neutral">this machine</Pill> <code>{data.addresses.local}</code>
          </li>
          {data.addresses.lan.map(a => (
            <li key={a}>
              <Pill tone="neutral">LAN</Pill> <code>{a}</code>
            </li>
          ))}
          {!data.addresses.lan.length && <li class="muted">Not reachable from the network (bound to one address; allow_lan_access turns LAN access on).</li>}
        </ul>
      </Card>
      <div class="range">
        <div class="segmented" role="tablist">
          {(['hour', 'day'] as const).map(r => (
            <button key={r} type="button" role="tab" aria-selected={range === r} class={range === r ? 'on' : ''} onClick={() => setRange(r)}>
              Last {r}
            </button>
          ))}
        </div>
        <span class="muted">this process, {range === 'hour' ? 'per minute' : 'per hour'}</span>
      </div>
      <div class="grid stats">
        <Stat label="Requests" testid="requests-total" value={num(requests)} />
        <Stat label="Errors" value={num(errors)} tone={errors ? 'warn' : ''} hint={requests ? `${((errors / requests) * 100).toFixed(1)} %` : '–'} />
        <Stat label="p95 latency" value={ms(p95 || null)} hint={`worst ${range === 'hour' ? 'minute' : 'hour'}`} />
        <Stat label="Tokens" testid="tokens-total" value={compact(sum(p => p.inputTokens + p.outputTokens))} hint="input + output" />
      </div>
      <div class="grid two">
        <Card title="Requests and errors">
          <Chart x={x} series={traffic} testid="chart-traffic" />
        </Card>
        <Card title="Latency p50 / p95">
          <Chart x={x} series={latency} yFormat={v => ms(v)} testid="chart-latency" />
        </Card>
      </div>
      <Card title="Tokens">
        <Chart x={x} series={tokens} yFormat={compact} testid="chart-tokens" />
      </Card>
    </div>
  )
}
