/** Client keys: create (the key shown once, with a copy button), list with use against limits, revoke, rotate. */
import { useState } from 'preact/hooks'
import { api, type ClientKey } from '../api'
import { Card, Code, Empty, ErrorBox, Pill, usePoll } from '../components'
import { dateTime, num, usd } from '../format'

/** "used / limit", or the use alone when there is no limit. */
const against = (used: number, limit?: number) => (limit ? `${num(used)} / ${num(limit)}` : num(used))

function NewKeyForm(p: { onCreated: (name: string, key: string) => void }) {
  const [v, setV] = useState({ name: '', rpm: '', tpm: '', budget: '', period: 'month', models: '', expires: '', note: '' })
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const input = (k: keyof typeof v, label: string, placeholder = '', type: 'text' | 'number' | 'date' = 'text') => (
    <label>
      {label}
      <input name={k} type={type as 'text'} value={v[k]} placeholder={placeholder} onInput={e => setV({ ...v, [k]: e.currentTarget.value })} />
    </label>
  )
  return (
    <form
      class="form-grid"
      onSubmit={async e => {
        e.preventDefault()
        setBusy(true)
        setError(undefined)
        const body: Record<string, unknown> = { name: v.name.trim() }
        if (v.rpm) body.rpm = Number(v.rpm)
        if (v.tpm) body.tpm = Number(v.tpm)
        if (v.budget) body.budget = { usd: Number(v.budget), period: v.period }
        if (v.models.trim()) body.models = v.models.split(',').map(s => s.trim())
        if (v.expires) body.expires = v.expires
        if (v.note.trim()) body.note = v.note.trim()
        try {
          const r = await api<{ name: string; key: string }>('/admin/keys', body)
          p.onCreated(r.name, r.key)
          setV({ ...v, name: '', note: '' })
        } catch (e) {
          setError((e as Error).message)
        } finally {
          setBusy(false)
        }
      }}
    >
      {input('name', 'Name', 'alice')}
      {input('models', 'Models (globs, comma-separated)', 'any')}
      {input('rpm', 'Requests / minute', 'no limit', 'number')}
      {input('tpm', 'Tokens / minute', 'no limit', 'number')}
      {input('budget', 'Budget (USD)', 'none', 'number')}
      <label>
        Budget period
        <select name="period" value={v.period} onChange={e => setV({ ...v, period: e.currentTarget.value })}>
          <option value="day">day</option>
          <option value="week">week</option>
          <option value="month">month</option>
        </select>
      </label>
      {input('expires', 'Expires', '', 'date')}
      {input('note', 'Note', 'who it is for')}
      <div class="form-foot">
        <ErrorBox error={error} />
        <button type="submit" class="btn primary" disabled={busy || !v.name.trim()}>
          Create key
        </button>
      </div>
    </form>
  )
}

export function ClientKeysPage() {
  const { data, error, reload } = usePoll(() => api<{ keys: ClientKey[] }>('/admin/keys'), 5000)
  const [shown, setShown] = useState<{ name: string; key: string; rotated?: boolean }>()
  const [actionError, setActionError] = useState<string>()
  const act = async (name: string, what: 'revoke' | 'rotate') => {
    if (what === 'revoke' && !confirm(`Revoke the key "${name}"? Clients using it are refused from now on.`)) return
    setActionError(undefined)
    try {
      const r = await api<{ key?: string }>(`/admin/keys/${encodeURIComponent(name)}/${what}`, {})
      if (r.key) setShown({ name, key: r.key, rotated: true })
      await reload()
    } catch (e) {
      setActionError((e as Error).message)
    }
  }
  return (
    <div class="stack">
      {shown && (
        <div class="alert ok key-once" data-testid="new-key">
          <div>
            <strong>
              {shown.rotated ? 'New secret' : 'Key'} for “{shown.name}”.
            </strong>{' '}
            Copy it now: it is shown this once (agproxy keeps only its SHA-256).
          </div>
          <Code text={shown.key} />
          <button type="button" class="btn small" onClick={() => setShown(undefined)}>
            Done
          </button>
        </div>
      )}
      <Card title="New client key">
        <NewKeyForm
          onCreated={(name, key) => {
            setShown({ name, key })
            void reload()
          }}
        />
      </Card>
      <ErrorBox error={error ?? actionError} />
      <Card title="Keys">
        {!data ? (
          <div class="loading">Loading…</div>
        ) : !data.keys.length ? (
          <Empty>No client keys yet. Create one above, or list them under client_keys in agproxy.yaml.</Empty>
        ) : (
          <div class="table-wrap">
            <table class="table" data-testid="client-keys">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Status</th>
                  <th class="num">Req / min</th>
                  <th class="num hide-sm">Tokens / min</th>
                  <th class="num hide-sm">Running</th>
                  <th class="num">Budget</th>
                  <th class="hide-sm">Models</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {data.keys.map(k => (
                  <tr key={k.name} data-key={k.name}>
                    <td>
                      <div class="strong">{k.name}</div>
                      <div class="muted small">
                        {k.source === 'config' ? 'agproxy.yaml' : 'created here'}
                        {k.created ? ` · ${dateTime(k.created)}` : ''}
                        {k.note ? ` · ${k.note}` : ''}
                      </div>
                    </td>
                    <td>
                      <Pill tone={k.status === 'active' ? 'ok' : 'bad'}>{k.status}</Pill>
                      {k.expires && <div class="muted small">expires {dateTime(k.expires)}</div>}
                    </td>
                    <td class="num">{against(k.usage.requestsThisMinute, k.rpm)}</td>
                    <td class="num hide-sm">{against(k.usage.tokensThisMinute, k.tpm)}</td>
                    <td class="num hide-sm">{against(k.usage.running, k.maxParallel)}</td>
                    <td class="num">{k.budget ? `${usd(k.usage.spentUsd ?? 0)} / ${usd(k.budget.usd)} a ${k.budget.period}` : '–'}</td>
                    <td class="hide-sm">{k.models?.join(', ') ?? 'any'}</td>
                    <td class="actions">
                      {k.source !== 'config' && k.status !== 'revoked' && (
                        <>
                          <button type="button" class="btn small" onClick={() => act(k.name, 'rotate')}>
                            Rotate
                          </button>
                          <button type="button" class="btn small danger" onClick={() => act(k.name, 'revoke')}>
                            Revoke
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  )
}
