/**
 * The canonical routes: the one list the path resolver, the 405 check, `agproxy routes`,
 * the docs and the tests read. Elysia registers the handlers (src/routes/*); this says what exists.
 * The model-call rows are generated from the endpoint descriptors (src/endpoints); the others are declared here.
 */
import type { Dialect } from '../ir/types'
import { ENDPOINT_LIST, GEMINI_ACTIONS, OTHER_GEMINI_ACTIONS, type Endpoint, type Tag } from '../endpoints'

export type { Tag }

export interface CanonicalRoute {
  methods: string[]
  /** OpenAPI-style path, `{param}` for parameters */
  path: string
  tag: Tag
  summary: string
  /** a model-call row: the endpoint that serves it (the front door hands a POST to it directly) */
  endpoint?: Endpoint
}

/** The Gemini API versions whose `models/{model}:action` paths agproxy serves. */
export const GEMINI_PREFIXES = ['/v1beta', '/v1'] as const

/** Model-call rows of the endpoints whose model is in the body (one per path). */
function bodyModelRows(): CanonicalRoute[] {
  return ENDPOINT_LIST.flatMap(e =>
    'paths' in e.route ? e.route.paths.map(path => ({ methods: ['POST'], path, tag: e.tag, summary: e.summary, endpoint: e })) : [],
  )
}

/** `{prefix}/models/{model}:action` rows of the Gemini endpoints, per API version. */
function geminiActionRows(): CanonicalRoute[] {
  const gemini = ENDPOINT_LIST.filter((e): e is Endpoint & { route: { action: string; v1Summary: string } } => 'action' in e.route)
  return GEMINI_PREFIXES.flatMap(prefix =>
    gemini.map(e => ({
      methods: ['POST'],
      path: `${prefix}/models/{model}:${e.route.action}`,
      tag: e.tag,
      summary: prefix === '/v1' ? `${e.route.v1Summary} (Google API v1)` : e.summary,
      endpoint: e,
    })),
  )
}

export const ROUTES: CanonicalRoute[] = [
  { methods: ['GET'], path: '/healthz', tag: 'System', summary: 'Health check' },
  { methods: ['GET'], path: '/health', tag: 'System', summary: 'Health check (alias)' },
  { methods: ['GET', 'HEAD'], path: '/', tag: 'System', summary: 'Index: version and the base URL to set per client' },
  { methods: ['GET'], path: '/v1/models', tag: 'OpenAI', summary: 'List models (OpenAI shape; Anthropic with anthropic-version, Google with a Google key)' },
  { methods: ['GET'], path: '/v1/models/{id}', tag: 'OpenAI', summary: 'Retrieve a model' },
  ...bodyModelRows(),
  { methods: ['GET'], path: '/v1beta/models', tag: 'Gemini', summary: 'List models (Google shape)' },
  { methods: ['GET'], path: '/v1beta/models/{model}', tag: 'Gemini', summary: 'Get a model (Google shape)' },
  ...geminiActionRows(),
  { methods: ['POST'], path: '/api/event_logging/batch', tag: 'System', summary: 'Claude Code telemetry sink (204)' },
  { methods: ['POST'], path: '/api/event_logging/v2/batch', tag: 'System', summary: 'Claude Code telemetry sink (204)' },
  { methods: ['POST'], path: '/v1/api/event_logging/batch', tag: 'System', summary: 'Claude Code telemetry sink (204)' },
  { methods: ['HEAD'], path: '/api/hello', tag: 'System', summary: 'Connectivity probe (204)' },
  { methods: ['GET'], path: '/agproxy/keys', tag: 'System', summary: 'Key pool state per provider (names or masked keys only)' },
  { methods: ['GET'], path: '/metrics', tag: 'System', summary: 'Prometheus metrics (text format; behind auth unless metrics.public)' },
  { methods: ['GET'], path: '/swagger', tag: 'System', summary: 'API reference (offline UI)' },
  { methods: ['GET'], path: '/swagger/json', tag: 'System', summary: 'OpenAPI 3.1 document' },
  { methods: ['GET'], path: '/ui', tag: 'System', summary: 'Dashboard (web page; log in with the admin key)' },
]

/** routes without parameters: one lookup (the front door matches every request) */
const exact = new Map(ROUTES.filter(r => !r.path.includes('{')).map(r => [r.path, r]))
const compiled = ROUTES.filter(r => r.path.includes('{')).map(r => ({
  route: r,
  re: new RegExp(`^${r.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
}))

/** The canonical route a concrete path belongs to (any method), if any. Gemini actions win over `/v1/models/{id}`.
 *  (A parameter never matches an empty segment, so a path equal to a parameterless route matches only that.) */
export function matchRoute(path: string): CanonicalRoute | undefined {
  const hit = exact.get(path)
  if (hit) return hit
  let found: CanonicalRoute | undefined
  for (const { route, re } of compiled) {
    if (!re.test(path)) continue
    if (route.path.includes(':')) return route
    found ??= route
  }
  return found
}

/** Edit distance (insertions, deletions, substitutions) between two short strings, giving up above `max`. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    if (Math.min(...row) > max) return max + 1
    prev = row
  }
  return prev[b.length] ?? max + 1
}

/** A route's path with its parameters filled from `path`'s segments (`{model}` takes the segment up to its `:action`),
 *  or undefined when the segment counts differ. */
function filled(template: string, path: string): string | undefined {
  const want = template.split('/')
  const got = path.split('/')
  if (want.length !== got.length) return undefined
  return want.map((w, i) => w.replace(/\{[^}]+\}/, () => (w.includes(':') ? (got[i] ?? '').split(':')[0] : got[i]) ?? '')).join('/')
}

/** The route a mistyped path was most likely meant for (`/v1/chat/completion` → `/v1/chat/completions`): the closest
 *  route path within a few edits (about one in five characters, at most 3), if one is clearly closest. */
export function closestRoute(path: string): string | undefined {
  const max = Math.min(3, Math.floor(path.length / 5))
  let best: { path: string; d: number } | undefined
  for (const r of ROUTES) {
    const candidate = r.path.includes('{') ? filled(r.path, path) : r.path
    if (!candidate || candidate === '/' || candidate === path) continue
    const d = editDistance(path.toLowerCase(), candidate.toLowerCase(), max)
    if (d <= max && (!best || d < best.d)) best = { path: candidate, d }
  }
  return best?.path
}

/** A path ending in a Gemini action (served or not) */
const GEMINI_ACTION_END = new RegExp(`:(${[...Object.keys(GEMINI_ACTIONS), ...OTHER_GEMINI_ACTIONS].join('|')})$`)

/** The dialect a path belongs to, by its family; undefined when the path says nothing. */
export function dialectOfPath(path: string): Dialect | undefined {
  if (/(^|\/)messages(\/|$)/.test(path)) return 'anthropic'
  if (/(^|\/)v1beta(\/|$)/.test(path) || GEMINI_ACTION_END.test(path)) return 'gemini'
  if (/(^|\/)(chat\/completions|completions|responses|embeddings)(\/|$)/.test(path)) return 'openai'
  return undefined
}
