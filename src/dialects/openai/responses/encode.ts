/**
 * IR response → the Responses API `response` object (non-streaming answer), and the memory a later turn
 * needs (`remember`: Gemini call signatures, and the conversation for previous_response_id).
 */
import type { CodecContext, IRResponse } from '../../../ir/types'
import { err } from '../../../ir/errors'
import { isObject, rawBody } from '../../guards'
import { responseError } from '../errors'
import { decodeInput } from './input'
import { nowSeconds } from '../mapping'
import { itemId, outputItems, responseObject, statusOf } from './output'
import type { ResponsesRequestBody } from './schema'
import { pendingInput } from './store'
import { memoryOf, rememberSignature } from '../../../ir/signatures'
import { toolRefs } from './tools'

/** Remember what the next turn may need: Gemini call signatures (always) and, unless store:false,
 *  the whole conversation under the response id (for previous_response_id). */
export function remember(id: string, content: IRResponse['content'], ctx: CodecContext): void {
  const memory = memoryOf(ctx)
  for (const p of content) if (p.type === 'tool_call' && p.signature) rememberSignature(p.id, p.signature, memory)
  if (!isObject(ctx.raw)) return
  const raw = rawBody<ResponsesRequestBody>(ctx.raw)
  if (raw.store === false) return
  let input = pendingInput.get(ctx.raw)
  if (!input) {
    const prev = raw.previous_response_id ? memory.conversations.get(raw.previous_response_id) : undefined
    try {
      input = decodeInput(raw.input, { ...ctx, warn: () => {} }, prev)
    } catch {
      return
    }
  }
  const output = content.filter(p => !(p.type === 'text' && !p.text))
  const messages = output.length ? [...input.messages, { role: 'assistant' as const, content: output }] : input.messages
  memory.conversations.set(id, { system: input.system, messages })
}

/** IR response → the `response` object; a completed one is remembered (see remember). */
export function encodeResponsesResponse(res: IRResponse, ctx: CodecContext) {
  const id = itemId('resp')
  const { status, incomplete_details } = statusOf(res.stopReason)
  const output = outputItems(res.content, toolRefs(rawBody<ResponsesRequestBody>(ctx.raw).tools), ctx)
  const error = status === 'failed' ? responseError(err('upstream', 'the upstream model stopped with an error')) : null
  if (status !== 'failed') remember(id, res.content, ctx)
  return responseObject({ id, createdAt: nowSeconds(), status, output, usage: res.usage, incompleteDetails: incomplete_details, error }, ctx)
}
