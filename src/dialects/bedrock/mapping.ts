/**
 * Small value mappings of Bedrock's Converse API: stop reasons, usage, exceptions (by their type name) → IR.
 */
import type { IRError, IRStopReason, IRUsage } from '../../ir/types'
import { err } from '../../ir/errors'
import { isObject, num } from '../guards'

/** Converse stopReason → IR */
export function stopReasonFromConverse(reason: unknown): IRStopReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length'
    case 'tool_use':
      return 'tool_calls'
    case 'stop_sequence':
      return 'stop_sequence'
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter'
    default:
      return 'stop'
  }
}

/** Converse usage (inputTokens excludes cache reads and writes; IR inputTokens includes both) → IR */
export function usageFromConverse(u: unknown): IRUsage {
  if (!isObject(u)) return { inputTokens: 0, outputTokens: 0 }
  const read = num(u.cacheReadInputTokens) ?? 0
  const write = num(u.cacheWriteInputTokens) ?? 0
  return {
    inputTokens: (num(u.inputTokens) ?? 0) + read + write,
    outputTokens: num(u.outputTokens) ?? 0,
    ...(read ? { cachedInputTokens: read } : {}),
    ...(write ? { cacheCreationInputTokens: write } : {}),
  }
}

/** Bedrock exception names (the `x-amzn-ErrorType` header, an event stream's `:exception-type`) → IR kind and status */
const EXCEPTIONS: Record<string, [IRError['kind'], number]> = {
  validationexception: ['invalid_request', 400],
  accessdeniedexception: ['permission', 403],
  unrecognizedclientexception: ['authentication', 401],
  invalidsignatureexception: ['authentication', 401],
  resourcenotfoundexception: ['not_found', 404],
  throttlingexception: ['rate_limit', 429],
  servicequotaexceededexception: ['rate_limit', 429],
  modeltimeoutexception: ['timeout', 504],
  modelnotreadyexception: ['unavailable', 503],
  serviceunavailableexception: ['unavailable', 503],
  internalserverexception: ['upstream', 500],
  modelstreamerrorexception: ['upstream', 502],
  modelerrorexception: ['upstream', 502],
}

/** A Bedrock exception (its type name and `{"message"}` payload) → IR error */
export function exceptionFromBedrock(type: string, payload: unknown): IRError {
  const name = type.replace(/:.*$/s, '')
  const text = isObject(payload) ? (payload.message ?? payload.Message) : undefined
  const message = typeof text === 'string' && text ? `${name}: ${text}` : `upstream error (${name || 'unknown exception'})`
  const [kind, status] = EXCEPTIONS[name.toLowerCase()] ?? ['upstream', 502]
  return err(kind, message, { status })
}
