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
import { createFrontDoor } from './http/front'
import { detectDialect, err, renderError } from './http/errors'
import { describeCauses, resolvePath } from './http/resolve-path'
import { familyOf, originFor } from './http/clients'
import { matchRoute } from './http/route-table'
import { systemRoutes } from './routes/system'
import { modelRoutes } from './routes/models'
import { modelCallRoutes } from './routes/model-calls'
import { docs } from './http/docs'
import { createDispatcher, type Dispatcher } from './providers/dispatch'

export interface Agproxy {
  config: Config
  app: Elysia<any, any, any, any, any, any, any>
  dispatcher: Dispatcher
  /** the gateway's fetch handler (front door + routes) */
  fetch(req: Request, server?: Server<unknown> | null): Promise<Response>
  /** set once listening, for messages that name the server's address */
  setOrigin(origin: string): void
}

export function createApp(config: Config, opts: { log?: Logger } = {}): Agproxy {
  const log = opts.log ?? createLogger(config.log_level)
  let origin = `http://${config.host ?? '127.0.0.1'}:${config.port}`
  const listenOrigin = () => origin
  const dispatcher = createDispatcher(config, log)

  const app = new Elysia({ normalize: false })
    .onError(({ code, error, request, set }) => {
      const url = new URL(request.url)
      const dialect = detectDialect(url.pathname, request.headers, url.searchParams)
      if (code === 'NOT_FOUND') return notFound(request, url, listenOrigin, config.tolerant_paths)
      if (code === 'PARSE' || code === 'VALIDATION')
        return renderError(dialect, err('invalid_request', `${code === 'PARSE' ? 'The request could not be parsed' : 'The request is invalid'}: ${summarize(error)}`))
      log.error(`unhandled error on ${request.method} ${url.pathname}: ${(error as Error)?.stack ?? error}`)
      void set
      return renderError(dialect, err('internal', 'agproxy hit an internal error while handling this request; it has been logged. Retry, and report it if it persists.'))
    })
    .use(systemRoutes(listenOrigin))
    .use(modelRoutes(dispatcher.router))
    .use(modelCallRoutes(dispatcher, config.max_body_mb))
    .use(docs())

  const front = createFrontDoor(config, log, listenOrigin)
  const handle = (req: Request) => app.handle(req)

  return {
    config,
    app,
    dispatcher,
    fetch: (req, server) => front.handle(req, server, handle),
    setOrigin(o) { origin = o },
  }
}

const summarize = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 300)

/** The diagnostic 404 (or 405 for a known path with the wrong method), in the caller's dialect. */
function notFound(request: Request, url: URL, listenOrigin: () => string, tolerant: boolean): Response {
  const path = url.pathname
  const dialect = detectDialect(path, request.headers, url.searchParams)
  const route = matchRoute(path)
  if (route && path !== '/' && !route.methods.includes(request.method)) {
    const allow = route.methods.join(', ')
    return renderError(dialect, err('method_not_allowed', `${request.method} is not allowed on ${path}; use ${allow}.`), { allow })
  }
  const fam = familyOf(dialect, originFor(request.headers.get('host'), listenOrigin()))
  // diagnose as if tolerant: with tolerant_paths off, a variant we would have rewritten is explained, not rewritten
  const res = resolvePath(path)
  const cause =
    res.kind === 'unresolved' && res.reason === 'traversal' ? 'encoded slashes, backslashes and dot segments are never routed'
    : path === '/' || path === '/v1' || path === '/v1beta' ? 'the client sent its request to the bare base URL, with no endpoint path: the base URL probably already contains the full endpoint, or the client is not appending one'
    : res.kind === 'rewritten' ? describeCauses(res.causes) + (tolerant ? '' : ` (tolerant_paths is off, so it is not rewritten to ${res.path})`)
    : 'agproxy has no such endpoint; the base URL is probably wrong'
  return renderError(dialect, err('not_found',
    `No route for ${request.method} ${path.slice(0, 200)}: ${cause}. For ${fam.clients}, set the base URL to ${fam.baseUrl} — the client adds the endpoint path itself. Routes are listed at ${fam.baseUrl.replace(/\/v1$/, '')}/swagger.`))
}
