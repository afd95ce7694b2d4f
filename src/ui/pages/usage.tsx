/** Usage: tokens and cost per day by model, provider or client key, as a chart and a table, with a CSV export. */
import { useMemo, useState } from 'preact/hooks'
import { api, type UsageRow } from '../api'
import { Chart } from '../chart'
import { Card, Empty, ErrorBox, usePoll } from '../components'
import { compact, num, usd } from '../format'

type Group = 'model' | 'provider' | 'key'
const GROUP_FIELD: Record<Group, keyof UsageRow> = { model: 'model', provider: 'provider', key: 'clientKey' }
const COLORS = ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6']
const DAY = 86_400_000

/** Rows as CSV (RFC 4180 quoting). */
function toCsv(rows: UsageRow[], group: Group): string {
  const head = ['day', group, 'requests', 'errors', 'input_tokens', 'output_tokens', 'cached_tokens', 'reasoning_tokens', 'cost_usd']
  const q = (v: unknown) => (v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v))
  const lines = rows.map(r =>
    [r.day, r[GROUP_FIELD[group]], r.requests, r.errors, r.inputTokens, r.outputTokens, r.cachedTokens, r.reasoningTokens, r.costUsd].map(q).join(','),
  )
  return [head.join(','), ...lines].join('\n')
}

function download(name: string, text: string) {
  const a = document.createElement('a')
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }))
  a.download = name
  a.click()
  setTimeout(() => URL.revokeObjectURL(a.href), 1000)
}

export function UsagePage() {
  const [group, setGroup] = useState<Group>('model')
  const [days, setDays] = useState(14)
  const { data, error } = usePoll(() => api<{ rows: UsageRow[] }>(`/admin/usage?by=day,${group}&since=${days}d`), 10_000, [group, days])
  const rows = data?.rows ?? []
  const label = (r: UsageRow) => String(r[GROUP_FIELD[group]] ?? '(none)') || '(none)'

  const chart = useMemo(() => {
    const today = Math.floor(Date.now() / DAY)
    const dayList = Array.from({ length: days }, (_, i) => new Date((today - days + 1 + i) * DAY).toISOString().slice(0, 10))
    const totals = new Map<string, number>()
    for (const r of rows) totals.set(label(r), (totals.get(label(r)) ?? 0) + r.inputTokens + r.outputTokens)
    const top = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k)
    const names = top.length > COLORS.length ? [...top.slice(0, COLORS.length - 1), 'other'] : top
    const series = names.map((name, i) => ({
      label: name,
      color: COLORS[i] ?? '--c6',
      bars: true,
      values: dayList.map(d =>
        rows
          .filter(r => r.day === d && (name === 'other' ? !names.includes(label(r)) : label(r) === name))
          .reduce((a, r) => a + r.inputTokens + r.outputTokens, 0),
      ),
    }))
    return { x: dayList.map(d => Date.parse(d) / 1000), series }
  }, [data])

  const sums = rows.reduce(
    (a, r) => ({ tokens: a.tokens + r.inputTokens + r.outputTokens, cost: a.cost + (r.costUsd ?? 0), requests: a.requests + r.requests }),
    { tokens: 0, cost: 0, requests: 0 },
  )
  return (
    <div class="stack">
      <ErrorBox error={error} />
      <div class="range">
        <div class="segmented" role="tablist">
          {(['model', 'provider', 'key'] as const).map(g => (
            <button key={g} type="button" role="tab" aria-selected={group === g} class={group === g ? 'on' : ''} onClick={() => setGroup(g)}>
              By {g === 'key' ? 'client key' : g}
            </button>
          ))}
        </div>
        <select name="days" value={days} onChange={e => setDays(Number(e.currentTarget.value))}>
          <option value="7">Last 7 days</option>
          <option value="14">Last 14 days</option>
          <option value="30">Last 30 days</option>
          <option value="90">Last 90 days</option>
        </select>
        <div class="spacer" />
        <button type="button" class="btn" disabled={!rows.length} onClick={() => download(`agproxy-usage-by-${group}.csv`, toCsv(rows, group))}>
          Export CSV
        </button>
      </div>
      <div class="grid stats">
        <div class="stat">
          <div class="stat-label">Requests</div>
          <div class="stat-value">{num(sums.requests)}</div>
        </div>
        <div class="stat">
          <div class="stat-label">Tokens</div>
          <div class="stat-value" data-testid="usage-tokens">
            {num(sums.tokens)}
          </div>
        </div>
        <div class="stat">
          <div class="stat-label">Cost</div>
          <div class="stat-value">{usd(sums.cost)}</div>
        </div>
      </div>
      <Card title={`Tokens per day by ${group === 'key' ? 'client key' : group}`}>
        {rows.length ? <Chart x={chart.x} series={chart.series} yFormat={compact} testid="chart-usage" /> : <Empty>No usage in this period yet.</Empty>}
      </Card>
      <Card title="Table">
        {rows.length ? (
          <div class="table-wrap">
            <table class="table" data-testid="usage-table">
              <thead>
                <tr>
                  <th>Day</th>
                  <th>{group === 'key' ? 'Client key' : group === 'model' ? 'Model' : 'Provider'}</th>
                  <th class="num">Requests</th>
                  <th class="num hide-sm">Errors</th>
                  <th class="num">Input</th>
                  <th class="num">Output</th>
                  <th class="num">Cost</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(r => (
                  <tr key={`${r.day}-${label(r)}`}>
                    <td class="mono">{r.day}</td>
                    <td>{label(r)}</td>
                    <td class="num">{num(r.requests)}</td>
                    <td class="num hide-sm">{num(r.errors)}</td>
                    <td class="num">{num(r.inputTokens)}</td>
                    <td class="num">{num(r.outputTokens)}</td>
                    <td class="num">
                      {usd(r.costUsd)}
                      {r.unpriced ? (
                        <span class="muted" title="requests without a known price">
                          {' '}
                          +{r.unpriced}?
                        </span>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <Empty>No usage in this period. Usage comes from the request log (request_log: true).</Empty>
        )}
      </Card>
    </div>
  )
}
