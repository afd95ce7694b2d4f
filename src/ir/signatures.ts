/**
 * Gemini thoughtSignatures that a client dialect cannot carry (OpenAI chat has no field for them).
 *
 * The Gemini upstream decoder remembers the signature of every functionCall it sees, keyed by the tool
 * call id it hands out; the Gemini upstream encoder recalls it when that tool call comes back without one.
 * Thinking-block signatures are remembered by value, so the encoder can tell a Gemini signature (safe to
 * send back) from another provider's (which Gemini would reject).
 *
 * Bounded LRU, in memory: after a restart or eviction the encoder falls back to Google's documented
 * dummy value (see DUMMY_THOUGHT_SIGNATURE).
 */

/** Google's documented value for a functionCall whose real signature is unknown (history from another model). */
import { Lru } from './lru'

export const DUMMY_THOUGHT_SIGNATURE = 'skip_thought_signature_validator'

const MAX_ENTRIES = 10_000

const byToolCall = new Lru<string>(MAX_ENTRIES)
const knownThoughts = new Lru<true>(MAX_ENTRIES)

const digest = (sig: string): string => Bun.hash(sig).toString(36) + ':' + sig.length

/** Remember the thoughtSignature Gemini attached to the functionCall handed out as tool call `id`. */
export function rememberSignature(id: string, signature: string): void {
  if (id && signature) byToolCall.set(id, signature)
}

/** The thoughtSignature remembered for tool call `id`, if still known. */
export function recallSignature(id: string): string | undefined {
  return id ? byToolCall.get(id) : undefined
}

/** Mark a thinking-block signature as produced by Gemini. */
export function rememberThoughtSignature(signature: string): void {
  if (signature) knownThoughts.set(digest(signature), true)
}

/** Whether a thinking-block signature was produced by Gemini (and seen by this process). */
export function isGeminiThoughtSignature(signature: string | undefined): boolean {
  return !!signature && knownThoughts.get(digest(signature)) === true
}

/** for tests */
export function clearSignatures(): void { byToolCall.clear(); knownThoughts.clear() }
export const signatureCacheSize = (): number => byToolCall.size

// ───────────── Anthropic thinking blocks behind a tool call ─────────────
// Anthropic requires the signed thinking block that preceded a tool_use to come back with it on the next
// turn. A client dialect without signatures (OpenAI chat) loses it, so the upstream decoder remembers the
// signed thinking by the tool call id and the upstream encoder puts it back.

export interface SignedThinking { text: string; signature: string; redacted?: boolean }
const thinkingByToolCall = new Lru<SignedThinking[]>(MAX_ENTRIES)

export function rememberThinking(toolCallId: string, blocks: SignedThinking[]): void {
  if (toolCallId && blocks.length) thinkingByToolCall.set(toolCallId, blocks)
}

export function recallThinking(toolCallId: string): SignedThinking[] | undefined {
  return toolCallId ? thinkingByToolCall.get(toolCallId) : undefined
}
