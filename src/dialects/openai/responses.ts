/**
 * The OpenAI Responses API as a client dialect (POST /v1/responses): what agproxy speaks to Codex CLI and
 * `openai.responses.create/stream` when the backend is Anthropic, Gemini or a chat-only OpenAI-compatible
 * server. Request decoding lives in responses-input/-tools, the response object in responses-output, the
 * event stream in responses-stream, and the in-memory state (previous_response_id) in responses-store.
 */
import type { ClientCodec, CodecContext, IRReasoning, IRRequest, IRResponse, IRResponseFormat } from '../../ir/types'
import { invalid } from '../../ir/types'
import { decodeInput } from './responses-input'
import type { ResponsesRequestBody } from './responses-model'
import { itemId, nowSeconds, outputItems, responseObject, statusOf, errorOut } from './responses-output'
import { callSignatures, conversations, pendingInput, type StoredConversation } from './responses-store'
import { encodeResponsesStream } from './responses-stream'
import { decodeToolChoice, decodeTools, toolRefs } from './responses-tools'

export { ResponsesBody } from './responses-model'
export type { ResponsesRequestBody } from './responses-model'

const EFFORTS = new Set(['none', 'minimal', 'low', 'medium', 'high', 'xhigh'])
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined)

function reasoningIn(r: any, ctx: CodecContext): IRReasoning | undefined {
  if (!r || typeof r !== 'object') return undefined
  const out: IRReasoning = {}
  if (r.effort != null) {
    if (EFFORTS.has(r.effort)) out.effort = r.effort
    else ctx.warn(`responses: ignored unknown reasoning.effort ${JSON.stringify(r.effort)}`)
  }
  if (r.summary != null || r.generate_summary != null) out.includeThoughts = true
  return Object.keys(out).length ? out : undefined
}

function formatIn(f: any): IRResponseFormat | undefined {
  switch (f?.type) {
    case 'json_schema':
      if (!f.schema || typeof f.schema !== 'object') throw invalid('text.format.schema is required for json_schema', 'text.format.schema')
      return { type: 'json_schema', schema: f.schema, ...(f.name ? { name: f.name } : {}), ...(typeof f.strict === 'boolean' ? { strict: f.strict } : {}) }
    case 'json_object': return { type: 'json' }
    default: return undefined
  }
}

function stateful(body: any): void {
  if (body.background) throw invalid('background responses are not supported: agproxy is a stateless proxy; send the request without background', 'background')
  if (body.conversation != null) throw invalid('conversation objects are not supported: agproxy is stateless; send the full conversation in input', 'conversation')
  if (body.prompt != null) throw invalid('stored prompt templates (prompt) are not supported: send instructions and input directly', 'prompt')
}

function continued(id: unknown): StoredConversation | undefined {
  if (id == null || id === '') return undefined
  const stored = typeof id === 'string' ? conversations.get(id) : undefined
  if (!stored) {
    throw invalid(
      `previous_response_id ${JSON.stringify(id)} was not found: agproxy keeps only its last 200 stored responses in memory ` +
      '(none created with store:false, none across restarts); send the full conversation in input instead',
      'previous_response_id',
    )
  }
  return stored
}

export function decodeResponsesRequest(body: ResponsesRequestBody, ctx: CodecContext): IRRequest {
  const b = body as any
  stateful(b)
  const prev = continued(b.previous_response_id)
  const conv = decodeInput(b.input, ctx, prev)
  if (!conv.messages.length) throw invalid('input is required (no user content was found in input)', 'input')
  pendingInput.set(body as object, { system: [...(prev?.system ?? []), ...conv.system], messages: conv.messages })

  const system = [...(str(b.instructions) ? [b.instructions] : []), ...(prev?.system ?? []), ...conv.system]
  const req: IRRequest = { model: b.model, system, messages: conv.messages, stream: b.stream === true, ...decodeTools(b.tools, ctx) }
  const choice = decodeToolChoice(b.tool_choice, ctx)
  if (choice) req.toolChoice = choice
  if (typeof b.parallel_tool_calls === 'boolean') req.parallelToolCalls = b.parallel_tool_calls
  const max = num(b.max_output_tokens); if (max !== undefined) req.maxTokens = max
  const temp = num(b.temperature); if (temp !== undefined) req.temperature = temp
  const topP = num(b.top_p); if (topP !== undefined) req.topP = topP
  const fmt = formatIn(b.text?.format); if (fmt) req.responseFormat = fmt
  const reasoning = reasoningIn(b.reasoning, ctx); if (reasoning) req.reasoning = reasoning
  const user = str(b.prompt_cache_key) ?? str(b.user) ?? str(b.safety_identifier); if (user) req.user = user
  if (b.top_logprobs) ctx.warn('responses: top_logprobs is not supported by this backend')
  return req
}

/** Remember what the next turn may need: Gemini call signatures (always) and, unless store:false,
 *  the whole conversation under the response id (for previous_response_id). */
function remember(id: string, content: IRResponse['content'], ctx: CodecContext): void {
  for (const p of content) if (p.type === 'tool_call' && p.signature) callSignatures.set(p.id, p.signature)
  const raw = ctx.raw
  if (!raw || typeof raw !== 'object' || raw.store === false) return
  let input = pendingInput.get(raw)
  if (!input) {
    try { input = decodeInput(raw.input, { ...ctx, warn: () => {} }, raw.previous_response_id ? conversations.get(raw.previous_response_id) : undefined) }
    catch { return }
  }
  const output = content.filter(p => !(p.type === 'text' && !p.text))
  const messages = output.length ? [...input.messages, { role: 'assistant' as const, content: output }] : input.messages
  conversations.set(id, { system: input.system, messages })
}

export function encodeResponsesResponse(res: IRResponse, ctx: CodecContext) {
  const id = itemId('resp')
  const { status, incomplete_details } = statusOf(res.stopReason)
  const output = outputItems(res.content, toolRefs(ctx.raw?.tools), ctx)
  const error = status === 'failed' ? errorOut({ status: 502, kind: 'upstream', message: 'the upstream model stopped with an error' }) : null
  if (status !== 'failed') remember(id, res.content, ctx)
  return responseObject({ id, createdAt: nowSeconds(), status, output, usage: res.usage, incompleteDetails: incomplete_details, error }, ctx)
}

export const openaiResponsesClient: ClientCodec<ResponsesRequestBody> = {
  decodeRequest: decodeResponsesRequest,
  encodeResponse: encodeResponsesResponse,
  encodeStream(events, ctx) {
    return encodeResponsesStream(events, ctx, { done: (id, content) => remember(id, content, ctx) })
  },
}
