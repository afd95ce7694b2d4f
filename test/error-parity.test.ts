/**
 * One error body per dialect: every IR error kind, rendered in every dialect over HTTP (renderError), by the
 * dialect's stream encoders (fed an IR error event), and by the pass-through stream's error frame
 * (dispatch/plans.ts streamErrorFrame), gives the same error object — same type / status / code / message —
 * and the dialect's official SDK error factory reads the HTTP answer as the error it is.
 */
import { describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { ApiError } from '@google/genai'
import type { CodecContext, ClientCodec, ErrorKind, IREvent, IRError } from '../src/ir/types'
import { err, renderError } from '../src/http/errors'
import { streamErrorFrame } from '../src/dispatch/plans'
import type { EndpointId } from '../src/endpoints'
import { parseSSE } from '../src/ir/sse'
import { openaiChatClient, openaiCompletionsClient, openaiResponsesClient } from '../src/dialects/openai'
import { anthropicClient } from '../src/dialects/anthropic'
import { geminiClient } from '../src/dialects/gemini'

/** What each dialect shows for each kind. A new kind fails to compile here until it is given its row. */
const EXPECTED: Record<
  ErrorKind,
  {
    status: number
    openai: { type: string; code: string | null }
    anthropic: string
    gemini: { code: number; status: string }
    responses: string
  }
> = {
  invalid_request: {
    status: 400,
    openai: { type: 'invalid_request_error', code: null },
    anthropic: 'invalid_request_error',
    gemini: { code: 400, status: 'INVALID_ARGUMENT' },
    responses: 'invalid_prompt',
  },
  authentication: {
    status: 401,
    openai: { type: 'invalid_request_error', code: 'invalid_api_key' },
    anthropic: 'authentication_error',
    gemini: { code: 401, status: 'UNAUTHENTICATED' },
    responses: 'invalid_api_key',
  },
  permission: {
    status: 403,
    openai: { type: 'permission_error', code: 'forbidden' },
    anthropic: 'permission_error',
    gemini: { code: 403, status: 'PERMISSION_DENIED' },
    responses: 'permission_denied',
  },
  not_found: {
    status: 404,
    openai: { type: 'invalid_request_error', code: 'not_found' },
    anthropic: 'not_found_error',
    gemini: { code: 404, status: 'NOT_FOUND' },
    responses: 'invalid_prompt',
  },
  method_not_allowed: {
    status: 405,
    openai: { type: 'invalid_request_error', code: 'method_not_allowed' },
    anthropic: 'invalid_request_error',
    gemini: { code: 405, status: 'UNIMPLEMENTED' },
    responses: 'server_error',
  },
  request_too_large: {
    status: 413,
    openai: { type: 'invalid_request_error', code: 'request_too_large' },
    anthropic: 'request_too_large',
    gemini: { code: 413, status: 'INVALID_ARGUMENT' },
    responses: 'invalid_prompt',
  },
  unsupported_media: {
    status: 415,
    openai: { type: 'invalid_request_error', code: 'unsupported_media_type' },
    anthropic: 'invalid_request_error',
    gemini: { code: 415, status: 'INVALID_ARGUMENT' },
    responses: 'invalid_prompt',
  },
  rate_limit: {
    status: 429,
    openai: { type: 'rate_limit_error', code: 'rate_limit_exceeded' },
    anthropic: 'rate_limit_error',
    gemini: { code: 429, status: 'RESOURCE_EXHAUSTED' },
    responses: 'rate_limit_exceeded',
  },
  internal: {
    status: 500,
    openai: { type: 'server_error', code: null },
    anthropic: 'api_error',
    gemini: { code: 500, status: 'INTERNAL' },
    responses: 'server_error',
  },
  upstream: {
    status: 502,
    openai: { type: 'server_error', code: 'upstream_error' },
    anthropic: 'api_error',
    gemini: { code: 502, status: 'INTERNAL' },
    responses: 'server_error',
  },
  unavailable: {
    status: 503,
    openai: { type: 'server_error', code: 'service_unavailable' },
    anthropic: 'api_error',
    gemini: { code: 503, status: 'UNAVAILABLE' },
    responses: 'server_is_overloaded',
  },
  timeout: {
    status: 504,
    openai: { type: 'server_error', code: 'timeout' },
    anthropic: 'timeout_error',
    gemini: { code: 504, status: 'DEADLINE_EXCEEDED' },
    responses: 'server_error',
  },
  loop: {
    status: 508,
    openai: { type: 'invalid_request_error', code: 'loop_detected' },
    anthropic: 'invalid_request_error',
    gemini: { code: 508, status: 'FAILED_PRECONDITION' },
    responses: 'server_error',
  },
  // Google has no 529: a Gemini client gets 503 UNAVAILABLE, as Google reports an overloaded model
  overloaded: {
    status: 529,
    openai: { type: 'server_error', code: 'overloaded' },
    anthropic: 'overloaded_error',
    gemini: { code: 503, status: 'UNAVAILABLE' },
    responses: 'server_is_overloaded',
  },
}
const KINDS = Object.keys(EXPECTED) as ErrorKind[]

/** the same kind plain, and carrying everything an IRError can (param, code, retryAfter) */
const variants = (kind: ErrorKind): Array<[string, IRError]> => [
  ['plain', err(kind, `something about ${kind} went wrong; fix the setting`)],
  ['with param, code and retryAfter', err(kind, `${kind} with extras`, { param: 'model', code: 'model_not_found', retryAfter: 7 })],
]

const ctx = (query: Record<string, string> = {}): CodecContext => ({ clientModel: 'm', warn: () => {}, raw: { model: 'm' }, query })

async function* events(e: IRError): AsyncGenerator<IREvent> {
  yield { type: 'start', id: 'x', model: 'm' }
  yield { type: 'error', error: e }
}

/** the data of every SSE frame of a body, parsed */
async function sseData(body: ReadableStream<Uint8Array> | Uint8Array): Promise<Array<{ event?: string; data: any }>> {
  const stream = body instanceof Uint8Array ? new Response(new TextDecoder().decode(body)).body! : body
  const out: Array<{ event?: string; data: any }> = []
  for await (const m of parseSSE(stream)) out.push({ event: m.event, data: m.data === '[DONE]' ? '[DONE]' : JSON.parse(m.data) })
  return out
}

/** the error frame a client stream encoder sends for an IR error event */
const encoded = (codec: ClientCodec<any>, e: IRError, query?: Record<string, string>) => codec.encodeStream(events(e), ctx(query))
const passThrough = (endpoint: EndpointId, e: IRError, query = '') => streamErrorFrame(endpoint, new URLSearchParams(query))(e)

/** the class name each official SDK gives an HTTP status (the Anthropic SDK knows a few more statuses) */
const SDK_CLASS: Record<number, string> = {
  400: 'BadRequestError',
  401: 'AuthenticationError',
  403: 'PermissionDeniedError',
  404: 'NotFoundError',
  429: 'RateLimitError',
}
const ANTHROPIC_CLASS: Record<number, string> = {
  413: 'ContentTooLargeError',
  503: 'ServiceUnavailableError',
  504: 'GatewayTimeoutError',
  529: 'OverloadedError',
}
const sdkClass = (status: number, sdk: 'openai' | 'anthropic'): string =>
  (sdk === 'anthropic' ? ANTHROPIC_CLASS[status] : undefined) ?? SDK_CLASS[status] ?? (status >= 500 ? 'InternalServerError' : 'APIError')

async function http(dialect: 'openai' | 'anthropic' | 'gemini', e: IRError) {
  const res = renderError(dialect, e)
  return { status: res.status, headers: res.headers, body: (await res.json()) as any }
}

describe.each(KINDS)('%s', kind => {
  const want = EXPECTED[kind]

  test.each(variants(kind))('OpenAI (%s): HTTP = chat stream = completions stream = pass-through frame; the SDK reads it', async (_, e) => {
    const h = await http('openai', e)
    expect(h.status).toBe(want.status)
    expect(h.body).toEqual({ error: { message: e.message, type: want.openai.type, param: e.param ?? null, code: e.code ?? want.openai.code } })
    const lastError = (frames: Array<{ data: any }>) => frames.filter(f => f.data?.error).at(-1)?.data
    for (const codec of [openaiChatClient, openaiCompletionsClient]) {
      const frames = await sseData(encoded(codec, e))
      expect(lastError(frames)).toEqual(h.body)
      expect(frames.at(-1)!.data).toBe('[DONE]')
    }
    for (const endpoint of ['openai.chat', 'openai.completions'] as const) {
      const frames = await sseData(passThrough(endpoint, e))
      expect(lastError(frames)).toEqual(h.body)
      expect(frames.at(-1)!.data).toBe('[DONE]')
    }
    const sdk = OpenAI.APIError.generate(h.status, h.body, undefined, h.headers)
    expect(sdk.constructor.name).toBe(sdkClass(want.status, 'openai'))
    expect({ status: sdk.status, type: sdk.type, code: sdk.code, param: sdk.param }).toEqual({
      status: want.status,
      type: h.body.error.type,
      code: h.body.error.code,
      param: h.body.error.param,
    })
    expect(sdk.message).toContain(e.message)
  })

  test.each(variants(kind))("OpenAI Responses (%s): the encoder's response.failed = the pass-through one", async (_, e) => {
    const failed = async (frames: Array<{ event?: string; data: any }>) => {
      const f = frames.find(x => x.event === 'response.failed')
      expect(f?.data.type).toBe('response.failed')
      expect(f?.data.response.status).toBe('failed')
      return f!.data.response.error
    }
    const fromEncoder = await failed(await sseData(encoded(openaiResponsesClient, e)))
    const fromPassThrough = await failed(await sseData(passThrough('openai.responses', e)))
    expect(fromEncoder).toEqual(fromPassThrough)
    expect(fromEncoder.code).toBe(want.responses)
    expect(fromEncoder.message).toStartWith(e.message)
  })

  test.each(variants(kind))('Anthropic (%s): HTTP = messages stream = pass-through frame; the SDK reads it', async (_, e) => {
    const h = await http('anthropic', e)
    expect(h.status).toBe(want.status)
    expect(h.body).toEqual({ type: 'error', error: { type: want.anthropic, message: e.message } })
    for (const frames of [await sseData(encoded(anthropicClient, e)), await sseData(passThrough('anthropic.messages', e))]) {
      expect(frames.at(-1)).toEqual({ event: 'error', data: h.body })
    }
    const sdk = Anthropic.APIError.generate(h.status, h.body, undefined, h.headers)
    expect(sdk.constructor.name).toBe(sdkClass(want.status, 'anthropic'))
    expect(sdk.status).toBe(want.status)
    expect(sdk.error).toEqual(h.body)
    expect(sdk.message).toContain(e.message)
  })

  test.each(variants(kind))('Gemini (%s): HTTP = stream (SSE and JSON array) = pass-through frames; genai reads it', async (_, e) => {
    const h = await http('gemini', e)
    expect(h.status).toBe(want.gemini.code)
    const details = e.retryAfter ? { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${e.retryAfter}s` }] } : {}
    expect(h.body).toEqual({ error: { code: want.gemini.code, message: e.message, status: want.gemini.status, ...details } })
    expect((await sseData(encoded(geminiClient, e, { alt: 'sse' }))).at(-1)!.data).toEqual(h.body)
    expect(JSON.parse(await new Response(encoded(geminiClient, e)).text()).at(-1)).toEqual(h.body)
    expect((await sseData(passThrough('gemini.stream', e, 'alt=sse'))).at(-1)!.data).toEqual(h.body)
    // pass-through without alt=sse: the frame closes the JSON array the upstream opened
    const array = `[{"candidates":[]}${new TextDecoder().decode(passThrough('gemini.stream', e))}`
    expect(JSON.parse(array).at(-1)).toEqual(h.body)
    const sdk = new ApiError({ message: JSON.stringify(h.body), status: h.status })
    expect(sdk.status).toBe(want.gemini.code)
    expect(JSON.parse(sdk.message).error.status).toBe(want.gemini.status)
  })
})

test("an upstream's 529 reaches a Gemini client as 503 UNAVAILABLE (Google has no 529), and stays 529 elsewhere", async () => {
  const e = err('upstream', 'provider up failed: Overloaded', { status: 529 })
  const h = await http('gemini', e)
  expect({ status: h.status, body: h.body }).toEqual({ status: 503, body: { error: { code: 503, message: e.message, status: 'UNAVAILABLE' } } })
  expect((await sseData(encoded(geminiClient, e, { alt: 'sse' }))).at(-1)!.data).toEqual(h.body)
  expect((await http('openai', e)).status).toBe(529)
  expect((await http('anthropic', e)).status).toBe(529)
})
