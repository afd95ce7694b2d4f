/**
 * /swagger: the OpenAPI document and the Scalar UI, with the UI's script embedded in the binary so the
 * page works with no network. Gemini's `{model}:action` paths are added from the endpoint descriptors (the
 * router cannot express them), with the same schemas the handlers validate with.
 */
import { Elysia } from 'elysia'
import { openapi } from '@elysiajs/openapi'
// embedded into the compiled binary by `bun build --compile`
import scalarScript from '../../node_modules/@scalar/api-reference/dist/browser/standalone.js' with { type: 'file' }
import { GEMINI_ACTIONS } from '../endpoints'
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
        operationId: `gemini_${e.id.split('.')[1]}`,
        parameters: [{ name: 'model', in: 'path', required: true, schema: { type: 'string' } }, ...(stream ? [ALT] : [])],
        requestBody: { required: true, content: { 'application/json': { schema: e.schema } } },
        responses: { 200: { description: 'GenerateContentResponse' } },
      },
    }
  }
  return paths
}

export const docs = () =>
  new Elysia({ name: 'docs' })
    .get(
      ASSET,
      () => new Response(Bun.file(scalarScript), { headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=86400' } }),
      { detail: { hide: true } },
    )
    .use(
      openapi({
        path: '/swagger',
        specPath: SPEC,
        // biome-ignore lint/suspicious/noExplicitAny: the plugin's Scalar type lags the UI's options (cdn, agent, mcp)
        scalar: SCALAR as any,
        exclude: { paths: [ASSET] },
        documentation: {
          info: { title: 'agproxy', version: VERSION, description: 'One gateway for OpenAI, Anthropic and Gemini clients and backends.' },
          tags: [
            { name: 'OpenAI', description: 'OpenAI dialect (base URL: http://HOST:PORT/v1)' },
            { name: 'Anthropic', description: 'Anthropic dialect (base URL: http://HOST:PORT)' },
            { name: 'Gemini', description: 'Google Gemini dialect (base URL: http://HOST:PORT)' },
            { name: 'System', description: 'Health, index, docs' },
            { name: 'Admin', description: 'Status, request log, usage and cost, key control (the admin key, never a client key)' },
          ],
          components: {
            securitySchemes: { adminKey: { type: 'http', scheme: 'bearer', description: 'admin_key, or the key generated into <data_dir>/admin_key' } },
          },
          // biome-ignore lint/suspicious/noExplicitAny: hand-built OpenAPI path items the plugin types narrowly
          paths: geminiPaths() as any,
        },
      }),
    )
