/**
 * POST models/{model}:generateContent and :streamGenerateContent, as endpoint descriptors. The model is in the path,
 * the body keeps its bytes through a pass-through. Without alt=sse the stream is a JSON array.
 */
import { sseFrame } from '../../../ir/sse'
import type { CodecContext, IRError } from '../../../ir/types'
import { SSE, type EndpointDescriptor } from '../../endpoint'
import { sseReader, errorMessage, nonEmpty, anyReader, type FrameReader, type WireJson } from '../../frames'
import { errorBody } from '../errors'
import { geminiClient } from '../index'
import { geminiStreamContentType } from './stream'

type Json = WireJson
const candidates = (j: Json | undefined): WireJson[] => (Array.isArray(j?.candidates) ? j.candidates : [])
const hasParts = (j: Json | undefined) => candidates(j).some(c => Array.isArray(c?.content?.parts))
const isError = (j: Json | undefined) => !!j && !!j.error && typeof j.error === 'object'
/** a content frame has begun: its `"parts"` key (model text cannot spell it unescaped) */
const begun = (t: string) => t.includes('"parts"')

/** alt=sse: a candidate's finishReason or a top-level `error` ends it; a candidate with parts is content. */
const sseReaderOf: FrameReader = {
  ...sseReader({
    mayEnd: t => t.includes('"finishReason"') || t.includes('"error"'),
    mayScan: t => t.includes('"parts"') || t.includes('"error"'),
    terminal: (_e, j) => candidates(j).some(c => nonEmpty(c?.finishReason)),
    content: (_e, j) => hasParts(j),
    error: (_e, j) => isError(j),
  }),
  begun,
}

/** The elements of complete JSON-array frames (`[{…}`, `,{…}`, `]`), or undefined when they do not parse. */
function arrayElements(text: string): Json[] | undefined {
  let s = text.trim()
  if (s.startsWith('[') || s.startsWith(',')) s = s.slice(1)
  s = s.trimEnd()
  if (s.endsWith(']')) s = s.slice(0, -1)
  try {
    const v = JSON.parse(`[${s.trim().replace(/^,/, '')}]`)
    return Array.isArray(v) ? v : undefined
  } catch {
    return undefined
  }
}

/** The JSON array: its closing `]` ends it (frames end where the framer cut them: after `[`, an element's `}`, or `]`). */
const arrayReader: FrameReader = {
  scan(text) {
    const els = arrayElements(text) ?? []
    const bad = els.find(isError)
    if (bad) return { content: false, error: errorMessage(bad) }
    return { content: els.some(hasParts) }
  },
  ends: text => text.trimEnd().endsWith(']'),
  begun,
}

const alt = (q: URLSearchParams) => q.get('alt') === 'sse'
const te = new TextEncoder()
/** an error element (`,{…}]` closes the array) or, with alt=sse, an error frame */
const errorFrame = (q: URLSearchParams) => (alt(q) ? (e: IRError) => sseFrame(errorBody(e)) : (e: IRError) => te.encode(`,${JSON.stringify(errorBody(e))}]`))
const contentType = (q: URLSearchParams, translated?: CodecContext) =>
  translated ? geminiStreamContentType(translated) : alt(q) ? SSE : 'application/json; charset=utf-8'
const path = (action: string) => (model: string) => `/v1beta/models/${encodeURIComponent(model)}:${action}`

export const generateEndpoint: EndpointDescriptor = {
  id: 'gemini.generate',
  dialect: 'gemini',
  tag: 'Gemini',
  summary: 'Generate content',
  route: { action: 'generateContent', v1Summary: 'Generate content' },
  schema: () => (require('./schema') as typeof import('./schema')).GeminiGenerateContentBody,
  streams: () => false,
  client: geminiClient,
  passThrough: { path: path('generateContent'), keepsBytes: true },
  streamContentType: (q, translated) => (translated ? contentType(q, translated) : SSE),
  frames: () => anyReader,
  errorFrame,
}

export const streamEndpoint: EndpointDescriptor = {
  id: 'gemini.stream',
  dialect: 'gemini',
  tag: 'Gemini',
  summary: 'Stream generated content (alt=sse for SSE)',
  route: { action: 'streamGenerateContent', v1Summary: 'Stream generated content' },
  schema: () => (require('./schema') as typeof import('./schema')).GeminiGenerateContentBody,
  streams: () => true,
  client: geminiClient,
  passThrough: { path: (m, q) => path('streamGenerateContent')(m) + (alt(q) ? '?alt=sse' : ''), keepsBytes: true },
  streamContentType: contentType,
  frames: q => (alt(q) ? sseReaderOf : arrayReader),
  errorFrame,
}
