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
}

/** The Gemini API versions whose `models/{model}:action` paths agproxy serves. */
export const GEMINI_PREFIXES = ['/v1beta', '/v1'] as const

/** Model-call rows of the endpoints whose model is in the body (one per path). */
function bodyModelRows(): CanonicalRoute[] {
  return ENDPOINT_LIST.flatMap(e => ('paths' in e.route ? e.route.paths.map(path => ({ methods: ['POST'], path, tag: e.tag, summary: e.summary })) : []))
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

/** A path ending in a Gemini action (served or not) */
const GEMINI_ACTION_END = new RegExp(`:(${[...Object.keys(GEMINI_ACTIONS), ...OTHER_GEMINI_ACTIONS].join('|')})$`)

/** The dialect a path belongs to, by its family; undefined when the path says nothing. */
export function dialectOfPath(path: string): Dialect | undefined {
  if (/(^|\/)messages(\/|$)/.test(path)) return 'anthropic'
  if (/(^|\/)v1beta(\/|$)/.test(path) || GEMINI_ACTION_END.test(path)) return 'gemini'
  if (/(^|\/)(chat\/completions|completions|responses|embeddings)(\/|$)/.test(path)) return 'openai'
  return undefined
}
