/**
 * The diagnostic 404 (or 405 for a known path with the wrong method), in the caller's dialect:
 * the path received, the likely cause, and the exact base URL to set for that client family.
 */
import { detectDialect, err, renderError } from './errors'
import { describeCauses, resolvePath } from './resolve-path'
import { familyOf, originFor } from './clients'
import { closestRoute, matchRoute } from './route-table'

/** An unknown path: a near miss of a real route is named; anything else is most likely a wrong base URL. */
function didYouMean(path: string): string {
  const near = path.length <= 200 ? closestRoute(path) : undefined
  return near ? `did you mean ${near}? agproxy has no such endpoint` : 'agproxy has no such endpoint; the base URL is probably wrong'
}

export function notFound(request: Request, url: URL, listenOrigin: () => string, tolerant: boolean): Response {
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
    res.kind === 'unresolved' && res.reason === 'traversal'
      ? 'encoded slashes, backslashes and dot segments are never routed'
      : path === '/' || path === '/v1' || path === '/v1beta'
        ? 'the client sent its request to the bare base URL, with no endpoint path: the base URL probably already contains the full endpoint, or the ' +
          'client is not appending one'
        : res.kind === 'rewritten'
          ? describeCauses(res.causes) + (tolerant ? '' : ` (tolerant_paths is off, so it is not rewritten to ${res.path})`)
          : didYouMean(path)
  return renderError(
    dialect,
    err(
      'not_found',
      `No route for ${request.method} ${path.slice(0, 200)}: ${cause}. For ${fam.clients}, set the base URL to ${fam.baseUrl} — the client adds the ` +
        `endpoint path itself. Routes are listed at ${fam.baseUrl.replace(/\/v1$/, '')}/swagger.`,
    ),
  )
}
