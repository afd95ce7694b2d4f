/** How OpenAI chat-style streams are read and end: `data: [DONE]`, a choice's non-null finish_reason, or a top-level
 *  `error` ends them; and the in-stream error frame (the dialect's error body, then [DONE]). */
import type { IRError } from '../../ir/types'
import { sseReader, stringValueFollows, valueSet, nonEmpty, type FrameReader, type SseEvent, type WireJson } from '../frames'
import { errorBody } from './errors'

const choices = (j: WireJson | undefined): WireJson[] => (Array.isArray(j?.choices) ? j.choices : [])
const topError = (e: SseEvent, j: WireJson | undefined) => !!j && !!j.error && typeof j.error === 'object' && !e.event

/** A chat-style stream reader; `content` says whether a choice carries content, in one of the fields `keys` (quoted JSON keys:
 *  a frame where none of them has a value is not parsed before the first content). */
export const openaiReader = (content: (choice: WireJson) => boolean, keys: string[]): FrameReader =>
  sseReader({
    mayEnd: t => t.includes('[DONE]') || stringValueFollows(t, '"finish_reason"') || t.includes('"error"'),
    mayScan: t => t.includes('"error"') || keys.some(k => valueSet(t, k)),
    terminal: (e, j) => e.data.trim() === '[DONE]' || choices(j).some(c => nonEmpty(c?.finish_reason)),
    content: (_e, j) => choices(j).some(content),
    error: topError,
  })

const te = new TextEncoder()
/** The in-stream error frame of OpenAI chat-style streams (chat, completions). */
export const openaiErrorFrame = (e: IRError): Uint8Array => te.encode(`data: ${JSON.stringify(errorBody(e))}\n\ndata: [DONE]\n\n`)
