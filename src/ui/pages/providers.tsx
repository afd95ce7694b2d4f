/** Providers and keys: each provider's keys with their state (active, cooling with a live countdown, disabled and why), enable/disable. */
import { useState } from 'preact/hooks'
import { api, type KeyState, type Providers } from '../api'
import { Card, Empty, ErrorBox, Pill, useNow, usePoll } from '../components'
import { duration, num } from '../format'

const TONE = { active: 'ok', cooling: 'warn', disabled: 'bad' } as const

function KeyRow(p: { provider: string; k: KeyState; skew: number; onChange: () => void }) {
  const now = useNow(1000) + p.skew
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const models = Object.entries(p.k.models ?? {}).filter(([, m]) => m.until > now)
  const left = p.k.until ? Math.max(0, (p.k.until - now) / 1000) : 0
  const set = async (enable: boolean) => {
    setBusy(true)
    try {
      await api(`/admin/providers/${encodeURIComponent(p.provider)}/keys/${encodeURIComponent(p.k.name)}/${enable ? 'enable' : 'disable'}`, {})
      p.onChange()
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }
  const keyCooling = p.k.status === 'cooling' && left > 0
  const status = p.k.status === 'cooling' && !keyCooling ? 'active' : p.k.status
  // a per-model cooldown (OpenAI's rate limits are per model): the key still serves other models
  const shown = status === 'active' && models.length ? 'cooling' : status
  return (
    <tr data-key={p.k.name} data-status={shown}>
      <td>
        <div class="strong">{p.k.name}</div>
        {p.k.name !== p.k.masked && <div class="mono muted small">{p.k.masked}</div>}
      </td>
      <td>
        <Pill tone={TONE[shown]}>{shown === 'cooling' && !keyCooling ? 'cooling (some models)' : shown}</Pill>
        {keyCooling && (
          <span class="countdown mono" data-testid="countdown">
            {' '}
            {duration(left)} left
          </span>
        )}
        {status !== 'active' && p.k.reason && <div class="muted small">{p.k.reason}</div>}
        {keyCooling && p.k.until && <div class="muted small">until {new Date(p.k.until).toLocaleTimeString('en-GB')}</div>}
        {models.map(([m, c]) => (
          <div key={m} class="small model-cool">
            <span class="mono">{m}</span>:{' '}
            <span class="countdown mono" data-testid="countdown">
              {duration((c.until - now) / 1000)} left
            </span>{' '}
            <span class="muted">
              (until {new Date(c.until).toLocaleTimeString('en-GB')}; {c.reason})
            </span>
          </div>
        ))}
        {error && <div class="bad-text small">{error}</div>}
      </td>
      <td class="num">{num(p.k.uses)}</td>
      <td class="num">{num(p.k.failures)}</td>
      <td class="actions">
        {p.k.status === 'disabled' ? (
          <button type="button" class="btn small" disabled={busy} onClick={() => set(true)}>
            Enable
          </button>
        ) : (
          <button type="button" class="btn small danger" disabled={busy} onClick={() => set(false)}>
            Disable
          </button>
        )}
      </td>
    </tr>
  )
}

export function ProvidersPage() {
  const { data, error, reload } = usePoll(async () => ({ ...(await api<Providers>('/admin/providers')), local: Date.now() }), 3000)
  if (!data) return error ? <ErrorBox error={error} /> : <div class="loading">Loading…</div>
  const skew = data.now - data.local
  return (
    <div class="stack">
      <ErrorBox error={error} />
      {!data.providers.length && <Empty>No provider is configured. Add one under providers in agproxy.yaml (or set a provider's key variable).</Empty>}
      {data.providers.map(p => (
        <Card
          key={p.name}
          title={p.name}
          actions={
            <span class="muted small">
              {p.type} · {p.strategy} · <code>{p.baseUrl}</code>
            </span>
          }
        >
          <div class="table-wrap">
            <table class="table" data-provider={p.name}>
              <thead>
                <tr>
                  <th>Key</th>
                  <th>State</th>
                  <th class="num">Uses</th>
                  <th class="num">Failures</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {p.keys.map(k => (
                  <KeyRow key={k.name} provider={p.name} k={k} skew={skew} onChange={reload} />
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      ))}
    </div>
  )
}
