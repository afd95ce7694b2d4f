/**
 * /ui: the dashboard (src/ui), a single page on the admin API. The page and its assets are public (they hold no data);
 * every data call it makes goes to /admin/* with the admin key in a header. Served with a strict Content-Security-Policy
 * (no inline script or style, nothing from another host) and ETags. The bundle is loaded on the first /ui request.
 */
import { Elysia, t } from 'elysia'
import { err, renderError, summarize } from '../http/errors'

export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', html: 'text/html; charset=utf-8' }

interface Asset {
  body: string
  type: string
  etag: string
}

const asset = (body: string, ext: string): Asset => ({
  body,
  type: TYPES[ext] ?? 'application/octet-stream',
  etag: `"${new Bun.CryptoHasher('sha256').update(body).digest('hex').slice(0, 20)}"`,
})

let loading: Promise<Map<string, Asset>> | undefined

/** The page and its files by name ('' the page), bundled once (from source) or read from the binary; a failed bundle is
 *  tried again on the next request. */
const assets = () =>
  (loading ??= import('./ui-assets')
    .then(({ UI_BUNDLE }) => {
      const m = new Map<string, Asset>([['', asset(UI_BUNDLE.html, 'html')]])
      for (const [name, body] of Object.entries(UI_BUNDLE.files)) m.set(name, asset(body, name.split('.').pop() ?? ''))
      return m
    })
    .catch((e: unknown) => {
      loading = undefined
      throw e
    }))

/** The dashboard's files, or the 503 saying why they could not be built (running from source without src/ui or Bun's CLI). */
async function loaded(): Promise<Map<string, Asset> | Response> {
  try {
    return await assets()
  } catch (e) {
    return renderError(
      'openai',
      err('unavailable', `The dashboard could not be built: ${summarize(e)}. Run agproxy from a complete checkout (src/ui) or a release binary.`),
    )
  }
}

/** One file with the dashboard's headers; 304 when the browser has it. */
function serve(a: Asset, request: Request): Response {
  const headers = {
    'content-type': a.type,
    etag: a.etag,
    'cache-control': 'no-cache',
    'content-security-policy': UI_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  }
  if (request.headers.get('if-none-match') === a.etag) return new Response(null, { status: 304, headers })
  return new Response(a.body, { headers })
}

/** The dashboard's routes: the page at /ui and its bundle under /ui/assets/. */
export const uiRoutes = () =>
  new Elysia({ name: 'ui' })
    .get(
      '/ui',
      async ({ request }) => {
        const files = await loaded()
        return files instanceof Response ? files : serve(files.get('') as Asset, request)
      },
      {
        detail: {
          tags: ['System'],
          summary: 'Dashboard (web page; log in with the admin key)',
          description:
            'The dashboard: overview, live requests, usage, providers and keys, client keys, client settings. The page and its assets need no key; ' +
            'every call it makes goes to /admin/* with the admin key in the Authorization header',
          security: [{}],
          responses: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
    )
    .get(
      '/ui/assets/:file',
      async ({ params, request }) => {
        const files = await loaded()
        if (files instanceof Response) return files
        const a = files.get(params.file)
        return a ? serve(a, request) : renderError('openai', err('not_found', `The dashboard has no file "${params.file}"; open /ui to load the page.`))
      },
      { params: t.Object({ file: t.String() }), detail: { hide: true } },
    )
