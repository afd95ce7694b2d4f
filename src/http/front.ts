/**
 * The front door, before Elysia routes anything: parse the target (Host and path), guard Host and Origin,
 * resolve the path, answer CORS preflights, check the key. Elysia then gets a request rebuilt on
 * CANONICAL_ORIGIN from the path checked here, and nothing else. Everything here is built once at start.
 */
import type { Server } from 'bun'
import type { Config } from '../config/schema'
import type { Logger } from '../log'
import { resolvePath, describeCauses } from './resolve-path'
import { createGuards } from './guards'
import { createAuth, authHelp, isAdminPath, type Auth } from './auth'
import { detectDialect, renderError, err } from './errors'
import { familyOf, originFor } from './clients'
import { matchRoute } from './route-table'
import { notFound } from './not-found'
import { CANONICAL_ORIGIN, parseTarget, splitUrl } from './target'
import { statusGate } from '../routes/status'
import { Trace } from '../observe/trace'
import type { Recorder } from '../observe/record'
import { maskKey } from '../providers/pool'
import { carriers } from './auth'
import type { ClientKey, ClientKeys } from '../clientkeys'
import type { Endpoint } from '../endpoints'

/** the client's request signal of each request handed to Elysia */
const SIGNALS = new WeakMap<Request, AbortSignal>()

/** The signal that aborts when the client of this (rebuilt) request goes away. */
export const clientSignal = (req: Request): AbortSignal => SIGNALS.get(req) ?? req.signal

/** the client key (client_keys, runtime keys) of each request handed to Elysia that sent one */
const CLIENT_KEYS = new WeakMap<Request, ClientKey>()

/** The client key this (rebuilt) request was let in with; undefined for an api_key or no key. */
export const clientKeyOfRequest = (req: Request): ClientKey | undefined => CLIENT_KEYS.get(req)

/** the trace of each request handed to Elysia (only while someone records: state.recorder) */
const TRACES = new WeakMap<Request, Trace>()

/** The trace of this (rebuilt) request, for the routes and the dispatcher to fill; undefined when nobody records. */
export const traceOf = (req: Request): Trace | undefined => TRACES.get(req)

/** Give a request made in-process (POST /admin/try) a trace, as the front door gives the ones it lets in. */
export const attachTrace = (req: Request, trace: Trace): void => void TRACES.set(req, trace)

export const RESOLVED_HEADER = 'x-agproxy-resolved-path'

export const ADMIN_KEY_HELP =
  'Send the admin key as "Authorization: Bearer <admin key>" (admin_key in agproxy.yaml, or the key generated into <data_dir>/admin_key at first start).'

/** Why an /admin request is refused (undefined: it carries the admin key). */
function adminRefusal(verdict: ReturnType<Auth['admin']>) {
  if (verdict === 'ok') return undefined
  if (verdict === 'off')
    return err('permission', 'The admin API is off: no admin key is set. Set admin_key in agproxy.yaml (at least 16 characters) and restart agproxy.')
  if (verdict === 'client') return err('permission', `A client key cannot be used for the admin API. ${ADMIN_KEY_HELP}`)
  return err('authentication', `${verdict === 'missing' ? 'The admin API needs the admin key.' : 'The admin key is not valid.'} ${ADMIN_KEY_HELP}`)
}

/** What a model call knows besides its request: the query, the client's abort signal, its trace and client key. */
export interface CallContext {
  /** the request's query (read-only: the front door's parsed URL may be shared by other requests) */
  query: URLSearchParams
  /** aborts when the client goes away */
  signal: AbortSignal
  trace?: Trace
  /** the client key the front door let the request in with */
  client?: ClientKey
}

/** A model call the front door hands over directly: its request as it came, the endpoint of the canonical route it
 *  matched, and the path it resolved and authorised (the one the call is served by: never re-derived from the request's URL). */
export interface DirectCall extends CallContext {
  request: Request
  endpoint: Endpoint
  path: string
}

/** Where the front door sends a request it let in: a POST to a canonical model-call route straight to `modelCall`, with the
 *  request as it came and the path authorised here; anything else to `next` (Elysia), rebuilt on CANONICAL_ORIGIN. */
export interface Routes {
  next(req: Request): Promise<Response> | Response
  modelCall(call: DirectCall): Promise<Response>
  /** GET /healthz and /health, answered here (the health of a process that has just started is asked before anything
   *  else: Elysia composes its handler at its first request, ≈ 6 ms, which a health probe need not wait for) */
  health(): Response
}

export interface FrontDoor {
  handle(req: Request, server: Server<unknown> | null | undefined, routes: Routes): Promise<Response>
}

/** The client's key as a record shows it: masked (the first carrier; the check above found one valid), or undefined. */
const clientKeyOf = (headers: Headers, query: URLSearchParams): string | undefined => {
  const key = carriers(headers, query)[0]
  return key ? maskKey(key) : undefined
}

/** `boundToLoopback`: whether the address actually bound is loopback (turns the Host guard on). `recorder`: told of every request
 *  (a trace per request while it has subscribers). `keyFile`: where the generated LAN key is kept, when that is the clients'
 *  key (the 401 says so). */
export function createFrontDoor(
  config: Config,
  log: Logger,
  listenOrigin: () => string,
  boundToLoopback: () => boolean,
  recorder?: Recorder,
  keyFile?: string,
  clientKeys?: ClientKeys,
): FrontDoor {
  const guards = createGuards(config, boundToLoopback)
  const auth = createAuth(config)
  const help = authHelp(keyFile)
  const maxBytes = config.max_body_mb * 1048576

  const finish = (res: Response, cors: Record<string, string> | undefined, resolved?: string) => {
    if (!resolved && !cors) return res
    try {
      if (resolved) res.headers.set(RESOLVED_HEADER, resolved)
      if (cors) for (const [k, v] of Object.entries(cors)) res.headers.set(k, v)
      return res
    } catch {
      // immutable headers (a relayed response): copy
      const copy = new Response(res.body, res)
      return finish(copy, cors, resolved)
    }
  }

  const door = {
    async handle(req: Request, server: Server<unknown> | null | undefined, routes: Routes, trace?: Trace) {
      const target = parseTarget(req)
      if (!target.ok) {
        if (trace) {
          trace.dialect = target.dialect
          trace.path = splitUrl(req.url).path.slice(0, 300)
        }
        // one line per distinct Host: a scanner cannot flood the log
        log.once(`bad-host ${req.headers.get('host')}`, 'warn', `refused a request with a bad Host header (400): ${target.message}`)
        return renderError(target.dialect, err('invalid_request', target.message))
      }
      const url = target.url
      const rawPath = url.pathname
      const query = url.searchParams
      const dialect = detectDialect(rawPath, req.headers, query)
      if (trace) {
        trace.path = rawPath.slice(0, 300)
        trace.dialect = dialect
      }

      const host = guards.host(url, req.headers)
      if (!host.ok) return renderError(dialect, err('permission', host.message))

      const res = resolvePath(rawPath, config.tolerant_paths)
      if (res.kind === 'unresolved' && res.reason === 'traversal') return notFound(req, url, listenOrigin, config.tolerant_paths)
      let path = rawPath
      let resolved: string | undefined
      if (res.kind === 'rewritten') {
        path = res.path
        resolved = res.path
        if (trace) trace.resolved = path
        const fam = familyOf(detectDialect(path, req.headers, query), originFor(req.headers.get('host'), listenOrigin()))
        log.once(`rewrite ${rawPath}`, 'info', `path ${rawPath} → ${path}: ${describeCauses(res.causes)}; set the base URL to ${fam.baseUrl} (${fam.clients})`)
      }

      const cors = guards.cors(req.headers)
      if (req.method === 'OPTIONS') {
        const origin = guards.origin(req.headers)
        if (!origin.ok) return renderError(dialect, err('permission', origin.message))
        return finish(new Response(null, { status: 204 }), cors)
      }
      const origin = guards.origin(req.headers)
      if (!origin.ok) return renderError(dialect, err('permission', origin.message))

      // a client key is known by its digest whatever the auth mode: its limits hold whenever it is sent (at start, a request
      // that carries a key waits until the runtime keys are first read: a few ms; one that carries none has nothing to wait for)
      const sent = clientKeys && (clientKeys.starting || clientKeys.active()) ? carriers(req.headers, query) : undefined
      if (clientKeys?.starting && sent?.length) await clientKeys.starting
      let client = sent?.length && clientKeys?.active() ? clientKeys.identify(sent) : undefined
      const revoked = client && clientKeys?.refusal(client)
      if (isAdminPath(path) && req.method !== 'OPTIONS') {
        const verdict = auth.admin(req.headers, query)
        const refused = adminRefusal(verdict === 'wrong' && client ? 'client' : verdict)
        if (refused) return finish(renderError(dialect, refused), cors)
      } else if (revoked) {
        // refused where a key is needed; where none is (a public path, auth off) it goes on as a request without a key
        if (!auth.check(path, req.method, req.headers, query)) {
          // the refusal's record names the key it refused
          if (trace) trace.clientKey = client!.name
          return finish(renderError(dialect, revoked), cors)
        }
        client = undefined
      } else if (!client && !auth.check(path, req.method, req.headers, query)) {
        const had = req.headers.has('authorization') || req.headers.has('x-api-key') || req.headers.has('x-goog-api-key') || query.has('key')
        return finish(
          renderError(dialect, err('authentication', `${had ? 'The API key is not valid for this agproxy.' : 'An API key is required.'} ${help}`)),
          cors,
        )
      }
      if (trace && client) trace.clientKey = client.name
      else if (trace && auth.mode !== 'off') trace.clientKey = clientKeyOf(req.headers, query)
      const gated = statusGate(path, req, server, config, dialect)
      if (gated) return finish(gated, cors)

      const declared = Number(req.headers.get('content-length') ?? 0)
      if (declared > maxBytes)
        return finish(
          renderError(
            dialect,
            err(
              'request_too_large',
              `The request body (${(declared / 1048576).toFixed(1)} MB) is larger than the limit of ${config.max_body_mb} MB. Send a smaller request, or raise max_body_mb in agproxy.yaml.`,
            ),
          ),
          cors,
        )

      const route = matchRoute(path)
      // model calls may think for minutes before a byte flows: no idle cut-off for them (heartbeats keep streams alive)
      if (req.method === 'POST' && server && route?.tag !== 'System') server.timeout(req, 0)

      // a model call goes straight to its handler, with the path authorised above (it never reads the request's URL):
      // no rebuilt request, no routing a second time (≈ 15 % of a small call)
      if (route?.endpoint && req.method === 'POST')
        return finish(await routes.modelCall({ request: req, endpoint: route.endpoint, path, query, signal: req.signal, trace, client }), cors, resolved)

      if (req.method === 'GET' && (path === '/healthz' || path === '/health')) return finish(routes.health(), cors, resolved)

      // anything else is rebuilt, from the path authorised above: Elysia cannot route another one (the Host stays in its header).
      // (Handing over the request as it came when Elysia's own fixed-offset read of its URL would give the same path saves
      // ~3 % of a small call, but that is a second derivation of the path, which is how the LAN auth bypass happened.)
      // An init object keeps the body read natively; new Request(url, req) streams it through JS (≈ 2× the cost).
      // The client's abort signal is kept beside it (clientSignal) instead of linked into it: linking costs ~6 µs a request.
      const inner = new Request(CANONICAL_ORIGIN + path + url.search, { method: req.method, headers: req.headers, body: req.body })
      SIGNALS.set(inner, req.signal)
      if (client) CLIENT_KEYS.set(inner, client)
      if (trace) TRACES.set(inner, trace)
      return finish(await routes.next(inner), cors, resolved)
    },
  }

  /** every response the front door gives, its own and the routes', goes through here: the trace hears of it */
  const traced = async (rec: Recorder, req: Request, server: Server<unknown> | null | undefined, routes: Routes) => {
    const trace = new Trace(rec, '', req.method, req.url)
    // the client's address is resolved at the answer, only if a record reads it
    if (server) trace.addressFrom(server, req)
    try {
      const res = await door.handle(req, server, routes, trace)
      trace.answer(res.status)
      return res
    } catch (e) {
      trace.answer(500)
      throw e
    }
  }
  return { handle: (req, server, routes) => (recorder?.active ? traced(recorder, req, server, routes) : door.handle(req, server, routes)) }
}
