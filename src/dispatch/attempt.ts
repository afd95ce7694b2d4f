/**
 * One attempt: one call to one provider with one key, under the plan for that provider. The upstream call and
 * its failures are handled here; what a successful answer becomes is the plan kind's own strategy
 * (attempt-pass-through.ts, attempt-translated.ts).
 */
import type { IRError } from '../ir/types'
import { callUpstream } from '../providers/upstream-call'
import { upstreamPath } from '../providers/registry'
import { azureBodyModel, deploymentOf } from '../providers/azure'
import { vertexForget, vertexRequest, vertexWireOf } from '../providers/vertex'
import { errorText, type StreamLimits } from '../providers/stream-guard'
import { IRErrorValue } from '../ir/errors'
import type { Attempt } from './types'
import { upstreamMessage, type AttemptContext, type UpstreamPlan, type Upstreamed } from './attempt-shared'
import { passThroughAnswer } from './attempt-pass-through'
import { translatedAnswer } from './attempt-translated'

/** Why an upstream call is aborted once its answer is over or given up: made once (an abort without a reason makes a
 *  DOMException, with its stack, every time: ~1 µs) */
const ANSWER_OVER = new DOMException('the answer is over, or given up: the upstream call is no longer needed', 'AbortError')

const upstreamStreams = (plan: UpstreamPlan) => (plan.kind === 'pass-through' ? plan.upstreamStreams : !!plan.stream)

/** Headers the client sent that the provider type understands (undefined: none). */
function forwarded(a: AttemptContext): Record<string, string> | undefined {
  // Claude on Vertex takes anthropic-beta too (its version travels in the body)
  const vertex = a.provider.vertex !== undefined
  if (a.provider.type !== 'anthropic' && !(vertex && vertexWireOf(a.model) === 'anthropic')) return undefined
  const forward: Record<string, string> = {}
  const beta = a.call.request.headers.get('anthropic-beta')
  if (beta) forward['anthropic-beta'] = beta
  const version = a.call.request.headers.get('anthropic-version')
  if (version && a.plan.kind === 'pass-through' && !vertex) forward['anthropic-version'] = version
  return forward
}

/** One call to one provider with one key; on success, the client's answer (first content already seen for streams).
 *  Throws IRErrorValue when the upstream encoder refuses the request. */
export async function attempt(a: AttemptContext): Promise<Attempt> {
  const t = a.deps.timeouts
  const startedAt = Date.now()
  const scrub = (e: IRError) => ({ ...e, message: a.deps.scrub(e.message, a.provider) })
  const limits: StreamLimits = { idleMs: t.idle * 1000, totalMs: t.total * 1000, startedAt, scrub }
  const azure = a.provider.azure
  // azure: a deployment serves the model, named in the URL (classic paths) or in the body (v1 API)
  const responses = a.plan.kind === 'pass-through' && a.call.endpoint.id === 'openai.responses'
  let planned = a.plan.request(azure ? azureBodyModel(azure, responses, a.model) : a.model)
  let key = a.key.key
  if (a.provider.vertex) {
    // vertex: the account's access token, its project's URL and (Claude) the Vertex body
    const v = await vertexRequest(a.provider.vertex, a.key.key, planned, a.model, a.call.signal)
    if ('error' in v) return v.auth ? { ok: false, status: 401, message: v.error } : { ok: false, message: v.error }
    planned = v
    key = v.token
  }
  const { body } = planned
  const contentType = 'contentType' in planned ? planned.contentType : undefined
  const path = azure ? upstreamPath(a.provider, planned.path, deploymentOf(azure, a.model)) : planned.path
  // streams must show content within first_token; a whole (non-streamed) answer may take up to total
  const firstDeadline = startedAt + (upstreamStreams(a.plan) ? Math.min(t.first_token, t.total) : t.total) * 1000
  const out = await callUpstream(
    a.provider,
    key,
    { path, body, contentType, forward: forwarded(a) },
    {
      signal: a.call.signal,
      connectTimeoutMs: t.connect * 1000,
      headersDeadline: firstDeadline,
      hops: a.hops,
      hosts: a.deps.hosts,
    },
  )
  if (!out.ok) {
    // vertex: a cached token refused (revoked, or the clock is off) is dropped, and the call made once more with a new one
    if (out.status === 401 && a.provider.vertex && !a.freshToken && vertexForget(a.provider.vertex, a.key.key, key)) return attempt({ ...a, freshToken: true })
    if (out.network) return { ok: false, message: out.network, unreachable: out.why === 'connect' }
    return {
      ok: false,
      status: out.status,
      headers: out.headers,
      body: out.body,
      message: upstreamMessage(out.body, out.text),
      path: path.replace(/\?.*$/s, ''),
    }
  }
  const up: Upstreamed = { res: out.res, abort: () => out.controller.abort(ANSWER_OVER), release: out.release, startedAt, firstDeadline, limits }
  try {
    return a.plan.kind === 'pass-through' ? await passThroughAnswer(a, a.plan, up) : await translatedAnswer(a, a.plan, up)
  } catch (e) {
    up.abort()
    if (e instanceof IRErrorValue) return { ok: false, status: 502, message: e.error.message }
    return { ok: false, status: 502, message: `the upstream answer could not be read (${errorText(e)})` }
  }
}

export type { AttemptContext, DispatchDeps, UpstreamPlan, Upstreamed } from './attempt-shared'
