/**
 * What an inbound API is, described once in its dialect folder (`<dialect>/<endpoint>/endpoint.ts`): its id and
 * docs, where it is served, its body schema, where the model comes from, whether the client streams, the client
 * codec, the same-dialect pass-through path, the stream's content type, how its stream frames are read, and its
 * in-stream error frame. src/endpoints/index.ts lists them; the route table, the routes, the docs and the
 * dispatcher read them.
 */
import type { TSchema } from '@sinclair/typebox'
import type { ClientCodec, CodecContext, Dialect, IRError } from '../ir/types'
import type { FrameReader } from './frames'

export type EndpointId =
  | 'openai.chat'
  | 'openai.completions'
  | 'openai.responses'
  | 'openai.responses_compact'
  | 'openai.responses_input_tokens'
  | 'openai.embeddings'
  | 'openai.images'
  | 'openai.image_edits'
  | 'openai.transcriptions'
  | 'anthropic.messages'
  | 'anthropic.count_tokens'
  | 'gemini.generate'
  | 'gemini.stream'
  | 'gemini.count_tokens'
  | 'gemini.embed'
  | 'gemini.batch_embed'

export type Tag = 'OpenAI' | 'Anthropic' | 'Gemini' | 'System'

export interface EndpointDescriptor {
  id: EndpointId
  dialect: Dialect
  /** OpenAPI tag and summary (also the route table's) */
  tag: Tag
  summary: string
  /** where it is served (POST): fixed paths with the model in the body, or a Gemini `models/{model}:action` */
  route: { paths: string[] } | { action: string /** summary of the Google API v1 copy */; v1Summary: string }
  /** the request body schema (validated at the door, documented in /swagger): built at its first use, from a schema
   *  module required there (building every endpoint's schema at load cost ~3 ms of each start) */
  schema(): TSchema
  /** a multipart/form-data body (its text fields are the body; the bytes go to a same-dialect provider as sent) */
  multipart?: boolean
  /** whether the client asked for a stream */
  streams(body: Record<string, unknown>): boolean
  /** translated generation: its client codec (none: served by pass-through or a special plan only) */
  // biome-ignore lint/suspicious/noExplicitAny: each endpoint's codec takes its own body type
  client?: ClientCodec<any>
  /** same dialect: the upstream path for a model; `keepsBytes`: the body goes as sent (the model is in the path) */
  passThrough: {
    path(model: string, query: URLSearchParams): string
    keepsBytes: boolean
    /** the body with the routed model in it (default: its top-level `model` set) */
    rewrite?(body: Record<string, unknown>, model: string): Record<string, unknown>
  }
  /** the client's stream content type: pass-through, or translated (`ctx`: the codec context) */
  streamContentType(query: URLSearchParams, translated?: CodecContext): string
  /** how its pass-through stream's frames are read */
  frames(query: URLSearchParams): FrameReader
  /** an in-stream error frame its clients understand (after the first byte) */
  errorFrame(query: URLSearchParams): (e: IRError) => Uint8Array
}

/** SSE with a charset: what every pass-through stream but Gemini's JSON array is sent as. */
export const SSE = 'text/event-stream; charset=utf-8'

/** The model is in the body; the client streams when it says `stream: true`. */
export const bodyStreams = (body: Record<string, unknown>): boolean => body.stream === true
