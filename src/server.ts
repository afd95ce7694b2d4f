/**
 * Listening: bind, the LAN key, the banner, graceful shutdown. `listen` is what tests and the CLI share.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Server } from 'bun'
import type { Config } from './config/schema'
import { bindHost, ConfigError, dataDir, effectiveAuthMode, lanKeyFile, usesLanKeyFile } from './config/load'
import { routingOf, routingProblems } from './dispatch/routing'
import { routingSummary } from './cli/models'
import { createApp, type Agproxy, type AppShared } from './app'
import { createLogger, type Logger } from './log'
import { generateKey } from './http/auth'
import { clientsText, displayOrigin } from './http/banner'
import { maskKey } from './providers/pool'
import type { LiveStream } from './providers/stream-guard'
import { detectDialect, err, internalError, renderError, summarize } from './http/errors'
import { splitUrl } from './http/target'
import { VERSION } from './version'
import { logTuningFrom, openRequestLog } from './store/request-log'
import { Recorder } from './observe/record'
import { RequestStats } from './observe/stats'
import { Metrics } from './observe/metrics'
import { LocalLimiter, POLL_MS, RuntimeKeys } from './clientkeys'
import { openShared } from './shared'

export interface Listening {
  /** the gateway now serving (replaced by reload) */
  readonly agproxy: Agproxy
  server: Server<unknown>
  /** http://127.0.0.1:PORT */
  url: string
  port: number
  /** stop accepting, let in-flight requests finish up to `graceMs`, then end the streams still running with an in-dialect
   *  "shutting down" error event (of every configuration they started on), then close; resolves with how many were cut */
  stop(graceMs?: number): Promise<number>
  /** serve new requests with a new configuration (fresh key pools); requests in flight finish on the old one.
   *  The listen address cannot change without a restart. */
  reload(config: Config, keyFile?: string): void
  /** read the configuration again from the source `listen` was given (SIGHUP, POST /admin/reload) */
  reloadFromSource(why: string): { ok: boolean; message: string }
}

/** A configuration read again (SIGHUP, POST /admin/reload), and where its generated LAN key is kept (the 401 names it). */
export interface Reloaded {
  config: Config
  keyFile?: string
}

/** `keyFile`: where the generated LAN key is kept, when that is the clients' key (the 401 names it).
 *  `source`: where reloadFromSource reads the configuration (the config file and flags, in `serve`); it may throw to refuse it. */
export function listen(
  config: Config,
  opts: { log?: Logger; env?: Record<string, string | undefined>; keyFile?: string; source?: () => Reloaded } = {},
): Listening {
  const log = opts.log ?? createLogger(config.log_level, undefined, config.log_format)
  // bound first: a client that connects while the gateway is being built waits for its answer instead of being refused
  // (no request is handled before listen returns: the gateway is built in this same turn of the event loop)
  let agproxy: Agproxy
  const server = bind(config, log, (req, srv) => agproxy.fetch(req, srv))
  let shared: ReturnType<typeof openListenerState>
  try {
    shared = openListenerState(config, log, opts.env, opts.source && (() => running.reloadFromSource('POST /admin/reload')))
    agproxy = createApp(config, { log, env: opts.env, keyFile: opts.keyFile, ...shared })
  } catch (e) {
    server.stop(true)
    throw e
  }
  const { streams, requestLog, redis, runtimeKeys } = shared
  const port = server.port!
  const url = `http://${bindHost(config) === '0.0.0.0' ? '127.0.0.1' : bindHost(config)}:${port}`
  const bound = boundAddress(server)
  agproxy.setOrigin(displayOrigin(config, port))
  agproxy.setBound(bound)
  // the routes the front door does not answer itself are built just after the listener is up, one macrotask later (a
  // health probe or a model call at start does not wait for them; a request that needs them first builds them)
  setTimeout(() => {
    try {
      agproxy.prepare()
    } catch (e) {
      // a request that needs them tries again (and answers 500 in its dialect if it fails too)
      log.error(`the gateway's routes could not be built: ${summarize(e)}`)
    }
  }, 0).unref()
  const running: Listening = {
    get agproxy() {
      return agproxy
    },
    server,
    url,
    port,
    reload(next, keyFile) {
      const manual = manualDisables(agproxy)
      // the request log keeps its own settings (file, retention) until a restart; pricing and key masking follow the new one
      const fresh = createApp({ ...next, data_dir: config.data_dir, request_log: config.request_log }, { log, env: opts.env, keyFile, ...shared })
      fresh.setOrigin(displayOrigin(next, port))
      fresh.setBound(bound)
      fresh.prepare()
      fresh.state.dropped.logRows = agproxy.state.dropped.logRows
      // keys disabled by hand stay disabled across a reload (keys disabled after an auth failure come back)
      for (const [provider, names] of manual) for (const n of names) fresh.dispatcher.providers.get(provider)?.pool.setEnabled(n, false)
      agproxy = fresh
    },
    reloadFromSource(why) {
      if (!opts.source) return { ok: false, message: 'this instance was started without a configuration source' }
      let next: Config
      let keyFile: string | undefined
      try {
        ;({ config: next, keyFile } = opts.source())
      } catch (e) {
        log.error(`${why}: the configuration was not reloaded, the running one stays: ${(e as Error).message}`)
        return { ok: false, message: `the configuration was not reloaded, the running one stays: ${(e as Error).message}` }
      }
      if (next.port !== config.port || bindHost(next) !== bindHost(config))
        log.warn(`${why}: the listen address changed in the configuration; restart agproxy to apply it (everything else is reloaded)`)
      running.reload({ ...next, port: config.port, host: config.host, allow_lan_access: config.allow_lan_access }, keyFile)
      const message = `configuration reloaded; providers: ${providersLine(running.agproxy) || 'none'}`
      log.info(`${why}: ${message}`)
      return { ok: true, message }
    },
    async stop(graceMs = config.shutdown_grace * 1000) {
      server.stop(false) // stop accepting; in-flight requests continue
      const until = Date.now() + graceMs
      while (server.pendingRequests > 0 && Date.now() < until) await Bun.sleep(50)
      const cut = server.pendingRequests
      if (cut > 0 && streams.size > 0) {
        const n = endStreams(streams)
        log.warn(`shutdown_grace is over: ${n} stream(s) still running end with an "agproxy is shutting down" error event`)
        // let those last frames reach the clients before the sockets close
        const flushed = Date.now() + SHUTDOWN_FLUSH_MS
        while (server.pendingRequests > 0 && Date.now() < flushed) await Bun.sleep(10)
      }
      server.stop(true)
      runtimeKeys.close()
      await requestLog?.close()
      await redis?.close()
      return cut
    },
  }
  return running
}

/** What `listen` keeps across the configurations it serves (AppShared): the streams registry, the request log, the admin
 *  event feed and the dashboard's statistics, the Redis connection, the runtime client keys and the local counters. */
function openListenerState(config: Config, log: Logger, env: Record<string, string | undefined> | undefined, reload: AppShared['reload']) {
  // one registry for every configuration this listener serves: a stream started before a reload is still reached by stop()
  const streams = new Set<LiveStream>()
  // one request log and one admin event feed too: the database stays open across reloads
  const requestLog = openRequestLog(config, log, { ...logTuningFrom(env ?? process.env), openLater: true })
  const events = new Recorder(e => log.error(`admin event feed: ${summarize(e)}`))
  // the dashboard's statistics, across reloads like the feed that fills them
  const stats = new RequestStats()
  events.subscribe(stats.observe, { client: false })
  // one Redis connection too (redis_url): what the pools learn is shared with the other instances across reloads
  const { redis, sharedKeys } = openShared(config, log)
  // and one snapshot of the runtime client keys, read again when another instance changes one (Redis, or polling the database)
  const runtimeKeys = new RuntimeKeys({ store: () => requestLog?.reader?.clientKeys, redis, pollMs: requestLog ? POLL_MS : 0 })
  // and one set of /metrics counters: Prometheus reads a reload as nothing happening, not as every counter reset
  return { streams, requestLog, events, stats, redis, sharedKeys, runtimeKeys, limiter: new LocalLimiter(), metrics: new Metrics(), reload }
}

/** The listening socket (Bun.serve) on the configured address, every request handed to `handle`; a port in use is said so. */
function bind(config: Config, log: Logger, handle: (req: Request, server: Server<unknown>) => Promise<Response>): Server<unknown> {
  try {
    return Bun.serve({
      port: config.port,
      hostname: bindHost(config),
      // model routes lift this per request (server.timeout(req, 0)); it bounds idle keep-alive sockets and slow senders
      idleTimeout: 60,
      // agproxy enforces max_body_mb itself, with a 413 in the caller's dialect: the front door by content-length,
      // the body reader by counting a chunked body. Bun's own cap would answer first with a bare 413 (no body), so
      // it is out of the way; a body nobody reads (a refused request, a telemetry sink) is discarded, not buffered.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      fetch: async (req, srv) => {
        try {
          return await handle(req, srv)
        } catch (e) {
          return lastResort(req, e, log)
        }
      },
      // what escapes the fetch handler above (nothing known): no request, so the default dialect
      error(e) {
        log.error(`server error: ${summarize(e)}`)
        return renderError('openai', internalError())
      },
    })
  } catch (e) {
    throw new Error(bindFailure(config, e))
  }
}

/** Why the listening socket could not be opened, and what to change (Bun's own words are a socket call's: "EINVAL: invalid
 *  argument, listen", "baseURI must have a hostname"). */
function bindFailure(config: Config, e: unknown): string {
  const code = (e as { code?: string }).code ?? ''
  const message = String((e as Error)?.message ?? e)
  const host = bindHost(config)
  if (code === 'EADDRINUSE' || /in use/i.test(message))
    return `port ${config.port} is already in use on ${host} (is another agproxy running?); stop it or choose another port with --port`
  if (code === 'EACCES' || /EACCES|permission denied/i.test(message))
    return `cannot listen on port ${config.port}: permission denied (ports below 1024 need root); choose a port of 1024 or more with --port`
  const why = /ENOTFOUND|EAI_/.test(code + message)
    ? 'no such host name'
    : /EADDRNOTAVAIL/.test(code + message)
      ? 'this machine has no such address'
      : /EINVAL|hostname/i.test(code + message)
        ? 'not an address'
        : message
  return (
    `cannot listen on ${JSON.stringify(host)} (host), port ${config.port}: ${why}; set host (--host, AGPROXY_HOST or host: in agproxy.yaml) ` +
    'to an address of this machine: 127.0.0.1 for this machine only, 0.0.0.0 for every interface (or allow_lan_access: true)'
  )
}

/** the keys disabled by hand, per provider */
const manualDisables = (a: Agproxy) => [...a.dispatcher.providers.values()].map(p => [p.name, p.pool.manuallyDisabled()] as const)

/** how long stop() waits for the shutting-down error events to be written before it closes the sockets */
const SHUTDOWN_FLUSH_MS = 1000

/** End every running stream with a well-formed, retryable error in its dialect; how many were ended. */
function endStreams(streams: Set<LiveStream>): number {
  const e = err(
    'unavailable',
    'agproxy is shutting down; retry the request. This answer was still running when shutdown_grace ran out ' +
      '(raise shutdown_grace to let long answers finish).',
  )
  const n = streams.size
  for (const s of streams) s.end(e)
  return n
}

/** The address the server actually bound (127.1 binds 127.0.0.1; a name binds what it resolves to). Bun exposes
 *  it as `server.address` (untyped); its normalized `url` is the fallback. */
function boundAddress(server: Server<unknown>): string {
  const address = (server as { address?: { address?: unknown } }).address?.address
  return typeof address === 'string' ? address : server.url.hostname
}

/** An error nothing else caught: one short log line (no stack), a 500 in the dialect of the path. */
function lastResort(req: Request, e: unknown, log: Logger): Response {
  const { path, query } = splitUrl(req.url)
  log.error(`internal error on ${req.method} ${path.slice(0, 200)}: ${summarize(e)}`)
  return renderError(detectDialect(path, req.headers, new URLSearchParams(query)), internalError())
}

/** The LAN key: configured keys win; otherwise one generated once and kept in the data dir (`keyFile`: where). */
function ensureLanKey(config: Config, log: Logger): { config: Config; keyFile?: string } {
  if (!usesLanKeyFile(config)) return { config }
  const file = lanKeyFile(config)
  let key: string
  if (existsSync(file)) {
    key = readFileSync(file, 'utf8').trim()
    log.info(`using the API key stored in ${file} (${maskKey(key)})`)
  } else {
    key = generateKey()
    mkdirSync(dataDir(config), { recursive: true })
    writeFileSync(file, `${key}\n`, { mode: 0o600 })
    console.log(
      `\n  LAN access is on and no api_keys are configured: generated a key (stored in ${file}).\n  Clients must send it:  ${key}\n  It is shown only this once.\n`,
    )
  }
  return { config: { ...config, api_keys: [key] }, keyFile: file }
}

/** The providers as the banner lists them: name, type and where the keys come from (never a key). */
const providersLine = (a: Agproxy) => [...a.dispatcher.providers.values()].map(p => `${p.name} (${p.type}, ${p.keyNote ?? `${p.pool.size} key(s)`})`).join(', ')

/** Refuse a configuration whose `models:` lead to no provider (one line per entry, naming it). */
function checkRouting(config: Config, label: string) {
  const problems = routingProblems(config, process.env, label)
  if (problems.length) throw new ConfigError(problems.join('\n'))
}

/** The admin key: the configured one, else one generated once into the data dir (mode 0600) and printed that once. */
function ensureAdminKey(config: Config, log: Logger, quiet = false): Config {
  if (config.admin_key) return config
  const file = join(dataDir(config), 'admin_key')
  try {
    if (existsSync(file)) {
      const key = readFileSync(file, 'utf8').trim()
      if (!quiet) log.info(`admin API: using the admin key stored in ${file} (${maskKey(key)})`)
      return { ...config, admin_key: key }
    }
    const key = generateKey()
    mkdirSync(dataDir(config), { recursive: true })
    writeFileSync(file, `${key}\n`, { mode: 0o600 })
    console.log(
      `\n  Generated the admin key for /admin/* and \`agproxy usage\` / \`agproxy logs\` (stored in ${file}):\n  ${key}\n  It is shown only this once.\n`,
    )
    return { ...config, admin_key: key }
  } catch (e) {
    log.warn(`admin API: no admin_key is set and none could be stored in ${file} (${summarize(e)}); /admin/* is off until admin_key is set`)
    return config
  }
}

export async function serve(config0: Config, meta: { file?: string; command?: string; reload?: () => Config } = {}) {
  const log = createLogger(config0.log_level, undefined, config0.log_format)
  checkRouting(config0, meta.file ?? 'config')
  const { config, keyFile } = ensureLanKey(config0, log)
  const mode = effectiveAuthMode(config)
  if (config.allow_lan_access && mode === 'off')
    log.warn(
      '!!! LAN access is on and auth_mode is off: anyone on your network can use your providers and spend your quota. Set auth_mode: all_except_health and api_keys. !!!',
    )
  const running = listen(ensureAdminKey(config, log), {
    log,
    keyFile,
    source:
      meta.reload &&
      (() => {
        // biome-ignore lint/style/noNonNullAssertion: checked above
        const next = ensureLanKey(meta.reload!(), log)
        checkRouting(next.config, meta.file ?? 'config')
        return { config: ensureAdminKey(next.config, log, true), keyFile: next.keyFile }
      }),
  })
  let stopping = false
  const shutdown = async (sig: string) => {
    if (stopping) {
      // a second Ctrl-C: the user does not want to wait
      log.warn(`${sig} again: exiting now, cutting ${running.server.pendingRequests} request(s) in flight`)
      process.exit(0)
    }
    stopping = true
    const pending = running.server.pendingRequests
    log.info(
      `${sig}: no longer accepting connections; letting ${pending} in-flight request(s) finish (up to ${config.shutdown_grace} s; ${sig} again to exit now)`,
    )
    const cut = await running.stop()
    if (cut > 0) log.warn(`shutdown_grace (${config.shutdown_grace} s) is over: ${cut} request(s) were still in flight and have been ended`)
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
  // SIGHUP: read the configuration again (providers, keys, models, auth…); keys disabled after auth failures come back
  if (meta.reload && process.platform !== 'win32') process.on('SIGHUP', () => void running.reloadFromSource('SIGHUP'))
  // the banner comes after the handlers: a client that reads it may signal at once (the default action would kill)
  console.log(
    `agproxy ${VERSION} listening on http://${bindHost(config).includes(':') ? `[${bindHost(config)}]` : bindHost(config)}:${running.port}` +
      `${meta.file ? ` (config ${meta.file})` : ''}\nauth: ${mode}${config.auth_mode === 'auto' ? ' (auto)' : ''}, ${config.api_keys.length} key(s); providers: ${providersLine(running.agproxy) || 'none — add providers: to agproxy.yaml or set GEMINI_API_KEY / OPENAI_API_KEY / ANTHROPIC_API_KEY'}\n${routingSummary(routingOf(config, process.env))}\n${clientsText(config, running.port, { keyFile })}\nDocs: ${displayOrigin(config, running.port)}/swagger`,
  )
  return running
}
