/**
 * /swagger: the OpenAPI document and the Scalar UI, with the UI's script embedded in the binary so the
 * page works with no network. Gemini's `{model}:action` paths are added from the endpoint descriptors (the
 * router cannot express them), with the same schemas the handlers validate with. The plugin (@elysiajs/openapi,
 * ~40 ms to load) is imported on the first request to /swagger, not at start.
 */
import { Elysia, type AnyElysia } from 'elysia'
// embedded into the compiled binary by `bun build --compile`
import scalarScript from '../../node_modules/@scalar/api-reference/dist/browser/standalone.js' with { type: 'file' }
import { GEMINI_ACTIONS } from '../endpoints'
import { operationDocs } from '../endpoints/docs'
import { clientFamilies, originFor } from './clients'
import { ROUTES } from './route-table'
import { VERSION } from '../version'

const ASSET = '/swagger/assets/scalar-standalone.js'
const SPEC = '/swagger/json'

/**
 * Scalar settings that keep the page on this host. `url` is absolute: the plugin's default is the
 * relative `swagger/json`, which from `/swagger/` (served too: the front door strips the slash) resolves
 * to /swagger/swagger/json and the page shows "Document could not be loaded". The rest turns off what
 * would reach scalar.com: the request proxy (Try-it calls to a LAN address would go through
 * proxy.scalar.com, API key included), the hosted AI agent and MCP generator, the developer toolbar
 * (Share/Deploy upload the document), telemetry, and the web fonts.
 */
const SCALAR = {
  cdn: ASSET,
  url: SPEC,
  withDefaultFonts: false,
  proxyUrl: '',
  telemetry: false,
  agent: { disabled: true },
  mcp: { disabled: true },
  showDeveloperTools: 'never',
}

/** How a client sends its agproxy key: the security schemes /swagger declares, so "Try it" can send one. A new scheme is
 *  one line here. */
export const SECURITY_SCHEMES: Record<string, object> = {
  bearer: { type: 'http', scheme: 'bearer', description: '`Authorization: Bearer <key>`: OpenAI SDKs, Codex CLI, most OpenAI-compatible tools' },
  'x-api-key': { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'Anthropic SDK, Claude Code' },
  'x-goog-api-key': { type: 'apiKey', in: 'header', name: 'x-goog-api-key', description: 'Google GenAI SDK, Gemini CLI' },
  'key-query': { type: 'apiKey', in: 'query', name: 'key', description: '`?key=<key>`: Google REST style' },
  adminKey: { type: 'http', scheme: 'bearer', description: 'The admin key (`admin_key`, or the key generated into <data_dir>/admin_key): /admin/* only' },
}

/** The schemes a client key travels in (not the admin key's). */
const CLIENT_SCHEMES = ['bearer', 'x-api-key', 'x-goog-api-key', 'key-query']

/** The sections of /swagger and the schemes their operations accept (the one that client family uses first). A new tag is
 *  one line here; `{origin}` in a description is the address the reader reached agproxy at. */
export const TAGS: Array<{ name: string; description: string; security: string[] }> = [
  { name: 'OpenAI', description: 'OpenAI dialect. Base URL: `{origin}/v1`', security: ['bearer'] },
  { name: 'Anthropic', description: 'Anthropic dialect. Base URL: `{origin}` (no /v1)', security: ['x-api-key', 'bearer'] },
  { name: 'Gemini', description: 'Google Gemini dialect. Base URL: `{origin}`', security: ['x-goog-api-key', 'key-query'] },
  { name: 'System', description: 'Health, the index, the key pools, metrics, telemetry sinks', security: CLIENT_SCHEMES },
  { name: 'Admin', description: 'Status, request log, usage and cost, key control (the admin key, never a client key)', security: ['adminKey'] },
]

/** The operations any caller may use while auth_mode is all_except_health (the front door's public paths). */
const OPEN_PATHS = new Set(['/healthz', '/health', '/'])

/** The document's introduction: the base URL each client family sets, and how to send a key, for `origin`. */
function introduction(origin: string): string {
  const rows = clientFamilies(origin).map(f => `| ${f.clients} | ${f.setting} | \`${f.baseUrl}\` |`)
  return [
    'One gateway for OpenAI, Anthropic and Gemini clients and backends: each client speaks its own API here, and `model` is routed to any configured provider.',
    '',
    '| Clients | Setting | Base URL |',
    '| --- | --- | --- |',
    ...rows,
    '',
    'When auth is on, send an agproxy key (`api_keys` in agproxy.yaml, `AGPROXY_API_KEYS` or `--api-key`) the way your client does: ' +
      '`Authorization: Bearer`, `x-api-key`, `x-goog-api-key` or `?key=`. In the **Authentication** box, pick one and paste the key: "Test Request" (Try it) then sends it.',
  ].join('\n')
}

/** Each operation's security from its tag (a public path also works without a key), and its error answer when it has none. */
function withSecurity(paths: Record<string, Record<string, { tags?: string[]; security?: unknown; responses?: Record<string, unknown> }>>) {
  const out: typeof paths = {}
  for (const [path, item] of Object.entries(paths)) {
    out[path] = {}
    for (const [method, op] of Object.entries(item)) {
      const schemes = TAGS.find(t => t.name === op.tags?.[0])?.security ?? []
      const security = [...(OPEN_PATHS.has(path) ? [{}] : []), ...schemes.map(s => ({ [s]: [] }))]
      // biome-ignore lint/style/noNonNullAssertion: assigned above
      out[path]![method] = { ...op, security: op.security ?? security }
    }
  }
  return out
}

// biome-ignore lint/suspicious/noExplicitAny: the plugin's document (OpenAPI 3.1), completed here
type Doc = Record<string, any>

/** The document as served to one reader: the server URL, base URLs and tag texts of the address they used. */
function forOrigin(doc: Doc, origin: string): Doc {
  return {
    ...doc,
    info: { ...doc.info, description: introduction(origin) },
    servers: [{ url: origin, description: 'this agproxy' }],
    tags: TAGS.map(({ name, description }) => ({ name, description: description.replaceAll('{origin}', origin) })),
    paths: withSecurity(doc.paths ?? {}),
    components: { ...doc.components, securitySchemes: SECURITY_SCHEMES },
  }
}

/** the `alt` query parameter of streamGenerateContent */
/** the `alt` query parameter of streamGenerateContent */
const ALT = {
  name: 'alt',
  in: 'query',
  required: false,
  schema: { type: 'string', enum: ['sse'] },
  description: 'sse for Server-Sent Events; otherwise a streamed JSON array',
}

/** The Gemini `{prefix}/models/{model}:action` operations, from the endpoint descriptors (the router cannot express
 *  these paths, so the plugin does not see them). */
const geminiPaths = () => {
  const paths: Record<string, unknown> = {}
  for (const r of ROUTES) {
    const action = /:(\w+)$/.exec(r.path)?.[1]
    const e = action ? GEMINI_ACTIONS[action] : undefined
    if (!e) continue
    const stream = e.streams({}) // always streams: the alt=sse choice
    paths[r.path] = {
      post: {
        tags: [e.tag],
        summary: r.summary,
        // one id per operation: the Google API v1 copies get their own
        operationId: `gemini_${e.id.split('.')[1]}${r.path.startsWith('/v1/') ? '_v1' : ''}`,
        parameters: [
          { name: 'model', in: 'path', required: true, schema: { type: 'string' }, example: 'gemini-2.5-flash', description: 'a model name agproxy routes' },
          ...(stream ? [{ ...ALT, example: 'sse' }] : []),
        ],
        ...operationDocs(e),
      },
    }
  }
  return paths
}

/** The plugin's options: the same document whenever it is built. */
const pluginOptions = () => ({
  path: '/swagger',
  specPath: SPEC,
  // biome-ignore lint/suspicious/noExplicitAny: the plugin's Scalar type lags the UI's options (cdn, agent, mcp)
  scalar: SCALAR as any,
  exclude: { paths: [ASSET] },
  documentation: {
    info: { title: 'agproxy', version: VERSION, description: 'One gateway for OpenAI, Anthropic and Gemini clients and backends.' },
    tags: TAGS.map(({ name, description }) => ({ name, description })),
    // biome-ignore lint/suspicious/noExplicitAny: hand-built OpenAPI path items the plugin types narrowly
    paths: geminiPaths() as any,
  },
})

type Handler = (...a: unknown[]) => unknown
/** what `use` sets on a plugin (protected in Elysia's types) */
type Globals = { getGlobalRoutes(): unknown; getGlobalDefinitions(): unknown }

/**
 * The plugin, built on first use from `host` (the instance mounted in the app, whose routes it documents): its page
 * and spec handlers, keyed by path. The plugin reads the app's routes through getGlobalRoutes, which `use` would have
 * pointed at the app; here it is pointed at the host's (the same app's, once the host is mounted).
 */
function lazyPlugin(host: AnyElysia) {
  let built: Promise<Map<string, unknown>> | undefined
  return (path: string) =>
    (built ??= import('@elysiajs/openapi').then(({ openapi }) => {
      const plugin = openapi(pluginOptions())
      const [to, from] = [plugin as unknown as Globals, host as unknown as Globals]
      to.getGlobalRoutes = () => from.getGlobalRoutes()
      to.getGlobalDefinitions = () => from.getGlobalDefinitions()
      return new Map(plugin.routes.map(r => [r.path, r.handler]))
    })).then(handlers => handlers.get(path))
}

/** `listenOrigin`: the address agproxy listens on, for a reader whose Host header says nothing usable. */
export const docs = (listenOrigin: () => string = () => 'http://127.0.0.1:8045') => {
  const host = new Elysia({ name: 'docs' })
  const handler = lazyPlugin(host)
  return (
    host
      // the document names the address its reader used (Try it sends there); this instance's routes only (a local hook)
      .mapResponse(({ path, request, response }) =>
        path === SPEC && response && typeof response === 'object' && !(response instanceof Response)
          ? Response.json(forOrigin(response as Doc, originFor(request.headers.get('host'), listenOrigin())))
          : undefined,
      )
      .get(
        ASSET,
        () => new Response(Bun.file(scalarScript), { headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=86400' } }),
        { detail: { hide: true } },
      )
      // the page is a static Response in the plugin: each request gets a copy
      .get('/swagger', async () => ((await handler('/swagger')) as Response).clone(), { detail: { hide: true } })
      .get(SPEC, async () => ((await handler(SPEC)) as Handler)(), { detail: { hide: true } })
  )
}
