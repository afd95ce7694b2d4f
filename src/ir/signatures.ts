/**
 * Gemini thoughtSignatures that a client dialect cannot carry (OpenAI chat has no field for them).
 *
 * The Gemini upstream decoder remembers the signature of every functionCall it sees, keyed by the tool
 * call id it hands out; the Gemini upstream encoder recalls it when that tool call comes back without one.
 * Thinking-block signatures are remembered by value, so the encoder can tell a Gemini signature (safe to
 * send back) from another provider's (which Gemini would reject).
 *
 * Bounded LRUs, in memory, one set per app (CodecContext.memory, made by src/state.ts): after a restart, a reload
 * or eviction the encoder falls back to Google's documented dummy value (see DUMMY_THOUGHT_SIGNATURE).
 * The Responses conversation store and the Anthropic thinking memory live in the same CodecMemory.
 */

import { Lru } from './lru'
import type { CodecContext, CodecMemory, SignedThinking, StoredConversation } from './types'

export type { CodecMemory, SignedThinking, StoredConversation }

/** Google's documented value for a functionCall whose real signature is unknown (history from another model). */
export const DUMMY_THOUGHT_SIGNATURE = 'skip_thought_signature_validator'

const MAX_ENTRIES = 10_000

/** A fresh, empty memory (createAppState makes one per app). */
export function createCodecMemory(): CodecMemory {
  return {
    toolSignatures: new Lru<string>(MAX_ENTRIES),
    thoughtSignatures: new Lru<true>(MAX_ENTRIES),
    thinking: new Lru<SignedThinking[]>(MAX_ENTRIES),
    conversations: new Lru<StoredConversation>(200),
  }
}

/** The memory of codec calls made without an app (unit tests calling codecs directly). */
const processMemory = createCodecMemory()

/** The memory a codec call uses: its context's (the app's), else the process-wide default. */
export const memoryOf = (ctx?: Pick<CodecContext, 'memory'>): CodecMemory => ctx?.memory ?? processMemory

const digest = (sig: string): string => `${Bun.hash(sig).toString(36)}:${sig.length}`

/** Remember the thoughtSignature Gemini attached to the functionCall handed out as tool call `id`. */
export function rememberSignature(id: string, signature: string, m = processMemory): void {
  if (id && signature) m.toolSignatures.set(id, signature)
}

/** The thoughtSignature remembered for tool call `id`, if still known. */
export function recallSignature(id: string, m = processMemory): string | undefined {
  return id ? m.toolSignatures.get(id) : undefined
}

/** Mark a thinking-block signature as produced by Gemini. */
export function rememberThoughtSignature(signature: string, m = processMemory): void {
  if (signature) m.thoughtSignatures.set(digest(signature), true)
}

/** Whether a thinking-block signature was produced by Gemini (and seen by this app). */
export function isGeminiThoughtSignature(signature: string | undefined, m = processMemory): boolean {
  return !!signature && m.thoughtSignatures.get(digest(signature)) === true
}

/** for tests: forget the process-wide default memory's signatures */
export function clearSignatures(): void {
  processMemory.toolSignatures.clear()
  processMemory.thoughtSignatures.clear()
}
export const signatureCacheSize = (): number => processMemory.toolSignatures.size

// ───────────── Anthropic thinking blocks behind a tool call ─────────────
// Anthropic requires the signed thinking block that preceded a tool_use to come back with it on the next
// turn. A client dialect without signatures (OpenAI chat) loses it, so the upstream decoder remembers the
// signed thinking by the tool call id and the upstream encoder puts it back.

export function rememberThinking(toolCallId: string, blocks: SignedThinking[], m = processMemory): void {
  if (toolCallId && blocks.length) m.thinking.set(toolCallId, blocks)
}

export function recallThinking(toolCallId: string, m = processMemory): SignedThinking[] | undefined {
  return toolCallId ? m.thinking.get(toolCallId) : undefined
}
