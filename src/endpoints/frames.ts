/**
 * How each endpoint's stream frames are read, for the pass-through stream guards: is a frame content, does it end
 * the stream properly, is it an error. Only structure counts: `event:` lines and the top-level `type` /
 * `finish_reason` / `finishReason` / `error` fields of a frame's JSON, never words inside the model's text (a JSON
 * string escapes its quotes and line ends, so `"finish_reason"` or a line starting `event:` cannot come from it).
 * JSON is parsed only when a cheap substring check says a frame may matter: every relayed chunk is read, so
 * `ends` is on the hot path.
 */
import type { EndpointId } from './index'

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
export interface SseEvent { event?: string; data: string }

/** The SSE events of complete frames (blank-line separated; any line end). */
export function sseEvents(text: string): SseEvent[] {
  const out: SseEvent[] = []
  for (const block of text.split(/\r\n\r\n|\n\r?\n|\r\r/)) {
    let event: string | undefined
    const data: string[] = []
    for (const line of block.split(/\r\n|\n|\r/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim()
      else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5))
    }
    if (event !== undefined || data.length) out.push({ event, data: data.join('\n') })
  }
  return out
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

/** A frame's data as JSON (an object), or undefined. */
export function dataJson(e: SseEvent): Record<string, any> | undefined { // any: wire JSON of three dialects, read field by field
  if (!e.data.startsWith('{') && !e.data.trimStart().startsWith('{')) return undefined
  try {
    const v = JSON.parse(e.data)
    return v && typeof v === 'object' ? v : undefined
  } catch { return undefined }
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

/** The message of a wire error object (`{error:{message}}`, `{type:'error',error:{message}}`, response.failed). */
function errorMessage(j: Record<string, any>): string { // any: see dataJson
  const e = j.type === 'response.failed' ? j.response?.error : j.error
  const m = e?.message ?? j.message
  return typeof m === 'string' ? m : 'the upstream reported an error in the stream'
}

/** A reader of SSE frames from `classify`, which is called only on events whose frames pass `maybe`. */
function sseReader(r: {
  /** cheap check before any parsing: may these frames end the stream? */
  mayEnd(text: string): boolean
  terminal(e: SseEvent, j: Record<string, any> | undefined): boolean // any: see dataJson
  content(e: SseEvent, j: Record<string, any> | undefined): boolean // any: see dataJson
  error(e: SseEvent, j: Record<string, any> | undefined): boolean // any: see dataJson
}): FrameReader {
  return {
    scan(text) {
      let content = false
      for (const e of sseEvents(text)) {
        const j = dataJson(e)
        if (r.error(e, j)) return { content, error: j ? errorMessage(j) : 'the upstream reported an error in the stream' }
        if (r.content(e, j)) content = true
      }
      return { content }
    },
    ends(text) {
      if (!r.mayEnd(text)) return false
      return sseEvents(text).some((e) => { const j = dataJson(e); return r.error(e, j) || r.terminal(e, j) })
    },
  }
}

const nonEmpty = (v: unknown) => typeof v === 'string' && v !== ''
const choices = (j: Record<string, any> | undefined): any[] => (Array.isArray(j?.choices) ? j.choices : []) // any: see dataJson
const topError = (e: SseEvent, j: Record<string, any> | undefined) => !!j && !!j.error && typeof j.error === 'object' && !e.event

/** OpenAI chat/completions: `data: [DONE]`, a choice's non-null finish_reason, or a top-level `error` end it. */
const openaiReader = (content: (choice: any) => boolean): FrameReader => sseReader({ // any: see dataJson
  mayEnd: (t) => t.includes('[DONE]') || stringValueFollows(t, '"finish_reason"') || t.includes('"error"'),
  terminal: (e, j) => e.data.trim() === '[DONE]' || choices(j).some((c) => nonEmpty(c?.finish_reason)),
  content: (_e, j) => choices(j).some(content),
  error: topError,
})

/** Frames with `event:` lines: does a name pass `end`? Without them (data-only relays): does the text hold one of `words`? */
function namedOr(text: string, end: (name: string) => boolean, words: string[]): boolean {
  const names = eventNames(text)
  return names.length ? names.some(end) : words.some((w) => text.includes(w))
}

const RESPONSES_END = new Set(['response.completed', 'response.incomplete', 'response.failed', 'error'])
const RESPONSES_CONTENT = new Set([
  'response.output_text.delta', 'response.function_call_arguments.delta', 'response.reasoning_summary_text.delta', 'response.custom_tool_call_input.delta',
])
/** the event's name: its `event:` line, else its data's top-level `type` */
const nameOf = (e: SseEvent, j: Record<string, any> | undefined): string => e.event ?? (typeof j?.type === 'string' ? j.type : '') // any: see dataJson

/** Responses: response.completed / incomplete / failed and `error` end it; deltas and a function call are content. */
const responsesReader: FrameReader = sseReader({
  mayEnd: (t) => namedOr(t, (n) => RESPONSES_END.has(n), ['response.completed', 'response.incomplete', 'response.failed', '"error"']),
  terminal: (e, j) => RESPONSES_END.has(nameOf(e, j)),
  content: (e, j) => RESPONSES_CONTENT.has(nameOf(e, j)) || (nameOf(e, j) === 'response.output_item.added' && j?.item?.type === 'function_call'),
  error: (e, j) => nameOf(e, j) === 'error' || nameOf(e, j) === 'response.failed',
})

const ANTHROPIC_BLOCKS = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use', 'redacted_thinking'])
/** Anthropic: message_stop, a message_delta with a stop_reason, or `error` end it; an empty text/thinking block start is
 *  not yet content (a stall or error right after it stays retryable), a delta, a tool-use block or message_delta is. */
const anthropicReader: FrameReader = sseReader({
  mayEnd: (t) => namedOr(t, (n) => n === 'message_stop' || n === 'message_delta' || n === 'error', ['message_stop', '"stop_reason"', '"error"']),
  terminal: (e, j) => nameOf(e, j) === 'message_stop' || (nameOf(e, j) === 'message_delta' && nonEmpty(j?.delta?.stop_reason)),
  content: (e, j) => {
    const name = nameOf(e, j)
    return name === 'content_block_delta' || name === 'message_delta' || (name === 'content_block_start' && ANTHROPIC_BLOCKS.has(j?.content_block?.type))
  },
  error: (e, j) => nameOf(e, j) === 'error',
})

const candidates = (j: Record<string, any> | undefined): any[] => (Array.isArray(j?.candidates) ? j.candidates : []) // any: see dataJson
const geminiContent = (j: Record<string, any> | undefined) => candidates(j).some((c) => Array.isArray(c?.content?.parts)) // any: see dataJson
const geminiError = (j: Record<string, any> | undefined) => !!j && !!j.error && typeof j.error === 'object' // any: see dataJson

/** Gemini with alt=sse: a candidate's finishReason or a top-level `error` end it; a candidate with parts is content. */
const geminiSseReader: FrameReader = sseReader({
  mayEnd: (t) => t.includes('"finishReason"') || t.includes('"error"'),
  terminal: (_e, j) => candidates(j).some((c) => nonEmpty(c?.finishReason)),
  content: (_e, j) => geminiContent(j),
  error: (_e, j) => geminiError(j),
})
geminiSseReader.begun = (t) => t.includes('"parts"')

/** The elements of complete JSON-array frames (`[{…}`, `,{…}`, `]`), or undefined when they do not parse. */
function arrayElements(text: string): Array<Record<string, any>> | undefined { // any: see dataJson
  let s = text.trim()
  if (s.startsWith('[') || s.startsWith(',')) s = s.slice(1)
  s = s.trimEnd()
  if (s.endsWith(']')) s = s.slice(0, -1)
  try {
    const v = JSON.parse(`[${s.trim().replace(/^,/, '')}]`)
    return Array.isArray(v) ? v : undefined
  } catch { return undefined }
}

/** Gemini's JSON-array stream (no alt=sse): the array's closing `]` ends it (the frames end where the framer cut them:
 *  after `[`, an element's `}` or the final `]`). */
const geminiArrayReader: FrameReader = {
  scan(text) {
    const els = arrayElements(text) ?? []
    const bad = els.find(geminiError)
    if (bad) return { content: false, error: errorMessage(bad) }
    return { content: els.some(geminiContent) }
  },
  ends: (text) => text.trimEnd().endsWith(']'),
  begun: (t) => t.includes('"parts"'),
}

/** Endpoints that never stream: anything is content, and the end is never questioned. */
const anyReader: FrameReader = { scan: () => ({ content: true }), ends: () => true }

/** The frame reader of an endpoint's pass-through stream (`sse`: Gemini's alt=sse). */
export function frameReader(id: EndpointId, sse: boolean): FrameReader {
  switch (id) {
    case 'openai.chat': return openaiReader((c) => nonEmpty(c?.delta?.content) || nonEmpty(c?.delta?.reasoning_content)
      || nonEmpty(c?.delta?.reasoning) || (Array.isArray(c?.delta?.tool_calls) && c.delta.tool_calls.length > 0))
    case 'openai.completions': return openaiReader((c) => nonEmpty(c?.text))
    case 'openai.responses': return responsesReader
    case 'anthropic.messages': return anthropicReader
    case 'gemini.stream': return sse ? geminiSseReader : geminiArrayReader
    default: return anyReader
  }
}
