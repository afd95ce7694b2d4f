/**
 * Complete frames of a relayed byte stream. A pass-through stream is relayed frame by frame so that a connection
 * that breaks mid-frame leaves the client at a frame boundary (where a well-formed error frame can follow), heartbeats
 * fall between frames, and a key split across two chunks of one frame is whole when it is masked.
 *
 * SSE: a frame ends at a blank line (two line ends: `\n\n`, `\r\r`, `\r\n\r\n`, or `\n\r\n`). Gemini's JSON-array
 * stream (streamGenerateContent without alt=sse: `[{…}\n,\r\n{…}\n]`): at the `[`, after each complete top-level
 * element, and at the closing `]`.
 *
 * The common case costs nothing: a chunk that ends on an SSE boundary, with nothing held, passes through as is.
 */

export type Framing = 'sse' | 'json-array'

const LF = 10
const CR = 13

/** Does `c` end with a blank line (a complete SSE frame)? Checks the last three bytes only. */
export function endsSseFrame(c: Uint8Array): boolean {
  const n = c.length
  if (n < 2) return false
  const last = c[n - 1]
  if (last === LF) return c[n - 2] === LF || (n >= 3 && c[n - 2] === CR && c[n - 3] === LF)
  return last === CR && c[n - 2] === CR
}

/** Index just past the last SSE frame boundary in `c`, or -1. Jumps between line ends with the native
 *  TypedArray.lastIndexOf (a frame has few lines); every boundary but `\r\r` ends with LF. */
function lastSseBoundary(c: Uint8Array): number {
  let end = -1
  for (let i = c.lastIndexOf(LF); i > 0; i = c.lastIndexOf(LF, i - 1)) {
    if (c[i - 1] === LF || (c[i - 1] === CR && i >= 2 && c[i - 2] === LF)) {
      end = i + 1
      break
    }
  }
  // a later blank line of CR-only line ends
  for (let i = c.lastIndexOf(CR); i > end && i > 0; i = c.lastIndexOf(CR, i - 1)) if (c[i - 1] === CR) return i + 1
  return end
}

/** Index just past the first blank line (`\n\n` or `\n\r\n`) at or after `from`, or `c.length` (none, or only CR-only
 *  line ends: the rest is then one run of frames). Splits a run of complete SSE frames between two of them. */
export function nextSseBoundary(c: Uint8Array, from: number): number {
  for (let i = c.indexOf(LF, from); i >= 0; i = c.indexOf(LF, i + 1)) {
    if (c[i + 1] === LF) return i + 2
    if (c[i + 1] === CR && c[i + 2] === LF) return i + 3
  }
  return c.length
}

/**
 * Holds back the incomplete tail of a stream: `push` returns the complete frames (held bytes + this chunk, up to the
 * last boundary) or undefined when no frame is complete yet; `size` is what is held.
 */
export class FrameBuffer {
  private held: Uint8Array[] = []
  /** the last (up to) 2 bytes held, for an SSE boundary across two chunks */
  private tail: Uint8Array = new Uint8Array(0)
  /** bytes held back: an incomplete frame */
  size = 0
  // the json-array scanner's state, across chunks
  private depth = 0
  private inString = false
  private escaped = false
  /** json-array: elements relayed so far */
  private elements = 0

  constructor(readonly framing: Framing) {}

  push(chunk: Uint8Array): Uint8Array | undefined {
    if (this.framing === 'sse' && this.size === 0 && endsSseFrame(chunk)) return chunk
    const end = this.framing === 'sse' ? this.sseEnd(chunk) : this.arrayEnd(chunk)
    if (end < 0) {
      this.hold(chunk)
      return undefined
    }
    const out = this.size ? Buffer.concat([...this.held, chunk.subarray(0, end)]) : chunk.subarray(0, end)
    this.clear()
    if (end < chunk.length) this.hold(chunk.slice(end)) // a copy: the part sent must not share memory with the part kept
    return out
  }

  /** The held bytes (at a clean end: a last frame without its blank line, trailing whitespace), and forget them. */
  drain(): Uint8Array | undefined {
    const out = this.size ? Buffer.concat(this.held) : undefined
    this.clear()
    return out
  }

  /** The held bytes (an incomplete frame), without forgetting them. */
  peekHeld(): Uint8Array | undefined {
    return this.size ? Buffer.concat(this.held) : undefined
  }

  /** Forget the held bytes (before an error frame: an incomplete frame is dropped). */
  clear() {
    this.held = []
    this.tail = new Uint8Array(0)
    this.size = 0
  }

  /** `frame` (an error frame of this stream's dialect) as it must follow what was relayed: a JSON-array error
   *  element is joined with a comma only after another element. */
  errorAfter(frame: Uint8Array): Uint8Array {
    return this.framing === 'json-array' && this.elements === 0 && frame[0] === 0x2c ? frame.subarray(1) : frame
  }

  private hold(bytes: Uint8Array) {
    this.held.push(bytes)
    this.size += bytes.length
    this.tail = bytes.length >= 2 ? bytes.subarray(-2) : Buffer.concat([this.tail, bytes]).subarray(-2)
  }

  /** End of the last SSE boundary in held + chunk, as an index into chunk; -1 if none ends in chunk. */
  private sseEnd(chunk: Uint8Array): number {
    const end = lastSseBoundary(chunk)
    if (end >= 0 || !this.size) return end
    // a boundary across the held bytes and this chunk (patterns are at most 3 bytes long)
    const joint = lastSseBoundary(Buffer.concat([this.tail, chunk.subarray(0, 2)]))
    return joint > this.tail.length ? joint - this.tail.length : -1
  }

  /** End of the last complete top-level element (or of the array's `[` / `]`) in chunk, -1 if none. */
  private arrayEnd(chunk: Uint8Array): number {
    let end = -1
    let depth = this.depth
    let inString = this.inString
    let escaped = this.escaped
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]
      if (inString) {
        if (escaped) escaped = false
        else if (b === 0x5c)
          escaped = true // backslash
        else if (b === 0x22) inString = false // quote
      } else if (b === 0x22) inString = true
      else if (b === 0x7b || b === 0x5b) {
        // { [
        if (depth++ === 0) end = i + 1 // the array opens
      } else if ((b === 0x7d || b === 0x5d) && --depth <= 1) {
        // } ]
        end = i + 1 // an element, or the array, closes
        if (depth === 1) this.elements++
      }
    }
    this.depth = depth
    this.inString = inString
    this.escaped = escaped
    return end
  }
}
