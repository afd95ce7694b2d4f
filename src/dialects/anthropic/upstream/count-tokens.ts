/**
 * IR → Anthropic POST /v1/messages/count_tokens (the messages request without generation-only fields).
 */
import type { CodecContext, IRRequest } from '../../../ir/types'
import { encodeAnthropicRequest } from './request'

const COUNT_FIELDS = ['model', 'system', 'messages', 'tools', 'tool_choice', 'thinking'] as const

/** IR → Anthropic count_tokens request (the messages request without generation-only fields) */
export function anthropicCountTokensUpstream(req: IRRequest, ctx?: CodecContext): { path: string; body: Record<string, unknown> } {
  const { body } = encodeAnthropicRequest({ ...req, stream: false }, ctx ?? { clientModel: req.model, warn() {} })
  const out: Record<string, unknown> = {}
  for (const k of COUNT_FIELDS) if (body[k] !== undefined) out[k] = body[k]
  return { path: '/v1/messages/count_tokens', body: out }
}
