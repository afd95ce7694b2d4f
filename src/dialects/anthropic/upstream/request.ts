/**
 * IR request → Anthropic Messages request body (POST /v1/messages on an Anthropic-type provider).
 */
import type { CodecContext, IRRequest, IRResponseFormat } from '../../../ir/types'
import { encodeAnthropicMessages, type AnthropicWireMessage } from './messages'
import { encodeAnthropicTools } from './tools'

/** max_tokens when the client set none (Anthropic requires it) */
export const DEFAULT_MAX_TOKENS = 8192
/** room for the answer on top of the thinking budget when the client set no max_tokens */
const ANSWER_ROOM = 4096
const MIN_BUDGET = 1024

/** IR effort → thinking budget_tokens */
export const EFFORT_BUDGET: Record<string, number> = { minimal: 1024, low: 4096, medium: 10240, high: 16384, xhigh: 24576 }

function thinkingBudget(req: IRRequest): number | undefined {
  const r = req.reasoning
  if (!r || r.effort === 'none' || r.budgetTokens === 0) return undefined
  if (typeof r.budgetTokens === 'number') return r.budgetTokens < 0 ? EFFORT_BUDGET.medium : Math.max(MIN_BUDGET, r.budgetTokens)
  return r.effort ? EFFORT_BUDGET[r.effort] : undefined
}

/** With thinking on, an assistant turn that is still running (tool results pending) must start with a signed
 *  thinking block; history from another provider has none, so thinking has to stay off for that request. */
function openTurnLacksThinking(messages: AnthropicWireMessage[]): boolean {
  const last = messages.at(-1)
  if (last?.role !== 'user' || !last.content.some(b => b.type === 'tool_result')) return false
  const prev = messages.at(-2)
  if (prev?.role !== 'assistant') return false
  const first = prev.content[0]?.type
  return first !== 'thinking' && first !== 'redacted_thinking'
}

/** a response format → the system instruction that asks for it (Anthropic has no JSON mode) */
export function formatInstruction(f: IRResponseFormat | undefined): string | undefined {
  if (!f || f.type === 'text') return undefined
  if (f.type === 'json') return 'Respond with a single valid JSON value only: no prose, no Markdown code fences.'
  return (
    `Respond with JSON only (no prose, no Markdown code fences) that conforms to this JSON ` +
    `Schema${f.name ? ` ("${f.name}")` : ''}:\n${JSON.stringify(f.schema)}`
  )
}

/** IR request → POST /v1/messages body: messages, tools, thinking budget and sampling within Anthropic's rules */
export function encodeAnthropicRequest(req: IRRequest, ctx: CodecContext): { path: string; body: Record<string, unknown> } {
  const messages = encodeAnthropicMessages(req.messages, ctx)
  const body: Record<string, unknown> = { model: req.model }

  const system = req.system.filter(s => /\S/.test(s))
  const instruction = formatInstruction(req.responseFormat)
  if (instruction) system.push(instruction)
  if (system.length) body.system = system.map(text => ({ type: 'text', text }))
  body.messages = messages

  const { tools, tool_choice } = encodeAnthropicTools(req, ctx)
  if (tools) body.tools = tools
  if (tool_choice) body.tool_choice = tool_choice

  let budget = thinkingBudget(req)
  if (budget && (tool_choice?.type === 'any' || tool_choice?.type === 'tool')) {
    ctx.warn('thinking turned off: Anthropic does not allow it with a forced tool choice')
    budget = undefined
  }
  if (budget && openTurnLacksThinking(messages)) {
    ctx.warn('thinking turned off: the ongoing tool-use turn has no signed thinking block to continue from')
    budget = undefined
  }
  const maxTokens = req.maxTokens ?? (budget ? budget + ANSWER_ROOM : DEFAULT_MAX_TOKENS)
  if (budget && budget >= maxTokens) {
    budget = Math.floor(maxTokens / 2)
    if (budget < MIN_BUDGET) {
      ctx.warn(`thinking turned off: max_tokens ${maxTokens} leaves no room for a ${MIN_BUDGET}-token thinking budget`)
      budget = undefined
    } else ctx.warn(`thinking budget lowered to ${budget} to fit max_tokens ${maxTokens}`)
  }
  body.max_tokens = maxTokens
  if (budget) body.thinking = { type: 'enabled', budget_tokens: budget }

  // sampling: thinking allows only temperature 1, top_p ≥ 0.95 and no top_k; newer models reject temperature with top_p
  let temperature = req.temperature
  if (temperature !== undefined && temperature > 1) {
    ctx.warn(`temperature ${temperature} clamped to 1 (Anthropic range is 0–1)`)
    temperature = 1
  }
  if (budget && temperature !== undefined && temperature !== 1) {
    ctx.warn('temperature dropped: Anthropic thinking requires the default temperature')
    temperature = undefined
  }
  if (temperature !== undefined) body.temperature = temperature
  if (req.topP !== undefined) {
    if (budget && req.topP < 0.95) ctx.warn('top_p dropped: Anthropic thinking requires top_p ≥ 0.95')
    else if (temperature !== undefined) {
      if (req.topP !== 1) ctx.warn('top_p dropped: Anthropic does not take temperature and top_p together')
    } else body.top_p = req.topP
  }
  if (req.topK !== undefined) {
    if (budget) ctx.warn('top_k dropped: Anthropic thinking does not allow it')
    else body.top_k = req.topK
  }

  if (req.stop?.length) {
    const stops = req.stop.filter(s => /\S/.test(s))
    if (stops.length < req.stop.length) ctx.warn('dropped whitespace-only stop sequences (Anthropic rejects them)')
    if (stops.length) body.stop_sequences = stops
  }
  if (req.user) body.metadata = { user_id: req.user }
  if (req.n !== undefined && req.n > 1) ctx.warn(`n=${req.n} ignored: Anthropic returns one choice`)
  body.stream = req.stream
  return { path: '/v1/messages', body }
}
