/** Small shared pieces of the dashboard: cards, status pills, copy buttons, empty and error states, a polling hook. */
import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'

export function Card(p: { title?: string; class?: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class={`card ${p.class ?? ''}`}>
      {(p.title || p.actions) && (
        <header class="card-head">
          {p.title && <h2>{p.title}</h2>}
          {p.actions && <div class="card-actions">{p.actions}</div>}
        </header>
      )}
      {p.children}
    </section>
  )
}

export function Stat(p: { label: string; value: ComponentChildren; hint?: ComponentChildren; tone?: string; testid?: string }) {
  return (
    <div class={`stat ${p.tone ?? ''}`} data-testid={p.testid}>
      <div class="stat-label">{p.label}</div>
      <div class="stat-value">{p.value}</div>
      {p.hint !== undefined && <div class="stat-hint">{p.hint}</div>}
    </div>
  )
}

export const Pill = (p: { tone: string; children: ComponentChildren }) => <span class={`pill ${p.tone}`}>{p.children}</span>

export const ErrorBox = (p: { error?: string }) => (p.error ? <div class="alert bad">{p.error}</div> : null)

export const Empty = (p: { children: ComponentChildren }) => <div class="empty">{p.children}</div>

/** Copy `text` (the Clipboard API where the page is a secure context, else a hidden textarea). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    const ta = document.createElement('textarea')
    ta.value = text
    ta.className = 'offscreen'
    document.body.appendChild(ta)
    ta.select()
    const ok = document.execCommand('copy')
    ta.remove()
    return ok
  }
}

export function CopyButton(p: { text: string; label?: string }) {
  const [done, setDone] = useState(false)
  return (
    <button
      type="button"
      class="btn small"
      onClick={async () => {
        setDone(await copyText(p.text))
        setTimeout(() => setDone(false), 1500)
      }}
    >
      {done ? 'Copied' : (p.label ?? 'Copy')}
    </button>
  )
}

/** A code block with a copy button. */
export const Code = (p: { text: string; testid?: string }) => (
  <div class="code" data-testid={p.testid}>
    <pre>{p.text}</pre>
    <CopyButton text={p.text} />
  </div>
)

/** Load `load()` now and every `everyMs` (0: once); the latest value, its error, and a reload. */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const tick = useRef(0)
  const run = async () => {
    const mine = ++tick.current
    try {
      const v = await load()
      if (mine === tick.current) {
        setData(v)
        setError(undefined)
      }
    } catch (e) {
      if (mine === tick.current) setError((e as Error).message)
    }
  }
  useEffect(() => {
    void run()
    if (!everyMs) return
    const t = setInterval(run, everyMs)
    return () => clearInterval(t)
  }, deps)
  return { data, error, reload: run }
}

/** The current time, ticking every `everyMs`. */
export function useNow(everyMs = 1000) {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(t)
  }, [everyMs])
  return now
}
