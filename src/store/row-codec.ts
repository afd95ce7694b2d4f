/**
 * How request-log rows travel to the writer thread: each row is its StoredRow (src/store/sql.ts `rowOf`: the values in
 * the request table's column order, no field names), as JSON, so the writer binds what it parses without building
 * objects; `decodeRows` gives back the very StoredRows that were encoded.
 */
import type { RequestRecord } from '../observe/record'
import { AT, type AttemptTuple, rowOf } from './sql'
import type { StoredRow } from './types'

/** A masked key ('sk-…abcd') travels with a one-byte stand-in for its '…' (U+0085, never in a key): one character above
 *  U+00FF makes the whole row's JSON text two bytes a character, and everything that reads it slower (stringify, post,
 *  parse, and every string the writer binds). The few masked keys are remembered. */
const ELLIPSIS = '\u2026'
const STAND_IN = '\u0085'
/** `from` with each `a` as `b`, the few distinct keys remembered (a key is the same few strings on every row) */
function swapper(a: string, b: string) {
  const memo = new Map<string, string>()
  return (k: string): string => {
    if (!k.includes(a)) return k
    let w = memo.get(k)
    if (w === undefined) {
      if (memo.size >= 1000) memo.clear()
      memo.set(k, (w = k.replaceAll(a, b)))
    }
    return w
  }
}
const toLatin1 = swapper(ELLIPSIS, STAND_IN)
const fromLatin1 = swapper(STAND_IN, ELLIPSIS)

/** One row as the writer thread receives it (for JSON.stringify). */
export function encodeRow(r: RequestRecord, costUsd: number | null, requestBody?: string, responseBody?: string, error?: string): StoredRow {
  return rowOf(r, costUsd, requestBody, responseBody, error, toLatin1)
}

/** The rows of one message (a JSON array of encodeRow's rows), their keys as they were. */
export function decodeRows(json: string): StoredRow[] {
  const rows = JSON.parse(json) as StoredRow[]
  for (const row of rows) {
    if (typeof row[AT.key] === 'string') row[AT.key] = fromLatin1(row[AT.key] as string)
    if (typeof row[AT.clientKey] === 'string') row[AT.clientKey] = fromLatin1(row[AT.clientKey] as string)
    const attempts = row[AT.attempts] as unknown as AttemptTuple[] | null
    if (attempts) for (const a of attempts) a[2] = fromLatin1(a[2])
  }
  return rows
}
