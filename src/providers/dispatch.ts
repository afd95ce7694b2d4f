/**
 * A model call, after the front door: route the model to a provider, pick a key, call, and on a
 * retryable failure (before any byte reached the client) try the next key, then the model's
 * fallbacks, within the retry budget. Answers in the caller's dialect.
 */
import type { Endpoint } from '../routes/endpoints'
import type { Config } from '../config/schema'
import type { Logger } from '../log'
import type { CodecContext, IRError } from '../ir/types'
import { IRErrorValue } from '../ir/types'
import { createModelRouter, type ModelRouter, type Target } from '../routing/models'
import { err, renderError } from '../http/errors'
import { buildProviders, providersFromEnv, type Provider } from './registry'
import { callUpstream, hostDown, HOP_HEADER, INSTANCE_ID } from './upstream-call'
import { makePlan, type Plan } from './plans'
import {
  peekBytes, peekEvents, guardEvents, guardedByteStream, readBodyGuarded, errorText, DEFAULT_HEARTBEAT_MS, type LiveStream, type StreamLimits,
} from './stream-guard'
import { stickyKeyFor } from './sticky'
import { maskKey, formatMs, clipLine, Redactor, type PooledKey } from './pool'

export interface ModelCall {
  endpoint: Endpoint
  body: Record<string, unknown>
  bytes: Uint8Array
  /** the model the client asked for (body.model, or the Gemini URL path) */
  model: string
  request: Request
  query: URLSearchParams
}

export interface Dispatcher {
  router: ModelRouter
  providers: Map<string, Provider>
  /** the streams clients are still reading (every streamed answer is in it until it ends), so shutdown can end them cleanly */
  streams: Set<LiveStream>
  dispatch(call: ModelCall): Promise<Response>
}

type Attempt =
  | { ok: true; response: Response }
  | {
    ok: false; status?: number; headers?: Headers; body?: unknown; message: string; retryable?: boolean
    /** the host could not be reached */
    unreachable?: boolean
    /** agproxy's own memory bound (limits.*) refused what the upstream sent: not the key's fault, and no retry would do better */
    refused?: boolean
  }

/** How a properly ended pass-through stream is recognised, per endpoint (see guardedByteStream). */
const STREAM_END: Partial<Record<string, { marker?: RegExp; tail?: RegExp }>> = {
  'openai.chat': { marker: /data:\s*\[DONE\]|"finish_reason"\s*:\s*"|^data:\s*\{\s*"error"/m },
  'openai.completions': { marker: /data:\s*\[DONE\]|"finish_reason"\s*:\s*"|^data:\s*\{\s*"error"/m },
  'openai.responses': { marker: /response\.(completed|incomplete|failed)|event:\s*error|"type"\s*:\s*"error"/ },
  'anthropic.messages': { marker: /message_stop|"stop_reason"\s*:\s*"|event:\s*error/ },
}

/** Anthropic pass-through: opening an empty text/thinking block is not yet content (see stream-guard isContentEvent);
 *  the first delta, a tool-use block, or the closing message_delta (an empty answer) is. */
/** Internal tuning: the SSE heartbeat interval (tests shorten it with AGPROXY_HEARTBEAT_MS). */
export function heartbeatMsFrom(env: Record<string, string | undefined>): number {
  const v = Number(env.AGPROXY_HEARTBEAT_MS)
  return Number.isFinite(v) && v >= 10 ? v : DEFAULT_HEARTBEAT_MS
}

/** Sleep `ms`, or less if `signal` aborts. */
const pause = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  if (signal.aborted || ms <= 0) return resolve()
  const t = setTimeout(() => { signal.removeEventListener('abort', stop); resolve() }, ms)
  const stop = () => { clearTimeout(t); resolve() }
  signal.addEventListener('abort', stop, { once: true })
})

/** `streams`: where running streams are registered (see Dispatcher.streams); its own unless the caller shares one. */
export function createDispatcher(
  config: Config, log: Logger, env: Record<string, string | undefined> = process.env, streams = new Set<LiveStream>(),
): Dispatcher {
  const fromEnv = config.providers.length ? undefined : providersFromEnv(env)
  const providerConfigs = fromEnv?.providers ?? config.providers
  if (fromEnv?.providers.length) log.info(`no providers configured; using ${fromEnv.providers.map((p) => p.name).join(', ')} from the environment`)
  const providers = buildProviders(providerConfigs, log, { maxCooldownMs: config.retry.max_cooldown * 1000 })
  // an upstream may echo any configured key, not only the one it was called with
  const redactor = Redactor.of([...providers.values()].map((p) => p.pool.redactor))
  /** a message about `provider` with every key masked (its own, all providers', anything shaped like a key) */
  const scrub = (msg: string, provider: Provider) => scrubShapes(redactor.text(provider.pool.redact(msg)))
  const models = fromEnv ? { ...fromEnv.models, ...config.models } : config.models
  const router = createModelRouter({ models }, providerConfigs)
  const t = config.timeouts
  const heartbeatMs = heartbeatMsFrom(env)
  const budgetMs = config.retry.max_wait * 1000
  /** answer bytes with every configured key masked; none configured (keyless providers): nothing to do */
  const maskBytes = redactor.size ? (c: Uint8Array) => redactor.bytes(c) : undefined
  const upstreamBodyMax = config.limits.upstream_body_mb * 1048576
  const sseEventMax = config.limits.sse_event_mb * 1048576

  async function dispatch(call: ModelCall): Promise<Response> {
    const dialect = call.endpoint.dialect
    const signal = call.request.signal
    const hops = (call.request.headers.get(HOP_HEADER) ?? '').split(',').filter(Boolean)
    if (hops.includes(INSTANCE_ID) || hops.length > 8)
      return renderError(dialect, err('loop', `Request loop: this request already passed through this agproxy (${HOP_HEADER}). A provider's base_url points back at agproxy itself; point it at the real upstream.`, { status: 508 }))

    const routed = router.resolve(call.model)
    if (!routed.ok) {
      const kind = providers.size === 0 ? 'unavailable' : 'not_found'
      return renderError(dialect, err(kind, routed.message, { param: 'model', code: kind === 'not_found' ? 'model_not_found' : undefined }))
    }
    const candidates: Target[] = [routed.route.target, ...routed.route.fallbacks]
    const sticky = stickyKeyFor(call.request.headers, call.body)
    const tried: string[] = []
    const missing: string[] = []
    const used = new Map<string, { provider: Provider; model: string }>()
    const plans = new Map<string, Plan>()
    const max = config.retry.max_attempts
    let attempts = 0
    let waited = 0
    let lastFailure: (Attempt & { ok: false }) | undefined

    /** sleep within the retry budget; false when the budget is spent */
    const wait = async (ms: number) => {
      const d = Math.min(ms, budgetMs - waited)
      if (d <= 0) return ms <= 0
      await pause(d, signal)
      waited += d
      return d >= ms
    }

    for (let round = 0; attempts < max; round++) {
      const before = attempts
      for (const [i, target] of candidates.entries()) {
        if (attempts >= max) break
        const provider = providers.get(target.provider)
        if (!provider) { if (round === 0) missing.push(`${target.provider}: no such provider`); continue }
        // a host that just refused or timed out a connect is skipped while a later candidate remains (and not retried)
        if (hostDown(provider) && (round > 0 || candidates.slice(i + 1).some((c) => providers.has(c.provider) && !hostDown(providers.get(c.provider)!)))) {
          if (round === 0) missing.push(`${provider.name}: skipped, its host could not be reached moments ago`)
          continue
        }
        used.set(`${provider.name}\u0000${target.model}`, { provider, model: target.model })
        const planKey = provider.name
        let plan = plans.get(planKey)
        if (!plan) {
          // logged as they come: the upstream encoder runs later (plan.request, per attempt) and warns too
          const warn = (m: string) => {
            const line = clipLine(scrub(m, provider), 300)
            log.once(`warn ${call.endpoint.id} ${provider.name} ${line}`, 'warn', `${call.endpoint.id} → ${provider.name}: ${line}`)
          }
          const ctx: CodecContext = { clientModel: call.model, warn, raw: call.body, query: Object.fromEntries(call.query), sseEventMax }
          try {
            plan = makePlan(call, provider, ctx)
          } catch (e) {
            if (e instanceof IRErrorValue) return renderError(dialect, e.error)
            throw e
          }
          plans.set(planKey, plan)
        }
        if (plan.local) return answer(plan.local(), provider, target.model)

        const exclude = new Set<string>()
        while (attempts < max) {
          const key = provider.pool.pick({ model: target.model, sticky, exclude })
          if (!key) break
          exclude.add(key.key)
          if (attempts > 0) {
            // jittered exponential backoff, within the retry budget (spent budget: retry at once)
            await wait(Math.min(2000, 100 * 2 ** (attempts - 1)) * (0.5 + Math.random() / 2))
          }
          if (signal.aborted) return clientGone()
          attempts++
          let result: Attempt
          try {
            result = await attempt(call, provider, key, target.model, plan, hops)
          } catch (e) {
            // the upstream encoder refused the request (e.g. something the provider type cannot express)
            if (e instanceof IRErrorValue) return renderError(dialect, e.error)
            throw e
          }
          if (result.ok) {
            provider.pool.success(key)
            return result.response
          }
          // the client left: not the key's fault, and nobody is waiting for an answer
          if (signal.aborted) return clientGone()
          // masked first, then cut: a cut could split a key and leave part of it unmasked
          const message = scrub(result.message, provider).slice(0, MAX_MESSAGE)
          if (result.refused) {
            provider.pool.success(key)
            log.warn(`attempt ${attempts}/${max}: ${provider.name}/${target.model} key ${key.name}: refused: ${message} (not retried)`)
            return renderError(dialect, err('upstream', `provider ${provider.name}: ${message}`))
          }
          if (result.status === 508) {
            // the provider's base_url leads back into an agproxy: no key or retry can fix that
            log.warn(`attempt ${attempts}/${max} failed: ${provider.name}/${target.model} key ${key.name}: 508 ${message} (not retryable)`)
            return renderError(dialect, err('loop', `Request loop: provider ${provider.name} (base_url ${provider.baseUrl}) leads back into agproxy: ${message}`, { status: 508 }))
          }
          const verdict = provider.pool.failure(key, { status: result.status, headers: result.headers, body: result.body, model: target.model })
          lastFailure = { ...result, message }
          const label = `${provider.name}/${target.model} key ${key.name}: ${result.status ?? 'error'} ${clipLine(message, 200)}`
          tried.push(label)
          log.warn(`attempt ${attempts}/${max} failed: ${label}${verdict.retryable && result.retryable !== false ? '' : ' (not retryable)'}`)
          if (!verdict.retryable || result.retryable === false) return renderError(dialect, clientError({ ...result, message }, provider))
          // the host is unreachable: no other key of this provider can help, move on to the fallbacks
          if (result.unreachable) break
        }
      }
      if (attempts >= max || signal.aborted) break
      // every candidate key is cooling (or was tried): wait for the soonest if the budget allows, then go again
      const next = [...used.values()].map((u) => u.provider.pool.nextAvailable(u.model)).filter((x): x is number => x !== undefined)
      if (!next.length) break
      const delay = Math.max(0, Math.min(...next) - Date.now())
      if (delay > budgetMs - waited) break
      if (attempts === before && delay === 0) break // nothing to try and nothing to wait for
      await wait(delay + 5)
      if (signal.aborted) return clientGone()
    }
    if (signal.aborted) return clientGone()
    return renderError(dialect, exhausted(call.model, [...missing, ...tried], [...used.values()], attempts, max, lastFailure))
  }

  /** One call to one provider with one key; on success, the client's response (first content already seen for streams). */
  async function attempt(call: ModelCall, provider: Provider, key: PooledKey, model: string, plan: Plan, hops: string[]): Promise<Attempt> {
    const startedAt = Date.now()
    const limits: StreamLimits = { idleMs: t.idle * 1000, totalMs: t.total * 1000, startedAt, scrub: (e) => ({ ...e, message: scrub(e.message, provider) }) }
    const { path, body } = plan.request(model)
    const forward: Record<string, string> = {}
    if (provider.type === 'anthropic') {
      const beta = call.request.headers.get('anthropic-beta')
      if (beta) forward['anthropic-beta'] = beta
      const version = call.request.headers.get('anthropic-version')
      if (version && plan.passthrough) forward['anthropic-version'] = version
    }
    // streams must show content within first_token; a whole (non-streamed) answer may take up to total
    const firstDeadline = startedAt + (plan.upstreamStreams ? Math.min(t.first_token, t.total) : t.total) * 1000
    const out = await callUpstream(provider, key.key, { path, body, forward }, {
      signal: call.request.signal,
      connectTimeoutMs: t.connect * 1000,
      headersDeadline: firstDeadline,
      hops,
    })
    if (!out.ok) {
      if (out.network) return { ok: false, message: out.network, unreachable: out.why === 'connect' }
      return { ok: false, status: out.status, headers: out.headers, body: out.body, message: upstreamMessage(out.body, out.text) }
    }
    const res = out.res
    const headers = { 'x-agproxy-provider': provider.name, 'x-agproxy-model': model }
    try {
      if (!plan.upstreamStreams) {
        const read = await readBodyGuarded(res, { idleMs: t.idle * 1000, deadline: startedAt + t.total * 1000, maxBytes: upstreamBodyMax })
        if (!read.ok) {
          out.controller.abort()
          const refused = read.reason === 'too_large'
          return { ok: false, status: read.reason === 'error' || refused ? 502 : 504, message: read.message, refused }
        }
        const text = read.text
        let parsed: unknown
        try { parsed = JSON.parse(text) } catch {
          const html = /^\s*</.test(text)
          return { ok: false, status: 502, message: html ? 'the upstream answered 200 with an HTML page instead of JSON' : text.trim() ? 'the upstream answered 200 with invalid JSON' : 'the upstream answered 200 with an empty body' }
        }
        if (plan.passthrough) return { ok: true, response: new Response(redactor.text(text), { headers: { 'content-type': 'application/json', ...headers } }) }
        // masked after translation: what the client gets is what must hold no key
        const translated = JSON.stringify(plan.decodeJson!(parsed))
        return { ok: true, response: new Response(redactor.text(translated), { headers: { 'content-type': 'application/json;charset=utf-8', ...headers } }) }
      }
      const contentType = res.headers.get('content-type') ?? ''
      if (/text\/html/i.test(contentType)) { out.controller.abort(); return { ok: false, status: 502, message: 'the upstream answered 200 with an HTML page instead of a stream' } }
      const streamHeaders = { 'content-type': plan.streamContentType, 'cache-control': 'no-cache', 'x-accel-buffering': 'no', ...headers }
      const heartbeat = plan.streamContentType.startsWith('text/event-stream')
      const firstMs = Math.max(1, firstDeadline - Date.now())
      if (plan.passthrough) {
        if (!res.body) return { ok: false, status: 502, message: 'the upstream stream ended without any content' }
        const peek = await peekBytes(res.body, plan.hasContent!, plan.errorIn!, firstMs)
        if (!peek.ok) {
          out.controller.abort()
          if (peek.reason !== 'error') return { ok: false, status: peek.reason === 'stall' ? 504 : 502, message: peek.message }
          const failure = inStreamFailure(peek.text ?? '')
          return { ok: false, status: failure.status, body: failure.body, message: peek.message }
        }
        const id = call.endpoint.id
        const complete = id === 'gemini.stream' ? (call.query.get('alt') === 'sse' ? { marker: /"finishReason"\s*:|"error"\s*:\s*\{/ } : { tail: /\]\s*$/ }) : STREAM_END[id]
        const stream = guardedByteStream(peek.buffered, peek.rest as ReadableStreamDefaultReader<Uint8Array>, {
          ...limits, heartbeatMs, heartbeat, errorFrame: plan.errorFrame, complete,
          // frame by frame: a break mid-frame ends well-formed, and a key split across chunks is masked whole
          framing: heartbeat ? 'sse' : 'json-array', maxFrameBytes: sseEventMax, transform: maskBytes,
          onEnd: () => out.controller.abort(), live: streams,
        })
        return { ok: true, response: new Response(stream, { headers: streamHeaders }) }
      }
      if (!res.body) return { ok: false, status: 502, message: 'the upstream stream ended without any content' }
      const peek = await peekEvents(plan.decodeStream!(res.body), firstMs)
      if (!peek.ok) {
        out.controller.abort()
        if (peek.reason === 'too_large') return { ok: false, status: 502, message: peek.message, refused: true }
        const status = peek.error?.status ?? (peek.reason === 'stall' ? 504 : 502)
        return { ok: false, status, body: peek.error ? { error: { message: peek.error.message } } : undefined, message: peek.message }
      }
      const encoded = plan.encodeStream!(guardEvents(peek.buffered, peek.rest as AsyncIterator<never>, limits))
      // always wrapped: heartbeats (SSE), a well-formed end if the encoder throws, and the upstream released at the end
      const stream = guardedByteStream([], encoded.getReader(), {
        idleMs: Infinity, totalMs: Number.MAX_SAFE_INTEGER / 2, heartbeatMs, heartbeat, errorFrame: plan.errorFrame, scrub: limits.scrub, transform: maskBytes,
        onEnd: () => out.controller.abort(), alwaysEnd: true, live: streams,
      })
      return { ok: true, response: new Response(stream, { headers: streamHeaders }) }
    } catch (e) {
      out.controller.abort()
      if (e instanceof IRErrorValue) return { ok: false, status: 502, message: e.error.message }
      return { ok: false, status: 502, message: `the upstream answer could not be read (${errorText(e)})` }
    }
  }

  function answer(a: ReturnType<NonNullable<Plan['local']>>, provider: Provider, model: string): Response {
    const headers = { 'x-agproxy-provider': provider.name, 'x-agproxy-model': model }
    if (a.kind === 'json') return Response.json(a.body, { status: a.status ?? 200, headers })
    if (a.kind === 'bytes-json') return new Response(a.text, { headers: { 'content-type': a.contentType, ...headers } })
    return new Response(a.stream, { headers: { 'content-type': a.contentType, ...headers } })
  }

  return { router, providers, streams, dispatch }
}

/** An upstream's message in an answer or log line is cut to this many characters (after masking). */
const MAX_MESSAGE = 500

/** The client went away before an answer: nobody reads this. */
const clientGone = () => new Response(null, { status: 499 })

/** An in-stream error seen before any content (pass-through): its body and the status it stands for. */
export function inStreamFailure(text: string): { status: number; body?: unknown } {
  let body: any
  for (const line of text.split(/\r?\n/)) {
    const m = /^data:\s*(\{.*\})\s*$/.exec(line.trim())
    if (!m) continue
    try {
      const j = JSON.parse(m[1]!)
      if (j && typeof j === 'object' && (j.error || j.type === 'error' || j.type === 'response.failed')) { body = j; break }
    } catch { /* not JSON */ }
  }
  if (!body) {
    // a Gemini JSON-array stream: [{…},{"error":{…}}
    const trimmed = text.trim()
    for (const candidate of [trimmed, trimmed.replace(/,\s*$/, '') + ']']) {
      try {
        const arr = JSON.parse(candidate)
        const found = (Array.isArray(arr) ? arr : [arr]).find((x: any) => x?.error)
        if (found) { body = found; break }
      } catch { /* not complete JSON */ }
    }
  }
  if (!body) return { status: 502 }
  if (body.type === 'response.failed') body = { error: body.response?.error ?? {} }
  const e = body.error ?? body
  const code = typeof e?.code === 'number' ? e.code : undefined
  const kind = String(e?.type ?? e?.code ?? e?.status ?? '')
  const status =
    code && code >= 400 && code < 600 ? code
    : /rate_limit|RESOURCE_EXHAUSTED|insufficient_quota/i.test(kind) ? 429
    : /overloaded/i.test(kind) ? 529
    : /authentication|invalid_api_key|UNAUTHENTICATED/i.test(kind) ? 401
    : /permission|PERMISSION_DENIED/i.test(kind) ? 403
    : /invalid_request|INVALID_ARGUMENT/i.test(kind) ? 400
    : /timeout|DEADLINE/i.test(kind) ? 504
    : /api_error|server_error|INTERNAL|UNAVAILABLE/i.test(kind) ? 500
    : 502
  return { status, body }
}

/** An upstream's error message, whatever its dialect; whole (the caller masks keys, then cuts it to MAX_MESSAGE). */
function upstreamMessage(body: any, text?: string): string {
  const m = body?.error?.message ?? body?.message ?? body?.error ?? (typeof body === 'string' ? body : undefined)
  if (typeof m === 'string') return m
  if (text && /^\s*</.test(text)) return 'the upstream answered with an HTML error page'
  return (text ?? '').replace(/\s+/g, ' ').trim() || 'no error message'
}

/** Anything shaped like a provider key, masked (keys configured nowhere, e.g. a relay's own). */
const scrubShapes = (msg: string) => msg.replace(/\b(sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,})/g, (k) => maskKey(k))

/** A non-retryable upstream failure, as the client should see it (message already scrubbed). */
function clientError(f: Attempt & { ok: false }, provider: Provider): IRError {
  const msg = f.message
  const s = f.status
  if (s === 401 || s === 403) return err('upstream', `upstream rejected the provider key for ${provider.name} (${s}: ${msg})`)
  if (s === 429) return err('rate_limit', `provider ${provider.name} is rate limited: ${msg}`)
  if (s === 404) return err('not_found', `provider ${provider.name}: ${msg}`, { code: 'model_not_found', param: 'model' })
  if (s === 413) return err('request_too_large', `provider ${provider.name}: ${msg}`)
  if (s && s >= 400 && s < 500) return err('invalid_request', `provider ${provider.name} rejected the request: ${msg}`, { status: s })
  return err('upstream', `provider ${provider.name} failed: ${msg}`, { status: s && s >= 500 ? s : 502 })
}

/**
 * Everything was tried. 429 when every key of every candidate is held by a rate limit / quota (retry-after =
 * the soonest); 502 "upstream rejected the provider key" when every key is disabled (a permanent refusal:
 * retrying cannot help); else 503 (with retry-after when all keys are merely cooling). The message names
 * each candidate's key states and the attempts made.
 */
function exhausted(model: string, tried: string[], used: Array<{ provider: Provider; model: string }>, attempts: number, max: number, last?: Attempt & { ok: false }): IRError {
  const now = Date.now()
  const state = used.map((u) => `${u.provider.pool.describe(u.model)}${used.length > 1 || u.model !== model ? ` for ${u.model}` : ''}`).join('; ') || 'no provider'
  const attemptsText = tried.length ? ` Tried (${attempts} of at most ${max} attempt${max === 1 ? '' : 's'}): ${tried.join(' | ')}.` : ''
  const soonest = used.map((u) => u.provider.pool.soonestAvailable(u.model))
  const allCooling = used.length > 0 && soonest.every((x) => x !== undefined)
  const retryAfter = allCooling ? Math.max(1, Math.ceil((Math.min(...(soonest as number[])) - now) / 1000)) : undefined
  if (allCooling && used.every((u) => u.provider.pool.rateLimited(u.model)))
    return err('rate_limit', `All keys for ${model} are rate limited: ${state}. Retry in ${formatMs(retryAfter! * 1000)}.${attemptsText}`, { retryAfter })
  if (used.length > 0 && used.every((u) => u.provider.pool.nextAvailable(u.model) === undefined)) {
    const names = [...new Set(used.map((u) => u.provider.name))].join(', ')
    const why = last && (last.status === 401 || last.status === 403 || last.status === 400) ? ` (${last.status}: ${last.message})` : ''
    return err('upstream', `upstream rejected the provider key for ${names}${why}: ${state}.${attemptsText}`)
  }
  return err('unavailable', `No provider could answer for ${model}: ${state}.${retryAfter ? ` Retry in ${formatMs(retryAfter * 1000)}.` : ''}${attemptsText}`, { retryAfter })
}
