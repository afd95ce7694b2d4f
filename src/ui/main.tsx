/**
 * The dashboard's entry: the login (the admin key, kept in this tab's sessionStorage), the shell (sidebar, top bar)
 * and a hash router over the pages. Everything it shows comes from /admin/* on this same origin.
 */
import 'uplot/dist/uPlot.min.css'
import './styles.css'
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { adminKey, checkKey, logout, saveKey } from './api'
import { Overview } from './pages/overview'
import { Requests } from './pages/requests'
import { UsagePage } from './pages/usage'
import { ProvidersPage } from './pages/providers'
import { ClientKeysPage } from './pages/client-keys'
import { Connect } from './pages/connect'

/** 24×24 stroke icons (SVG paths), drawn in the text colour */
const ICONS = {
  overview: 'M3 13h8V3H3zM13 21h8V11h-8zM3 21h8v-6H3zM13 3v6h8V3z',
  requests: 'M4 7h13l-3-3M20 17H7l3 3',
  usage: 'M4 20V10M10 20V4M16 20v-7M22 20H2',
  providers: 'M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3zM4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3',
  'client-keys': 'M14.5 9.5a4.5 4.5 0 1 1-9 0 4.5 4.5 0 0 1 9 0zM13.2 12.7 21 20.5M18 17.5l2-2M16 15.5l1.5-1.5',
  connect: 'M9 7V3M15 7V3M6 7h12v4a6 6 0 0 1-12 0zM12 17v4',
} as const

const Icon = (p: { name: keyof typeof ICONS }) => (
  <svg
    class="icon"
    viewBox="0 0 24 24"
    width="18"
    height="18"
    fill="none"
    stroke="currentColor"
    stroke-width="1.8"
    stroke-linecap="round"
    stroke-linejoin="round"
    aria-hidden="true"
  >
    <path d={ICONS[p.name]} />
  </svg>
)

const PAGES = [
  { id: 'overview', title: 'Overview', view: Overview },
  { id: 'requests', title: 'Requests', view: Requests },
  { id: 'usage', title: 'Usage', view: UsagePage },
  { id: 'providers', title: 'Providers & keys', view: ProvidersPage },
  { id: 'client-keys', title: 'Client keys', view: ClientKeysPage },
  { id: 'connect', title: 'Connect a client', view: Connect },
] as const

const pageOfHash = () => PAGES.find(p => location.hash.replace(/^#\/?/, '').split('?')[0] === p.id) ?? PAGES[0]

function Login(p: { message?: string; onIn: () => void }) {
  const [key, setKey] = useState('')
  const [error, setError] = useState(p.message)
  const [busy, setBusy] = useState(false)
  return (
    <main class="login">
      <form
        class="login-card"
        onSubmit={async e => {
          e.preventDefault()
          setBusy(true)
          const r = await checkKey(key.trim()).catch(e => ({ ok: false as const, message: (e as Error).message }))
          setBusy(false)
          if (!r.ok) return setError(r.message)
          saveKey(key.trim())
          p.onIn()
        }}
      >
        <div class="brand big">
          <span class="logo">ag</span> agproxy
        </div>
        <h1>Sign in to the dashboard</h1>
        <p class="muted">
          Paste the admin key: <code>admin_key</code> in agproxy.yaml, or the key agproxy generated into <code>&lt;data_dir&gt;/admin_key</code>. It stays in
          this tab only.
        </p>
        <label>
          Admin key
          <input type="password" name="admin-key" autocomplete="current-password" value={key} onInput={e => setKey(e.currentTarget.value)} required />
        </label>
        {error && (
          <div class="alert bad" role="alert">
            {error}
          </div>
        )}
        <button class="btn primary" type="submit" disabled={busy || !key.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}

function Shell() {
  const [page, setPage] = useState(pageOfHash())
  const [menu, setMenu] = useState(false)
  useEffect(() => {
    const on = () => {
      setPage(pageOfHash())
      setMenu(false)
    }
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  const View = page.view
  return (
    <div class={`shell ${menu ? 'menu-open' : ''}`}>
      <aside class="sidebar">
        <div class="brand">
          <span class="logo">ag</span> agproxy
        </div>
        <nav>
          {PAGES.map(p => (
            <a key={p.id} href={`#/${p.id}`} class={p.id === page.id ? 'active' : ''} aria-current={p.id === page.id ? 'page' : undefined}>
              <Icon name={p.id} />
              {p.title}
            </a>
          ))}
        </nav>
        <div class="sidebar-foot muted">Admin API · this origin only</div>
      </aside>
      <div class="main">
        <header class="topbar">
          <button type="button" class="btn ghost menu-btn" aria-label="Menu" onClick={() => setMenu(!menu)}>
            ☰
          </button>
          <h1>{page.title}</h1>
          <div class="spacer" />
          <button type="button" class="btn ghost" onClick={() => logout()}>
            Sign out
          </button>
        </header>
        <div class="content">
          <View />
        </div>
      </div>
    </div>
  )
}

function App() {
  const [signedIn, setSignedIn] = useState(!!adminKey())
  const [message, setMessage] = useState<string | undefined>(undefined)
  useEffect(() => {
    const out = (e: Event) => {
      setMessage((e as CustomEvent<string | undefined>).detail)
      setSignedIn(false)
    }
    addEventListener('agproxy:logout', out)
    return () => removeEventListener('agproxy:logout', out)
  }, [])
  return signedIn ? <Shell /> : <Login message={message} onIn={() => setSignedIn(true)} />
}

const root = document.getElementById('app')
if (root) render(<App />, root)
