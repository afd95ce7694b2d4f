/**
 * Access: which requests need a key, where a key may travel, and a constant-time check.
 */
import type { Config } from '../config/schema'
import { effectiveAuthMode } from '../config/load'

const PUBLIC_PATHS = new Set(['/healthz', '/health', '/'])
const isPublic = (path: string) => PUBLIC_PATHS.has(path) || path === '/swagger' || path.startsWith('/swagger/')

/** The dashboard's page and assets (/ui, /ui/…): public in every auth mode, since they hold no data (every call the page
 *  makes goes to /admin/* with the admin key). */
export const isUiPath = (path: string) => path === '/ui' || path.startsWith('/ui/')

const digest = (s: string) => new Bun.CryptoHasher('sha256').update(s).digest() as Buffer

export interface Auth {
  mode: 'off' | 'strict' | 'all_except_health'
  /** true when the request may proceed */
  check(path: string, method: string, headers: Headers, query: URLSearchParams): boolean
  /** /admin/*: 'ok' with the admin key; 'client' when a client key was sent instead; 'missing' / 'wrong'; 'off' when no admin key is set */
  admin(headers: Headers, query: URLSearchParams): 'ok' | 'client' | 'missing' | 'wrong' | 'off'
  readonly keyCount: number
}

/** The admin API's paths (the admin key, never a client key, opens them). */
export const isAdminPath = (path: string) => path === '/admin' || path.startsWith('/admin/')

/** Whether `candidate` is one of `keys` (digests), in constant time over all of them (Bun's global crypto.timingSafeEqual:
 *  importing node:crypto would cost ~8 ms of every start). */
const matchesAny = (keys: Buffer[], candidate: string | null | undefined) => {
  if (!candidate) return false
  const d = digest(candidate)
  let ok = false
  for (const k of keys) ok = crypto.timingSafeEqual(k, d) || ok
  return ok
}

export function createAuth(config: Config): Auth {
  const mode = effectiveAuthMode(config)
  const metricsPublic = config.metrics?.public === true
  // compare fixed-length digests so neither length nor content leaks through timing
  const keys = config.api_keys.map(digest)
  const valid = (candidate: string | null | undefined) => matchesAny(keys, candidate)
  const adminKeys = config.admin_key ? [digest(config.admin_key)] : []
  return {
    mode,
    keyCount: keys.length,
    admin(headers, query) {
      if (!adminKeys.length) return 'off'
      const sent = carriers(headers, query)
      if (sent.some(k => matchesAny(adminKeys, k))) return 'ok'
      if (!sent.length) return 'missing'
      return sent.some(valid) ? 'client' : 'wrong'
    },
    check(path, method, headers, query) {
      if (mode === 'off' || method === 'OPTIONS') return true
      if ((method === 'GET' || method === 'HEAD') && isUiPath(path)) return true
      if (mode === 'all_except_health' && isPublic(path)) return true
      // a scraper on a trusted network, by choice (metrics.public); the path Elysia routes, with or without a trailing slash
      if (metricsPublic && (path === '/metrics' || path === '/metrics/')) return true
      // any carrier holding a valid key authorizes: a stale Authorization must not hide a right x-api-key
      return carriers(headers, query).some(valid)
    },
  }
}

/** The key carriers, in the order clients use them. */
export function carriers(headers: Headers, query: URLSearchParams): string[] {
  const out: string[] = []
  const authz = headers.get('authorization')
  if (authz) out.push(authz.replace(/^Bearer\s+/i, '').trim())
  for (const h of ['x-api-key', 'x-goog-api-key']) {
    const v = headers.get(h)
    if (v) out.push(v.trim())
  }
  const q = query.get('key')
  if (q) out.push(q)
  return out
}

export const AUTH_HELP =
  'Send your agproxy key in one of: "Authorization: Bearer <key>", "x-api-key: <key>", "x-goog-api-key: <key>" or "?key=<key>" (keys are set with api_keys ' +
  'in agproxy.yaml, AGPROXY_API_KEYS or --api-key).'

/** How to send a key; `keyFile`: the generated LAN key's file, when that is where the key is (no api_keys configured). */
export const authHelp = (keyFile?: string) =>
  keyFile
    ? `${AUTH_HELP.replace(/ \(keys are set with .*$/, '.')} No api_keys are configured: the key is the one agproxy generated for LAN access, kept in ${keyFile} ` +
      '(or set your own with api_keys in agproxy.yaml, AGPROXY_API_KEYS or --api-key).'
    : AUTH_HELP

/** A new random key: sk- and 48 url-safe characters. */
export const generateKey = () => `sk-${Buffer.from(crypto.getRandomValues(new Uint8Array(36))).toString('base64url')}`
