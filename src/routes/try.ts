/**
 * POST /admin/try: one prompt through one dialect, made in-process through the app's own routes (so the route it takes
 * is the one a client's call would take), answered with the text and the route: provider, model, path, status, time and
 * every attempt. It is traced like a client's request (client "dashboard"): the request log and the live tail show it.
 * The dashboard's "send a test prompt" box uses it; the admin key (checked by the front door) stands in for a client key.
 */
import type { Dialect } from '../ir/types'
import { CANONICAL_ORIGIN } from '../http/target'
import { attachTrace } from '../http/front'
import { Trace } from '../observe/trace'
import type { AttemptRecord, Recorder } from '../observe/record'

/** A call into the app's routes (after the front door), for a request on CANONICAL_ORIGIN. */
export type InProcessCall = (req: Request) => Promise<Response>

export interface TryResult {
  ok: boolean
  status: number
  dialect: Dialect
  path: string
  provider?: string
  model?: string
  answer?: string
  error?: string
  ms: number
  attempts: AttemptRecord[]
  usage?: unknown
}

/** The path and body of a one-prompt, non-streaming call in `dialect`. */
function callOf(dialect: Dialect, model: string, prompt: string, maxTokens: number): { path: string; body: unknown; headers: Record<string, string> } {
  if (dialect === 'anthropic')
    return {
      path: '/v1/messages',
      body: { model, max_tokens: maxTokens, messages: [{ role: 'user', content: prompt }] },
      headers: { 'anthropic-version': '2023-06-01' },
    }
  if (dialect === 'gemini')
    return {
      path: `/v1beta/models/${encodeURIComponent(model)}:generateContent`,
      body: { contents: [{ role: 'user', parts: [{ text: prompt }] }], generationConfig: { maxOutputTokens: maxTokens } },
      headers: {},
    }
  return { path: '/v1/chat/completions', body: { model, max_tokens: maxTokens, messages: [{ role: 'user', content: prompt }] }, headers: {} }
}

// biome-ignore lint/suspicious/noExplicitAny: a model call's answer, read by its dialect's shape
type Json = any

/** The answer's text in its dialect's shape. */
function answerText(dialect: Dialect, j: Json): string | undefined {
  if (dialect === 'anthropic') return (j?.content as Json[] | undefined)?.map(b => b?.text ?? '').join('')
  if (dialect === 'gemini') return (j?.candidates?.[0]?.content?.parts as Json[] | undefined)?.map(p => p?.text ?? '').join('')
  return j?.choices?.[0]?.message?.content ?? undefined
}

/** The error message in any dialect's error shape. */
const errorText = (j: Json): string | undefined => j?.error?.message ?? (typeof j?.error === 'string' ? j.error : undefined)

/** Make the call and describe it. */
export async function tryPrompt(
  call: InProcessCall,
  recorder: Recorder,
  q: { dialect: Dialect; model: string; prompt: string; max_tokens?: number },
): Promise<TryResult> {
  const c = callOf(q.dialect, q.model, q.prompt, q.max_tokens ?? 256)
  const t0 = performance.now()
  const req = new Request(CANONICAL_ORIGIN + c.path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...c.headers },
    body: JSON.stringify(c.body),
  })
  const trace = new Trace(recorder, 'dashboard', 'POST', c.path)
  trace.dialect = q.dialect
  attachTrace(req, trace)
  const res = await call(req)
  const text = await res.text()
  trace.answer(res.status)
  const ms = Math.round(performance.now() - t0)
  let j: Json
  try {
    j = JSON.parse(text)
  } catch {
    j = undefined
  }
  const route = {
    status: res.status,
    dialect: q.dialect,
    path: c.path,
    provider: res.headers.get('x-agproxy-provider') ?? trace.provider ?? trace.attempts.at(-1)?.provider,
    model: res.headers.get('x-agproxy-model') ?? trace.routedModel ?? trace.attempts.at(-1)?.model,
    ms,
    attempts: trace.attempts,
  }
  if (!res.ok) return { ok: false, ...route, error: errorText(j) ?? text.slice(0, 500) }
  return { ok: true, ...route, answer: answerText(q.dialect, j) ?? '', usage: j?.usage ?? j?.usageMetadata }
}
