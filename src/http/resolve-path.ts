/**
 * Base-URL tolerance: map what real clients send to a canonical route.
 *
 * Clients build a URL as  base URL + their own endpoint path.  Users paste base URLs with or without
 * `/v1`, with a whole endpoint, behind a relay prefix… This turns every realistic variant into the
 * canonical path and says what was wrong, so the fix can be logged once.
 */
import { matchRoute } from './route-table'

export type Cause = 'slashes' | 'duplicate-version' | 'missing-version' | 'wrong-version' | 'stacked-endpoint' | 'relay-prefix'

export type Resolution =
  | { kind: 'canonical'; path: string }
  | { kind: 'rewritten'; path: string; causes: Cause[] }
  | { kind: 'unresolved'; reason: 'traversal' | 'unknown' }

const VERSIONS = new Set(['v1', 'v1beta', 'v1alpha'])
const RELAYS = new Set(['openai', 'anthropic', 'api', 'gemini', 'google', 'claude', 'proxy'])
/** endpoint words that may appear stacked before the real endpoint */
const ENDPOINT_WORDS = new Set(['chat', 'completions', 'responses', 'embeddings', 'messages', 'count_tokens', 'models'])
const GEMINI_ACTION = /^[^/:]+:(generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents)$/

/** Encoded separators or dot segments: never rewritten, never routed. */
const TRAVERSAL = /%2f|%5c|%2e|\\|(^|\/)\.\.?(\/|$)/i

export function resolvePath(rawPath: string, tolerant = true): Resolution {
  if (TRAVERSAL.test(rawPath)) return { kind: 'unresolved', reason: 'traversal' }
  if (matchRoute(rawPath)) return { kind: 'canonical', path: rawPath }
  if (!tolerant) return { kind: 'unresolved', reason: 'unknown' }

  const causes: Cause[] = []
  let path = rawPath.replace(/\/{2,}/g, '/')
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  if (path !== rawPath) causes.push('slashes')
  if (matchRoute(path)) return { kind: 'rewritten', path, causes }

  let segs = path.split('/').filter(Boolean)
  // one relay-style leading segment: /openai/v1/…, /api/v1/…, /gemini/v1beta/…
  const [first = '', second = ''] = segs
  if (segs.length > 1 && RELAYS.has(first) && (VERSIONS.has(second) || ENDPOINT_WORDS.has(second))) {
    segs = segs.slice(1)
    causes.push('relay-prefix')
  }

  // take the endpoint from the tail, then check that what stands before it is only versions and endpoint words
  const tail = endpointAtTail(segs)
  if (!tail) return { kind: 'unresolved', reason: 'unknown' }
  const before = segs.slice(0, segs.length - tail.length)
  const versions = before.filter(s => VERSIONS.has(s))
  const stacked = before.filter(s => !VERSIONS.has(s))
  if (stacked.some(s => !ENDPOINT_WORDS.has(s))) return { kind: 'unresolved', reason: 'unknown' }
  if (versions.length === 0) causes.push('missing-version')
  if (versions.length > 1) causes.push('duplicate-version')
  if (stacked.length) causes.push('stacked-endpoint')

  const lastVersion = versions.at(-1)
  const isGoogle = GEMINI_ACTION.test(tail.at(-1) ?? '') || (tail[0] === 'models' && lastVersion === 'v1beta')
  const canonical = (isGoogle ? '/v1beta/' : '/v1/') + tail.join('/')
  if (!matchRoute(canonical)) return { kind: 'unresolved', reason: 'unknown' }
  // one version, but not the endpoint's (e.g. /v1beta/chat/completions): say so rather than nothing
  if (versions.length === 1 && !matchRoute(`/${lastVersion}/${tail.join('/')}`)) causes.push('wrong-version')
  return canonical === rawPath ? { kind: 'canonical', path: canonical } : { kind: 'rewritten', path: canonical, causes }
}

/** The canonical endpoint segments found at the end of `segs`, longest match first. */
function endpointAtTail(segs: string[]): string[] | undefined {
  const n = segs.length
  const last = segs[n - 1]
  const prev = segs[n - 2]
  if (!last) return undefined
  if (GEMINI_ACTION.test(last)) return prev === 'models' ? ['models', last] : undefined
  if (last === 'completions') return prev === 'chat' ? ['chat', 'completions'] : ['completions']
  if (last === 'count_tokens') return prev === 'messages' ? ['messages', 'count_tokens'] : undefined
  if (last === 'responses' || last === 'embeddings' || last === 'messages' || last === 'models') return [last]
  // /models/{id}: an id right after `models`, not an endpoint word itself
  if (prev === 'models' && !ENDPOINT_WORDS.has(last) && !VERSIONS.has(last)) return ['models', last]
  return undefined
}

const CAUSE_TEXT: Record<Cause, string> = {
  slashes: 'the URL had a doubled or trailing slash',
  'duplicate-version': 'the base URL ends in a version (/v1) and the client added it again',
  'missing-version': 'the base URL lacks the /v1 the client expects',
  'wrong-version': 'the base URL carries an API version this endpoint does not live under',
  'stacked-endpoint': 'the base URL already contains an endpoint path and the client appended its own',
  'relay-prefix': 'the base URL carries a relay-style prefix',
}

export const describeCauses = (causes: Cause[]) => causes.map(c => CAUSE_TEXT[c]).join('; ')
