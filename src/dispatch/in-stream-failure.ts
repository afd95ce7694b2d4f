/** Reading back an in-stream error seen before any content (pass-through). */
import type { WireJson } from '../ir/types'
/** An in-stream error seen before any content (pass-through): its body and the status it stands for. */
export function inStreamFailure(text: string): { status: number; body?: unknown } {
  let body: WireJson | undefined // an error body of any of three dialects
  for (const line of text.split(/\r?\n/)) {
    const m = /^data:\s*(\{.*\})\s*$/.exec(line.trim())
    if (!m?.[1]) continue
    try {
      const j = JSON.parse(m[1])
      if (j && typeof j === 'object' && (j.error || j.type === 'error' || j.type === 'response.failed')) {
        body = j
        break
      }
    } catch {
      /* not JSON */
    }
  }
  if (!body) {
    // a Gemini JSON-array stream: [{…},{"error":{…}}
    const trimmed = text.trim()
    for (const candidate of [trimmed, `${trimmed.replace(/,\s*$/, '')}]`]) {
      try {
        const arr = JSON.parse(candidate)
        const found = (Array.isArray(arr) ? arr : [arr]).find((x: WireJson) => x?.error)
        if (found) {
          body = found
          break
        }
      } catch {
        /* not complete JSON */
      }
    }
  }
  if (!body) return { status: 502 }
  if (body.type === 'response.failed') body = { error: body.response?.error ?? {} }
  const e = body.error ?? body
  const code = typeof e?.code === 'number' ? e.code : undefined
  const kind = String(e?.type ?? e?.code ?? e?.status ?? '')
  const status =
    code && code >= 400 && code < 600
      ? code
      : /rate_limit|RESOURCE_EXHAUSTED|insufficient_quota/i.test(kind)
        ? 429
        : /overloaded/i.test(kind)
          ? 529
          : /authentication|invalid_api_key|UNAUTHENTICATED/i.test(kind)
            ? 401
            : /permission|PERMISSION_DENIED/i.test(kind)
              ? 403
              : /invalid_request|INVALID_ARGUMENT/i.test(kind)
                ? 400
                : /timeout|DEADLINE/i.test(kind)
                  ? 504
                  : /api_error|server_error|INTERNAL|UNAVAILABLE/i.test(kind)
                    ? 500
                    : 502
  return { status, body }
}
