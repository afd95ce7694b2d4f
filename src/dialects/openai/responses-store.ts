/**
 * The little state the Responses dialect keeps in memory (per process, lost on restart):
 * - `conversations`: the last 200 stored responses (input + output, as IR), so `previous_response_id`
 *   can be expanded. Responses created with `store: false` (Codex) are not kept.
 * - `callSignatures`: Gemini thoughtSignatures of function calls, keyed by call_id. A Responses
 *   function_call item has no field for them, and Gemini 3 rejects a replayed call without its signature.
 * - `pendingInput`: the decoded conversation of a request body, handed from decodeRequest to the encoder.
 */
import type { IRMessage } from '../../ir/types'

/** A tiny LRU on top of Map's insertion order. */
export class Lru<V> {
  private map = new Map<string, V>()
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key)
    if (v !== undefined) { this.map.delete(key); this.map.set(key, v) }
    return v
  }
  set(key: string, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string)
  }
  get size(): number { return this.map.size }
  clear(): void { this.map.clear() }
}

export interface StoredConversation {
  /** system text that came from input items (developer/system messages); `instructions` are not carried over */
  system: string[]
  /** the whole conversation, ending with the response's assistant output */
  messages: IRMessage[]
}

export const conversations = new Lru<StoredConversation>(200)
export const callSignatures = new Lru<string>(4096)

/** request body object → its decoded input (system from items + messages), for the encoder to store */
export const pendingInput = new WeakMap<object, StoredConversation>()
