/**
 * The one error model every dialect shares: the canonical error kinds, the HTTP status of each, and the
 * IRError value that travels until the edge. Each dialect turns it into its own body in
 * dialects/<d>/errors.ts (HTTP bodies and in-stream frames alike); http/errors.ts renders it as a response.
 */

export type ErrorKind =
  | 'invalid_request' // 400
  | 'authentication' // 401
  | 'permission' // 403
  | 'not_found' // 404
  | 'method_not_allowed' // 405
  | 'request_too_large' // 413
  | 'unsupported_media' // 415
  | 'rate_limit' // 429
  | 'internal' // 500
  | 'upstream' // 502
  | 'unavailable' // 503
  | 'timeout' // 504
  | 'loop' // 508
  | 'overloaded' // 529

export interface IRError {
  /** HTTP status that best describes it */
  status: number
  /** canonical kind; each dialect maps it to its own type/status names */
  kind: ErrorKind
  message: string
  /** request field at fault, if any (OpenAI `param`) */
  param?: string
  /** machine-readable code where a dialect has one (OpenAI `code`, e.g. model_not_found) */
  code?: string
  /** seconds, for 429/503 */
  retryAfter?: number
}

/** The HTTP status of each kind (an IRError may carry a more precise one, e.g. the upstream's 500). */
export const KIND_STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_too_large: 413,
  unsupported_media: 415,
  rate_limit: 429,
  internal: 500,
  upstream: 502,
  unavailable: 503,
  timeout: 504,
  loop: 508,
  overloaded: 529,
}

/** Every kind, in status order (for tables and tests that must cover them all). */
export const ERROR_KINDS = Object.keys(KIND_STATUS) as ErrorKind[]

/** The HTTP status of an error: its own, else its kind's. */
export const statusOf = (e: IRError): number => e.status || KIND_STATUS[e.kind]

/** An IRError of a kind, with its kind's status unless `extra` says otherwise. */
export const err = (kind: ErrorKind, message: string, extra?: Partial<IRError>): IRError => ({ status: KIND_STATUS[kind], kind, message, ...extra })

/** An error carried as a value until the edge (http/errors.ts renders it in the caller's dialect). */
export class IRErrorValue extends Error {
  constructor(public readonly error: IRError) {
    super(error.message)
  }
}

/** A 400 naming the request field at fault. */
export const invalid = (message: string, param?: string): IRErrorValue => new IRErrorValue({ status: 400, kind: 'invalid_request', message, param })

/** Whatever was thrown while streaming → IR error: an IRErrorValue's own error, else a 502 `upstream`
 *  whose message is the thrown one (after `context: ` when given). */
export function thrownError(e: unknown, context?: string): IRError {
  if (e instanceof IRErrorValue) return e.error
  const message = e instanceof Error ? e.message : String(e)
  return err('upstream', context ? `${context}: ${message}` : message)
}
