/**
 * agproxy's own memory bounds on what an upstream sends (the `limits:` settings), as the codecs see them.
 */
import { IRErrorValue } from './types'

/** Thrown when an upstream sent more than a `limits:` setting allows: not the key's fault, and no retry would do better. */
export class LimitExceeded extends IRErrorValue {}

/** limits.sse_event_mb by default, in characters */
export const DEFAULT_SSE_EVENT_CHARS = 16 * 1048576
