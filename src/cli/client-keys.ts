/**
 * `agproxy keys create|list|revoke|rotate`: client keys of the running instance, through its admin API (the admin key,
 * like `agproxy usage`). A new or rotated key is printed once (agproxy keeps only its hash); list shows names, limits and
 * their use, never a key.
 */
import type { Config } from '../config/schema'
import type { ClientKeyStatus } from '../clientkeys'
import type { KeysAction } from './args'
import { adminGet, adminPost, table, type CliIo } from './admin'
import { usd } from './usage'

type Result = { code: number; out: string }

/** `--budget 5/month` → { usd: 5, period: 'month' }; a message when it is not that. */
export function parseBudget(text: string): { usd: number; period: 'day' | 'week' | 'month' } | string {
  const m = /^\$?(\d+(?:\.\d+)?)\s*\/\s*(day|week|month)$/i.exec(text.trim())
  if (!m || Number(m[1]) <= 0) return `--budget: expected USD per period, such as 5/day, 20/week or 100/month (got "${text}")`
  return { usd: Number(m[1]), period: m[2]?.toLowerCase() as 'day' | 'week' | 'month' }
}

/** The POST /admin/keys body of `keys create NAME` and its options; a message when an option is not valid. */
export function createBody(name: string, o: Record<string, string | true>): Record<string, unknown> | string {
  const body: Record<string, unknown> = { name }
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined)
  if (str('models'))
    body.models = str('models')
      ?.split(',')
      .map(s => s.trim())
      .filter(Boolean)
  for (const [flag, field] of [
    ['rpm', 'rpm'],
    ['tpm', 'tpm'],
    ['max-parallel', 'max_parallel'],
  ] as const) {
    const v = str(flag)
    if (v === undefined) continue
    if (!/^[1-9]\d*$/.test(v)) return `--${flag}: expected a whole number of at least 1 (got "${v}")`
    body[field] = Number(v)
  }
  const budget = str('budget')
  if (budget !== undefined) {
    const b = parseBudget(budget)
    if (typeof b === 'string') return b
    body.budget = b
  }
  if (str('expires')) body.expires = str('expires')
  if (str('note')) body.note = str('note')
  return body
}

export async function clientKeysCommand(
  c: Config,
  action: KeysAction,
  name: string | undefined,
  o: Record<string, string | true>,
  io: CliIo = {},
): Promise<Result> {
  if (action === 'list') {
    const res = await adminGet(c, '/admin/keys', io)
    if (typeof res === 'string') return { code: 1, out: res }
    const body = (await res.json()) as { keys: ClientKeyStatus[] }
    return { code: 0, out: o.json ? JSON.stringify(body, null, 2) : clientKeysTable(body.keys) }
  }
  const n = encodeURIComponent(name ?? '')
  const sent = action === 'create' ? createBody(name ?? '', o) : {}
  if (typeof sent === 'string') return { code: 1, out: `agproxy: ${sent}` }
  const res = await adminPost(c, action === 'create' ? '/admin/keys' : `/admin/keys/${n}/${action}`, sent, io)
  if (typeof res === 'string') return { code: 1, out: res }
  const body = (await res.json()) as { name: string; key?: string; warning?: string }
  if (o.json) return { code: 0, out: JSON.stringify(body, null, 2) }
  if (action === 'revoke') return { code: 0, out: `Client key "${body.name}" is revoked: requests with it are refused from now on.` }
  return {
    code: 0,
    out:
      `${action === 'create' ? 'Created' : 'Rotated'} client key "${body.name}". Its key (shown this once; agproxy keeps only its hash):\n\n  ${body.key}\n` +
      (action === 'rotate' ? '\nThe old key is refused from now on.' : '') +
      (body.warning ? `\nWarning: ${body.warning}` : ''),
  }
}

/** One row per key: its status, its limits with their use this minute / period. */
export function clientKeysTable(keys: ClientKeyStatus[]): string {
  if (!keys.length) return 'No client keys (client_keys in agproxy.yaml, or agproxy keys create NAME).'
  const of = (used: number, limit: number | undefined) => (limit ? `${used}/${limit}` : '')
  const rows = [['NAME', 'SOURCE', 'STATUS', 'MODELS', 'RPM', 'TPM', 'PARALLEL', 'BUDGET', 'EXPIRES', 'NOTE']]
  for (const k of keys)
    rows.push([
      k.name,
      k.source,
      k.status,
      k.models?.join(',') ?? '*',
      of(k.usage.requestsThisMinute, k.rpm),
      of(k.usage.tokensThisMinute, k.tpm),
      of(k.usage.running, k.maxParallel),
      k.budget ? `${usd(k.usage.spentUsd ?? 0)}/${usd(k.budget.usd)} per ${k.budget.period}` : '',
      k.expires ? new Date(k.expires).toISOString().slice(0, 16).replace('T', ' ') : '',
      k.note ?? '',
    ])
  return table(rows)
}
