/**
 * The canonical routes: the one list the path resolver, the 405 check, `agproxy routes`,
 * the docs and the tests read. Elysia registers the handlers (src/routes/*); this says what exists.
 */
import type { Dialect } from '../ir/types'

export type Tag = 'OpenAI' | 'Anthropic' | 'Gemini' | 'System'

export interface CanonicalRoute {
  methods: string[]
  /** OpenAPI-style path, `{param}` for parameters */
  path: string
  tag: Tag
  summary: string
}

export const ROUTES: CanonicalRoute[] = [
  { methods: ['GET'], path: '/healthz', tag: 'System', summary: 'Health check' },
  { methods: ['GET'], path: '/health', tag: 'System', summary: 'Health check (alias)' },
  { methods: ['GET', 'HEAD'], path: '/', tag: 'System', summary: 'Index: version and the base URL to set per client' },
  { methods: ['GET'], path: '/v1/models', tag: 'OpenAI', summary: 'List models (OpenAI shape; Anthropic with anthropic-version, Google with a Google key)' },
  { methods: ['GET'], path: '/v1/models/{id}', tag: 'OpenAI', summary: 'Retrieve a model' },
  { methods: ['POST'], path: '/v1/chat/completions', tag: 'OpenAI', summary: 'Chat Completions' },
  { methods: ['POST'], path: '/v1/completions', tag: 'OpenAI', summary: 'Legacy text completions' },
  { methods: ['POST'], path: '/v1/responses', tag: 'OpenAI', summary: 'Responses API (Codex CLI)' },
  { methods: ['POST'], path: '/v1/embeddings', tag: 'OpenAI', summary: 'Embeddings' },
  { methods: ['POST'], path: '/v1/messages', tag: 'Anthropic', summary: 'Messages (Claude Code)' },
  { methods: ['POST'], path: '/v1/messages/count_tokens', tag: 'Anthropic', summary: 'Count tokens of a Messages request' },
  { methods: ['GET'], path: '/v1beta/models', tag: 'Gemini', summary: 'List models (Google shape)' },
  { methods: ['GET'], path: '/v1beta/models/{model}', tag: 'Gemini', summary: 'Get a model (Google shape)' },
  { methods: ['POST'], path: '/v1beta/models/{model}:generateContent', tag: 'Gemini', summary: 'Generate content' },
  { methods: ['POST'], path: '/v1beta/models/{model}:streamGenerateContent', tag: 'Gemini', summary: 'Stream generated content (alt=sse for SSE)' },
  { methods: ['POST'], path: '/v1beta/models/{model}:countTokens', tag: 'Gemini', summary: 'Count tokens' },
  { methods: ['POST'], path: '/v1/models/{model}:generateContent', tag: 'Gemini', summary: 'Generate content (Google API v1)' },
  { methods: ['POST'], path: '/v1/models/{model}:streamGenerateContent', tag: 'Gemini', summary: 'Stream generated content (Google API v1)' },
  { methods: ['POST'], path: '/v1/models/{model}:countTokens', tag: 'Gemini', summary: 'Count tokens (Google API v1)' },
  { methods: ['POST'], path: '/api/event_logging/batch', tag: 'System', summary: 'Claude Code telemetry sink (204)' },
  { methods: ['POST'], path: '/api/event_logging/v2/batch', tag: 'System', summary: 'Claude Code telemetry sink (204)' },
  { methods: ['POST'], path: '/v1/api/event_logging/batch', tag: 'System', summary: 'Claude Code telemetry sink (204)' },
  { methods: ['HEAD'], path: '/api/hello', tag: 'System', summary: 'Connectivity probe (204)' },
  { methods: ['GET'], path: '/agproxy/keys', tag: 'System', summary: 'Key pool state per provider (names or masked keys only)' },
  { methods: ['GET'], path: '/swagger', tag: 'System', summary: 'API reference (offline UI)' },
  { methods: ['GET'], path: '/swagger/json', tag: 'System', summary: 'OpenAPI 3.1 document' },
]

/** routes without parameters: one lookup (the front door matches every request) */
const exact = new Map(ROUTES.filter((r) => !r.path.includes('{')).map((r) => [r.path, r]))
const compiled = ROUTES.filter((r) => r.path.includes('{')).map((r) => ({
  route: r,
  re: new RegExp('^' + r.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
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

/** The dialect a path belongs to, by its family; undefined when the path says nothing. */
export function dialectOfPath(path: string): Dialect | undefined {
  if (/(^|\/)messages(\/|$)/.test(path)) return 'anthropic'
  if (/(^|\/)v1beta(\/|$)/.test(path) || /:(generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents)$/.test(path)) return 'gemini'
  if (/(^|\/)(chat\/completions|completions|responses|embeddings)(\/|$)/.test(path)) return 'openai'
  return undefined
}
