/**
 * Vertex AI (`type: vertex`): Gemini and Claude through a Google Cloud project. Owns the credentials (service-account
 * JSON → an RS256-signed JWT → an OAuth2 access token, or an ADC `authorized_user` refresh token), the token cache
 * (refreshed 5 minutes before expiry, one refresh shared by concurrent calls), the Vertex URLs
 * (`/v1/projects/{p}/locations/{l}/publishers/{google|anthropic}/models/{m}:{method}`) and the Claude body
 * (`anthropic_version: vertex-2023-10-16`, no `model`). Bodies, streams and errors are the gemini / anthropic wires.
 * Each account (service account or project) is one pool entry, so cooldowns are per account and model.
 */
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { ProviderConfig } from '../config/schema'

export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16'
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform'
const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token'
/** a token is renewed this long before it expires */
const REFRESH_EARLY_MS = 5 * 60_000

/** One pooled account: its credentials (or why they cannot be used) and the project it bills. */
export interface VertexAccount {
  /** its pool key: `#1`, `#2`, … (nothing to mask: the secrets stay here; too short for the redactors to scan for) */
  slot: string
  /** its name in logs and messages: `{client_email or file}/{project}` (never a secret) */
  id: string
  project: string
  creds?: Credentials
  /** why this account cannot mint tokens (unreadable file, missing field), said on every call */
  problem?: string
  token?: { value: string; expiresAt: number }
  pending?: Promise<string>
}

type Credentials =
  | { type: 'service_account'; client_email: string; private_key: string; private_key_id?: string; token_uri: string; key?: CryptoKey }
  | { type: 'authorized_user'; client_id: string; client_secret: string; refresh_token: string; token_uri: string }

export interface VertexSettings {
  location: string
  /** by pool key */
  accounts: Map<string, VertexAccount>
}

/** The Vertex AI host of a location (`global` → aiplatform.googleapis.com). */
export const vertexHost = (location: string): string =>
  location === 'global' ? 'https://aiplatform.googleapis.com' : `https://${location}-aiplatform.googleapis.com`

/** Where Application Default Credentials live: GOOGLE_APPLICATION_CREDENTIALS, else gcloud's file. */
function adcFile(env: Record<string, string | undefined>): string {
  if (env.GOOGLE_APPLICATION_CREDENTIALS) return env.GOOGLE_APPLICATION_CREDENTIALS
  const config = env.CLOUDSDK_CONFIG ?? join(env.HOME ?? homedir(), '.config', 'gcloud')
  return join(config, 'application_default_credentials.json')
}

type AccountConfig = { credentials_file?: string; credentials?: string | Record<string, unknown>; project?: string }

/** Parse one account's credentials; the problem in words when they cannot be used. */
function parseCredentials(
  a: AccountConfig,
  env: Record<string, string | undefined>,
): { creds?: Credentials; raw?: Record<string, unknown>; problem?: string; from: string } {
  const file = a.credentials === undefined ? (a.credentials_file ?? adcFile(env)) : undefined
  const from = file ? `credentials_file ${file}` : 'credentials'
  let raw: Record<string, unknown>
  try {
    const text = file ? readFileSync(file, 'utf8') : a.credentials
    raw = typeof text === 'string' ? JSON.parse(text) : (text as Record<string, unknown>)
  } catch (e) {
    const why = (e as { code?: string }).code === 'ENOENT' ? 'no such file' : (e as Error).message
    return { from, problem: `${from} cannot be read (${why}); point it at a service-account JSON key or run \`gcloud auth application-default login\`` }
  }
  const s = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : '')
  const token_uri = s('token_uri') || GOOGLE_TOKEN_URI
  if (s('type') === 'service_account') {
    if (!s('client_email') || !s('private_key')) return { from, raw, problem: `${from}: a service-account key needs client_email and private_key` }
    return {
      from,
      raw,
      creds: {
        type: 'service_account',
        client_email: s('client_email'),
        private_key: s('private_key'),
        private_key_id: s('private_key_id') || undefined,
        token_uri,
      },
    }
  }
  if (s('type') === 'authorized_user') {
    if (!s('refresh_token') || !s('client_id')) return { from, raw, problem: `${from}: authorized_user credentials need client_id and refresh_token` }
    return {
      from,
      raw,
      creds: { type: 'authorized_user', client_id: s('client_id'), client_secret: s('client_secret'), refresh_token: s('refresh_token'), token_uri },
    }
  }
  return { from, raw, problem: `${from}: type "${s('type')}" is not supported (use a service_account key or authorized_user ADC)` }
}

/** The accounts of a vertex provider: `accounts:`, else its own credentials_file / credentials / ADC. */
export function vertexSettings(p: ProviderConfig, env: Record<string, string | undefined>): VertexSettings {
  const list: AccountConfig[] = p.accounts?.length ? p.accounts : [{ credentials_file: p.credentials_file, credentials: p.credentials }]
  const accounts = new Map<string, VertexAccount>()
  for (const a of list) {
    const { creds, raw, problem, from } = parseCredentials(a, env)
    const project = a.project ?? p.project ?? (typeof raw?.project_id === 'string' ? raw.project_id : '') ?? ''
    const who = creds?.type === 'service_account' ? creds.client_email : from
    const slot = `#${accounts.size + 1}`
    const noProject = project ? undefined : `${from}: no project; set project: (the Google Cloud project id) on the provider or the account`
    accounts.set(slot, { slot, id: `${who}/${project}`, project, creds, problem: problem ?? noProject })
  }
  return { location: p.location ?? 'global', accounts }
}

// ───────────── tokens ─────────────

const b64url = (b: ArrayBuffer | Uint8Array | string) =>
  Buffer.from(typeof b === 'string' ? b : b instanceof Uint8Array ? b : new Uint8Array(b)).toString('base64url')

async function importKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')
  return crypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign'])
}

/** A signed JWT asserting the service account, for the jwt-bearer grant. */
export async function signedAssertion(c: Extract<Credentials, { type: 'service_account' }>, now = Date.now()): Promise<string> {
  c.key ??= await importKey(c.private_key)
  const iat = Math.floor(now / 1000)
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...(c.private_key_id && { kid: c.private_key_id }) }))
  const claims = b64url(JSON.stringify({ iss: c.client_email, scope: SCOPE, aud: c.token_uri, iat, exp: iat + 3600 }))
  const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', c.key, new TextEncoder().encode(`${header}.${claims}`))
  return `${header}.${claims}.${b64url(sig)}`
}

async function exchange(c: Credentials, signal: AbortSignal): Promise<{ value: string; expiresAt: number }> {
  const form: Record<string, string> =
    c.type === 'service_account'
      ? { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await signedAssertion(c) }
      : { grant_type: 'refresh_token', client_id: c.client_id, client_secret: c.client_secret, refresh_token: c.refresh_token }
  const res = await fetch(c.token_uri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
    signal,
  })
  const text = await res.text()
  let j: { access_token?: string; expires_in?: number; error?: string; error_description?: string } = {}
  try {
    j = JSON.parse(text)
  } catch {}
  if (!res.ok || !j.access_token) {
    const why = j.error ? `${j.error}${j.error_description ? `: ${j.error_description}` : ''}` : text.slice(0, 200)
    const fix =
      res.status >= 400 && res.status < 500
        ? '; the key may be deleted or rotated: create a new key for the service account (or rerun gcloud auth application-default login)'
        : ''
    throw new Error(`the token endpoint answered ${res.status} (${why})${fix}`)
  }
  return { value: j.access_token, expiresAt: Date.now() + (Number(j.expires_in) || 3600) * 1000 }
}

/** An access token for the account: cached until 5 minutes before it expires; concurrent callers share one refresh.
 *  Throws an Error whose message says what is wrong (never the key or a token). */
export async function vertexToken(a: VertexAccount, signal: AbortSignal): Promise<string> {
  if (a.problem || !a.creds) throw new Error(a.problem ?? 'no credentials')
  if (a.token && a.token.expiresAt - REFRESH_EARLY_MS > Date.now()) return a.token.value
  if (!a.pending) {
    const creds = a.creds
    a.pending = exchange(creds, AbortSignal.any([signal, AbortSignal.timeout(30_000)]))
      .then(t => {
        a.token = t
        return t.value
      })
      .finally(() => {
        a.pending = undefined
      })
  }
  return a.pending
}

/** Drop the account's cached token if it is `token` (Vertex refused it); whether there was one to drop. */
export function vertexForget(v: VertexSettings, slot: string, token: string): boolean {
  const a = v.accounts.get(slot)
  if (a?.token?.value !== token) return false
  a.token = undefined
  return true
}

// ───────────── URLs and bodies ─────────────

/** Claude on Vertex (the anthropic wire) for a model whose name starts with `claude-`; anything else is Gemini. */
export const vertexWireOf = (model: string): 'anthropic' | 'gemini' => (/^claude-/i.test(model) ? 'anthropic' : 'gemini')

/** A gemini or anthropic path as planned → the Vertex path for the account's project; `stream`: Claude streams. */
export function vertexPath(v: VertexSettings, project: string, path: string, model: string, stream: boolean): string {
  // Vertex model ids carry a version after @ (claude-sonnet-4-5@20250929), which its URLs show as is
  const m = encodeURIComponent(model).replace(/%40/g, '@')
  const base = `/v1/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(v.location)}/publishers`
  const g = path.match(/^\/v1(?:beta|alpha)?\/models\/[^:/?]+:(\w+)(\?.*)?$/)
  if (g) return `${base}/google/models/${m}:${g[1]}${g[2] ?? ''}`
  if (path === '/v1/messages/count_tokens') return `${base}/anthropic/models/count-tokens:rawPredict`
  return `${base}/anthropic/models/${m}:${stream ? 'streamRawPredict' : 'rawPredict'}`
}

/** The body of a Claude call on Vertex: `anthropic_version` in it, the model in the URL (count_tokens keeps it). */
export function vertexClaudeBody(body: string | Uint8Array, countTokens: boolean): { body: string; stream: boolean } {
  const j = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body)) as Record<string, unknown>
  const { model, ...rest } = j
  const out = countTokens ? { ...rest, model } : { anthropic_version: VERTEX_ANTHROPIC_VERSION, ...rest }
  return { body: JSON.stringify(out), stream: j.stream === true }
}

/** One planned call made a Vertex call for an account: its path, body and access token; or why the account cannot call
 *  (`auth`: its credentials are at fault, so another account may do better; else the token endpoint was unreachable). */
export async function vertexRequest(
  v: VertexSettings,
  slot: string,
  planned: { path: string; body: string | Uint8Array },
  model: string,
  signal: AbortSignal,
): Promise<{ path: string; body: string | Uint8Array; token: string } | { error: string; auth: boolean }> {
  const a = v.accounts.get(slot)
  if (!a) return { error: `no Vertex account ${slot}`, auth: true }
  let token: string
  try {
    token = await vertexToken(a, signal)
  } catch (e) {
    const msg = (e as Error).message
    // the token endpoint refused the credentials (4xx): another account may do better; its 5xx or a network error is transient
    return { error: `Vertex AI account ${a.id}: ${msg}`, auth: !!a.problem || /answered 4\d\d/.test(msg) }
  }
  const claude = !/^\/v1(beta|alpha)?\/models\//.test(planned.path)
  if (!claude) return { path: vertexPath(v, a.project, planned.path, model, false), body: planned.body, token }
  const countTokens = planned.path === '/v1/messages/count_tokens'
  const { body, stream } = vertexClaudeBody(planned.body, countTokens)
  return { path: vertexPath(v, a.project, planned.path, model, stream), body, token }
}
