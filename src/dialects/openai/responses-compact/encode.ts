/**
 * Compaction by a model of another dialect: the request that asks it for a summary of the conversation, and its answer
 * as OpenAI's compacted response — every user message of the input, then the summary as one more user message (what a
 * client sends back as the new history; OpenAI's own opaque `compaction` item has no equivalent elsewhere).
 */
import type { IRRequest, IRResponse } from '../../../ir/types'

const PROMPT =
  'Write a handoff summary of the conversation so far for another model that will continue the work: the goals, the decisions made, the files ' +
  'and code touched, the current state, and the next steps. Be concise and complete. Answer with the summary only; call no tool.'

/** what a summary begins with, so the model reading the new history knows what it is */
export const SUMMARY_PREFIX = 'Summary of the conversation so far (it was compacted):\n\n'

/** the Responses request → the summarizing request (no stream, no tool calls) */
export function compactRequest(ir: IRRequest): IRRequest {
  const ask = { role: 'user' as const, content: [{ type: 'text' as const, text: PROMPT }] }
  return { ...ir, stream: false, toolChoice: ir.tools?.length ? 'none' : undefined, messages: [...ir.messages, ask] }
}

type Item = Record<string, unknown>

/** the input's user messages as output items (a string input is one) */
function userMessages(input: unknown): Item[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }]
  if (!Array.isArray(input)) return []
  return input.filter((i: Item) => i && i.role === 'user' && (i.type === undefined || i.type === 'message')).map((i: Item) => ({ ...i, type: 'message' }))
}

/** the summarizing model's answer → `{id, object: "response.compaction", created_at, output, usage}` */
export function encodeCompactResponse(input: unknown, res: IRResponse) {
  const summary = res.content
    .filter(p => p.type === 'text')
    .map(p => p.text)
    .join('')
    .trim()
  const { inputTokens, outputTokens } = res.usage
  return {
    id: `resp_cmp_${res.id.replace(/[^\w-]/g, '').slice(-24) || Date.now()}`,
    object: 'response.compaction' as const,
    created_at: Math.floor(Date.now() / 1000),
    output: [...userMessages(input), { type: 'message', role: 'user', content: [{ type: 'input_text', text: SUMMARY_PREFIX + summary }] }],
    usage: { input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
  }
}
