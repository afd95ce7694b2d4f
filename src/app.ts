/**
 * createApp(config): the whole gateway as a fetch handler, with the plugins mounted in flow order.
 * Tests import this; src/index.ts listens.
 *
 *   request → front door (resolve path, guards, auth) → Elysia routes → dispatcher → provider
 */
import { Elysia } from 'elysia'
import type { Server } from 'bun'
import type { Config } from './config/schema'
import { createLogger, type Logger } from './log'
import { createFrontDoor, type Routes } from './http/front'
import { detectDialect, err, internalError, renderError, summarize } from './http/errors'
import { isLoopbackAddress } from './http/guards'
import { bindHost } from './config/load'
import { notFound } from './http/not-found'
import { healthResponse, systemRoutes } from './routes/system'
import { statusRoutes } from './routes/status'
import { modelRoutes } from './routes/model-list'
import { modelCallRoutes } from './routes/model-calls'
import { docs } from './http/docs'
import { createDispatcher, type Dispatcher } from './dispatch'
import type { LiveStream } from './providers/stream-guard'
import { createBodyBudget, type BodyBudget } from './http/body-budget'
import { createAppState, type AppState } from './state'
import { accessLog } from './observe/access-log'
import { Metrics } from './observe/metrics'
import { metricsRoutes } from './routes/metrics'
import { adminRoutes, type ReloadAction } from './routes/admin'
import type { RequestLog } from './store/request-log'
import { createPricer } from './store/prices'
import { Recorder } from './observe/record'
import { Redactor } from './providers/pool'
import { isAdminPath, isUiPath } from './http/auth'
import { ClientKeys, LocalLimiter, RuntimeKeys, type Limiter } from './clientkeys'
import type { SharedKeys } from './shared/keys'
import type { SharedRedis } from './shared/redis'
import { RequestStats } from './observe/stats'
import { uiRoutes } from './routes/ui'

export interface Agproxy {
  config: Config
  // biome-ignore lint/suspicious/noExplicitAny: Elysia's seven type parameters describe the routes; callers only need handle()
  app: Elysia<any, any, any, any, any, any, any>
  dispatcher: Dispatcher
  /** this app's caches (codec memory, host health) and live-streams registry */
  state: AppState
  /** request bodies held at once (limits.request_bodies_mb), this app's own */
  bodies: BodyBudget
  /** build the Elysia app now (else its first request does) */
  prepare(): void
  /** the gateway's fetch handler (front door + routes) */
  fetch(req: Request, server?: Server<unknown> | null): Promise<Response>
  /** set once listening, for messages that name the server's address */
  setOrigin(origin: string): void
  /** set once listening: the address actually bound; the Host guard is on when it is loopback */
  setBound(address: string): void
}

/** What `listen` shares across the configurations it serves (all optional: an in-process app has its own or none). */
export interface AppShared {
  /** the registry of running streams (`listen` shares one across reloads so shutdown reaches them all) */
  streams?: Set<LiveStream>
  /** the request log (src/store), fed by this app's recorder and reporting to its state */
  requestLog?: RequestLog
  /** finished requests of every configuration, for /admin/events */
  events?: Recorder
  /** what POST /admin/reload runs */
  reload?: ReloadAction
  /** the client keys' counters (`listen` keeps one across reloads: a reload does not reset a key's minute or budget) */
  limiter?: Limiter
  /** the Redis several instances share (redis_url): counters, and its fault reported to this app's state */
  redis?: SharedRedis
  /** the key pools' states shared through that Redis */
  sharedKeys?: SharedKeys
  /** the runtime client keys' snapshot (`listen` keeps one across reloads, polled and told of other instances' changes) */
  runtimeKeys?: RuntimeKeys
  /** the dashboard's per-minute request statistics, fed by `events` (`listen` keeps one across reloads) */
  stats?: RequestStats
  /** /metrics' counters and histograms (`listen` keeps one across reloads: a reload does not reset a counter) */
  metrics?: Metrics
}

/** `streams`: the registry of running streams (default: the app's own; `listen` shares one across reloads so shutdown reaches them all). */
/** `keyFile`: where the generated LAN key is kept, when that is the clients' key (the 401 names it). */
export function createApp(config: Config, opts: { log?: Logger; env?: Record<string, string | undefined>; keyFile?: string } & AppShared = {}): Agproxy {
  const log = opts.log ?? createLogger(config.log_level, undefined, config.log_format)
  let origin = `http://${config.host ?? '127.0.0.1'}:${config.port}`
  const listenOrigin = () => origin
  // until listening (or in-process), what the configuration asks to bind
  let loopback = isLoopbackAddress(bindHost(config))
  // env: where zero-config reads the provider key variables (process.env unless a test injects one)
  // every cache is this app's own (a reload builds a new app: nothing carries over but the shared streams registry)
  const state = createAppState(opts.streams)
  const dispatcher = createDispatcher(config, log, opts.env ?? process.env, state)
  if (opts.redis) {
    opts.redis.attach(state)
    state.counters = opts.redis
  }
  opts.sharedKeys?.attach([...dispatcher.providers.values()].map(p => p.pool))
  const bodies = createBodyBudget(config.limits.request_bodies_mb * 1048576)
  // what every finished request is told to (src/observe): the access log and /metrics; the request store subscribes too
  const metrics = opts.metrics ?? new Metrics()
  state.recorder.subscribe(metrics.observe, { client: false })
  const access = config.access_log ? accessLog(log) : undefined
  if (access) state.recorder.subscribe(access)
  const pricer = createPricer(config.prices, name => dispatcher.providers.get(name)?.baseUrl)
  const events = opts.events ?? new Recorder()
  const stats = opts.stats ?? new RequestStats()
  if (!opts.stats) events.subscribe(stats.observe, { client: false })
  // the recorder's observers only queue (the request log) or fan out (the admin feed): nothing on the request's path
  // the admin API's own requests (and the dashboard's page loads) are neither logged nor fed back to its readers
  const ownRequest = (path: string) => isAdminPath(path) || isUiPath(path)
  state.recorder.subscribe(rec => ownRequest(rec.path) || events.emit(rec), { client: () => events.readsClient })
  const requestLog = opts.requestLog
  // client-key counters: in Redis when several instances share one (redis_url), else this listener's own
  const limiter: Limiter = opts.redis ?? opts.limiter ?? new LocalLimiter()
  // runtime client keys live in the request log's database (SQLite, or the PostgreSQL of database_url); an app of its own
  // (no listener) reads them at start and after its own changes
  const runtime = opts.runtimeKeys ?? new RuntimeKeys({ store: () => requestLog?.reader?.clientKeys, pollMs: 0 })
  const clientKeys = new ClientKeys({ config, limiter, runtime, store: requestLog && (() => requestLog.reader), pricer })
  if (requestLog) {
    const secrets = new Redactor([...config.api_keys, ...config.client_keys.map(k => k.key), ...(config.admin_key ? [config.admin_key] : [])], 4)
    const redactor = Redactor.of([...[...dispatcher.providers.values()].map(p => p.pool.redactor), secrets], 4)
    requestLog.attach(state, pricer, text => redactor.text(text))
    state.recorder.subscribe(rec => ownRequest(rec.path) || requestLog.push(rec))
  }

  /** an exception no route handled: logged with its stack, a 500 in the caller's dialect without one */
  const unhandled = (method: string, path: string, dialect: ReturnType<typeof detectDialect>, error: unknown) => {
    log.error(`unhandled error on ${method} ${path}: ${(error as Error)?.stack ?? error}`)
    return renderError(dialect, internalError())
  }
  const modelCalls = modelCallRoutes(dispatcher, config.max_body_mb, config.timeouts.request_body, bodies, clientKeys)
  const startedAt = Date.now()
  // the Elysia app (every route but the model calls and the health check, which the front door answers itself) is built
  // at its first request, or by prepare(): ≈ 5 ms of a start that the first health probe or model call need not wait for
  const build = () => {
    const app = new Elysia({ normalize: false })
      .onError(({ code, error, request, set }) => {
        const url = new URL(request.url)
        const dialect = detectDialect(url.pathname, request.headers, url.searchParams)
        if (code === 'NOT_FOUND') return notFound(request, url, listenOrigin, config.tolerant_paths)
        if (code === 'PARSE' || code === 'VALIDATION')
          return renderError(
            dialect,
            err('invalid_request', `${code === 'PARSE' ? 'The request could not be parsed' : 'The request is invalid'}: ${summarize(error)}`),
          )
        void set
        return unhandled(request.method, url.pathname, dialect, error)
      })
      .use(systemRoutes(listenOrigin, state.degraded))
      .use(statusRoutes(dispatcher))
      .use(modelRoutes(dispatcher.router))
      .use(modelCalls.routes)
      .use(metricsRoutes(metrics, dispatcher, state))
      .use(
        adminRoutes({
          config,
          dispatcher,
          state,
          requestLog,
          events,
          pricer,
          clientKeys,
          reload: opts.reload,
          startedAt,
          stats,
          listenOrigin,
          call: (req): Promise<Response> => app.handle(req),
        }),
      )
      .use(uiRoutes())
      .use(docs(listenOrigin))
    return app
  }
  let built: ReturnType<typeof build> | undefined
  const app = () => (built ??= build())

  const front = createFrontDoor(config, log, listenOrigin, () => loopback, state.recorder, opts.keyFile, clientKeys)
  const routes: Routes = {
    next: req => app().handle(req),
    // what Elysia's onError does for the routes it serves
    modelCall: call =>
      modelCalls.direct(call).catch(e => unhandled(call.request.method, call.path, detectDialect(call.path, call.request.headers, call.query), e)),
    health: () => healthResponse(state.degraded),
  }

  return {
    config,
    get app() {
      return app()
    },
    prepare: () => void app(),
    dispatcher,
    state,
    bodies,
    fetch: (req, server) => front.handle(req, server, routes),
    setOrigin(o) {
      origin = o
    },
    setBound(address) {
      loopback = isLoopbackAddress(address)
    },
  }
}
