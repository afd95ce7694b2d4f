/**
 * Listening: bind, the LAN key, the banner, graceful shutdown. `listen` is what tests and the CLI share.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Server } from 'bun'
import type { Config } from './config/schema'
import { bindHost, dataDir, effectiveAuthMode } from './config/load'
import { createApp, type Agproxy } from './app'
import { createLogger, type Logger } from './log'
import { generateKey } from './http/auth'
import { clientsText, displayOrigin } from './cli/print'
import { maskKey } from './providers/pool'
import { VERSION } from './version'

export interface Listening {
  /** the gateway now serving (replaced by reload) */
  readonly agproxy: Agproxy
  server: Server<unknown>
  /** http://127.0.0.1:PORT */
  url: string
  port: number
  /** stop accepting, let in-flight requests finish up to `graceMs`, then close; resolves with how many were cut */
  stop(graceMs?: number): Promise<number>
  /** serve new requests with a new configuration (fresh key pools); requests in flight finish on the old one.
   *  The listen address cannot change without a restart. */
  reload(config: Config): void
}

export function listen(config: Config, opts: { log?: Logger; env?: Record<string, string | undefined> } = {}): Listening {
  const log = opts.log ?? createLogger(config.log_level)
  let agproxy = createApp(config, { log, env: opts.env })
  let server: Server<unknown>
  try {
    server = Bun.serve({
      port: config.port,
      hostname: bindHost(config),
      // model routes lift this per request (server.timeout(req, 0)); it bounds idle keep-alive sockets and slow senders
      idleTimeout: 60,
      // agproxy enforces max_body_mb itself, with a 413 in the caller's dialect: the front door by content-length,
      // the body reader by counting a chunked body. Bun's own cap would answer first with a bare 413 (no body), so
      // it is out of the way; a body nobody reads (a refused request, a telemetry sink) is discarded, not buffered.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      fetch: (req, srv) => agproxy.fetch(req, srv),
      error(e) {
        log.error(`server error: ${e?.stack ?? e}`)
        return new Response(JSON.stringify({ error: { message: 'internal error', type: 'server_error', param: null, code: null } }), { status: 500, headers: { 'content-type': 'application/json' } })
      },
    })
  } catch (e) {
    const code = (e as { code?: string }).code
    if (code === 'EADDRINUSE' || /in use/i.test(String((e as Error).message)))
      throw new Error(`port ${config.port} is already in use on ${bindHost(config)} (is another agproxy running?); stop it or choose another port with --port`)
    throw e
  }
  const port = server.port!
  const url = `http://${bindHost(config) === '0.0.0.0' ? '127.0.0.1' : bindHost(config)}:${port}`
  agproxy.setOrigin(displayOrigin(config, port))
  return {
    get agproxy() { return agproxy },
    server, url, port,
    reload(next) {
      const fresh = createApp(next, { log, env: opts.env })
      fresh.setOrigin(displayOrigin(next, port))
      agproxy = fresh
    },
    async stop(graceMs = config.shutdown_grace * 1000) {
      server.stop(false) // stop accepting; in-flight requests continue
      const until = Date.now() + graceMs
      while (server.pendingRequests > 0 && Date.now() < until) await Bun.sleep(50)
      const cut = server.pendingRequests
      server.stop(true)
      return cut
    },
  }
}

/** The LAN key: configured keys win; otherwise one generated once and kept in the data dir. */
function ensureLanKey(config: Config, log: Logger): Config {
  if (!config.allow_lan_access || effectiveAuthMode(config) === 'off' || config.api_keys.length) return config
  const dir = dataDir(config)
  const file = join(dir, 'api_key')
  let key: string
  if (existsSync(file)) {
    key = readFileSync(file, 'utf8').trim()
    log.info(`using the API key stored in ${file} (${maskKey(key)})`)
  } else {
    key = generateKey()
    mkdirSync(dir, { recursive: true })
    writeFileSync(file, key + '\n', { mode: 0o600 })
    console.log(`\n  LAN access is on and no api_keys are configured: generated a key (stored in ${file}).\n  Clients must send it:  ${key}\n  It is shown only this once.\n`)
  }
  return { ...config, api_keys: [key] }
}

export async function serve(config0: Config, meta: { file?: string; command?: string; reload?: () => Config } = {}) {
  const log = createLogger(config0.log_level)
  const config = ensureLanKey(config0, log)
  const mode = effectiveAuthMode(config)
  if (config.allow_lan_access && mode === 'off')
    log.warn('!!! LAN access is on and auth_mode is off: anyone on your network can use your providers and spend your quota. Set auth_mode: all_except_health and api_keys. !!!')
  const running = listen(config, { log })
  console.log(`agproxy ${VERSION} listening on http://${bindHost(config).includes(':') ? `[${bindHost(config)}]` : bindHost(config)}:${running.port}` +
    `${meta.file ? ` (config ${meta.file})` : ''}\nauth: ${mode}${config.auth_mode === 'auto' ? ' (auto)' : ''}, ${config.api_keys.length} key(s); providers: ${[...running.agproxy.dispatcher.providers.values()].map((p) => `${p.name} (${p.type}, ${p.pool.size} key${p.pool.size === 1 ? '' : 's'})`).join(', ') || 'none — add providers: to agproxy.yaml or set GEMINI_API_KEY / OPENAI_API_KEY / ANTHROPIC_API_KEY'}\n${clientsText(config, running.port)}\nDocs: ${displayOrigin(config, running.port)}/swagger`)

  let stopping = false
  const shutdown = async (sig: string) => {
    if (stopping) {
      // a second Ctrl-C: the user does not want to wait
      log.warn(`${sig} again: exiting now, cutting ${running.server.pendingRequests} request(s) in flight`)
      process.exit(0)
    }
    stopping = true
    const pending = running.server.pendingRequests
    log.info(`${sig}: no longer accepting connections; letting ${pending} in-flight request(s) finish (up to ${config.shutdown_grace} s; ${sig} again to exit now)`)
    const cut = await running.stop()
    if (cut > 0) log.warn(`shutdown_grace (${config.shutdown_grace} s) is over: ${cut} request(s) cut`)
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))

  // SIGHUP: read the configuration again (providers, keys, models, auth…); disabled keys come back
  if (meta.reload && process.platform !== 'win32') process.on('SIGHUP', () => {
    let next: Config
    try {
      next = ensureLanKey(meta.reload!(), log)
    } catch (e) {
      log.error(`SIGHUP: the configuration was not reloaded, the running one stays: ${(e as Error).message}`)
      return
    }
    if (next.port !== config.port || bindHost(next) !== bindHost(config))
      log.warn('SIGHUP: the listen address changed in the configuration; restart agproxy to apply it (everything else is reloaded)')
    running.reload({ ...next, port: config.port, host: config.host, allow_lan_access: config.allow_lan_access })
    log.info(`SIGHUP: configuration reloaded; providers: ${[...running.agproxy.dispatcher.providers.values()].map((p) => `${p.name} (${p.type}, ${p.pool.size} key${p.pool.size === 1 ? '' : 's'})`).join(', ') || 'none'}`)
  })
  return running
}
