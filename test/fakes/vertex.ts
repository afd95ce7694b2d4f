/**
 * Vertex AI for the fake upstream, after Google's references: an OAuth2 token endpoint (`POST /token`, the
 * service-account key's `token_uri`) that VERIFIES the jwt-bearer assertion — RS256 signature against the test key's
 * public half, `iss`, `aud` (this endpoint), `scope` (cloud-platform), `iat`/`exp` — and issues access tokens; and the
 * Vertex paths, which take only those tokens (`Authorization: Bearer`):
 *   `/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:{generateContent|streamGenerateContent|countTokens}`
 *     → the gemini wire (reused);
 *   `/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:{rawPredict|streamRawPredict}` → the anthropic wire,
 *     after checking `anthropic_version: "vertex-2023-10-16"` and that the body names no model;
 *   `…/publishers/anthropic/models/count-tokens:rawPredict` → Anthropic token counting (the model in the body).
 */
import { anthropicWire } from './anthropic'
import { geminiWire } from './gemini'
import { errorResponse, json, randomId, type ErrorReply, type FakeOptions, type Wire, type WireCtx } from './upstream'

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform'

/** A test service account: its key JSON (token_uri still to be set) and the public key the fake verifies with. */
export async function makeServiceAccount(email: string, project: string): Promise<{ json: Record<string, string>; publicKey: CryptoKey }> {
  const pair = (await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', pair.privateKey)).toString('base64')
  const pem = `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`
  return {
    json: { type: 'service_account', project_id: project, private_key_id: randomId(40), private_key: pem, client_email: email, client_id: '1234567890' },
    publicKey: pair.publicKey,
  }
}

/** what one fake issued: tokens and when they expire */
const issued = new WeakMap<FakeOptions, Map<string, number>>()
const tokensOf = (o: FakeOptions) => issued.get(o) ?? issued.set(o, new Map()).get(o)!

/** Revoke every access token a fake issued (its calls then answer 401 UNAUTHENTICATED). */
export const revokeTokens = (o: FakeOptions) => tokensOf(o).clear()

const oauthError = (error: string, description: string): ErrorReply => ({ status: 400, body: { error, error_description: description } })
const googleError = (status: number, state: string, message: string): ErrorReply => ({ status, body: { error: { code: status, message, status: state } } })
const UNAUTHENTICATED = () =>
  googleError(
    401,
    'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. ' +
      'See https://developers.google.com/identity/sign-in/web/devconsole-project.',
  )

const fromB64url = (s: string) => Buffer.from(s, 'base64url')

/** The token endpoint: a verified jwt-bearer assertion → an access token. */
async function tokenEndpoint(ctx: WireCtx): Promise<Response> {
  const down = ctx.opts.vertexTokenOutage
  if (down) return errorResponse(down)
  const form = new URLSearchParams(typeof ctx.body === 'string' ? ctx.body : '')
  if (ctx.rec.headers['content-type'] !== 'application/x-www-form-urlencoded') return errorResponse(oauthError('invalid_request', 'Bad content type'))
  if (form.get('grant_type') === 'refresh_token') {
    // an ADC authorized_user file (gcloud auth application-default login)
    if (!ctx.opts.vertexRefreshTokens?.includes(form.get('refresh_token') ?? '')) return errorResponse(oauthError('invalid_grant', 'Bad Request'))
    return issue(ctx)
  }
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return errorResponse(oauthError('unsupported_grant_type', 'Invalid grant_type'))
  const [h = '', c = '', s = ''] = (form.get('assertion') ?? '').split('.')
  let header: any
  let claims: any
  try {
    header = JSON.parse(fromB64url(h).toString())
    claims = JSON.parse(fromB64url(c).toString())
  } catch {
    return errorResponse(oauthError('invalid_grant', 'Invalid JWT: not a JWT'))
  }
  const key = ctx.opts.vertexAccounts?.[claims?.iss]
  if (header?.alg !== 'RS256' || !key) return errorResponse(oauthError('invalid_grant', 'Invalid JWT Signature.'))
  const ok = await crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, fromB64url(s), new TextEncoder().encode(`${h}.${c}`))
  if (!ok) return errorResponse(oauthError('invalid_grant', 'Invalid JWT Signature.'))
  const now = Math.floor(Date.now() / 1000)
  if (claims.aud !== `${ctx.url.origin}/token`)
    return errorResponse(oauthError('invalid_grant', 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.'))
  if (
    String(claims.scope ?? '')
      .split(' ')
      .indexOf(SCOPE) < 0
  )
    return errorResponse(oauthError('invalid_scope', 'Invalid OAuth scope or ID token audience provided.'))
  if (!(claims.exp > now && claims.iat <= now + 60 && claims.exp - claims.iat <= 3600))
    return errorResponse(oauthError('invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.'))
  return issue(ctx)
}

/** A new access token, valid for the fake's tokenTtl. */
function issue(ctx: WireCtx): Response {
  const ttl = ctx.opts.tokenTtl ?? 3599
  const token = `ya29.fake-${randomId(32)}`
  tokensOf(ctx.opts).set(token, Date.now() + ttl * 1000)
  return json(200, { access_token: token, expires_in: ttl, token_type: 'Bearer' })
}

/** A Claude call on Vertex as the anthropic wire would serve `/v1/messages` for that model. */
function claude(ctx: WireCtx, model: string, method: string): Response | Promise<Response> {
  const body = ctx.body
  const headers = { ...ctx.rec.headers, 'anthropic-version': '2023-06-01' }
  if (model === 'count-tokens') return anthropicWire.handle({ ...ctx, rec: { ...ctx.rec, path: '/v1/messages/count_tokens', headers } })
  if (!body || typeof body !== 'object') return errorResponse(googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'))
  if (body.anthropic_version !== 'vertex-2023-10-16')
    return errorResponse({ status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic_version: Field required' } } })
  if ('model' in body)
    return errorResponse({ status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'model: Extra inputs are not permitted' } } })
  if ((method === 'streamRawPredict') !== (body.stream === true))
    return errorResponse(googleError(400, 'FAILED_PRECONDITION', `${method} with stream: ${body.stream}`))
  const { anthropic_version: _, ...rest } = body
  return anthropicWire.handle({ ...ctx, body: { ...rest, model }, rec: { ...ctx.rec, path: '/v1/messages', headers } })
}

export const vertexWire: Wire = {
  base: '',
  keyOf: req => req.headers.get('authorization')?.replace(/^Bearer\s+/i, '') || undefined,
  authError: () => UNAUTHENTICATED(),
  handle(ctx: WireCtx) {
    const { rec } = ctx
    if (rec.method === 'POST' && rec.path === '/token') return tokenEndpoint(ctx)
    const until = rec.key ? tokensOf(ctx.opts).get(rec.key) : undefined
    if (!until || until < Date.now()) return errorResponse(UNAUTHENTICATED())
    const m = decodeURIComponent(rec.path).match(/^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/(google|anthropic)\/models\/([^:/]+):(\w+)$/)
    if (rec.method !== 'POST' || !m) return errorResponse(googleError(404, 'NOT_FOUND', `The requested URL ${rec.path} was not found on this server.`))
    const [, , , publisher, model = '', method = ''] = m
    if (publisher === 'anthropic') return claude(ctx, model, method)
    return geminiWire.handle({ ...ctx, rec: { ...rec, path: `/v1beta/models/${model}:${method}` } })
  },
}
