/**
 * Reading stream frames, for the pass-through stream guards (each endpoint's reader is in its endpoint.ts): is a frame content, does it end
 * the stream properly, is it an error. Only structure counts: `event:` lines and the top-level `type` /
 * `finish_reason` / `finishReason` / `error` fields of a frame's JSON, never words inside the model's text (a JSON
 * string escapes its quotes and line ends, so `"finish_reason"` or a line starting `event:` cannot come from it).
 * JSON is parsed only when a cheap substring check says a frame may matter: every relayed chunk is read, so
 * `ends` is on the hot path.
 */
import type { WireJson } from '../ir/types'

/** What the guard asks of a run of complete frames (text that ends at a frame boundary). */
export interface FrameReader {
  /** before the first content: does it hold content, or an error (its message)? */
  scan(frames: string): { content: boolean; error?: string }
  /** does it hold a frame that properly ends the stream (a terminal frame, or an in-stream error)? */
  ends(frames: string): boolean
  /** before the first content, on the incomplete frame held back: has a content frame begun? (Gemini: its `"parts"` key,
   *  which model text cannot spell unescaped.) A stream that breaks inside it is then relayed, not retried. */
  begun?(partial: string): boolean
}

/** One SSE event: its `event:` name (if any) and its data lines joined. */
export interface SseEvent {
  event?: string
  data: string
}

/** a blank line (the end of an SSE event), with any line end */
const BLANK_LINE = /\r\n\r\n|\n\r?\n|\r\r/g

/** Call `f` on each block in order until it returns true (the rest is not split); true if one did. */
export function someBlock(text: string, f: (block: string) => boolean): boolean {
  // LF-only line ends (what providers send): a block ends at each `\n\n`, found natively
  if (!text.includes('\r')) {
    let start = 0
    for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n', start)) {
      if (f(text.slice(start, end))) return true
      start = end + 2
    }
    return start < text.length && f(text.slice(start))
  }
  let start = 0
  BLANK_LINE.lastIndex = 0
  for (let m = BLANK_LINE.exec(text); m; m = BLANK_LINE.exec(text)) {
    const next = BLANK_LINE.lastIndex
    if (f(text.slice(start, m.index))) return true
    start = next
    BLANK_LINE.lastIndex = next
  }
  return start < text.length && f(text.slice(start))
}

/** The last block with anything in it (a stream's terminal frame is usually there), found from the end. */
export function lastBlock(text: string): string {
  // walked back from the end by hand: only the last block is looked at (lastIndexOf of a pattern that is not there scans it all)
  let end = text.length
  while (end > 0 && isSpace(text.charCodeAt(end - 1))) end--
  for (let i = end - 1; i > 0; i--) {
    const c = text.charCodeAt(i)
    // a blank line ends here: \n\n, \r\r or \n\r\n (the block starts at its first character)
    if (c === 10 && text.charCodeAt(i - 1) === 13 && text.charCodeAt(i - 2) === 10) return text.slice(i - 2, end).trimStart()
    if ((c === 10 || c === 13) && text.charCodeAt(i - 1) === c) return text.slice(i - 1, end).trimStart()
  }
  return text.slice(0, end)
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13

/** One block's event: its `event:` name and data lines; undefined for a block with neither (a comment, padding). */
export function sseEvent(block: string): SseEvent | undefined {
  let event: string | undefined
  let data: string | undefined
  for (const line of block.includes('\r') ? block.split(/\r\n|\n|\r/) : block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim()
    else if (line.startsWith('data:')) {
      const value = line.slice(line.startsWith('data: ') ? 6 : 5)
      data = data === undefined ? value : `${data}\n${value}`
    }
  }
  return event !== undefined || data !== undefined ? { event, data: data ?? '' } : undefined
}

/** The `event:` names in complete frames, found without splitting the text (a line end precedes each but the first). */
export function eventNames(text: string): string[] {
  const names: string[] = []
  for (let i = text.startsWith('event:') ? 0 : text.indexOf('\nevent:'); i >= 0; i = text.indexOf('\nevent:', i + 1)) {
    const start = text.indexOf(':', i) + 1
    let end = text.indexOf('\n', start)
    if (end < 0) end = text.length
    names.push(text.slice(start, end).trim())
  }
  return names
}

export type { WireJson }

/** A frame's data as JSON (an object), or undefined. */
export function dataJson(e: SseEvent): WireJson | undefined {
  if (!e.data.startsWith('{') && !e.data.trimStart().startsWith('{')) return undefined
  try {
    const v = JSON.parse(e.data)
    return v && typeof v === 'object' ? v : undefined
  } catch {
    return undefined
  }
}

/** Does `key` (quoted, as a JSON key) appear followed by a string value, e.g. `"finish_reason": "stop"` (not `null`)? */
export function stringValueFollows(text: string, key: string): boolean {
  for (let i = text.indexOf(key); i >= 0; i = text.indexOf(key, i + key.length)) {
    let j = i + key.length
    while (text[j] === ' ' || text[j] === ':') j++
    if (text[j] === '"') return true
  }
  return false
}

/** Does some `key` (quoted, as a JSON key) have a value other than `""` or `null` (e.g. `"content": "Hi"`, `"tool_calls": [`)?
 *  A cheap test before parsing: a frame where none does cannot have that field set to content. */
export function valueSet(text: string, key: string): boolean {
  for (let i = text.indexOf(key); i >= 0; i = text.indexOf(key, i + key.length)) {
    let j = i + key.length
    while (text[j] === ' ' || text[j] === ':') j++
    if (!text.startsWith('""', j) && !text.startsWith('null', j)) return true
  }
  return false
}

/** The message of a wire error object (`{error:{message}}`, `{type:'error',error:{message}}`, response.failed). */
export function errorMessage(j: WireJson): string {
  const e = j.type === 'response.failed' ? j.response?.error : j.error
  const m = e?.message ?? j.message
  return typeof m === 'string' ? m : 'the upstream reported an error in the stream'
}

/** A reader of SSE frames from `classify`, which is called only on events whose frames pass `maybe`. */
export function sseReader(r: {
  /** cheap check before any parsing: may these frames end the stream? */
  mayEnd(text: string): boolean
  /** cheap check before any parsing, before the first content: may this frame be content or an error? (default: yes) */
  mayScan?(text: string): boolean
  terminal(e: SseEvent, j: WireJson | undefined): boolean
  content(e: SseEvent, j: WireJson | undefined): boolean
  error(e: SseEvent, j: WireJson | undefined): boolean
}): FrameReader {
  return {
    // content anywhere in the frames wins over an error among them; the first content ends the reading
    scan(text) {
      let error: string | undefined
      const content = someBlock(text, block => {
        if (r.mayScan && !r.mayScan(block)) return false
        const e = sseEvent(block)
        if (!e) return false
        const j = dataJson(e)
        if (r.content(e, j)) return true
        if (error === undefined && r.error(e, j)) error = j ? errorMessage(j) : 'the upstream reported an error in the stream'
        return false
      })
      return content ? { content } : { content, error }
    },
    // the last frame first (a terminal frame usually ends the run), then all; only blocks the cheap check lets through are parsed
    ends(text) {
      if (!r.mayEnd(text)) return false
      const isEnd = (block: string) => {
        if (!r.mayEnd(block)) return false
        const e = sseEvent(block)
        const j = e && dataJson(e)
        return !!e && (r.error(e, j) || r.terminal(e, j))
      }
      return isEnd(lastBlock(text)) || someBlock(text, isEnd)
    },
  }
}

/** A non-empty string? */
export const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v !== ''

/** Frames with `event:` lines: does a name pass `end`? Without them (data-only relays): does the text hold one of `words`? */
export function namedOr(text: string, end: (name: string) => boolean, words: string[]): boolean {
  const names = eventNames(text)
  return names.length ? names.some(end) : words.some(w => text.includes(w))
}

/** The event's name: its `event:` line, else its data's top-level `type`. */
export const nameOf = (e: SseEvent, j: WireJson | undefined): string => e.event ?? (typeof j?.type === 'string' ? j.type : '')

/** Endpoints that never stream: anything is content, and the end is never questioned. */
export const anyReader: FrameReader = { scan: () => ({ content: true }), ends: () => true }
