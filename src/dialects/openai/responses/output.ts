/**
 * The Responses API `response` object and its output items, built from IR. Shared by the non-streaming
 * encoder and the stream (whose created/completed/failed events carry the same object).
 */
import type { CodecContext, IRResponse, IRStopReason, IRUsage } from '../../../ir/types'
import type { WireToolRef } from './tools'
import type { ResponsesRequestBody } from './schema'
import { rawBody } from '../../guards'
import { nowSeconds } from '../mapping'

/** Prefix that marks an Anthropic redacted_thinking payload inside a reasoning item's `encrypted_content`. */
export const REDACTED_PREFIX = 'agproxy-redacted:'

/** Does the request ask for reasoning items to carry `encrypted_content`? */
export const wantsEncryptedReasoning = (raw: unknown): boolean => rawBody<ResponsesRequestBody>(raw).include?.includes('reasoning.encrypted_content') === true

const hex = (bytes: number): string => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), b => b.toString(16).padStart(2, '0')).join('')

/** `resp_…`, `msg_…`, `rs_…`, `fc_…`, `ctc_…` ids in OpenAI's shape. */
export const itemId = (prefix: string): string => `${prefix}_${hex(24)}`

export type Status = 'in_progress' | 'completed' | 'incomplete' | 'failed'

/** IR usage → Responses usage */
export function usageOut(u: IRUsage) {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: u.cachedInputTokens ?? 0, cache_write_tokens: u.cacheCreationInputTokens ?? 0 },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
    total_tokens: u.inputTokens + u.outputTokens,
  }
}

/** IR stop reason → response status (+ incomplete_details). */
export function statusOf(reason: IRStopReason): { status: Status; incomplete_details: { reason: string } | null } {
  switch (reason) {
    case 'length':
      return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }
    case 'content_filter':
    case 'refusal':
      return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } }
    case 'error':
      return { status: 'failed', incomplete_details: null }
    default:
      return { status: 'completed', incomplete_details: null }
  }
}

/** The opaque `encrypted_content` of a reasoning item carrying an IR thinking signature. */
export const encryptedOf = (signature: string | undefined, redacted?: boolean): string | undefined =>
  signature === undefined ? undefined : redacted ? REDACTED_PREFIX + signature : signature

/** a reasoning output item (encrypted_content only when the request included it) */
export function reasoningItem(id: string, text: string, encrypted: string | undefined, include: boolean) {
  return {
    id,
    type: 'reasoning',
    summary: text ? [{ type: 'summary_text', text }] : [],
    ...(include && encrypted !== undefined ? { encrypted_content: encrypted } : {}),
  }
}

/** an output_text content part */
export const outputText = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] })

/** a message item; without `text`, the empty in-progress shape of `output_item.added` */
export function messageItem(id: string, text?: string, status: Status = 'completed') {
  return { id, type: 'message', status, role: 'assistant', content: text === undefined ? [] : [outputText(text)] }
}

/** Parse a custom tool's IR arguments (`{"input": "..."}`) back to its raw input. */
export function customInput(args: string): string {
  try {
    const v = JSON.parse(args)
    if (typeof v?.input === 'string') return v.input
  } catch {
    /* not JSON: the model sent raw text */
  }
  return args
}

/** a function_call (or custom_tool_call) output item, named as the request named the tool */
export function callItem(id: string, callId: string, irName: string, args: string, ref: WireToolRef | undefined, status: Status = 'completed') {
  const ns = ref?.namespace ? { namespace: ref.namespace } : {}
  const name = ref?.name ?? irName
  if (ref?.custom) return { id, type: 'custom_tool_call', status, call_id: callId, name, ...ns, input: customInput(args) }
  return { id, type: 'function_call', status, call_id: callId, name, ...ns, arguments: args }
}

/** IR response content → output items, in order (empty text blocks are skipped). */
export function outputItems(content: IRResponse['content'], refs: Map<string, WireToolRef>, ctx: CodecContext): OutputItem[] {
  const include = wantsEncryptedReasoning(ctx.raw)
  const items: OutputItem[] = []
  for (const p of content) {
    if (p.type === 'text') {
      if (p.text) items.push(messageItem(itemId('msg'), p.text))
    } else if (p.type === 'thinking') items.push(reasoningItem(itemId('rs'), p.text, encryptedOf(p.signature, p.redacted), include))
    else {
      const ref = refs.get(p.name)
      items.push(callItem(itemId(ref?.custom ? 'ctc' : 'fc'), p.id, p.name, p.arguments || '{}', ref))
    }
  }
  return items
}

/** An output item of a response: message, reasoning, function_call or custom_tool_call. */
export type OutputItem = { id: string; type: string; status?: Status; [field: string]: unknown }

export interface ResponseState {
  id: string
  createdAt: number
  status: Status
  output: OutputItem[]
  usage?: IRUsage
  incompleteDetails?: { reason: string } | null
  error?: { code: string; message: string } | null
}

const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v)

/** The full `response` object, echoing the request's settings as the real API does. */
export function responseObject(s: ResponseState, ctx: CodecContext) {
  const raw = rawBody<ResponsesRequestBody>(ctx.raw)
  const done = s.status === 'completed' || s.status === 'incomplete'
  return {
    id: s.id,
    object: 'response',
    created_at: s.createdAt,
    status: s.status,
    background: false,
    completed_at: done ? nowSeconds() : null,
    error: s.error ?? null,
    incomplete_details: s.incompleteDetails ?? null,
    instructions: orNull(raw.instructions),
    max_output_tokens: orNull(raw.max_output_tokens),
    max_tool_calls: orNull(raw.max_tool_calls),
    model: ctx.clientModel,
    output: s.output,
    parallel_tool_calls: raw.parallel_tool_calls ?? true,
    previous_response_id: orNull(raw.previous_response_id),
    prompt_cache_key: orNull(raw.prompt_cache_key),
    reasoning: { effort: orNull(raw.reasoning?.effort), summary: orNull(raw.reasoning?.summary) },
    safety_identifier: orNull(raw.safety_identifier),
    service_tier: raw.service_tier && raw.service_tier !== 'auto' ? raw.service_tier : 'default',
    store: raw.store ?? true,
    temperature: raw.temperature ?? 1,
    text: { format: raw.text?.format ?? { type: 'text' }, verbosity: raw.text?.verbosity ?? 'medium' },
    tool_choice: raw.tool_choice ?? 'auto',
    tools: raw.tools ?? [],
    top_logprobs: raw.top_logprobs ?? 0,
    top_p: raw.top_p ?? 1,
    truncation: raw.truncation ?? 'disabled',
    usage: s.usage ? usageOut(s.usage) : null,
    user: orNull(raw.user),
    metadata: raw.metadata ?? {},
  }
}
