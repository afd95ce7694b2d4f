/** What the admin API and the CLI accept as times and usage groupings, parsed once for both. */
import type { UsageGroup } from './types'

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** the most a JavaScript date can be away from the epoch, in ms */
const DATE_RANGE_MS = 8.64e15

/** A time as ms since the epoch: an age ('30m', '24h', '7d' before `now`), ms, or an ISO date/time; NaN when none, or
 *  when it is no date at all (beyond ±275,000 years: a date of it cannot even be written). */
export function parseSince(text: string, now: number): number {
  const t = timeOf(text.trim(), now)
  return Math.abs(t) <= DATE_RANGE_MS ? t : Number.NaN
}

function timeOf(text: string, now: number): number {
  const age = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text)
  if (age) return now - Number(age[1]) * (UNIT_MS[age[2]!.toLowerCase()] ?? Number.NaN)
  if (/^\d{10,}$/.test(text)) return Number(text)
  return /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN
}

/** A status filter as the statuses it takes, from `min` up to (not including) `max`: a status (429) or a class (5xx);
 *  else a message naming the choices. */
export function parseStatus(text: string): { min: number; max: number } | string {
  const t = text.trim()
  const cls = /^([1-5])xx$/i.exec(t)
  if (cls) return { min: Number(cls[1]) * 100, max: Number(cls[1]) * 100 + 100 }
  if (/^[1-5]\d\d$/.test(t)) return { min: Number(t), max: Number(t) + 1 }
  return `status: "${t.slice(0, 40)}" is not a status; use a status such as 429 or a class such as 5xx`
}

const GROUPS: UsageGroup[] = ['day', 'key', 'model', 'provider']

/** 'day,model' → ['day', 'model']; a message naming the choices when one is not known. */
export function parseUsageGroups(text: string): UsageGroup[] | string {
  const by = text
    .split(',')
    .map(s => s.trim().toLowerCase())
    .filter(Boolean)
  const bad = by.find(g => !GROUPS.includes(g as UsageGroup))
  return bad ? `by: "${bad}" is not a grouping; use day, key, model or provider (comma-separated)` : [...new Set(by as UsageGroup[])]
}
