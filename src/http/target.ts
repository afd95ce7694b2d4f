/**
 * The request target, derived once. The front door reads the Host and the path the client sent here (and
 * refuses a Host no URL can be built from); it authorises that path and hands Elysia a request rebuilt on
 * CANONICAL_ORIGIN from it, so routing, onError and every route see the path that was authorised, whatever
 * the Host. The client's own Host stays in the `host` header for messages that name it.
 */
import { detectDialect } from './errors'
import type { Dialect } from '../ir/types'

/** The only origin Elysia ever sees. Its routing reads the path at a fixed offset of the URL: with this
 *  origin the offset is always right. */
export const CANONICAL_ORIGIN = 'http://agproxy.internal'

/** host[:port] as clients send it: a name or IPv4 address, or a bracketed IPv6 address; the port may be empty (RFC 9110). */
const HOST_SYNTAX = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{0,5}))?$/

export type Target = { ok: true; url: URL } | { ok: false; dialect: Dialect; message: string }

/** The targets of the URLs seen lately, by URL (with the Host they came with): clients call the same few URLs over and
 *  over, each is parsed once. Their URL objects are shared: read-only. */
const SEEN = new Map<string, { host: string | null; target: Target }>()
const MAX_SEEN = 256

/** Parse the URL the client addressed; a missing or malformed Host is refused (400) rather than guessed at. */
export function parseTarget(req: Request): Target {
  const host = req.headers.get('host')
  const raw = req.url
  const seen = SEEN.get(raw)
  if (seen && seen.host === host) return seen.target
  const target = parse(req, raw, host)
  if (target.ok) {
    if (SEEN.size >= MAX_SEEN) SEEN.clear()
    SEEN.set(raw, { host, target })
  }
  return target
}

/** parseTarget, uncached. */
function parse(req: Request, raw: string, host: string | null): Target {
  // an in-process Request (tests) may have no host header: its URL says where it goes
  const m = host === null ? undefined : HOST_SYNTAX.exec(host)
  if (host === null || (m && Number(m[1] ?? 0) <= 65535)) {
    // Bun builds req.url from the Host header; it is relative (unparseable) when there is none
    try {
      return { ok: true, url: new URL(raw) }
    } catch {}
  }
  const { path, query } = splitUrl(raw)
  return {
    ok: false,
    dialect: detectDialect(path, req.headers, new URLSearchParams(query)),
    message:
      (host ? `The Host header "${host.slice(0, 100)}" is not a valid host[:port]` : `The request has ${host === '' ? 'an empty' : 'no'} Host header`) +
      ': send the address of this agproxy, e.g. "Host: 127.0.0.1:8045" (HTTP clients set it from the URL; HTTP/1.0 clients must add it).',
  }
}

/**
 * Path and query of a URL that may not parse (a bad Host): only to pick the dialect of an error, never to
 * authorise or route.
 */
export function splitUrl(url: string): { path: string; query: string } {
  const scheme = url.indexOf('://')
  const start = scheme < 0 ? 0 : url.indexOf('/', scheme + 3)
  if (start < 0) return { path: '/', query: '' }
  const q = url.indexOf('?', start)
  return q < 0 ? { path: url.slice(start), query: '' } : { path: url.slice(start, q), query: url.slice(q + 1) }
}
