/**
 * /swagger: the OpenAPI document and the Scalar UI, with the UI's script embedded in the binary so the
 * page works with no network. Gemini's `{model}:action` paths are added by hand (the router cannot
 * express them) from the same schemas the handlers validate with.
 */
import { Elysia } from 'elysia'
import { openapi } from '@elysiajs/openapi'
// embedded into the compiled binary by `bun build --compile`
import scalarScript from '../../node_modules/@scalar/api-reference/dist/browser/standalone.js' with { type: 'file' }
import { ENDPOINTS } from '../endpoints'
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

const geminiPaths = () => {
  const op = (id: keyof typeof ENDPOINTS, summary: string, stream = false) => ({
    post: {
      tags: ['Gemini'], summary, operationId: `gemini_${id.split('.')[1]}`,
      parameters: [
        { name: 'model', in: 'path', required: true, schema: { type: 'string' } },
        ...(stream ? [{ name: 'alt', in: 'query', required: false, schema: { type: 'string', enum: ['sse'] }, description: 'sse for Server-Sent Events; otherwise a streamed JSON array' }] : []),
      ],
      requestBody: { required: true, content: { 'application/json': { schema: ENDPOINTS[id].schema } } },
      responses: { 200: { description: 'GenerateContentResponse' } },
    },
  })
  const paths: Record<string, unknown> = {}
  for (const prefix of ['/v1beta', '/v1']) {
    const v1 = prefix === '/v1' ? ' (Google API v1)' : ''
    paths[`${prefix}/models/{model}:generateContent`] = op('gemini.generate', `Generate content${v1}`)
    paths[`${prefix}/models/{model}:streamGenerateContent`] = op('gemini.stream', `Stream generated content${v1}`, true)
    paths[`${prefix}/models/{model}:countTokens`] = op('gemini.count_tokens', `Count tokens${v1}`)
  }
  return paths
}

export const docs = () =>
  new Elysia({ name: 'docs' })
    .get(ASSET, () => new Response(Bun.file(scalarScript), { headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=86400' } }), { detail: { hide: true } })
    .use(openapi({
      path: '/swagger',
      specPath: SPEC,
      scalar: SCALAR as any,
      exclude: { paths: [ASSET] },
      documentation: {
        info: { title: 'agproxy', version: VERSION, description: 'One gateway for OpenAI, Anthropic and Gemini clients and backends.' },
        tags: [
          { name: 'OpenAI', description: 'OpenAI dialect (base URL: http://HOST:PORT/v1)' },
          { name: 'Anthropic', description: 'Anthropic dialect (base URL: http://HOST:PORT)' },
          { name: 'Gemini', description: 'Google Gemini dialect (base URL: http://HOST:PORT)' },
          { name: 'System', description: 'Health, index, docs' },
        ],
        paths: geminiPaths() as any,
      },
    }))
