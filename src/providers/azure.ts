/**
 * Azure OpenAI (`type: azure`): an OpenAI-compatible provider with its own URLs and auth. Owns the resource endpoint
 * (classic `/openai/deployments/{deployment}/…?api-version=` or the v1 `/openai/v1/…` base), the model → deployment
 * map, and the `api-key` / Entra ID bearer header. Everything else (bodies, streams, errors) is the openai wire.
 */
import type { ProviderConfig } from '../config/schema'

/** The GA data-plane version the classic paths use unless `api_version` says otherwise. */
export const AZURE_API_VERSION = '2024-10-21'

export interface AzureSettings {
  /** base_url ends in /openai/v1: the model (deployment) travels in the body, no api-version */
  v1: boolean
  apiVersion: string
  deployments: Record<string, string>
  /** Authorization: Bearer (Microsoft Entra ID token) instead of the api-key header */
  entra: boolean
}

/** A pasted Azure URL → the resource endpoint (`https://{resource}.openai.azure.com`) or its v1 base (`…/openai/v1`). */
export function repairAzureBase(url: string): string {
  const v1 = url.match(/^(.*?\/openai\/v1)(\/.*)?$/i)
  if (v1) return v1[1] ?? url
  return url.replace(/\/openai(\/deployments(\/.*)?)?$/i, '').replace(/\/+$/, '')
}

/** The Azure settings of a provider, with their defaults. */
export function azureSettings(p: ProviderConfig, baseUrl: string): AzureSettings {
  return {
    v1: /\/openai\/v1$/i.test(baseUrl),
    apiVersion: p.api_version ?? AZURE_API_VERSION,
    deployments: p.deployments ?? {},
    entra: p.auth === 'entra',
  }
}

/** The deployment that serves `model` (its own name when the map has no entry). */
export const deploymentOf = (a: AzureSettings, model: string): string => a.deployments[model] ?? model

/** The model a call's body names: the deployment on the v1 API (a v1 base_url, or Responses), which reads it from the
 *  body; on the classic paths the deployment is in the URL and the body keeps the model, whose name decides what the
 *  encoder sends (e.g. max_completion_tokens for o-series and gpt-5 behind any deployment name). */
export const azureBodyModel = (a: AzureSettings, responses: boolean, model: string): string => (a.v1 || responses ? deploymentOf(a, model) : model)

/** An openai path (`/chat/completions`, `/embeddings`, `/completions`, `/responses`) → the path under the resource.
 *  Responses has no classic deployment path: it is served by the v1 API (`/openai/v1/responses`). */
export function azurePath(a: AzureSettings, path: string, deployment: string): string {
  if (a.v1) return path
  if (path === '/responses') return '/openai/v1/responses'
  return `/openai/deployments/${encodeURIComponent(deployment)}${path}?api-version=${encodeURIComponent(a.apiVersion)}`
}

/** The resource's model list (what `agproxy doctor` probes a key with). */
export const azureModelsUrl = (a: AzureSettings, base: string): string =>
  a.v1 ? `${base}/models` : `${base}/openai/models?api-version=${encodeURIComponent(a.apiVersion)}`

/** The auth header for one key (or Entra ID token). */
export const azureAuth = (a: AzureSettings, key: string): Record<string, string> => (a.entra ? { authorization: `Bearer ${key}` } : { 'api-key': key })

type FilterResult = Record<string, { filtered?: boolean; severity?: string; detected?: boolean } | undefined>

/** Azure's content-filter refusal (400, `error.code: content_filter`, `innererror.content_filter_result`) as a sentence
 *  naming each category that was filtered and its severity; undefined for any other body. */
export function azureContentFilter(body: unknown): string | undefined {
  const e = (body as { error?: { code?: unknown; param?: unknown; innererror?: { content_filter_result?: FilterResult } } } | undefined)?.error
  if (!e || e.code !== 'content_filter') return undefined
  const result = e.innererror?.content_filter_result ?? {}
  const hits = Object.entries(result)
    .filter(([, r]) => r?.filtered)
    .map(([category, r]) => (r?.severity ? `${category}: severity ${r.severity}` : `${category}: detected`))
  const what = e.param === 'prompt' || e.innererror ? 'the prompt' : 'the request'
  const why = hits.length ? ` (${hits.join(', ')})` : ''
  return `Azure OpenAI's content filter blocked ${what}${why}; rephrase it, or adjust the deployment's content filter policy in Azure AI Foundry`
}
