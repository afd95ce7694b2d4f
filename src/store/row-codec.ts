/**
 * How request-log rows travel to the writer thread: one JSON array per row, its values by position (no field names,
 * absent values as null), a lone successful attempt that the row already describes as just its duration. About half
 * the bytes of the rows as objects, so half the work to serialize, post and parse; `decodeRows` gives back the very
 * StoredRequests that were encoded (an absent value as undefined).
 */
import type { RequestRecord } from '../observe/record'
import { isPlain } from './sql'
import type { StoredRequest } from './types'

type Wire = string | number | null
type WireAttempt = [string, string, string, number, string | null, string | null, number]
/** a row: RequestRecord's fields in this order, then the cost */
type WireRow = Wire[]

const or = (v: string | number | undefined): Wire => (v === undefined ? null : v)

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
const keyOut = (k: string | undefined): Wire => (k === undefined ? null : toLatin1(k))
const keyIn = (k: unknown) => (k === null || k === undefined ? undefined : fromLatin1(k as string))
const str = (v: unknown) => (v === null || v === undefined ? undefined : (v as string))
const num = (v: unknown) => (v === null || v === undefined ? undefined : (v as number))

/** One row, for JSON.stringify. */
export function encodeRow(r: RequestRecord, costUsd: number | null, requestBody?: string, responseBody?: string, error?: string): WireRow {
  const a = r.attempts[0]
  const u = r.usage
  return [
    r.id,
    r.instance,
    r.time,
    r.client,
    r.method,
    r.path,
    or(r.resolved),
    r.status,
    r.dialect,
    or(r.endpoint),
    r.stream ? 1 : 0,
    or(r.model),
    or(r.provider),
    or(r.routedModel),
    keyOut(r.key),
    keyOut(r.clientKey),
    // biome-ignore lint/suspicious/noExplicitAny: a nested array travels as one value of the row
    (isPlain(r) ? a!.ms : r.attempts.map(x => [x.provider, x.model, keyOut(x.key), x.status, or(x.error), or(x.message), x.ms])) as any,
    r.retries,
    r.failovers,
    r.latencyMs,
    or(r.ttfbMs),
    // biome-ignore lint/suspicious/noExplicitAny: as above
    (u ? [u.inputTokens, u.outputTokens, or(u.cachedInputTokens), or(u.cacheCreationInputTokens), or(u.reasoningTokens)] : null) as any,
    or(r.errorKind),
    or(error),
    or(r.end),
    or(requestBody),
    or(responseBody),
    costUsd,
  ]
}

/** The rows of one message (a JSON array of encodeRow's arrays) as StoredRequests. */
export function decodeRows(json: string): StoredRequest[] {
  return (JSON.parse(json) as WireRow[]).map(decodeRow)
}

function decodeRow(w: WireRow): StoredRequest {
  const [id, instance, time, client, method, path, resolved, status, dialect, endpoint, stream, model, provider, routedModel, key, clientKey] = w
  const attempts = w[16] as unknown as number | WireAttempt[]
  const usage = w[21] as unknown as Wire[] | null
  const r = {
    id,
    instance,
    time,
    client,
    method,
    path,
    resolved: str(resolved),
    status,
    dialect,
    endpoint: str(endpoint),
    stream: stream === 1,
    model: str(model),
    provider: str(provider),
    routedModel: str(routedModel),
    key: keyIn(key),
    clientKey: keyIn(clientKey),
    attempts:
      typeof attempts === 'number'
        ? [{ provider, model: routedModel, key: keyIn(key), status, ms: attempts }]
        : attempts.map(([p, m, k, s, error, message, ms]) => ({
            provider: p,
            model: m,
            key: keyIn(k) as string,
            status: s,
            error: str(error),
            message: str(message),
            ms,
          })),
    retries: w[17],
    failovers: w[18],
    latencyMs: w[19],
    ttfbMs: num(w[20]),
    usage: usage
      ? {
          inputTokens: usage[0],
          outputTokens: usage[1],
          cachedInputTokens: num(usage[2]),
          cacheCreationInputTokens: num(usage[3]),
          reasoningTokens: num(usage[4]),
        }
      : undefined,
    errorKind: str(w[22]),
    error: str(w[23]),
    end: str(w[24]),
    requestBody: str(w[25]),
    responseBody: str(w[26]),
    costUsd: w[27],
  }
  return r as unknown as StoredRequest
}
