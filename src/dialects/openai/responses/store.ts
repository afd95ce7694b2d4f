/**
 * The little state the Responses dialect keeps in memory (per process, lost on restart):
 * - `conversations`: the last 200 stored responses (input + output, as IR), so `previous_response_id`
 *   can be expanded. Responses created with `store: false` (Codex) are not kept.
 * - `callSignatures`: Gemini thoughtSignatures of function calls, keyed by call_id. A Responses
 *   function_call item has no field for them, and Gemini 3 rejects a replayed call without its signature.
 * - `pendingInput`: the decoded conversation of a request body, handed from decodeRequest to the encoder.
 */
import type { IRMessage } from '../../../ir/types'
import { Lru } from '../../../ir/lru'

export { Lru }

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
