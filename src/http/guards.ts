/**
 * Guards that run before auth: the Host check (DNS rebinding) when bound to loopback, and the
 * browser Origin policy (a web page must not spend the user's quota) with CORS. Also what counts as loopback.
 */
import type { Config } from '../config/schema'
import { effectiveAuthMode } from '../config/load'

/** A host name as WHATWG URL serializes it: localhost, 127.0.0.0/8, [::1], [::ffff:127.x.y.z]. */
const LOOPBACK_HOSTNAME = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\])$/

/** Is `hostname` (a URL's `.hostname`, already normalized: 127.1 → 127.0.0.1) loopback? */
export const isLoopbackHostname = (hostname: string) => LOOPBACK_HOSTNAME.test(hostname)

/** Is an address or host name loopback, in any spelling: 127.1, 127.0.0.2, localhost, ::1, [::1],
 *  0:0:0:0:0:0:0:1, ::ffff:127.0.0.1 (not 0.0.0.0 or ::, which are every interface). */
export function isLoopbackAddress(address: string): boolean {
  const bracketed = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address
  try {
    return isLoopbackHostname(new URL(`http://${bracketed}`).hostname)
  } catch {
    return false
  }
}
/** Ollama's OLLAMA_ORIGINS default, in spirit: local pages on any port and desktop-app schemes. */
const DEFAULT_ORIGINS = [/^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i, /^(app|file|tauri|vscode-webview|vscode-file):\/\//i]

export type GuardResult = { ok: true } | { ok: false; message: string }

export interface Guards {
  /** `url`: the URL the client addressed (its hostname comes from the Host header) */
  host(url: URL, headers: Headers): GuardResult
  origin(headers: Headers): GuardResult
  /** CORS headers for an allowed Origin (none when the request has no Origin) */
  cors(headers: Headers): Record<string, string> | undefined
}

/** `boundToLoopback`: whether the address actually bound is loopback (the Host guard is on then). */
export function createGuards(config: Config, boundToLoopback: () => boolean): Guards {
  const authOff = effectiveAuthMode(config) === 'off'
  const any = config.cors_origins.includes('*')
  const extra = new Set(config.cors_origins.map(o => o.replace(/\/$/, '').toLowerCase()))
  const allowed = (origin: string) => any || extra.has(origin.toLowerCase()) || DEFAULT_ORIGINS.some(re => re.test(origin))

  return {
    host(url, headers) {
      if (!boundToLoopback() || isLoopbackHostname(url.hostname)) return { ok: true }
      const host = headers.get('host') ?? url.host
      return {
        ok: false,
        message:
          `Host "${host.slice(0, 100)}" is not allowed: agproxy is bound to loopback and only answers requests addressed to localhost, 127.0.0.1 or ` +
          `[::1] (protection against DNS rebinding). To serve other hosts, set allow_lan_access: true (with an API key).`,
      }
    },
    origin(headers) {
      const origin = headers.get('origin')
      // with a key required, a page cannot spend quota without the key; without auth, only allowed origins
      if (!origin || !authOff || allowed(origin)) return { ok: true }
      return {
        ok: false,
        message:
          `Origin "${origin.slice(0, 200)}" is not allowed to use this agproxy without a key. To allow this web page, add it to cors_origins in ` +
          `agproxy.yaml (e.g. cors_origins: ["${origin.slice(0, 200)}"]) or turn on auth with an API key.`,
      }
    },
    cors(headers) {
      const origin = headers.get('origin')
      if (!origin) return undefined
      if (authOff && !allowed(origin)) return undefined
      return {
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET, POST, HEAD, OPTIONS',
        'access-control-allow-headers':
          headers.get('access-control-request-headers') ?? 'authorization, content-type, x-api-key, x-goog-api-key, anthropic-version, anthropic-beta',
        'access-control-expose-headers': 'x-agproxy-resolved-path, x-agproxy-provider, x-agproxy-model, retry-after',
        'access-control-max-age': '600',
        vary: 'Origin',
      }
    },
  }
}
