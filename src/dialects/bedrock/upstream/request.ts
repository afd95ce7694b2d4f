/**
 * IR request → Bedrock Converse body (POST /model/{modelId}/converse | converse-stream). Built from the Anthropic
 * encoder's body, whose rules Converse shares (merged turns, paired tool results, signed thinking only, sampling
 * limits), then reshaped into Converse blocks: `system`, `inferenceConfig`, `toolConfig`, and Claude's thinking and
 * top_k in `additionalModelRequestFields` (other model families on Bedrock take neither).
 */
import type { CodecContext, IRRequest } from '../../../ir/types'
import { invalid } from '../../../ir/errors'
import { encodeAnthropicRequest } from '../../anthropic/upstream/request'
import type { Block } from '../../anthropic/upstream/messages'
import { isObject } from '../../guards'

type Json = Record<string, unknown>

/** A model id in a Bedrock path (`anthropic.claude-sonnet-4-5-20250929-v1:0`, an inference profile ARN, …). */
export const modelPath = (model: string, op: string) => `/model/${encodeURIComponent(model)}/${op}`

/** Whether a Bedrock model is Claude (which takes thinking and top_k through additionalModelRequestFields). */
export const isClaude = (model: string) => /anthropic|claude/i.test(model)

/** image/png → png (Converse names the format, not the media type) */
const formatOf = (mediaType: string) => mediaType.replace(/^image\//, '').replace('jpg', 'jpeg')

function image(b: Extract<Block, { type: 'image' }>): Json {
  const s = b.source
  if (s.type === 'base64') return { image: { format: formatOf(s.media_type), source: { bytes: s.data } } }
  if (s.url.startsWith('s3://')) return { image: { format: formatOf(s.url.match(/\.(\w+)$/)?.[1] ?? 'png'), source: { s3Location: { uri: s.url } } } }
  throw invalid(
    `Bedrock's Converse API takes images as bytes or s3:// locations, not URLs (${s.url.slice(0, 80)}); send the image inline as base64 (a data: URL)`,
  )
}

/** An Anthropic content block → a Converse content block. */
function block(b: Block): Json {
  switch (b.type) {
    case 'text':
      return { text: b.text }
    case 'image':
      return image(b)
    case 'tool_use':
      return { toolUse: { toolUseId: b.id, name: b.name, input: b.input } }
    case 'tool_result': {
      const content = (b.content ?? []).map(c => (c.type === 'text' ? { text: c.text } : image(c)))
      return { toolResult: { toolUseId: b.tool_use_id, content: content.length ? content : [{ text: '' }], status: b.is_error ? 'error' : 'success' } }
    }
    case 'thinking':
      return { reasoningContent: { reasoningText: { text: b.thinking, signature: b.signature } } }
    case 'redacted_thinking':
      return { reasoningContent: { redactedContent: b.data } }
  }
}

/** Anthropic tools and tool_choice → Converse toolConfig (server tools have no Converse form: dropped). */
function toolConfig(tools: unknown, choice: unknown, ctx: CodecContext): Json | undefined {
  const specs: Json[] = []
  for (const t of Array.isArray(tools) ? tools : []) {
    if (!isObject(t) || !t.input_schema) {
      ctx.warn(`dropped built-in tool "${isObject(t) ? t.name : '?'}" (Bedrock Converse has no equivalent)`)
      continue
    }
    specs.push({ toolSpec: { name: t.name, ...(t.description ? { description: t.description } : {}), inputSchema: { json: t.input_schema } } })
  }
  if (!specs.length) return undefined
  const c = isObject(choice) ? choice : {}
  if (c.type === 'none') ctx.warn('tool_choice none sent as auto (Bedrock Converse has no "none")')
  if (c.disable_parallel_tool_use) ctx.warn('parallel_tool_calls: false dropped (Bedrock Converse has no such setting)')
  const toolChoice = c.type === 'any' ? { any: {} } : c.type === 'tool' ? { tool: { name: c.name } } : c.type === 'auto' ? { auto: {} } : undefined
  return { tools: specs, ...(toolChoice ? { toolChoice } : {}) }
}

/** IR request → { path, Converse body } */
export function encodeConverseRequest(req: IRRequest, ctx: CodecContext): { path: string; body: Json } {
  const a = encodeAnthropicRequest(req, ctx).body as Json & { messages: { role: string; content: Block[] }[] }
  const body: Json = { messages: a.messages.map(m => ({ role: m.role, content: m.content.map(block) })) }
  if (Array.isArray(a.system)) body.system = a.system.map(s => ({ text: (s as { text: string }).text }))
  const inference: Json = { maxTokens: a.max_tokens }
  if (a.temperature !== undefined) inference.temperature = a.temperature
  if (a.top_p !== undefined) inference.topP = a.top_p
  if (a.stop_sequences) inference.stopSequences = a.stop_sequences
  body.inferenceConfig = inference
  const tools = toolConfig(a.tools, a.tool_choice, ctx)
  if (tools) body.toolConfig = tools
  const extra: Json = {}
  if (a.thinking || a.top_k !== undefined) {
    if (!isClaude(req.model)) ctx.warn(`thinking and top_k dropped: ${req.model} is not a Claude model (Converse has no common field for them)`)
    else Object.assign(extra, a.thinking ? { thinking: a.thinking } : {}, a.top_k !== undefined ? { top_k: a.top_k } : {})
  }
  if (Object.keys(extra).length) body.additionalModelRequestFields = extra
  return { path: modelPath(req.model, req.stream ? 'converse-stream' : 'converse'), body }
}
