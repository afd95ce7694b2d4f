/**
 * Helpers for the front-door tests: read an error in a dialect the way that dialect's official SDK
 * reads it, send a request byte for byte (for paths and Host headers fetch would rewrite), and the
 * "no provider is configured" 503 that proves a request reached the canonical handler.
 */
import { expect } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { ApiError } from '@google/genai'

export type Dialect = 'openai' | 'anthropic' | 'gemini'

// With no providers configured, agproxy takes providers from these; the front-door tests need none.
for (const k of ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY']) delete process.env[k]

/** The message every model call answers with until providers exist. */
export const NO_PROVIDER = /no provider is configured for model \S+; add one under `providers:` \(see README\)/

/** A JSON body that satisfies every model route's schema (chat, completions, responses, embeddings, messages, Gemini incl. embedContent). */
export const ANY_MODEL_BODY = {
  model: 'test-model',
  messages: [{ role: 'user', content: 'hi' }],
  max_tokens: 8,
  input: 'hi',
  prompt: 'hi',
  contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
  content: { parts: [{ text: 'hi' }] },
  requests: [{ content: { parts: [{ text: 'hi' }] } }],
}

/** The paths whose body is multipart/form-data (images/edits, audio/transcriptions). */
export const MULTIPART_PATHS = new Set(['/v1/images/edits', '/v1/audio/transcriptions'])

/** A multipart request of the given text fields (objects and arrays left out) and a small file as `file` and `image`. */
export function form(fields: Record<string, unknown>): RequestInit {
  const f = new FormData()
  for (const [k, v] of Object.entries(fields)) if (typeof v !== 'object') f.append(k, String(v))
  for (const name of ['file', 'image']) f.append(name, new Blob([new Uint8Array(16)], { type: 'application/octet-stream' }), 'x.bin')
  return { method: 'POST', body: f }
}

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
})

const GOOGLE_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
}
const ANTHROPIC_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  415: 'invalid_request_error',
  503: 'api_error',
}

/**
 * Assert `body` is an error of `status` in `dialect`, parse it with that dialect's SDK error factory,
 * and return the message.
 */
export function expectDialectError(dialect: Dialect, status: number, body: any, headers: Headers): string {
  switch (dialect) {
    case 'openai': {
      // OpenAI's error object: message, type, param and code are always present (param and code may be null)
      expect(Object.keys(body).sort()).toEqual(['error'])
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
      expect([typeof body.error.message, typeof body.error.type]).toEqual(['string', 'string'])
      const e = OpenAI.APIError.generate(status, body, undefined, headers)
      const cls =
        (
          {
            400: OpenAI.BadRequestError,
            401: OpenAI.AuthenticationError,
            403: OpenAI.PermissionDeniedError,
            404: OpenAI.NotFoundError,
            503: OpenAI.InternalServerError,
          } as Record<number, any>
        )[status] ?? OpenAI.APIError
      expect(e).toBeInstanceOf(cls)
      expect(e.status).toBe(status)
      return body.error.message
    }
    case 'anthropic': {
      expect(body).toEqual({ type: 'error', error: { type: ANTHROPIC_TYPE[status] ?? expect.any(String), message: expect.any(String) } })
      const e = Anthropic.APIError.generate(status, body, undefined, headers)
      const cls =
        (
          {
            400: Anthropic.BadRequestError,
            401: Anthropic.AuthenticationError,
            403: Anthropic.PermissionDeniedError,
            404: Anthropic.NotFoundError,
            503: Anthropic.APIError,
          } as Record<number, any>
        )[status] ?? Anthropic.APIError
      expect(e).toBeInstanceOf(cls)
      expect(e.status).toBe(status)
      return body.error.message
    }
    case 'gemini': {
      expect(body).toEqual({ error: { code: status, message: expect.any(String), status: GOOGLE_STATUS[status] ?? expect.any(String) } })
      // what @google/genai throws for a non-2xx JSON answer
      const e = new ApiError({ message: JSON.stringify(body), status })
      expect(e.status).toBe(status)
      return body.error.message
    }
  }
}

/** fetch, then assert a dialect error; returns the message and the response. */
export async function fetchError(url: string, init: RequestInit, dialect: Dialect, status: number): Promise<{ message: string; res: Response }> {
  const res = await fetch(url, init)
  const text = await res.text()
  expect({ status: res.status, text: text.slice(0, 300) }).toMatchObject({ status })
  expect(res.headers.get('content-type')).toContain('application/json')
  return { message: expectDialectError(dialect, status, JSON.parse(text), res.headers), res }
}

export interface RawResponse {
  status: number
  headers: Headers
  body: string
}

/**
 * One HTTP/1.1 request written byte for byte on a TCP socket: the path and the Host header arrive
 * exactly as given (fetch would normalize `%2e%2e` and dot segments on the client side).
 */
export async function rawRequest(port: number, method: string, target: string, headers: Record<string, string> = {}, body = ''): Promise<RawResponse> {
  const all: Record<string, string> = { host: `localhost:${port}`, connection: 'close', ...headers }
  if (body || method === 'POST') all['content-length'] ??= String(Buffer.byteLength(body))
  return rawExchange(
    port,
    `${method} ${target} HTTP/1.1\r\n${Object.entries(all)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n${body}`,
  )
}

/** Write `text` as is on a new connection (e.g. HTTP/1.0 without a Host) and read the answer until the server closes. */
export async function rawExchange(port: number, text: string, hostname = '127.0.0.1'): Promise<RawResponse> {
  const { promise, resolve, reject } = Promise.withResolvers<string>()
  const chunks: Uint8Array[] = []
  const sock = await Bun.connect({
    hostname,
    port,
    socket: {
      data(_s, d) {
        chunks.push(new Uint8Array(d))
      },
      close() {
        resolve(Buffer.concat(chunks).toString('utf8'))
      },
      error(_s, e) {
        reject(e)
      },
    },
  })
  sock.write(text)
  const answer = await promise
  const split = answer.indexOf('\r\n\r\n')
  const [statusLine, ...lines] = answer.slice(0, split).split('\r\n')
  const h = new Headers()
  for (const l of lines) {
    const i = l.indexOf(':')
    h.append(l.slice(0, i).trim(), l.slice(i + 1).trim())
  }
  let rest = answer.slice(split + 4)
  if (/chunked/i.test(h.get('transfer-encoding') ?? '')) {
    let out = ''
    while (rest.length) {
      const nl = rest.indexOf('\r\n')
      const n = parseInt(rest.slice(0, nl), 16)
      if (!n) break
      out += rest.slice(nl + 2, nl + 2 + n)
      rest = rest.slice(nl + 2 + n + 2)
    }
    rest = out
  }
  return { status: Number(statusLine!.split(' ')[1]), headers: h, body: rest }
}
