/** How the dashboard writes numbers, times and durations. */
const nf = new Intl.NumberFormat('en-US')

export const num = (n: number | null | undefined) => (n === null || n === undefined ? '–' : nf.format(n))

/** 1234567 → 1.23M */
export function compact(n: number): string {
  if (Math.abs(n) < 1000) return String(Math.round(n))
  return new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 }).format(n)
}

export const ms = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(2)} s`)

export function usd(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–'
  if (n === 0) return '$0'
  return n < 0.01 ? `$${n.toFixed(5)}` : `$${n.toFixed(2)}`
}

export const time = (t: number) => new Date(t).toLocaleTimeString('en-GB', { hour12: false })
export const dateTime = (t: number) => new Date(t).toLocaleString('en-GB', { hour12: false })

/** Seconds as "2d 3h", "4h 12m", "3m 05s", "42s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const r = s % 60
  if (d) return `${d}d ${h}h`
  if (h) return `${h}h ${m}m`
  if (m) return `${m}m ${String(r).padStart(2, '0')}s`
  return `${r}s`
}

/** The status's class: ok (2xx/3xx), warn (4xx), bad (5xx, 0). */
export const statusClass = (s: number) => (s >= 200 && s < 400 ? 'ok' : s >= 400 && s < 500 ? 'warn' : 'bad')
