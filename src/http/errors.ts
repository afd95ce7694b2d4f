/**
 * Errors are values until the edge: this is the edge. One function renders an IRError in the
 * caller's dialect, with the right status and headers; the body is the dialect's own (dialects/<d>/errors.ts).
 */
import type { Dialect, IRError } from '../ir/types'
import { anthropicErrorBody, anthropicErrorStatus } from '../dialects/anthropic'
import { geminiErrorBody, geminiErrorStatus } from '../dialects/gemini'
import { openaiErrorBody, openaiErrorStatus } from '../dialects/openai'
import { dialectOfPath } from './route-table'
import { err } from '../ir/errors'

/** the IR error constructor and status, re-exported for the routes that build errors here */
export { err, statusOf } from '../ir/errors'

/** Which dialect is calling: path family first, then headers, else OpenAI.
 *  (Not x-api-key vs Bearer: the Anthropic SDK 1.x sends its key as a Bearer token.) */
export function detectDialect(path: string, headers: Headers, query: URLSearchParams): Dialect {
  // an encoded separator (refused as a trick) still tells which family the caller meant
  const byPath = dialectOfPath(path.replace(/%2f|%5c/gi, '/'))
  if (byPath) return byPath
  if (headers.has('anthropic-version')) return 'anthropic'
  if (headers.has('x-goog-api-key') || query.has('key')) return 'gemini'
  return 'openai'
}

/** Each dialect's one error body and the HTTP status it gives an error (dialects/<d>/errors.ts). */
const DIALECT_ERRORS: Record<Dialect, { body: (e: IRError) => unknown; status: (e: IRError) => number }> = {
  openai: { body: openaiErrorBody, status: openaiErrorStatus },
  anthropic: { body: anthropicErrorBody, status: anthropicErrorStatus },
  gemini: { body: geminiErrorBody, status: geminiErrorStatus },
}

/** The error body in a dialect (the same one its stream encoders send as an in-stream error). */
export const errorBody = (dialect: Dialect, e: IRError): unknown => DIALECT_ERRORS[dialect].body(e)

/** An IRError as a Response in the caller's dialect: status, body, retry-after, and x-should-retry on 4xx. */
export function renderError(dialect: Dialect, e: IRError, extraHeaders?: Record<string, string>): Response {
  const status = DIALECT_ERRORS[dialect].status(e)
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extraHeaders }
  if (e.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfter)))
  // tell SDKs not to retry what cannot succeed on retry
  if (status < 500 && status !== 429 && status !== 408) headers['x-should-retry'] = 'false'
  return new Response(JSON.stringify(errorBody(dialect, e)), { status, headers })
}
/** The 500 for what nothing else caught (the details go to the log, never to the client). */
export const internalError = () =>
  err('internal', 'agproxy hit an internal error while handling this request; it has been logged. Retry, and report it if it persists.')

/** The first line of an error's message, for a log line or a client message: never a stack. */
export const summarize = (e: unknown) => (String((e as Error)?.message ?? e).split('\n')[0] ?? '').slice(0, 300)
