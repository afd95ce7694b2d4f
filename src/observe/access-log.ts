/**
 * The access log: one line per request at info, refusals included, written when the request is over (a stream when it
 * ends, with how it ended). A Recorder subscriber: all formatting happens here, off the request's path. Text for people
 * (log_format: text), or one JSON object per line for log shippers (log_format: json). Keys appear only as their
 * configured names or masked (the record never holds one).
 */
import type { Logger } from '../log'
import type { RequestObserver, RequestRecord } from './record'

const ms = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : n >= 100 ? `${Math.round(n)} ms` : `${n.toFixed(1)} ms`)
const oneLine = (s: string, n: number) => {
  const t = s.replace(/\s+/g, ' ')
  return t.length > n ? `${t.slice(0, n - 1)}…` : t
}

/** `POST /chat/completions → /v1/chat/completions 200 openai.chat gpt-4o → oa/gpt-4o key=main 412 ms 2 attempts (1 failover) ttfb 120 ms
 *  tokens 12→40 (cached 0, reasoning 8) stream complete`, preceded by the client's address. */
export function accessText(r: RequestRecord): string {
  const parts = [r.client || '-', r.method, r.resolved ? `${r.path} → ${r.resolved}` : r.path, String(r.status), r.endpoint ?? r.dialect]
  if (r.model !== undefined) parts.push(r.provider ? `${r.model} → ${r.provider}/${r.routedModel ?? r.model}` : r.model)
  if (r.key) parts.push(`key=${r.key}`)
  parts.push(ms(r.latencyMs))
  // after the latency: what follows "N attempts" is never a number (log readers look for "attempt N/M" lines)
  const n = r.attempts.length
  if (n > 1 || (n === 1 && r.attempts[0]?.error))
    parts.push(`${n} attempt${n === 1 ? '' : 's'}${r.failovers ? ` (${r.failovers} failover${r.failovers === 1 ? '' : 's'})` : ''}`)
  if (r.ttfbMs !== undefined && r.stream) parts.push(`ttfb ${ms(r.ttfbMs)}`)
  const u = r.usage
  if (u) {
    const extra = [u.cachedInputTokens ? `cached ${u.cachedInputTokens}` : '', u.reasoningTokens ? `reasoning ${u.reasoningTokens}` : ''].filter(Boolean)
    parts.push(`tokens ${u.inputTokens}→${u.outputTokens}${extra.length ? ` (${extra.join(', ')})` : ''}`)
  }
  if (r.end) parts.push(`stream ${r.end}`)
  if (r.errorKind) parts.push(`error=${r.errorKind}${r.error ? ` "${oneLine(r.error, 160)}"` : ''}`)
  return parts.join(' ')
}

/** The JSON fields of a record's line (snake_case, flat, for log shippers). */
export function accessFields(r: RequestRecord): Record<string, unknown> {
  const u = r.usage
  return {
    msg: 'request',
    id: r.id,
    client: r.client,
    method: r.method,
    path: r.path,
    resolved: r.resolved,
    status: r.status,
    dialect: r.dialect,
    endpoint: r.endpoint,
    stream: r.stream,
    model: r.model,
    provider: r.provider,
    routed_model: r.routedModel,
    key: r.key,
    client_key: r.clientKey,
    attempts: r.attempts.length,
    retries: r.retries,
    failovers: r.failovers,
    latency_ms: r.latencyMs,
    ttfb_ms: r.ttfbMs,
    tokens_in: u?.inputTokens,
    tokens_out: u?.outputTokens,
    tokens_cached: u?.cachedInputTokens,
    tokens_reasoning: u?.reasoningTokens,
    error_kind: r.errorKind,
    error: r.error,
    end: r.end,
    tried: r.attempts.length > 1 || r.attempts[0]?.error ? r.attempts : undefined,
  }
}

/** The access log as a Recorder subscriber writing to `log` at info; undefined when info lines are not written. */
export function accessLog(log: Logger): RequestObserver | undefined {
  if (log.enabled && !log.enabled('info')) return undefined
  return r => {
    if (log.fields) log.fields('info', accessFields(r), () => accessText(r))
    else log.info(accessText(r))
  }
}
