/** Requests: the live tail (the admin event feed) over the latest logged requests, filters, and one request's detail. */
import { useEffect, useMemo, useState } from 'preact/hooks'
import { api, ApiError, tail, type RequestRow } from '../api'
import { Card, Empty, ErrorBox, Pill } from '../components'
import { dateTime, ms, num, statusClass, time, usd } from '../format'

const KEEP = 300

interface Filters {
  status: string
  model: string
  provider: string
  key: string
  dialect: string
}

/** Whether a row passes the filters (status: 429 or a class such as 5xx; the others: a substring). */
function passes(r: RequestRow, f: Filters): boolean {
  const has = (v: string | undefined, want: string) => !want || (v ?? '').toLowerCase().includes(want.toLowerCase())
  const cls = /^([1-5])xx$/i.exec(f.status.trim())
  const statusOk = !f.status.trim() || (cls ? Math.floor(r.status / 100) === Number(cls[1]) : String(r.status) === f.status.trim())
  return (
    statusOk &&
    (has(r.model, f.model) || has(r.routedModel, f.model)) &&
    has(r.provider, f.provider) &&
    has(r.clientKey, f.key) &&
    (!f.dialect || r.dialect === f.dialect)
  )
}

const tokens = (r: RequestRow) => (r.usage ? r.usage.inputTokens + r.usage.outputTokens : undefined)

export function Requests() {
  const [rows, setRows] = useState<RequestRow[]>([])
  const [live, setLive] = useState<'connecting' | 'live' | 'reconnecting'>('connecting')
  const [paused, setPaused] = useState(false)
  const [error, setError] = useState<string>()
  const [selected, setSelected] = useState<string>()
  const [f, setF] = useState<Filters>({ status: '', model: '', provider: '', key: '', dialect: '' })

  useEffect(() => {
    const ctl = new AbortController()
    const seen = new Set<string>()
    const add = (list: RequestRow[]) =>
      setRows(prev => {
        const fresh = list.filter(r => !seen.has(r.id))
        for (const r of fresh) seen.add(r.id)
        return [...fresh, ...prev].sort((a, b) => b.time - a.time).slice(0, KEEP)
      })
    void tail(r => add([r]), setLive, ctl.signal)
    api<{ requests: RequestRow[] }>('/admin/requests?limit=100')
      .then(r => add(r.requests))
      .catch(e => {
        // without a request log the tail alone fills the table
        if (!(e instanceof ApiError && e.status === 404)) setError((e as Error).message)
      })
    return () => ctl.abort()
  }, [])

  const [frozen, setFrozen] = useState<RequestRow[]>([])
  useEffect(() => {
    if (!paused) setFrozen(rows)
  }, [rows, paused])
  const shown = useMemo(() => frozen.filter(r => passes(r, f)), [frozen, f])
  const field = (k: keyof Filters, label: string, placeholder: string) => (
    <label class="filter">
      {label}
      <input name={`filter-${k}`} value={f[k]} placeholder={placeholder} onInput={e => setF({ ...f, [k]: e.currentTarget.value })} />
    </label>
  )
  return (
    <div class={`requests ${selected ? 'with-detail' : ''}`}>
      <div class="stack">
        <ErrorBox error={error} />
        <Card
          title="Live tail"
          actions={
            <>
              <span class={`live-dot ${live}`} data-testid="live-state">
                {live === 'live' ? (paused ? 'Paused' : 'Live') : live === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
              </span>
              <button type="button" class="btn small" onClick={() => setPaused(!paused)}>
                {paused ? 'Resume' : 'Pause'}
              </button>
            </>
          }
        >
          <div class="filters">
            {field('status', 'Status', '429 or 5xx')}
            {field('model', 'Model', 'any')}
            {field('provider', 'Provider', 'any')}
            {field('key', 'Client key', 'any')}
            <label class="filter">
              Dialect
              <select name="filter-dialect" value={f.dialect} onChange={e => setF({ ...f, dialect: e.currentTarget.value })}>
                <option value="">any</option>
                <option value="openai">OpenAI</option>
                <option value="anthropic">Anthropic</option>
                <option value="gemini">Gemini</option>
              </select>
            </label>
          </div>
          {shown.length ? (
            <div class="table-wrap">
              <table class="table" data-testid="tail">
                <thead>
                  <tr>
                    <th>Time</th>
                    <th>Status</th>
                    <th>Request</th>
                    <th>Model → routed</th>
                    <th>Provider</th>
                    <th class="hide-sm">Client key</th>
                    <th class="num">Latency</th>
                    <th class="num hide-sm">Tokens</th>
                    <th class="num hide-sm">Cost</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map(r => (
                    <tr key={r.id} data-id={r.id} class={`clickable ${selected === r.id ? 'selected' : ''}`} onClick={() => setSelected(r.id)}>
                      <td class="mono">{time(r.time)}</td>
                      <td>
                        <Pill tone={statusClass(r.status)}>{r.status}</Pill>
                      </td>
                      <td class="path">
                        <span class="dialect">{r.dialect}</span>
                        {r.method} {r.resolved ?? r.path}
                        {r.stream && <span class="tag">stream</span>}
                      </td>
                      <td class="route">
                        {r.model ?? '–'}
                        {r.routedModel && r.routedModel !== r.model && <span class="muted"> → {r.routedModel}</span>}
                      </td>
                      <td>{r.provider ?? '–'}</td>
                      <td class="hide-sm">{r.clientKey ?? '–'}</td>
                      <td class="num">{ms(r.latencyMs)}</td>
                      <td class="num hide-sm">{num(tokens(r))}</td>
                      <td class="num hide-sm">{usd(r.costUsd)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <Empty>No requests yet{Object.values(f).some(Boolean) ? ' match these filters' : ''}. Calls appear here as they finish.</Empty>
          )}
        </Card>
      </div>
      {selected && <Detail id={selected} fallback={rows.find(r => r.id === selected)} onClose={() => setSelected(undefined)} />}
    </div>
  )
}

/** One request: the logged row (with attempts and bodies) or, without a request log, what the feed said. */
function Detail(p: { id: string; fallback?: RequestRow; onClose: () => void }) {
  const [r, setR] = useState<RequestRow | undefined>(p.fallback)
  const [error, setError] = useState<string>()
  useEffect(() => {
    setR(p.fallback)
    setError(undefined)
    let tries = 0
    const load = () =>
      api<RequestRow>(`/admin/requests/${encodeURIComponent(p.id)}`)
        .then(setR)
        .catch(e => {
          // the log is written in batches: a row just seen on the feed may take a moment
          if (e instanceof ApiError && e.status === 404 && tries++ < 3) setTimeout(load, 700)
          else if (!(e instanceof ApiError && e.status === 404)) setError((e as Error).message)
        })
    load()
  }, [p.id])
  return (
    <aside class="detail card" data-testid="request-detail">
      <header class="card-head">
        <h2>Request</h2>
        <button type="button" class="btn small" onClick={p.onClose}>
          Close
        </button>
      </header>
      <ErrorBox error={error} />
      {!r ? (
        <div class="loading">Loading…</div>
      ) : (
        <div class="stack">
          <dl class="kv">
            <dt>ID</dt>
            <dd class="mono">{r.id}</dd>
            <dt>Time</dt>
            <dd>{dateTime(r.time)}</dd>
            <dt>Status</dt>
            <dd>
              <Pill tone={statusClass(r.status)}>{r.status}</Pill> {r.errorKind && <span class="muted">{r.errorKind}</span>}
            </dd>
            <dt>Path</dt>
            <dd class="mono">
              {r.method} {r.path}
              {r.resolved && <> → {r.resolved}</>}
            </dd>
            <dt>Dialect</dt>
            <dd>
              {r.dialect}
              {r.endpoint && <span class="muted"> ({r.endpoint})</span>}
              {r.stream && <span class="tag">stream{r.end ? `: ${r.end}` : ''}</span>}
            </dd>
            <dt>Model</dt>
            <dd>
              {r.model ?? '–'} → {r.provider ?? '–'} / {r.routedModel ?? '–'}
            </dd>
            <dt>Client</dt>
            <dd>
              {r.client || '–'}
              {r.clientKey && <span class="muted"> · key {r.clientKey}</span>}
            </dd>
            <dt>Timings</dt>
            <dd>
              total {ms(r.latencyMs)}
              {r.ttfbMs !== undefined && <> · first byte {ms(r.ttfbMs)}</>}
            </dd>
            <dt>Tokens</dt>
            <dd>
              {r.usage
                ? `${num(r.usage.inputTokens)} in · ${num(r.usage.outputTokens)} out${r.usage.cachedTokens ? ` · ${num(r.usage.cachedTokens)} cached` : ''}`
                : '–'}
            </dd>
            <dt>Cost</dt>
            <dd>{usd(r.costUsd)}</dd>
            {r.error && (
              <>
                <dt>Error</dt>
                <dd class="bad-text">{r.error}</dd>
              </>
            )}
          </dl>
          <h3>Attempts ({r.attempts.length})</h3>
          {r.attempts.length ? (
            <div class="table-wrap">
              <table class="table compact" data-testid="attempts">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>Provider / model</th>
                    <th>Key</th>
                    <th>Status</th>
                    <th class="num">Time</th>
                  </tr>
                </thead>
                <tbody>
                  {r.attempts.map((a, i) => (
                    <tr key={i}>
                      <td>{i + 1}</td>
                      <td>
                        {a.provider} / {a.model}
                        {a.message && <div class="muted small">{a.message}</div>}
                      </td>
                      <td class="mono">{a.key}</td>
                      <td>
                        <Pill tone={statusClass(a.status)}>{a.status || 'no answer'}</Pill>
                      </td>
                      <td class="num">{ms(a.ms)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <Empty>No upstream call (answered by agproxy itself).</Empty>
          )}
          <h3>Bodies</h3>
          {r.requestBody || r.responseBody ? (
            <>
              {r.requestBody && <pre class="body">{r.requestBody}</pre>}
              {r.responseBody && <pre class="body">{r.responseBody}</pre>}
            </>
          ) : (
            <Empty>Not captured (log_bodies in agproxy.yaml turns body capture on).</Empty>
          )}
        </div>
      )}
    </aside>
  )
}
