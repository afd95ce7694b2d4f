/**
 * The front door, before Elysia routes anything: parse the target (Host and path), guard Host and Origin,
 * resolve the path, answer CORS preflights, check the key. Elysia then routes the path checked here and nothing
 * else: the request as it came when it reads exactly that path from its URL (target.ts routesAs), else a request rebuilt
 * on CANONICAL_ORIGIN from it. Everything here is built once at start.
 */
import type { Server } from 'bun'
import type { Config } from '../config/schema'
import type { Logger } from '../log'
import { resolvePath, describeCauses } from './resolve-path'
import { createGuards } from './guards'
import { createAuth, AUTH_HELP } from './auth'
import { detectDialect, renderError, err } from './errors'
import { familyOf, originFor } from './clients'
import { matchRoute } from './route-table'
import { notFound } from './not-found'
import { CANONICAL_ORIGIN, parseTarget, routesAs } from './target'
import { statusGate } from '../routes/status'

/** the client's request signal of each request handed to Elysia */
const SIGNALS = new WeakMap<Request, AbortSignal>()

/** The signal that aborts when the client of this (rebuilt) request goes away. */
export const clientSignal = (req: Request): AbortSignal => SIGNALS.get(req) ?? req.signal

export const RESOLVED_HEADER = 'x-agproxy-resolved-path'

export interface FrontDoor {
  handle(req: Request, server: Server<unknown> | null | undefined, next: (req: Request) => Promise<Response> | Response): Promise<Response>
}

/** `boundToLoopback`: whether the address actually bound is loopback (turns the Host guard on). */
export function createFrontDoor(config: Config, log: Logger, listenOrigin: () => string, boundToLoopback: () => boolean): FrontDoor {
  const guards = createGuards(config, boundToLoopback)
  const auth = createAuth(config)
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

  return {
    async handle(req, server, next) {
      const target = parseTarget(req)
      if (!target.ok) {
        // one line per distinct Host: a scanner cannot flood the log
        log.once(`bad-host ${req.headers.get('host')}`, 'warn', `refused a request with a bad Host header (400): ${target.message}`)
        return renderError(target.dialect, err('invalid_request', target.message))
      }
      const url = target.url
      const rawPath = url.pathname
      const query = url.searchParams
      const dialect = detectDialect(rawPath, req.headers, query)

      const host = guards.host(url, req.headers)
      if (!host.ok) return renderError(dialect, err('permission', host.message))

      const res = resolvePath(rawPath, config.tolerant_paths)
      if (res.kind === 'unresolved' && res.reason === 'traversal') return notFound(req, url, listenOrigin, config.tolerant_paths)
      let path = rawPath
      let resolved: string | undefined
      if (res.kind === 'rewritten') {
        path = res.path
        resolved = res.path
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

      if (!auth.check(path, req.method, req.headers, query)) {
        const had = req.headers.has('authorization') || req.headers.has('x-api-key') || req.headers.has('x-goog-api-key') || query.has('key')
        return finish(
          renderError(dialect, err('authentication', `${had ? 'The API key is not valid for this agproxy.' : 'An API key is required.'} ${AUTH_HELP}`)),
          cors,
        )
      }
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

      // model calls may think for minutes before a byte flows: no idle cut-off for them (heartbeats keep streams alive)
      if (req.method === 'POST' && server && matchRoute(path)?.tag !== 'System') server.timeout(req, 0)

      // Elysia gets the path authorised above and no other: the request as it came when its URL is canonical and Elysia's
      // fixed-offset read of it gives exactly that path and query (the common case: no copy, ~3 % of a small call), else
      // rebuilt on CANONICAL_ORIGIN (the Host stays in its header). An init object keeps the body read natively;
      // new Request(url, req) streams it through JS (≈ 2× the cost). The client's abort signal is kept beside it
      // (clientSignal) instead of linked into it: linking costs ~6 µs a request.
      if (!resolved && routesAs(req.url, url, path)) return finish(await next(req), cors)
      const inner = new Request(CANONICAL_ORIGIN + path + url.search, { method: req.method, headers: req.headers, body: req.body })
      SIGNALS.set(inner, req.signal)
      return finish(await next(inner), cors, resolved)
    },
  }
}
