/**
 * The request target, derived once. The front door reads the path the client sent here, authorises it and
 * hands Elysia a request rebuilt on CANONICAL_ORIGIN from it, so routing, onError and every route see the
 * path that was authorised, whatever the Host. The client's own Host stays in the `host` header for
 * messages that name it.
 */

/** The only origin Elysia ever sees. Its routing reads the path at a fixed offset of the URL: with this
 *  origin the offset is always right. */
export const CANONICAL_ORIGIN = 'http://agproxy.internal'
