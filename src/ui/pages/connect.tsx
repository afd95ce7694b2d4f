/** Connect a client: each client's settings for this instance (the text of `agproxy clients`), and a test prompt box. */
import { useState } from 'preact/hooks'
import { api, type Clients, type TryResult } from '../api'
import { Card, Code, ErrorBox, Pill, usePoll } from '../components'
import { ms, statusClass } from '../format'

function TryBox() {
  const [v, setV] = useState({ dialect: 'openai', model: '', prompt: 'Say hello in one short sentence.' })
  const [result, setResult] = useState<TryResult>()
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  return (
    <form
      class="stack"
      onSubmit={async e => {
        e.preventDefault()
        setBusy(true)
        setError(undefined)
        try {
          setResult(await api<TryResult>('/admin/try', v))
        } catch (e) {
          setError((e as Error).message)
        } finally {
          setBusy(false)
        }
      }}
    >
      <div class="form-grid">
        <label>
          Dialect
          <select name="dialect" value={v.dialect} onChange={e => setV({ ...v, dialect: e.currentTarget.value })}>
            <option value="openai">OpenAI (chat completions)</option>
            <option value="anthropic">Anthropic (messages)</option>
            <option value="gemini">Gemini (generateContent)</option>
          </select>
        </label>
        <label>
          Model
          <input name="model" value={v.model} placeholder="gpt-4o-mini" required onInput={e => setV({ ...v, model: e.currentTarget.value })} />
        </label>
      </div>
      <label>
        Prompt
        <textarea name="prompt" rows={3} value={v.prompt} onInput={e => setV({ ...v, prompt: e.currentTarget.value })} />
      </label>
      <div>
        <button type="submit" class="btn primary" disabled={busy || !v.model.trim()}>
          {busy ? 'Sending…' : 'Send test prompt'}
        </button>
      </div>
      <ErrorBox error={error} />
      {result && (
        <div class="try-result" data-testid="try-result">
          <div class="route">
            <Pill tone={statusClass(result.status)}>{result.status}</Pill> POST {result.path} → <strong>{result.provider ?? '–'}</strong> /{' '}
            {result.model ?? '–'} <span class="muted">in {ms(result.ms)}</span>
          </div>
          {result.attempts.length > 1 && (
            <div class="muted small">
              attempts: {result.attempts.map(a => `${a.provider}/${a.model} with ${a.key}: ${a.status || 'no answer'}`).join(' → ')}
            </div>
          )}
          <pre class={`body ${result.ok ? '' : 'bad-text'}`}>{result.ok ? result.answer || '(empty answer)' : result.error}</pre>
        </div>
      )}
    </form>
  )
}

export function Connect() {
  const { data, error } = usePoll(() => api<Clients>('/admin/clients'), 0)
  return (
    <div class="stack">
      <ErrorBox error={error} />
      <Card title="Send a test prompt">
        <p class="muted">
          One prompt through the chosen dialect and model, made by agproxy itself through its own routes: the route shown is the one a client's call takes.
        </p>
        <TryBox />
      </Card>
      {data && (
        <>
          <div class="grid two">
            {data.clients.map(c => (
              <Card key={c.client} title={c.client}>
                <Code text={c.settings} />
              </Card>
            ))}
          </div>
          <Card title="All client settings (agproxy clients)">
            <p class="muted">
              <code>agproxy setup claude-code | codex | gemini-cli | opencode</code> writes these into the client's own config; <code>agproxy doctor</code>{' '}
              checks them.
            </p>
            <Code text={data.text} testid="clients-text" />
          </Card>
        </>
      )}
    </div>
  )
}
