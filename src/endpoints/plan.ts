/**
 * A model call as the dispatcher takes it, and the Plan for carrying it out against one provider: one of three
 * kinds, each with its own attempt strategy (src/dispatch/attempt-*.ts). `local`: answered here. `pass-through`:
 * same dialect, bytes through. `translated`: client wire → IR → upstream wire, and back.
 */
import type { CodecContext, IREvent, IRError } from '../ir/types'
import type { ByteSource } from '../ir/batches'
import type { FrameReader } from '../dialects/frames'
import type { EndpointDescriptor } from '../dialects/endpoint'
import type { ProviderConfig } from '../config/schema'
import type { FormPart } from '../dialects/multipart'

/** An endpoint: its descriptor, and the plan it needs across dialects when it is not plain generation. */
export interface Endpoint extends EndpointDescriptor {
  /** token counting, embeddings: how a provider of another dialect serves it (else translated generation) */
  special?: SpecialPlan
}

export interface ModelCall {
  endpoint: Endpoint
  body: Record<string, unknown>
  bytes: Uint8Array
  /** a multipart body's parts (views into `bytes`; `body` holds its text fields) */
  parts?: FormPart[]
  /** the model the client asked for (body.model, or the Gemini URL path) */
  model: string
  request: Request
  /** aborts when the client goes away (the rebuilt request the routes see carries none: see http/front.ts clientSignal) */
  signal: AbortSignal
  query: URLSearchParams
}

/** The provider a plan is made for: its name (messages) and type (which wire it speaks). */
export interface PlanTarget {
  name: string
  type: ProviderConfig['type']
}

/** What goes upstream for a model. */
export type UpstreamBody = { path: string; body: string | Uint8Array /** default application/json */; contentType?: string }

/** What every upstream-calling plan has. */
export interface Upstream {
  request(model: string): UpstreamBody
  /** the client's stream content type (the upstream is asked to stream when the plan streams) */
  streamContentType: string
  /** an error frame in the client's stream dialect (after the first byte) */
  errorFrame: (e: IRError) => Uint8Array
}

export type Plan =
  | { kind: 'local'; answer: () => { body: unknown; status?: number } }
  | (Upstream & {
      kind: 'pass-through'
      upstreamStreams: boolean
      frames: FrameReader
      /** the upstream's stream → the client's framing, when the same dialect travels in another framing (Bedrock's event stream) */
      reframe?: (body: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>
    })
  | (Upstream & {
      kind: 'translated'
      /** a whole JSON answer → the client's body */
      decodeJson: (json: unknown) => unknown
      /** present when the upstream is asked to stream */
      stream?: {
        /** the upstream's stream → IR events, one batch per upstream chunk */
        decode: (body: ReadableStream<Uint8Array>) => AsyncIterable<IREvent[]>
        /** batches of IR events → the client's stream, as its reader */
        encode: (batches: AsyncIterable<IREvent[]>) => ByteSource
      }
    })

/** A cross-dialect plan of an endpoint (undefined: none for this provider type, translated generation applies). */
export type SpecialPlan = (call: ModelCall, provider: PlanTarget, ctx: CodecContext) => Plan | undefined
