/**
 * AWS Bedrock (`type: bedrock`): the runtime endpoint of a region (`https://bedrock-runtime.{region}.amazonaws.com`),
 * its credentials and the AWS Signature Version 4 of every call (HMAC-SHA256 over the canonical request, with the
 * body's hash: signed here, where the final URL and body are known). Credentials, first found: `api_keys` entries
 * `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]` (or a Bedrock API key, sent as a bearer token), the standard
 * variables (AWS_BEARER_TOKEN_BEDROCK, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN), the shared
 * credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile `profile:`, AWS_PROFILE or default).
 */
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { ProviderConfig } from '../config/schema'
import { maskKey } from './pool'

/** the region a provider without `region:` (nor AWS_REGION / AWS_DEFAULT_REGION) calls */
export const BEDROCK_DEFAULT_REGION = 'us-east-1'

export interface BedrockSettings {
  region: string
}

type Env = Record<string, string | undefined>
type KeyEntry = { key: string; name?: string }

/** The region of a provider: its `region`, else AWS_REGION, AWS_DEFAULT_REGION, else us-east-1. */
export const bedrockRegion = (p: Pick<ProviderConfig, 'region'>, env: Env): string =>
  p.region ?? env.AWS_REGION?.trim() ?? env.AWS_DEFAULT_REGION?.trim() ?? BEDROCK_DEFAULT_REGION

/** The runtime endpoint of a region. */
export const bedrockBase = (region: string) => `https://bedrock-runtime.${region}.amazonaws.com`

/** One profile of an AWS shared credentials file (INI), or undefined. */
export function credentialsFromFile(text: string, profile: string): KeyEntry | undefined {
  let current = ''
  const values: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, '').trim()
    const section = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line)
    if (section) current = section[1] ?? ''
    else if (current === profile) {
      const kv = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(line)
      if (kv) values[(kv[1] ?? '').toLowerCase()] = (kv[2] ?? '').trim()
    }
  }
  const id = values.aws_access_key_id
  const secret = values.aws_secret_access_key
  if (!id || !secret) return undefined
  const token = values.aws_session_token
  return { key: [id, secret, ...(token ? [token] : [])].join(':'), name: `aws profile ${profile}` }
}

/** A configured credential named by its masked access key id (the default name, the masked key, would show the end of
 *  the secret or session token). */
export const bedrockKeyName = (k: string | KeyEntry): KeyEntry => {
  const e = typeof k === 'string' ? { key: k } : k
  return e.name || !e.key.includes(':') ? e : { ...e, name: maskKey(e.key.split(':')[0] ?? '') }
}

/** The credentials of a bedrock provider with no api_keys: from the environment, else the shared credentials file. */
export function bedrockEnvCredentials(p: Pick<ProviderConfig, 'profile'>, env: Env): KeyEntry[] {
  const bearer = env.AWS_BEARER_TOKEN_BEDROCK?.trim()
  if (bearer) return [{ key: bearer, name: 'AWS_BEARER_TOKEN_BEDROCK' }]
  const id = env.AWS_ACCESS_KEY_ID?.trim()
  const secret = env.AWS_SECRET_ACCESS_KEY?.trim()
  const token = env.AWS_SESSION_TOKEN?.trim()
  if (id && secret && !p.profile) return [{ key: [id, secret, ...(token ? [token] : [])].join(':'), name: 'AWS_ACCESS_KEY_ID' }]
  const file = env.AWS_SHARED_CREDENTIALS_FILE ?? join(env.HOME ?? homedir(), '.aws', 'credentials')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return []
  }
  const found = credentialsFromFile(text, p.profile ?? env.AWS_PROFILE ?? 'default')
  return found ? [found] : []
}

// Bun's hasher, not node:crypto's: loading node:crypto costs ~8 ms of every start (it is the only use)
const sha256 = (data: string | Uint8Array) => new Bun.CryptoHasher('sha256').update(data).digest('hex')
const hmac = (key: string | Buffer, data: string) => new Bun.CryptoHasher('sha256', key).update(data).digest()

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ as %XX (upper case). */
const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** The canonical URI of a path as sent (each segment encoded once more: every service but S3). */
const canonicalPath = (pathname: string) => pathname.split('/').map(uriEncode).join('/') || '/'

/** The canonical query: pairs sorted by name, then value, both encoded. */
const canonicalQuery = (params: URLSearchParams) =>
  [...params]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, x], [b, y]) => (a === b ? (x! < y! ? -1 : 1) : a! < b! ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')

/** `20250101T000000Z` */
const amzDate = (now: Date) =>
  now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')

/**
 * The SigV4 headers of one POST (`authorization`, `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`) for
 * credentials `ACCESS_KEY_ID:SECRET:TOKEN`; signs host, x-amz-content-sha256, x-amz-date (and the session token).
 */
export function sigV4(
  cred: { id: string; secret: string; token?: string },
  region: string,
  service: string,
  url: string,
  body: string | Uint8Array,
  now = new Date(),
): Record<string, string> {
  const u = new URL(url)
  const date = amzDate(now)
  const day = date.slice(0, 8)
  const headers: Record<string, string> = { host: u.host, 'x-amz-content-sha256': sha256(body), 'x-amz-date': date }
  if (cred.token) headers['x-amz-security-token'] = cred.token
  const names = Object.keys(headers).sort()
  const canonical = [
    'POST',
    canonicalPath(u.pathname),
    canonicalQuery(u.searchParams),
    ...names.map(n => `${n}:${headers[n]}`),
    '',
    names.join(';'),
    headers['x-amz-content-sha256'],
  ].join('\n')
  const scope = `${day}/${region}/${service}/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha256(canonical)].join('\n')
  const key = hmac(hmac(hmac(hmac(`AWS4${cred.secret}`, day), region), service), 'aws4_request')
  const signature = new Bun.CryptoHasher('sha256', key).update(toSign).digest('hex')
  const { host: _, ...sent } = headers
  return { ...sent, authorization: `AWS4-HMAC-SHA256 Credential=${cred.id}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` }
}

/** The auth headers of one Bedrock call: SigV4 for `ID:SECRET[:TOKEN]` credentials, a bearer token for a Bedrock API key. */
export function bedrockAuth(b: BedrockSettings, key: string, url: string, body: string | Uint8Array): Record<string, string> {
  const [id, secret, token] = key.split(':')
  if (!secret) return { authorization: `Bearer ${key}` }
  return sigV4({ id: id ?? '', secret, ...(token ? { token } : {}) }, b.region, 'bedrock', url, body)
}
