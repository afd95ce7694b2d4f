/**
 * Responses on servers that only speak Chat Completions (`responses: auto | chat` on an openai / azure provider):
 * which providers get a Responses call translated through Chat Completions, and the `auto` fallback — a pass-through
 * that finds no /v1/responses upstream (404/405 on the path, before any byte reached the client) is retried at once
 * translated, the provider is remembered for the app's life, and the log says so once.
 */
import type { Logger } from '../log'
import type { Provider } from '../providers/registry'
import { unknownPath } from './failures'
import type { UpstreamPlan } from './attempt-shared'
import type { Attempt, ModelCall } from './types'
import { RESPONSES_APIS } from '../endpoints'

export { RESPONSES_APIS }

/** Providers of this app found without /v1/responses (src/state.ts). */
export type ChatOnly = Set<string>

/** Whether Responses calls to `provider` go translated through Chat Completions. */
export const responsesViaChat = (provider: Provider, chatOnly: ChatOnly): boolean => provider.responses === 'chat' || chatOnly.has(provider.name)

/** `auto`: this failed Responses pass-through says the upstream has no such path. */
export function lacksResponses(call: ModelCall, provider: Provider, plan: UpstreamPlan, result: Attempt): boolean {
  if (result.ok || !RESPONSES_APIS.has(call.endpoint.id) || plan.kind !== 'pass-through') return false
  return (provider.responses ?? 'auto') === 'auto' && unknownPath(result)
}

/** Remember `provider` as chat-only (logged the first time). */
export function rememberChatOnly(provider: Provider, chatOnly: ChatOnly, log: Logger): void {
  if (chatOnly.has(provider.name)) return
  chatOnly.add(provider.name)
  log.info(
    `provider ${provider.name} has no /v1/responses; translating Responses to Chat Completions for it ` +
      `(set responses: chat on it to skip the first try, or responses: native to turn this off)`,
  )
}
