/**
 * `agproxy keys`: ask the running instance (the configured host and port) for its key pools and print
 * them as a table. Keys are shown by configured name or masked form only: the route never sends raw keys.
 */
import { existsSync, readFileSync } from 'node:fs'
import type { Config } from '../config/schema'
import { bindHost, effectiveAuthMode, lanKeyFile } from '../config/load'
import { formatMs } from '../providers/pool'
import { KEYS_PATH, type KeysStatus } from '../routes/status'

/** Where the configured instance answers (a wildcard bind is reached on loopback). */
export function instanceOrigin(c: Config): string {
  const h = bindHost(c)
  const host = h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '::1' : h
  return `http://${host.includes(':') ? `[${host}]` : host}:${c.port}`
}

/** The key to present: a given one (--api-key, AGPROXY_API_KEYS, api_keys) whatever this config's auth mode (the
 *  running instance may have auth on when this one does not); else, with auth on, the generated LAN key in the data dir. */
export function clientKey(c: Config): string | undefined {
  if (c.api_keys.length) return c.api_keys[0]
  return acceptedKeys(c)[0]
}

/** Every key the instance accepts: api_keys, else the LAN key it generated into the data dir (none with auth off). */
export function acceptedKeys(c: Config): string[] {
  if (effectiveAuthMode(c) === 'off') return []
  if (c.api_keys.length) return c.api_keys
  const file = lanKeyFile(c)
  const key = existsSync(file) ? readFileSync(file, 'utf8').trim() : ''
  return key ? [key] : []
}

export async function keysCommand(c: Config, opts: { fetch?: typeof fetch; timeoutMs?: number } = {}): Promise<{ code: number; out: string }> {
  const origin = instanceOrigin(c)
  const key = clientKey(c)
  let res: Response
  try {
    res = await (opts.fetch ?? fetch)(origin + KEYS_PATH, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    })
  } catch (e) {
    return { code: 1, out: `agproxy: no agproxy answered at ${origin} (${(e as Error).message}). Is it running with this config (port ${c.port})?` }
  }
  if (res.status === 401)
    return { code: 1, out: `agproxy: ${origin} wants an API key for ${KEYS_PATH}; configure the same api_keys (or pass --api-key) as the running instance.` }
  if (!res.ok) {
    const text = await res.text().catch(() => '')
    let msg = text
    try {
      msg = JSON.parse(text)?.error?.message ?? text
    } catch {
      /* not JSON */
    }
    return { code: 1, out: `agproxy: ${origin}${KEYS_PATH} answered ${res.status}${msg ? `: ${msg}` : ''}` }
  }
  let status: KeysStatus
  try {
    status = (await res.json()) as KeysStatus
  } catch {
    return { code: 1, out: `agproxy: ${origin}${KEYS_PATH} did not answer with JSON; is that an agproxy?` }
  }
  return { code: 0, out: keysTable(status) }
}

/** The pool state as an aligned text table, one row per key (and one per running per-model cooldown). */
export function keysTable(s: KeysStatus): string {
  if (!s.providers.length) return 'No providers are configured.'
  const rows: string[][] = [['PROVIDER', 'KEY', 'STATUS', 'FOR', 'USES', 'FAILS', 'REASON']]
  const left = (until: number | undefined) => (until ? formatMs(Math.max(0, until - s.now)) : '')
  for (const p of s.providers) {
    if (!p.keys.length) rows.push([`${p.name} (${p.type})`, '(no keys)', '', '', '', '', ''])
    for (const k of p.keys) {
      const name = k.name === k.masked ? k.name : `${k.name} (${k.masked})`
      rows.push([
        `${p.name} (${p.type}, ${p.strategy})`,
        name,
        k.status,
        k.status === 'cooling' ? left(k.until) : k.status === 'disabled' ? (k.manual ? 'until enabled' : 'until reload') : '',
        String(k.uses),
        String(k.failures),
        oneLine(k.reason ?? ''),
      ])
      for (const [model, cd] of Object.entries(k.models ?? {})) rows.push(['', `  └ model ${model}`, 'cooling', left(cd.until), '', '', oneLine(cd.reason)])
    }
  }
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map(r => r[i]?.length ?? 0)))
  return rows
    .map(r =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/** One line; a long reason keeps its start (what failed) and its end (how long, from which hint). */
export const oneLine = (s: string) => {
  const t = s.replace(/\s+/g, ' ').trim()
  return t.length > 160 ? `${t.slice(0, 90)} … ${t.slice(-66)}` : t
}
