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
import { callUpstream, HOP_HEADER, INSTANCE_ID } from './upstream-call'
import { makePlan, type Plan } from './plans'
import { peekBytes, peekEvents, guardEvents, guardedByteStream, withHeartbeat } from './stream-guard'
import { stickyKeyFor } from './sticky'
import { maskKey, formatMs, type PooledKey } from './pool'

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
  dispatch(call: ModelCall): Promise<Response>
}

type Attempt =
  | { ok: true; response: Response }
  | { ok: false; status?: number; headers?: Headers; body?: unknown; message: string; retryable?: boolean }

export function createDispatcher(config: Config, log: Logger, env: Record<string, string | undefined> = process.env): Dispatcher {
  const fromEnv = config.providers.length ? undefined : providersFromEnv(env)
  const providerConfigs = fromEnv?.providers ?? config.providers
  if (fromEnv?.providers.length) log.info(`no providers configured; using ${fromEnv.providers.map((p) => p.name).join(', ')} from the environment`)
  const providers = buildProviders(providerConfigs, log)
  const models = fromEnv ? { ...fromEnv.models, ...config.models } : config.models
  const router = createModelRouter({ models }, providerConfigs)
  const t = config.timeouts
  const limits = { idleMs: t.idle * 1000, totalMs: t.total * 1000, heartbeatMs: 15_000 }

  async function dispatch(call: ModelCall): Promise<Response> {
    const dialect = call.endpoint.dialect
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
    const pools = new Set<Provider>()
    let attempts = 0
    let waited = 0
    let lastFailure: Attempt & { ok: false } | undefined
    let lastProvider: Provider | undefined

    for (const target of candidates) {
      const provider = providers.get(target.provider)
      if (!provider) { tried.push(`${target.provider}: no such provider`); continue }
      pools.add(provider)
      const warnings: string[] = []
      const ctx: CodecContext = { clientModel: call.model, warn: (m) => warnings.push(m), raw: call.body, query: Object.fromEntries(call.query) }
      let plan: Plan
      try {
        plan = makePlan(call, provider, ctx)
      } catch (e) {
        if (e instanceof IRErrorValue) return renderError(dialect, e.error)
        throw e
      } finally {
        for (const w of warnings) log.once(`warn ${call.endpoint.id} ${w}`, 'warn', `${call.endpoint.id} → ${provider.name}: ${w}`)
      }
      if (plan.local) return answer(plan.local(), provider, target.model)

      const exclude = new Set<string>()
      while (attempts < config.retry.max_attempts) {
        const key = provider.pool.pick({ model: target.model, sticky, exclude })
        if (!key) break
        exclude.add(key.key)
        if (attempts > 0) {
          // jittered backoff within the retry budget
          const delay = Math.min(2000, 100 * 2 ** (attempts - 1)) * (0.5 + Math.random() / 2)
          if (waited + delay > config.retry.max_wait * 1000) { attempts = config.retry.max_attempts; break }
          await Bun.sleep(delay)
          waited += delay
        }
        if (call.request.signal.aborted) return new Response(null, { status: 499 })
        attempts++
        const result = await attempt(call, provider, key, target.model, plan, hops)
        if (result.ok) {
          provider.pool.success(key)
          return result.response
        }
        const verdict = provider.pool.failure(key, { status: result.status, headers: result.headers, body: result.body, model: target.model })
        const label = `${provider.name}/${target.model} key ${key.masked}: ${result.status ?? 'error'} ${scrub(result.message, key.key)}`
        tried.push(label)
        log.warn(`attempt ${attempts} failed: ${label}${verdict.retryable ? '' : ' (not retryable)'}`)
        lastFailure = { ...result, message: scrub(result.message, key.key) }
        lastProvider = provider
        if (!verdict.retryable || result.retryable === false) return renderError(dialect, clientError(result, provider, key))
      }
      if (attempts >= config.retry.max_attempts) break
    }
    return renderError(dialect, exhausted(call.model, tried, [...pools], lastFailure, lastProvider))
  }

  /** One call to one provider with one key; on success, the client's response (first content already seen for streams). */
  async function attempt(call: ModelCall, provider: Provider, key: PooledKey, model: string, plan: Plan, hops: string[]): Promise<Attempt> {
    const { path, body } = plan.request(model)
    const forward: Record<string, string> = {}
    if (provider.type === 'anthropic') {
      const beta = call.request.headers.get('anthropic-beta')
      if (beta) forward['anthropic-beta'] = beta
      const version = call.request.headers.get('anthropic-version')
      if (version && plan.passthrough) forward['anthropic-version'] = version
    }
    const out = await callUpstream(provider, key.key, { path, body, forward }, {
      signal: call.request.signal,
      headersTimeoutMs: (plan.upstreamStreams ? t.first_token : t.total) * 1000,
      hops,
    })
    if (!out.ok) {
      if (out.network) return { ok: false, message: out.network }
      return { ok: false, status: out.status, headers: out.headers, body: out.body, message: upstreamMessage(out.body, out.text) }
    }
    const res = out.res
    const headers = { 'x-agproxy-provider': provider.name, 'x-agproxy-model': model }
    try {
      if (!plan.upstreamStreams) {
        const text = await res.text()
        let parsed: unknown
        try { parsed = JSON.parse(text) } catch {
          const html = /^\s*</.test(text)
          return { ok: false, status: 502, message: html ? 'the upstream answered 200 with an HTML page instead of JSON' : 'the upstream answered 200 with invalid JSON' }
        }
        if (plan.passthrough) return { ok: true, response: new Response(text, { status: 200, headers: { 'content-type': 'application/json', ...headers } }) }
        return { ok: true, response: Response.json(plan.decodeJson!(parsed), { headers }) }
      }
      const contentType = res.headers.get('content-type') ?? ''
      if (/text\/html/i.test(contentType)) { out.controller.abort(); return { ok: false, status: 502, message: 'the upstream answered 200 with an HTML page instead of a stream' } }
      const streamHeaders = { 'content-type': plan.streamContentType, 'cache-control': 'no-cache', 'x-accel-buffering': 'no', ...headers }
      const heartbeat = plan.streamContentType.startsWith('text/event-stream')
      if (plan.passthrough) {
        const peek = await peekBytes(res.body!, plan.hasContent!, plan.errorIn!, t.first_token * 1000)
        if (!peek.ok) { out.controller.abort(); return { ok: false, status: peek.reason === 'error' ? 502 : 503, message: peek.message } }
        const stream = guardedByteStream(peek.buffered, peek.rest as ReadableStreamDefaultReader<Uint8Array>, { ...limits, heartbeat, errorFrame: plan.errorFrame, onEnd: () => out.controller.abort() })
        return { ok: true, response: new Response(stream, { headers: streamHeaders }) }
      }
      const peek = await peekEvents(plan.decodeStream!(res.body!), t.first_token * 1000)
      if (!peek.ok) {
        out.controller.abort()
        return { ok: false, status: peek.error?.status ?? (peek.reason === 'error' ? 502 : 503), body: peek.error ? { error: { message: peek.error.message } } : undefined, message: peek.message }
      }
      const encoded = plan.encodeStream!(guardEvents(peek.buffered, peek.rest as AsyncIterator<never>, limits))
      const stream = heartbeat ? withHeartbeat(encoded, limits.heartbeatMs) : encoded
      return { ok: true, response: new Response(stream, { headers: streamHeaders }) }
    } catch (e) {
      out.controller.abort()
      if (e instanceof IRErrorValue) return { ok: false, status: 502, message: e.error.message }
      return { ok: false, status: 502, message: `the upstream answer could not be read (${(e as Error).message})` }
    }
  }

  function answer(a: ReturnType<NonNullable<Plan['local']>>, provider: Provider, model: string): Response {
    const headers = { 'x-agproxy-provider': provider.name, 'x-agproxy-model': model }
    if (a.kind === 'json') return Response.json(a.body, { status: a.status ?? 200, headers })
    if (a.kind === 'bytes-json') return new Response(a.text, { headers: { 'content-type': a.contentType, ...headers } })
    return new Response(a.stream, { headers: { 'content-type': a.contentType, ...headers } })
  }

  return { router, providers, dispatch }
}

/** An upstream's error message, whatever its dialect. */
function upstreamMessage(body: any, text?: string): string {
  const m = body?.error?.message ?? body?.message ?? body?.error ?? (typeof body === 'string' ? body : undefined)
  if (typeof m === 'string') return m.slice(0, 500)
  if (text && /^\s*</.test(text)) return 'the upstream answered with an HTML error page'
  return (text ?? '').replace(/\s+/g, ' ').slice(0, 300) || 'no error message'
}

/** Never let a provider key through in a message. */
function scrub(msg: string, key: string): string {
  let out = msg
  if (key && key.length >= 8) out = out.split(key).join(maskKey(key))
  return out.replace(/\b(sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,}|sk-ant-[A-Za-z0-9_-]{8,})/g, (k) => maskKey(k))
}

/** A non-retryable upstream failure, as the client should see it. */
function clientError(f: Attempt & { ok: false }, provider: Provider, key: PooledKey): IRError {
  const msg = scrub(f.message, key.key)
  const s = f.status
  if (s === 401 || s === 403) return err('upstream', `upstream rejected the provider key for ${provider.name} (${s}: ${msg})`)
  if (s === 429) return err('rate_limit', `provider ${provider.name} is rate limited: ${msg}`)
  if (s === 404) return err('not_found', `provider ${provider.name}: ${msg}`, { code: 'model_not_found', param: 'model' })
  if (s === 413) return err('request_too_large', `provider ${provider.name}: ${msg}`)
  if (s && s >= 400 && s < 500) return err('invalid_request', `provider ${provider.name} rejected the request: ${msg}`, { status: s })
  return err('upstream', `provider ${provider.name} failed: ${msg}`, { status: s && s >= 500 ? s : 502 })
}

/** Everything was tried: 429 when every key is cooling (retry-after = the soonest), else 503. */
function exhausted(model: string, tried: string[], pools: Provider[], last: (Attempt & { ok: false }) | undefined, lastProvider: Provider | undefined): IRError {
  const now = Date.now()
  const soonest = pools.map((p) => p.pool.soonestAvailable(model)).filter((x): x is number => x !== undefined)
  const allCooling = pools.length > 0 && pools.every((p) => p.pool.soonestAvailable(model) !== undefined)
  const state = pools.map((p) => p.pool.describe(model)).join('; ')
  const attempts = tried.length ? ` Tried: ${tried.join(' | ')}.` : ''
  if (allCooling && soonest.length) {
    const wait = Math.max(1, Math.ceil((Math.min(...soonest) - now) / 1000))
    return err('rate_limit', `All keys for ${model} are cooling down: ${state}. Retry in ${formatMs(wait * 1000)}.${attempts}`, { retryAfter: wait })
  }
  if (last && tried.length === 1 && last.status && last.status < 500 && last.status !== 429 && lastProvider) return err('upstream', `${state}.${attempts}`)
  return err('unavailable', `No provider could answer for ${model}: ${state}.${attempts}`)
}
