/**
 * OpenAI Responses API request (POST /v1/responses, as Codex CLI and `openai.responses.create/stream` send it)
 * → IR request. Input items are decoded in ./input, tools in ./tools; `previous_response_id` is expanded
 * from the in-memory store (./store). Stateful features agproxy cannot offer are refused with a 400.
 */
import type { CodecContext, IRReasoning, IRRequest, IRResponseFormat } from '../../../ir/types'
import { invalid } from '../../../ir/types'
import { decodeInput } from './input'
import type { ResponsesRequestBody } from './schema'
import { pendingInput, type StoredConversation } from './store'
import { memoryOf } from '../../../ir/signatures'
import { decodeToolChoice, decodeTools } from './tools'
import { isObject, nonEmpty, num } from '../../guards'

const EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const
const isEffort = (v: unknown): v is NonNullable<IRReasoning['effort']> => (EFFORTS as readonly unknown[]).includes(v)

function reasoningIn(r: ResponsesRequestBody['reasoning'], ctx: CodecContext): IRReasoning | undefined {
  if (!r || typeof r !== 'object') return undefined
  const out: IRReasoning = {}
  if (r.effort != null) {
    if (isEffort(r.effort)) out.effort = r.effort
    else ctx.warn(`responses: ignored unknown reasoning.effort ${JSON.stringify(r.effort)}`)
  }
  if (r.summary != null || r.generate_summary != null) out.includeThoughts = true
  return Object.keys(out).length ? out : undefined
}

function formatIn(format: unknown): IRResponseFormat | undefined {
  const f = isObject(format) ? format : {}
  switch (f.type) {
    case 'json_schema': {
      if (!f.schema || typeof f.schema !== 'object') throw invalid('text.format.schema is required for json_schema', 'text.format.schema')
      const name = nonEmpty(f.name)
      const schema = f.schema as Record<string, unknown>
      return { type: 'json_schema', schema, ...(name ? { name } : {}), ...(typeof f.strict === 'boolean' ? { strict: f.strict } : {}) }
    }
    case 'json_object':
      return { type: 'json' }
    default:
      return undefined
  }
}

function stateful(body: ResponsesRequestBody): void {
  if (body.background) throw invalid('background responses are not supported: agproxy is a stateless proxy; send the request without background', 'background')
  if (body.conversation != null)
    throw invalid('conversation objects are not supported: agproxy is stateless; send the full conversation in input', 'conversation')
  if (body.prompt != null) throw invalid('stored prompt templates (prompt) are not supported: send instructions and input directly', 'prompt')
}

function continued(id: unknown, ctx: CodecContext): StoredConversation | undefined {
  if (id == null || id === '') return undefined
  const stored = typeof id === 'string' ? memoryOf(ctx).conversations.get(id) : undefined
  if (!stored) {
    throw invalid(
      `previous_response_id ${JSON.stringify(id)} was not found: agproxy keeps only its last 200 stored responses in memory ` +
        '(none created with store:false, none across restarts); send the full conversation in input instead',
      'previous_response_id',
    )
  }
  return stored
}

/** POST /v1/responses body → IR request (the decoded input is kept for the encoder, see store.ts) */
export function decodeResponsesRequest(b: ResponsesRequestBody, ctx: CodecContext): IRRequest {
  stateful(b)
  const prev = continued(b.previous_response_id, ctx)
  const conv = decodeInput(b.input, ctx, prev)
  if (!conv.messages.length) throw invalid('input is required (no user content was found in input)', 'input')
  pendingInput.set(b, { system: [...(prev?.system ?? []), ...conv.system], messages: conv.messages })

  const instructions = nonEmpty(b.instructions)
  const system = [...(instructions ? [instructions] : []), ...(prev?.system ?? []), ...conv.system]
  const req: IRRequest = { model: b.model, system, messages: conv.messages, stream: b.stream === true, ...decodeTools(b.tools, ctx) }
  const choice = decodeToolChoice(b.tool_choice, ctx)
  if (choice) req.toolChoice = choice
  if (typeof b.parallel_tool_calls === 'boolean') req.parallelToolCalls = b.parallel_tool_calls
  const max = num(b.max_output_tokens)
  if (max !== undefined) req.maxTokens = max
  const temp = num(b.temperature)
  if (temp !== undefined) req.temperature = temp
  const topP = num(b.top_p)
  if (topP !== undefined) req.topP = topP
  const fmt = formatIn(b.text?.format)
  if (fmt) req.responseFormat = fmt
  const reasoning = reasoningIn(b.reasoning, ctx)
  if (reasoning) req.reasoning = reasoning
  const user = nonEmpty(b.prompt_cache_key) ?? nonEmpty(b.user) ?? nonEmpty(b.safety_identifier)
  if (user) req.user = user
  if (b.top_logprobs) ctx.warn('responses: top_logprobs is not supported by this backend')
  return req
}
