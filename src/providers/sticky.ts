/**
 * A conversation key for KeyPool stickiness: requests of one conversation should reach the same upstream key
 * so the upstream prompt cache keeps working.
 *
 * In order: Claude Code's `x-claude-code-session-id` header, Anthropic `metadata.user_id`, OpenAI
 * `prompt_cache_key` (made for exactly this), OpenAI `user`; else a short hash of the system prompt + the first
 * user turn (OpenAI chat messages, Anthropic system+messages, Gemini systemInstruction+contents, Responses
 * instructions+input). Undefined when there is nothing to hash.
 *
 * The hash is coarse on purpose: conversations that open the same way share a key, which is harmless
 * (and good for caching); Claude Code puts CLAUDE.md into the first user turn, but sends the session header.
 */
import type { WireJson } from '../ir/types'

const MAX_HASHED = 64_000

export function stickyKeyFor(headers: Headers, body: WireJson | undefined): string | undefined {
  const session = headers.get('x-claude-code-session-id')?.trim()
  if (session) return `session:${session}`
  const b = body && typeof body === 'object' ? body : {}
  for (const [tag, v] of [
    ['user', b.metadata?.user_id],
    ['cache', b.prompt_cache_key],
    ['user', b.user],
  ] as const) {
    if (typeof v === 'string' && v.trim()) return `${tag}:${v.trim()}`
  }
  const seed = [systemText(b), firstUserText(b)].filter(Boolean).join('\n\u0000\n')
  if (!seed) return undefined
  return `hash:${Bun.hash(seed.slice(0, MAX_HASHED)).toString(36)}`
}

/** Text of any content shape: string, parts array, {text}, {parts}, {content}. */
function textOf(x: unknown): string {
  if (typeof x === 'string') return x
  if (Array.isArray(x)) return x.map(textOf).filter(Boolean).join('\n')
  if (!x || typeof x !== 'object') return ''
  const o = x as WireJson
  if (typeof o.text === 'string') return o.text
  return textOf(o.parts ?? o.content ?? '')
}

const SYSTEM_ROLES = new Set(['system', 'developer'])

function systemText(b: WireJson): string {
  const parts = [textOf(b.system), textOf(b.systemInstruction ?? b.system_instruction), textOf(b.instructions)]
  const msgs = Array.isArray(b.messages) ? b.messages : Array.isArray(b.input) ? b.input : []
  const first = msgs.find((m: WireJson) => SYSTEM_ROLES.has(m?.role))
  if (first) parts.push(textOf(first.content))
  return parts.filter(Boolean).join('\n')
}

function firstUserText(b: WireJson): string {
  if (typeof b.input === 'string') return b.input
  for (const list of [b.messages, b.contents, b.input]) {
    if (!Array.isArray(list)) continue
    // Gemini contents may omit role on single-turn requests
    const turn = list.find((m: WireJson) => m?.role === 'user' || (list === b.contents && m && !m.role))
    if (turn) return textOf(turn.content ?? turn.parts)
  }
  return ''
}
