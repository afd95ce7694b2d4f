/** Connect a client: each client's settings for this instance (the text of `agproxy clients`), and a test prompt box. */
import { useState } from 'preact/hooks'
import { api, type Clients, type TryResult } from '../api'
import { Card, Code, ErrorBox, Pill, usePoll } from '../components'
import { ms, statusClass } from '../format'

/** Per-client snippets, from the base URLs the server gave (the same families `agproxy clients` prints). */
function snippets(c: Clients): Array<{ title: string; text: string }> {
  const base = (d: string) => c.families.find(f => f.dialect === d)?.baseUrl ?? c.origin
  const oa = base('openai')
  const an = base('anthropic')
  const ge = base('gemini')
  return [
    { title: 'Claude Code', text: `export ANTHROPIC_BASE_URL=${an}\nexport ANTHROPIC_API_KEY=<key>\nclaude` },
    {
      title: 'Codex CLI (~/.codex/config.toml)',
      text: `model_provider = "agproxy"\n\n[model_providers.agproxy]\nname = "agproxy"\nbase_url = "${oa}"\nwire_api = "responses"\nenv_key = "AGPROXY_API_KEY"`,
    },
    { title: 'Gemini CLI', text: `export GOOGLE_GEMINI_BASE_URL=${ge}\nexport GEMINI_API_KEY=<key>\ngemini` },
    { title: 'OpenAI SDK (Python / JS)', text: `OpenAI(base_url="${oa}", api_key="<key>")\nnew OpenAI({ baseURL: '${oa}', apiKey: '<key>' })` },
    { title: 'Anthropic SDK (Python / JS)', text: `Anthropic(base_url="${an}", api_key="<key>")\nnew Anthropic({ baseURL: '${an}', apiKey: '<key>' })` },
    { title: 'Google GenAI SDK (JS)', text: `new GoogleGenAI({ apiKey: '<key>', httpOptions: { baseUrl: '${ge}' } })` },
    { title: 'OpenAI-compatible apps (Cline, Roo, Cherry Studio…)', text: `Base URL: ${oa}\nAPI key:  <key>` },
  ]
}

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
            {snippets(data).map(s => (
              <Card key={s.title} title={s.title}>
                <Code text={s.text} />
              </Card>
            ))}
          </div>
          <Card title="agproxy clients">
            <Code text={data.text} testid="clients-text" />
          </Card>
        </>
      )}
    </div>
  )
}
