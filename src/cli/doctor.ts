/**
 * `agproxy doctor`: for each client, whether its configuration (files and environment) points at this instance,
 * whether its base URL carries a known mistake, whether its key is there and accepted, then one real request through
 * its route; for each provider key, whether the provider accepts it and whether the running instance rests it.
 * One line per check (✓ / ✗ / !), the fix on the line; exit 1 when any check fails.
 */
import { homedir } from 'node:os'
import { wireOf, type Config, type ProviderConfig, type WireType } from '../config/schema'
import { effectiveAuthMode } from '../config/load'
import { clientFamilies } from '../http/clients'
import { describeCauses, resolvePath } from '../http/resolve-path'
import { formatMs, MIN_REDACTED_KEY, maskKey } from '../providers/pool'
import { DEFAULT_BASE, providersFromEnv, repairBaseUrl, type Provider } from '../providers/registry'
import { authHeaders } from '../providers/upstream-call'
import { azureAuth, azureModelsUrl, azureSettings, repairAzureBase } from '../providers/azure'
import { vertexSettings, vertexToken } from '../providers/vertex'
import { KEYS_PATH, type KeysStatus } from '../routes/status'
import { instanceOrigin, oneLine } from './keys'
import { instanceOf } from './setup'
import type { ClientDef, ClientView, Instance, Place } from './setup/client'
import { SetupError } from './setup/edit'
import { maskText } from './setup/files'
import { CLIENT_IDS, CLIENTS } from './setup/index'

export interface DoctorIO {
  home?: string
  env?: Record<string, string | undefined>
  /** the folder clients would start in (default: the current one) */
  cwd?: string
  fetch?: typeof fetch
  /** per request (default 30 s) */
  timeoutMs?: number
}

type Mark = '✓' | '✗' | '!'
interface Check {
  mark: Mark
  text: string
  fix?: string
}

const line = (c: Check) => `  ${c.mark} ${c.text}${c.fix ? ` — ${c.fix}` : ''}`
const PROMPT = 'Reply with OK.'

/** Run every check; returns the exit code (1 when a ✗) and the report. */
export async function doctorCommand(c: Config, io: DoctorIO = {}): Promise<{ code: number; out: string }> {
  const place: Place = { home: io.home ?? homedir(), env: io.env ?? process.env, cwd: io.cwd ?? process.cwd() }
  const call = (url: string, init: RequestInit = {}) => (io.fetch ?? fetch)(url, { ...init, signal: AbortSignal.timeout(io.timeoutMs ?? 30_000) })
  let inst: Instance
  try {
    inst = instanceOf(c, place.env)
  } catch (e) {
    if (!(e instanceof SetupError)) throw e
    return { code: 1, out: `agproxy doctor: ${e.message}` }
  }
  const reach = instanceOrigin(c)
  const sections: Array<[string, Check[]]> = []
  const instance = await checkInstance(reach, c, inst, call)
  sections.push([`agproxy at ${inst.origin}`, [instance.check]])
  const clients = await Promise.all(CLIENT_IDS.map(id => checkClient(CLIENTS[id], place, inst, instance.up ? call : undefined)))
  CLIENT_IDS.forEach((id, i) => sections.push([CLIENTS[id].name, clients[i] ?? []]))
  sections.push(['Environment', checkEnvironment(place.env, inst)])
  sections.push(['Providers', await checkProviders(c, place.env, inst, instance.up ? reach : undefined, call)])
  const out = sections.filter(([, checks]) => checks.length).map(([title, checks]) => `${title}\n${checks.map(line).join('\n')}`)
  const failed = sections.some(([, checks]) => checks.some(k => k.mark === '✗'))
  const warned = sections.reduce((n, [, checks]) => n + checks.filter(k => k.mark === '!').length, 0)
  out.push(
    failed
      ? '\nSome checks failed (✗): apply the fix on each line, then run agproxy doctor again.'
      : warned
        ? `\nNo check failed; ${warned} warning${warned === 1 ? '' : 's'} (!) above.`
        : '\nAll checks passed.',
  )
  // a provider or client may echo a key in an error message: none is ever printed
  const providerKeys = providerConfigs(c, place.env).flatMap(p => keysOf(p).map(k => k.key))
  const secrets = [...inst.accepted, ...providerKeys.filter(k => k.length >= MIN_REDACTED_KEY)]
  return { code: failed ? 1 : 0, out: maskText(out.join('\n'), secrets) }
}

type Call = (url: string, init?: RequestInit) => Promise<Response>

async function checkInstance(origin: string, c: Config, inst: Instance, call: Call): Promise<{ up: boolean; check: Check }> {
  try {
    // auth_mode strict guards /healthz too
    const res = await call(`${origin}/healthz`, { headers: inst.authOn ? { authorization: `Bearer ${inst.key}` } : {} })
    const body = (await res.json().catch(() => ({}))) as { version?: string; status?: string; reasons?: string[] }
    if (!res.ok || !body.version)
      return { up: false, check: { mark: '✗', text: `${origin}/healthz answered ${res.status}, not as agproxy`, fix: 'is another server on this port?' } }
    const mode = effectiveAuthMode(c)
    const degraded = body.status === 'degraded' ? `; degraded: ${(body.reasons ?? []).join('; ')}` : ''
    return { up: true, check: { mark: degraded ? '!' : '✓', text: `agproxy ${body.version} answers (auth ${mode})${degraded}` } }
  } catch (e) {
    return {
      up: false,
      check: {
        mark: '✗',
        text: `no agproxy answers at ${origin} (${(e as Error).message.split('\n')[0]})`,
        fix: `start it (agproxy${c.port !== 8045 ? ` --port ${c.port}` : ''}) or pass the --host/--port it runs on`,
      },
    }
  }
}

/** Same host and port, whatever the loopback spelling. */
function sameInstance(url: URL, origin: string): boolean {
  const o = new URL(origin)
  const loop = (h: string) => (['localhost', '127.0.0.1', '[::1]', '0.0.0.0', '[::]'].includes(h) ? 'loopback' : h)
  return url.protocol === o.protocol && loop(url.hostname) === loop(o.hostname) && (url.port || '80') === (o.port || '80')
}

/** Where `base` leads: here or elsewhere, and the known mistakes in its path (resolve-path's knowledge). */
export function diagnoseBaseUrl(base: string, origin: string, def: ClientDef, model: string): Check & { usable: boolean } {
  const want = def.baseUrl(origin)
  let url: URL
  try {
    url = new URL(base)
  } catch {
    return { mark: '✗', text: `base URL "${base.slice(0, 80)}" is not a URL`, fix: `set it to ${want} (agproxy setup ${def.id})`, usable: false }
  }
  if (!sameInstance(url, origin)) return { mark: '!', text: `points at ${url.origin}, not this agproxy`, fix: `run agproxy setup ${def.id}`, usable: false }
  const path = url.pathname.replace(/\/+$/, '') + def.callPath(model)
  const r = resolvePath(path)
  if (r.kind === 'canonical') return { mark: '✓', text: `base URL ${base} points here`, usable: true }
  if (r.kind === 'rewritten')
    return {
      mark: '!',
      text: `base URL ${base}: ${describeCauses(r.causes)} (agproxy copes)`,
      fix: `set it to ${want} (agproxy setup ${def.id})`,
      usable: true,
    }
  return {
    mark: '✗',
    text: `base URL ${base}: ${def.name} would call ${path}, which agproxy does not serve`,
    fix: `set it to ${want} (agproxy setup ${def.id})`,
    usable: false,
  }
}

async function checkClient(def: ClientDef, place: Place, inst: Instance, call: Call | undefined): Promise<Check[]> {
  const view = def.view(place)
  const checks: Check[] = []
  if (view.broken) checks.push({ mark: '✗', text: view.broken })
  for (const w of view.warnings) checks.push({ mark: '!', text: w })
  if (!view.baseUrl) {
    checks.push({ mark: '!', text: 'not set up for agproxy (no base URL set)', fix: `run agproxy setup ${def.id}` })
    return checks
  }
  const model = view.model ?? def.defaultModel
  const base = diagnoseBaseUrl(view.baseUrl.value, inst.origin, def, model)
  base.text += ` (${view.baseUrl.from})`
  checks.push(base)
  if (!base.usable) return checks
  checks.push(checkKey(def, view, inst))
  if (call) checks.push(await liveRequest(def, view, model, inst, call))
  else checks.push({ mark: '!', text: 'no request sent: agproxy is not running' })
  return checks
}

function checkKey(def: ClientDef, view: ClientView, inst: Instance): Check {
  if (!view.key)
    return inst.authOn
      ? { mark: '✗', text: 'no key set, and this agproxy requires one', fix: `run agproxy setup ${def.id}` }
      : { mark: '!', text: 'no key set (auth is off, so any value works, but the client may insist on one)', fix: `run agproxy setup ${def.id}` }
  const shown = `${maskKey(view.key.value)} (${view.key.from})`
  if (!inst.authOn) return { mark: '✓', text: `key ${shown} present; auth is off, any key is accepted` }
  if (inst.accepted.includes(view.key.value)) return { mark: '✓', text: `key ${shown} is accepted` }
  return { mark: '✗', text: `key ${shown} is not one of this agproxy's api_keys`, fix: `run agproxy setup ${def.id}` }
}

/** A minimal non-streamed call, in the client's dialect, to the client's base URL with the key it would send. */
async function liveRequest(def: ClientDef, view: ClientView, model: string, inst: Instance, call: Call): Promise<Check> {
  // biome-ignore lint/style/noNonNullAssertion: checked by the caller
  const url = view.baseUrl!.value.replace(/\/+$/, '') + def.callPath(model)
  const key = view.key?.value ?? ''
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (key) {
    if (view.carrier === 'bearer') headers.authorization = `Bearer ${key}`
    else headers[view.carrier] = key
  }
  if (def.dialect === 'anthropic') headers['anthropic-version'] = '2023-06-01'
  const started = Date.now()
  const what = `${new URL(url).pathname} (model ${model})`
  try {
    const res = await call(url, { method: 'POST', headers, body: JSON.stringify(requestBody(def, model)) })
    const text = await res.text()
    const ms = Date.now() - started
    if (res.ok) return { mark: '✓', text: `POST ${what} → ${res.status} from provider ${res.headers.get('x-agproxy-provider') ?? '?'} in ${ms} ms` }
    const fix =
      res.status === 401
        ? `the key is refused: run agproxy setup ${def.id}`
        : res.status === 404 && /model/i.test(text)
          ? `route the model: add it under models: in agproxy.yaml, or pick a model agproxy lists (${inst.models.slice(0, 5).join(', ') || 'none configured'})`
          : 'see the message, and agproxy doctor’s Providers section'
    return { mark: '✗', text: `POST ${what} → ${res.status}: ${errorMessage(text)}`, fix }
  } catch (e) {
    return { mark: '✗', text: `POST ${what} failed: ${(e as Error).message.split('\n')[0]}`, fix: 'is agproxy still running?' }
  }
}

function requestBody(def: ClientDef, model: string): unknown {
  if (def.dialect === 'anthropic') return { model, max_tokens: 16, messages: [{ role: 'user', content: PROMPT }] }
  if (def.dialect === 'gemini') return { contents: [{ role: 'user', parts: [{ text: PROMPT }] }], generationConfig: { maxOutputTokens: 16 } }
  if (def.callPath(model) === '/responses') return { model, input: PROMPT, max_output_tokens: 16 }
  return { model, max_tokens: 16, messages: [{ role: 'user', content: PROMPT }] }
}

/** The message of an error body in any of the three dialects (they all carry error.message). */
function errorMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { error?: { message?: string } }).error?.message
    if (m) return m.replace(/\s+/g, ' ').slice(0, 300)
  } catch {
    /* not JSON */
  }
  return text.replace(/\s+/g, ' ').slice(0, 200) || '(empty body)'
}

/** The base-URL variables SDKs read, checked like a client's setting. */
function checkEnvironment(env: Record<string, string | undefined>, inst: Instance): Check[] {
  const vars = [
    ['OPENAI_BASE_URL', 'openai', CLIENTS.opencode],
    ['ANTHROPIC_BASE_URL', 'anthropic', CLIENTS['claude-code']],
    ['GOOGLE_GEMINI_BASE_URL', 'gemini', CLIENTS['gemini-cli']],
  ] as const
  const checks: Check[] = []
  for (const [name, dialect, def] of vars) {
    const value = env[name]
    if (!value) continue
    const family = clientFamilies(inst.origin).find(f => f.dialect === dialect)
    const d = diagnoseBaseUrl(value, inst.origin, def, def.defaultModel)
    checks.push({ mark: d.mark, text: `${name}=${value}: ${d.mark === '✓' ? 'points here' : d.text}`, fix: d.fix && `set it to ${family?.baseUrl}` })
  }
  return checks
}

// ───────────── providers ─────────────

/** The path of each provider type's model list (relative to the base agproxy uses). */
// bedrock: its model list is on the control plane (bedrock.{region}…, a signed GET): its keys are not probed
const MODELS_PATH: Record<WireType, string> = { openai: '/models', anthropic: '/v1/models', gemini: '/v1beta/models', bedrock: '/foundation-models' }

async function checkProviders(c: Config, env: Record<string, string | undefined>, inst: Instance, reach: string | undefined, call: Call): Promise<Check[]> {
  const configs = providerConfigs(c, env)
  if (!configs.length)
    return [{ mark: '✗', text: 'no providers configured', fix: 'add providers: to agproxy.yaml, or set GEMINI_API_KEY / OPENAI_API_KEY / ANTHROPIC_API_KEY' }]
  const status = reach ? await keysStatus(reach, inst, call) : undefined
  const probes = configs.flatMap(p => (p.type === 'vertex' ? [probeVertex(p, env)] : keysOf(p).map(k => probeKey(p, k, status, call))))
  return (await Promise.all(probes)).flat()
}

/** A vertex provider: each account mints an access token (its credentials and the token endpoint both work). */
async function probeVertex(p: ProviderConfig, env: Record<string, string | undefined>): Promise<Check[]> {
  const accounts = [...vertexSettings(p, env).accounts.values()]
  return Promise.all(
    accounts.map(async (a): Promise<Check> => {
      const label = `${p.name} (vertex) account ${a.id}`
      try {
        await vertexToken(a, AbortSignal.timeout(15_000))
        return { mark: '✓', text: `${label}: access token issued` }
      } catch (e) {
        return { mark: '✗', text: `${label}: ${(e as Error).message}`, fix: `fix the credentials of ${p.name} in agproxy.yaml` }
      }
    }),
  )
}

/** The providers the instance serves: configured, else those the key variables create (zero-config). */
const providerConfigs = (c: Config, env: Record<string, string | undefined>) => (c.providers.length ? c.providers : providersFromEnv(env).providers)

async function keysStatus(reach: string, inst: Instance, call: Call): Promise<KeysStatus | undefined> {
  try {
    const res = await call(reach + KEYS_PATH, { headers: inst.authOn ? { authorization: `Bearer ${inst.key}` } : {} })
    return res.ok ? ((await res.json()) as KeysStatus) : undefined
  } catch {
    return undefined
  }
}

const keysOf = (p: ProviderConfig): Array<{ key: string; name?: string }> => {
  const keys = [...(p.api_keys ?? []).map(k => (typeof k === 'string' ? { key: k } : k)), ...(p.api_key ? [{ key: p.api_key }] : [])]
  return keys.length ? keys : [{ key: '', name: 'no-key' }]
}

/** Where a provider lists its models, and the auth header of one key. */
function modelList(p: ProviderConfig, key: string): { base: string; url: string; auth: Record<string, string> } {
  if (p.type === 'azure') {
    const base = repairAzureBase(p.base_url ?? '')
    const a = azureSettings(p, base)
    return { base, url: azureModelsUrl(a, base), auth: key ? azureAuth(a, key) : {} }
  }
  const wire = wireOf(p.type)
  const base = repairBaseUrl(p.type, p.base_url ?? DEFAULT_BASE[wire]).url
  return { base, url: base + MODELS_PATH[wire], auth: authHeaders({ type: p.type } as Provider, key) }
}

async function probeKey(p: ProviderConfig, k: { key: string; name?: string }, status: KeysStatus | undefined, call: Call): Promise<Check[]> {
  const label = `${p.name} (${p.type}) key ${k.name ?? maskKey(k.key)}`
  if (p.type === 'bedrock') return [{ mark: '!', text: `${label}: not probed (AWS credentials are checked by the first request through agproxy)` }]
  const { base, url, auth } = modelList(p, k.key)
  const headers = { ...(p.type === 'anthropic' ? { 'anthropic-version': '2023-06-01' } : {}), ...p.headers, ...auth }
  const checks: Check[] = []
  try {
    const res = await call(url, { headers })
    const text = await res.text()
    if (res.ok) checks.push({ mark: '✓', text: `${label}: model list answered ${res.status}` })
    else if (res.status === 401 || res.status === 403)
      checks.push({
        mark: '✗',
        text: `${label}: rejected (${res.status}: ${errorMessage(text)})`,
        fix: `replace or remove it under providers: ${p.name} in agproxy.yaml`,
      })
    else if (res.status === 429) checks.push({ mark: '!', text: `${label}: rate limited or out of quota (429: ${errorMessage(text)})` })
    else checks.push({ mark: '!', text: `${label}: model list answered ${res.status} (${errorMessage(text)})` })
  } catch (e) {
    checks.push({ mark: '✗', text: `${label}: cannot reach ${base} (${(e as Error).message.split('\n')[0]})`, fix: `check base_url of ${p.name}` })
  }
  const pooled = status?.providers.find(s => s.name === p.name)?.keys.find(s => s.name === (k.name ?? maskKey(k.key)) || s.masked === maskKey(k.key))
  const left = (until: number | undefined) => formatMs(Math.max(0, (until ?? status?.now ?? 0) - (status?.now ?? 0)))
  if (pooled?.status === 'cooling')
    checks.push({ mark: '!', text: `${label}: the running agproxy rests it for ${left(pooled.until)} (${oneLine(pooled.reason ?? '')})` })
  for (const [model, cd] of Object.entries(pooled?.models ?? {}))
    checks.push({ mark: '!', text: `${label}: the running agproxy rests it for model ${model} for ${left(cd.until)} (${oneLine(cd.reason)})` })
  if (pooled?.status === 'disabled')
    checks.push({
      mark: '!',
      text: `${label}: disabled in the running agproxy (${pooled.reason ?? ''})`,
      fix: 'fix the key, then reload (SIGHUP) or restart agproxy',
    })
  return checks
}
