/**
 * A model call, after the front door: route the model to a provider, plan the call per provider, and run the
 * retry / failover loop (retry-loop.ts) over the attempt strategies. Answers an Answer or an IRError; the routes
 * render them (no HTTP here).
 */
import type { Config } from '../config/schema'
import type { Logger } from '../log'
import type { CodecContext, IRError } from '../ir/types'
import { err } from '../ir/errors'
import type { ModelRouter, Target } from '../routing/models'
import { buildProviders, planTarget, type Provider } from '../providers/registry'
import { routingOf } from './routing'
import { HOP_HEADER, INSTANCE_ID } from '../providers/upstream-call'
import { createAppState, type AppState } from '../state'
import { DEFAULT_HEARTBEAT_MS, type LiveStream } from '../providers/stream-guard'
import { stickyKeyFor } from '../providers/sticky'
import { maskKey, clipLine, Redactor, type PooledKey } from '../providers/pool'
import { makePlan } from './plans'
import { attempt, type DispatchDeps, type UpstreamPlan } from './attempt'
import { localAnswer } from './attempt-local'
import { RESPONSES_APIS, lacksResponses, rememberChatOnly, responsesViaChat } from './responses-fallback'
import { runRetryLoop, realClock, type LoopClock, type RetryRun } from './retry-loop'
import type { Answer, Attempt, ModelCall } from './types'
import type { Trace } from '../observe/trace'
import { kindOfStatus } from '../observe/trace'

export type { Answer, ModelCall } from './types'
export { isAnswer } from './types'

export interface Dispatcher {
  router: ModelRouter
  providers: Map<string, Provider>
  /** the streams clients are still reading (every streamed answer is in it until it ends), so shutdown can end them cleanly */
  streams: Set<LiveStream>
  dispatch(call: ModelCall): Promise<Answer | IRError>
}

/** Internal tuning: the SSE heartbeat interval (tests shorten it with AGPROXY_HEARTBEAT_MS). */
export function heartbeatMsFrom(env: Record<string, string | undefined>): number {
  const v = Number(env.AGPROXY_HEARTBEAT_MS)
  return Number.isFinite(v) && v >= 10 ? v : DEFAULT_HEARTBEAT_MS
}

/** This request already passed through this agproxy: a provider's base_url leads back to it. */
const LOOP = err(
  'loop',
  `Request loop: this request already passed through this agproxy (${HOP_HEADER}). ` +
    "A provider's base_url points back at agproxy itself; point it at the real upstream.",
  { status: 508 },
)

/** the hops of a request that came straight from a client (never changed) */
const NO_HOPS: string[] = []

/** Anything shaped like a provider key, masked (keys configured nowhere, e.g. a relay's own). */
const scrubShapes = (msg: string) => msg.replace(/\b(sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,})/g, k => maskKey(k))

/** The providers (configured, or from the environment's key variables) and the router (routing.ts). */
function providersOf(config: Config, log: Logger, env: Record<string, string | undefined>) {
  const routing = routingOf(config, env)
  if (routing.zeroConfig && routing.providers.length)
    log.info(`no providers configured; using ${routing.providers.map(p => p.name).join(', ')} from the environment`)
  for (const p of routing.providers)
    if (!routing.zeroConfig && p.key_from) log.info(`provider ${p.name}: no api_keys configured; using ${p.key_from} from the environment`)
  const providers = buildProviders(routing.providers, log, { maxCooldownMs: config.retry.max_cooldown * 1000 }, env)
  return { providers, router: routing.router }
}

/** What every attempt shares: timeouts, limits, key masking, the live-streams registry. */
function depsOf(config: Config, providers: Map<string, Provider>, env: Record<string, string | undefined>, state: AppState): DispatchDeps {
  // an upstream may echo any configured key, not only the one it was called with
  const redactor = Redactor.of([...providers.values()].map(p => p.pool.redactor))
  return {
    timeouts: config.timeouts,
    heartbeatMs: heartbeatMsFrom(env),
    redactor,
    // none configured (keyless providers): nothing to mask
    maskBytes: redactor.size ? (c: Uint8Array) => redactor.bytes(c) : undefined,
    scrub: (msg, provider) => scrubShapes(redactor.text(provider.pool.redact(msg))),
    upstreamBodyMax: config.limits.upstream_body_mb * 1048576,
    sseEventMax: config.limits.sse_event_mb * 1048576,
    streams: state.streams,
    hosts: state.hosts,
  }
}

/** `state`: the app's caches and live-streams registry (createApp's; its own when not given).
 *  `clock`: the retry loop's time (tests inject one). */
export function createDispatcher(
  config: Config,
  log: Logger,
  env: Record<string, string | undefined> = process.env,
  state: AppState = createAppState(),
  clock: LoopClock = realClock,
): Dispatcher {
  const { providers, router } = providersOf(config, log, env)
  const deps = depsOf(config, providers, env, state)

  /** the codec context of a call to `provider`: warnings logged once, as they come, keys masked */
  const codecContext = (call: ModelCall, provider: Provider): CodecContext => {
    const warn = (m: string) => {
      const line = clipLine(deps.scrub(m, provider), 300)
      log.once(`warn ${call.endpoint.id} ${provider.name} ${line}`, 'warn', `${call.endpoint.id} → ${provider.name}: ${line}`)
    }
    return { clientModel: call.model, warn, raw: call.body, query: Object.fromEntries(call.query), sseEventMax: deps.sseEventMax, memory: state.memory }
  }

  /** One call's run of the retry loop: its candidates and limits, and how it plans and attempts (one object per call; the
   *  functions are its class's, not closures made per call). */
  class CallRun implements RetryRun<UpstreamPlan> {
    readonly providers = providers
    readonly maxAttempts = config.retry.max_attempts
    readonly budgetMs = config.retry.max_wait * 1000
    readonly clock = clock
    readonly scrub = deps.scrub
    readonly model: string
    readonly signal: AbortSignal
    attempted?: RetryRun<UpstreamPlan>['attempted']
    /** the conversation's key: null until worked out */
    private stickyKey: string | undefined | null = null

    constructor(
      readonly call: ModelCall,
      readonly hops: string[],
      readonly candidates: Target[],
    ) {
      this.model = call.model
      this.signal = call.signal
      if (call.trace) this.attempted = attemptedOf
    }

    /** worked out once, and only when a provider has several keys to choose from */
    get sticky() {
      if (this.stickyKey === null) this.stickyKey = stickyKeyFor(this.call.request.headers, this.call.body)
      return this.stickyKey
    }

    warn(line: string) {
      log.warn(line)
    }

    isDown(p: Provider) {
      return state.hosts.down(p)
    }

    prepare(provider: Provider, target: Target): { plan: UpstreamPlan } | { final: Answer } {
      const call = this.call
      const ctx = () => codecContext(call, provider)
      const plan = makePlan(call, planTarget(provider, target.model), ctx, responsesViaChat(provider, state.chatOnly), target.model)
      return plan.kind === 'local' ? { final: localAnswer(plan, provider.name, target.model) } : { plan }
    }

    attempt(provider: Provider, key: PooledKey, model: string, plan: UpstreamPlan): Promise<Attempt> {
      // Responses calls (and compaction, input tokens) may fall back to Chat Completions (responses: auto); every other call goes straight on
      if (!RESPONSES_APIS.has(this.call.endpoint.id)) return attempt({ call: this.call, provider, key, model, hops: this.hops, plan, deps })
      return this.attemptResponses(provider, key, model, plan)
    }

    /** a Responses call: on a provider without /v1/responses (404/405 for the path), the same attempt translated through Chat Completions */
    private async attemptResponses(provider: Provider, key: PooledKey, model: string, planned: UpstreamPlan): Promise<Attempt> {
      const call = this.call
      const viaChat = () => makePlan(call, provider, () => codecContext(call, provider), true) as UpstreamPlan
      // a provider found chat-only earlier in this call: its cached pass-through plan is stale
      const plan = planned.kind === 'pass-through' && state.chatOnly.has(provider.name) ? viaChat() : planned
      const result = await attempt({ call, provider, key, model, hops: this.hops, plan, deps })
      if (!lacksResponses(call, provider, plan, result)) return result
      rememberChatOnly(provider, state.chatOnly, log)
      return attempt({ call, provider, key, model, hops: this.hops, plan: viaChat(), deps })
    }
  }

  /** a traced call's `attempted` (CallRun's, called as its method) */
  function attemptedOf(this: CallRun, provider: Provider, key: PooledKey, model: string, result: Attempt, ms: number) {
    traceAttempt(this.call.trace as Trace, provider, key.name, model, result, ms)
  }

  async function dispatch(call: ModelCall): Promise<Answer | IRError> {
    const trace = call.trace
    if (trace) {
      trace.asked(call.model)
      trace.stream = call.endpoint.streams(call.body)
    }
    const hop = call.request.headers.get(HOP_HEADER)
    const hops = hop ? hop.split(',').filter(Boolean) : NO_HOPS
    if (hops.includes(INSTANCE_ID) || hops.length > 8) return LOOP
    const routed = router.resolve(call.model)
    if (!routed.ok) {
      const kind = providers.size === 0 ? 'unavailable' : 'not_found'
      return err(kind, routed.message, { param: 'model', code: kind === 'not_found' ? 'model_not_found' : undefined })
    }
    const { target, fallbacks } = routed.route
    return runRetryLoop(new CallRun(call, hops, fallbacks.length ? [target, ...fallbacks] : [target]))
  }

  /** one attempt, told to the trace: who was called with which key, how it went, how long it took */
  function traceAttempt(trace: Trace, provider: Provider, key: string, model: string, result: Attempt, ms: number) {
    if (result.ok) {
      trace.attempts.push({ provider: provider.name, model, key, status: 200, ms })
      trace.key = key
      return
    }
    const status = result.status ?? 0
    const message = clipLine(deps.scrub(result.message, provider), 300)
    trace.attempts.push({ provider: provider.name, model, key, status, error: kindOfStatus(status || 502), message, ms })
  }

  return { router, providers, streams: state.streams, dispatch }
}
