/** `agproxy usage [--since 7d] [--by key|model|provider|day] [--json]`: usage and cost from the running instance. */
import type { Config } from '../config/schema'
import type { UsageRow } from '../store/types'
import { adminGet, table, type CliIo } from './admin'

export interface UsageOptions {
  since?: string
  by?: string
  json?: boolean
}

/** USD as printed: small amounts keep their significant digits; unknown says so (never $0). */
export const usd = (v: number | null) => (v === null ? 'unknown' : v === 0 ? '$0' : v < 0.01 ? `$${v.toPrecision(3)}` : `$${v.toFixed(2)}`)

export async function usageCommand(c: Config, o: UsageOptions, io: CliIo = {}): Promise<{ code: number; out: string }> {
  const q = new URLSearchParams({ since: o.since ?? '7d', by: o.by ?? 'day' })
  const res = await adminGet(c, `/admin/usage?${q}`, io)
  if (typeof res === 'string') return { code: 1, out: res }
  const body = (await res.json()) as { by: string[]; rows: UsageRow[] }
  if (o.json) return { code: 0, out: JSON.stringify(body, null, 2) }
  return { code: 0, out: usageTable(body.by, body.rows) }
}

const GROUP_HEAD: Record<string, [string, keyof UsageRow]> = {
  day: ['DAY', 'day'],
  key: ['CLIENT KEY', 'clientKey'],
  model: ['MODEL', 'model'],
  provider: ['PROVIDER', 'provider'],
}

/** One line per group, then the total. */
export function usageTable(by: string[], rows: UsageRow[]): string {
  if (!rows.length) return 'No requests in that period.'
  const groups = by.map(g => GROUP_HEAD[g]).filter((g): g is [string, keyof UsageRow] => !!g)
  const head = [...groups.map(g => g[0]), 'REQUESTS', 'ERRORS', 'INPUT', 'OUTPUT', 'CACHED', 'REASONING', 'COST']
  const line = (cells: string[], u: Omit<UsageRow, 'day' | 'clientKey' | 'provider' | 'model'>) => [
    ...cells,
    String(u.requests),
    String(u.errors),
    String(u.inputTokens),
    String(u.outputTokens),
    String(u.cachedTokens),
    String(u.reasoningTokens),
    usd(u.costUsd) + (u.unpriced && u.costUsd !== null ? ` (+${u.unpriced} unpriced)` : ''),
  ]
  const total = rows.reduce(
    (t, u) => ({
      requests: t.requests + u.requests,
      errors: t.errors + u.errors,
      inputTokens: t.inputTokens + u.inputTokens,
      outputTokens: t.outputTokens + u.outputTokens,
      cachedTokens: t.cachedTokens + u.cachedTokens,
      reasoningTokens: t.reasoningTokens + u.reasoningTokens,
      costUsd: u.costUsd === null ? t.costUsd : (t.costUsd ?? 0) + u.costUsd,
      unpriced: t.unpriced + u.unpriced,
    }),
    { requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0, reasoningTokens: 0, costUsd: null as number | null, unpriced: 0 },
  )
  return table([
    head,
    ...rows.map(u =>
      line(
        groups.map(([, k]) => String(u[k] || (k === 'clientKey' ? '(none)' : ''))),
        u,
      ),
    ),
    line([...groups.map((_, i) => (i === 0 ? 'TOTAL' : ''))], total),
  ])
}
