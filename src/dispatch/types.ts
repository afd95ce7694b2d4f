/**
 * What the dispatcher takes and gives: a model call in, an Answer or an IRError out (never an HTTP
 * Response: the routes render both at the edge), and what one attempt against one key yields.
 */
import type { IRError } from '../ir/types'
import type { ModelCall as EndpointCall } from '../endpoints'
import type { Trace } from '../observe/trace'

/** A model call as the dispatcher takes it: the endpoint's call, and what is observed of it (http/front.ts traceOf;
 *  the dispatcher fills it, absent when nobody records). */
export type ModelCall = EndpointCall & { trace?: Trace }

/** Who answered: the provider and the model it was asked for (x-agproxy-provider / x-agproxy-model). */
export interface AnsweredBy {
  provider: string
  model: string
}

/** A successful answer, as the HTTP edge sends it; `gone`: the client left before an answer (499, nobody reads it). */
export type Answer =
  | ({ answer: 'json'; body: unknown; status?: number } & AnsweredBy)
  | ({ answer: 'text'; text: string; contentType: string } & AnsweredBy)
  | ({ answer: 'stream'; stream: ReadableStream<Uint8Array> | Uint8Array /** a stream that had arrived whole */; contentType: string } & AnsweredBy)
  | { answer: 'gone' }

/** An IRError, not an Answer. */
export const isAnswer = (r: Answer | IRError): r is Answer => 'answer' in r

/** A failed attempt: what the upstream said, and how the retry loop should take it. */
export interface Failure {
  ok: false
  status?: number
  headers?: Headers
  body?: unknown
  message: string
  /** the upstream path that answered (no query), for messages about a path the upstream does not have */
  path?: string
  retryable?: boolean
  /** the host could not be reached */
  unreachable?: boolean
  /** agproxy's own memory bound (limits.*) refused what the upstream sent: not the key's fault, and no retry would do better */
  refused?: boolean
}

/** One call to one provider with one key. */
export type Attempt = { ok: true; answer: Answer } | Failure
