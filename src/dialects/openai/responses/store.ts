/**
 * The Responses dialect's state. What it remembers across requests lives in the app's CodecMemory
 * (CodecContext.memory, ir/signatures.ts `memoryOf`), lost on restart and not shared between apps:
 * - `conversations`: the last 200 stored responses (input + output, as IR), so `previous_response_id`
 *   can be expanded. Responses created with `store: false` (Codex) are not kept.
 * - Gemini thoughtSignatures of function calls, keyed by call_id, in the one signature cache (`toolSignatures`):
 *   a Responses function_call item has no field for them, and Gemini 3 rejects a replayed call without its signature.
 * Here only `pendingInput`: the decoded conversation of a request body, handed from decodeRequest to the encoder.
 */
import { Lru } from '../../../ir/lru'
import type { StoredConversation } from '../../../ir/types'

export { Lru }
export type { StoredConversation }

/** request body object → its decoded input (system from items + messages), for the encoder to store */
export const pendingInput = new WeakMap<object, StoredConversation>()
