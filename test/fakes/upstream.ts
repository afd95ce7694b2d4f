/**
 * Fake upstream servers for the three provider types: `startFake(type, opts)`.
 *
 * This file owns the server, the request log and behaviour playback (what to answer, and how it fails);
 * the wire modules (openai.ts, anthropic.ts, gemini.ts) own each provider's paths, bodies and frames.
 * Playback works on a provider-neutral `Reply` and a list of `Frame`s, so every failure mode
 * (resets, stalls, junk, slow or endless streams) works the same way for every provider and endpoint.
 */
import { openaiWire } from './openai'
import { anthropicWire } from './anthropic'
import { geminiWire } from './gemini'
import { azureWire } from './azure'
import { vertexWire } from './vertex'
import { bedrockWire } from './bedrock'

export type ProviderType = 'openai' | 'anthropic' | 'gemini'
/** the provider types, azure (the openai wire on Azure's paths and auth), vertex, and bedrock (Converse, eventstream, SigV4) */
export type FakeType = ProviderType | 'azure' | 'vertex' | 'bedrock'

export interface Recorded {
  method: string
  path: string
  query: Record<string, string>
  /** lower-case header names */
  headers: Record<string, string>
  /** parsed JSON, or the raw text when it is not JSON, or undefined when empty */
  body: any
  /** the body as it arrived (what a signature covers) */
  raw?: string
  /** the API key the request carried (Bearer / x-api-key / x-goog-api-key / ?key=) */
  key?: string
  /** true once the client closed the connection before the response finished */
  aborted: boolean
}

export interface Usage {
  input?: number
  output?: number
  cached?: number
  reasoning?: number
}

export type Behaviour =
  /** `finish: 'length'` (extension) → finish_reason length / max_tokens / MAX_TOKENS / incomplete;
   *  `finish: 'content_filter'` (openai / azure chat only) → finish_reason content_filter */
  | { kind: 'text'; text: string; thinking?: string; signature?: string; usage?: Usage; chunks?: number; finish?: 'stop' | 'length' | 'content_filter' }
  | { kind: 'tool_calls'; calls: { id?: string; name: string; args: object }[]; thinking?: string; signature?: string; text?: string; usage?: Usage }
  /** `inStream` (extension): on a streaming request, answer 200, send the stream's opening frames, then the
   *  provider's in-stream error (Anthropic `event: error`, OpenAI `data: {"error":…}`, Gemini `data: {"error":…}`). */
  | { kind: 'error'; status: number; message?: string; headers?: Record<string, string>; body?: unknown; retryDelaySeconds?: number; inStream?: boolean }
  | { kind: 'stall_before_headers' }
  | { kind: 'stall_after_headers' }
  | { kind: 'reset_mid_stream'; afterChunks: number }
  | { kind: 'garbage_sse' }
  | { kind: 'html_200' }
  | { kind: 'invalid_json' }
  | { kind: 'empty_stream' }
  | { kind: 'endless'; intervalMs?: number }
  | { kind: 'slow'; text: string; chunkDelayMs: number }

export type ErrorBehaviour = Extract<Behaviour, { kind: 'error' }>

export interface FakeOptions {
  /** if set, any other key (or none) gets that provider's own authentication error */
  keys?: string[]
  /** minimal work and no recording, for benchmarks */
  fast?: boolean
  /** how many stream chunks the text of a reply is split over (default 3) */
  streamChunks?: number
  port?: number
  /** openai: a server with Chat Completions only (older vLLM, llama.cpp, LM Studio, Ollama): /v1/responses answers
   *  404 as vLLM's FastAPI router does, `{"detail":"Not Found"}` */
  chatOnly?: boolean
  /** bedrock: the stream message (0-based) whose CRC is corrupted */
  corruptFrame?: number
  /** azure: deployment → model, besides every openai model deployed under its own name */
  deployments?: Record<string, string>
  /** vertex: service-account email → the public key its token requests' JWTs must verify with */
  vertexAccounts?: Record<string, CryptoKey>
  /** vertex: refresh tokens of ADC authorized_user credentials the token endpoint accepts */
  vertexRefreshTokens?: string[]
  /** vertex: while set, the token endpoint answers this (read per request: a test sets and clears it) */
  vertexTokenOutage?: ErrorReply
  /** vertex: the lifetime of issued access tokens, seconds (default 3599) */
  tokenTtl?: number
}

export interface Fake {
  type: FakeType
  /** base URL as a user would configure it: openai → http://127.0.0.1:PORT/v1, anthropic and gemini → http://127.0.0.1:PORT */
  url: string
  port: number
  requests: Recorded[]
  last(): Recorded | undefined
  /** FIFO, one per model (generation) request */
  enqueue(...b: Behaviour[]): void
  /** used when the queue is empty; null → back to echo */
  setDefault(b: Behaviour | null): void
  /** consulted first for every request (model or not); returning undefined falls through to queue / default / echo.
   *  On non-generation endpoints only error and transport behaviours apply. */
  handler?: (rec: Recorded) => Behaviour | undefined
  reset(): void
  stop(): Promise<void>
}

// ───────────── what the wire modules work with ─────────────

/** A provider-neutral answer the wire modules render. */
export interface Reply {
  /** random suffix for ids (`chatcmpl-…`, `msg_…`, `resp_…`) */
  nonce: string
  created: number
  model: string
  thinking: string[]
  signature?: string
  /** text chunks in order; may be endless (only streamed then) */
  text: Iterable<string>
  calls: { id?: string; name: string; args: string; argChunks: string[] }[]
  usage: Required<Usage>
  finish: 'stop' | 'length' | 'tool_calls' | 'content_filter'
}

/** One piece of a streamed body. `content` marks frames carrying model output (counted by reset_mid_stream,
 *  delayed by slow/endless); the frames before the first content frame are the stream's opening. */
export interface Frame {
  /** text, or bytes for a binary framing (Bedrock's event stream) */
  data: string | Uint8Array
  content?: boolean
}

export interface ErrorReply {
  status: number
  headers?: Record<string, string>
  body: unknown
}

/** What a wire module hands to playback for one generation request. */
export interface ModelCall {
  model: string
  stream: boolean
  /** stream is SSE (junk lines are SSE comments / unknown fields) rather than a JSON array */
  sse: boolean
  /** content type of the stream */
  contentType: string
  /** text of the last user message (for echo) and the prompt size in characters (for usage) */
  echo: string
  promptChars: number
  json(r: Reply): unknown
  frames(r: Reply): Iterable<Frame>
  error(b: ErrorBehaviour): ErrorReply
  /** the provider's in-stream error frame */
  streamError(b: ErrorBehaviour): string | Uint8Array
  /** headers on every response of this call */
  headers?: Record<string, string>
  /** pretty-print JSON bodies (Google does) */
  pretty?: boolean
  /** content type of JSON bodies (default application/json) */
  jsonType?: string
}

export interface WireCtx {
  rec: Recorded
  url: URL
  body: any
  fast: boolean
  opts: FakeOptions
  /** answer a generation request: picks the behaviour (handler, queue, default, echo) and plays it */
  play(call: ModelCall): Promise<Response>
  /** answer a non-generation request: applies an error/transport behaviour from the handler, else `ok()` */
  serve(err: (b: ErrorBehaviour) => ErrorReply, ok: () => Response): Promise<Response>
}

export interface Wire {
  /** path prefix of the configured base URL ('/v1' for openai) */
  base: string
  keyOf(req: Request, url: URL, opts: FakeOptions): string | undefined
  /** the provider's answer to a missing (undefined) or wrong key */
  authError(key: string | undefined): ErrorReply
  handle(ctx: WireCtx): Promise<Response> | Response
}

// ───────────── shared helpers ─────────────

export const tokens = (chars: number) => Math.max(1, Math.ceil(chars / 4))

/** total length of all strings inside a value (prompt size for usage numbers) */
export function charsIn(v: unknown): number {
  if (typeof v === 'string') return v.length
  if (Array.isArray(v)) return v.reduce((n, x) => n + charsIn(x), 0)
  if (v && typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + charsIn(x), 0)
  return 0
}

/** split text into n pieces of similar length (never splitting a code point) */
export function split(text: string, n: number): string[] {
  const cps = Array.from(text)
  n = Math.max(1, Math.min(n, cps.length))
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(cps.slice(Math.floor((i * cps.length) / n), Math.floor(((i + 1) * cps.length) / n)).join(''))
  return out.length ? out : ['']
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}, pretty = false): Response {
  const text = typeof body === 'string' ? body : JSON.stringify(body, null, pretty ? 2 : undefined)
  return new Response(text, { status, headers: { 'content-type': 'application/json', ...headers } })
}

export function errorResponse(e: ErrorReply, extra?: Record<string, string>): Response {
  return json(e.status, e.body, { ...e.headers, ...extra })
}

/** deterministic unit vector for a text (embeddings) */
export function vectorFor(text: string, dims: number): number[] {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  const v: number[] = []
  for (let i = 0; i < dims; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) ^ Math.imul(h ^ (h >>> 13), 3266489909)
    v.push(((h >>> 0) / 4294967296) * 2 - 1)
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1
  return v.map(x => x / norm)
}

export const randomId = (n = 24) => {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  let s = ''
  for (let i = 0; i < n; i++) s += abc[(Math.random() * abc.length) | 0]
  return s
}

/** an opaque, base64-looking reasoning signature */
export const fakeSignature = (seed: string) => btoa(`sig:${seed}:`.padEnd(48, '.'))

// ───────────── playback ─────────────

const te = new TextEncoder()
const RESET = Symbol('reset')
type Out = string | Uint8Array | typeof RESET

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>(resolve => {
    if (signal.aborted) return resolve()
    const t = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        resolve()
      },
      { once: true },
    )
  })
const untilAborted = (signal: AbortSignal) => sleep(2 ** 31 - 1, signal)

/** SSE lines every parser must skip (comments, id/retry, unknown fields, blank lines) */
const JUNK = [': keep-alive\n\n', ': OPENROUTER PROCESSING\n\n', 'retry: 3000\n\n', 'x-unknown: junk line\n\n', '\n\n', 'id: 42\n']

interface Exchange {
  rec: Recorded
  signal: AbortSignal
  finished: boolean
  fast: boolean
}

/** a byte stream from an async generator; a client that goes away marks the request aborted */
function bodyStream(gen: AsyncGenerator<Out>, ex: Exchange): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const { value, done } = await gen.next()
        if (ex.signal.aborted) return
        if (done) {
          ex.finished = true
          c.close()
        } else if (value === RESET) {
          ex.finished = true
          c.error(undefined)
        } // undefined: Bun resets without logging
        else c.enqueue(typeof value === 'string' ? te.encode(value) : value)
      },
      async cancel() {
        if (!ex.finished) ex.rec.aborted = true
        await gen.return(undefined)
      },
    },
    { highWaterMark: 0 },
  )
}

function buildReply(b: Extract<Behaviour, { kind: 'text' | 'tool_calls' }>, call: ModelCall, chunks: number): Reply {
  const text = b.text ?? ''
  const calls =
    b.kind === 'tool_calls'
      ? b.calls.map(c => {
          const args = JSON.stringify(c.args ?? {})
          return { id: c.id, name: c.name, args, argChunks: split(args, 3) }
        })
      : []
  const thinking = b.thinking ? split(b.thinking, 2) : []
  const reasoning = b.usage?.reasoning ?? (b.thinking ? tokens(b.thinking.length) : 0)
  const outChars = text.length + calls.reduce((n, c) => n + c.name.length + c.args.length, 0)
  return {
    nonce: randomId(),
    created: Math.floor(Date.now() / 1000),
    model: call.model,
    thinking,
    signature: b.signature,
    text: text ? split(text, b.kind === 'text' ? (b.chunks ?? chunks) : 1) : [],
    calls,
    usage: {
      input: b.usage?.input ?? tokens(call.promptChars),
      output: b.usage?.output ?? tokens(outChars) + reasoning,
      cached: b.usage?.cached ?? 0,
      reasoning,
    },
    finish: calls.length ? 'tool_calls' : b.kind === 'text' && b.finish ? b.finish : 'stop',
  }
}

function* endlessText(): Generator<string> {
  for (let i = 0; ; i++) yield `tick ${i} `
}

async function playModel(b: Behaviour, call: ModelCall, ex: Exchange, chunks: number): Promise<Response> {
  const hdr = call.headers ?? {}
  const streamHeaders = { 'content-type': call.contentType, 'cache-control': 'no-cache', ...hdr }
  const jsonHeaders = { ...hdr, 'content-type': call.jsonType ?? 'application/json' }
  const respond = (gen: AsyncGenerator<Out>, headers: Record<string, string>) => new Response(bodyStream(gen, ex), { headers })
  const frames = (r: Reply) => call.frames(r)
  const jsonText = (r: Reply) => JSON.stringify(call.json(r), null, call.pretty && !ex.fast ? 2 : undefined)

  switch (b.kind) {
    case 'text':
    case 'tool_calls': {
      const r = buildReply(b, call, chunks)
      if (!call.stream) {
        ex.finished = true
        return new Response(jsonText(r), { headers: jsonHeaders })
      }
      return respond(
        (async function* () {
          for (const f of frames(r)) yield f.data
        })(),
        streamHeaders,
      )
    }
    case 'error': {
      const e = call.error(b)
      const headers = { ...hdr, ...e.headers, ...b.headers }
      const body = b.body !== undefined ? b.body : e.body
      if (!(b.inStream && call.stream)) {
        ex.finished = true
        return json(b.status, body, headers)
      }
      const r = buildReply({ kind: 'text', text: 'x' }, call, 1)
      return respond(
        (async function* () {
          for (const f of frames(r)) {
            if (f.content) break
            yield f.data
          }
          yield call.streamError(b)
        })(),
        streamHeaders,
      )
    }
    case 'stall_before_headers':
      await untilAborted(ex.signal)
      return new Response(null, { status: 499 })
    case 'stall_after_headers':
      // Bun sends the headers with the first body byte: send one byte that means nothing (blank line / whitespace)
      return respond(
        (async function* () {
          yield call.stream && call.sse ? '\n' : ' '
          await untilAborted(ex.signal)
        })(),
        call.stream ? streamHeaders : jsonHeaders,
      )
    case 'reset_mid_stream': {
      const r = buildReply(
        { kind: 'text', text: call.echo ? `echo: ${call.echo}` : 'partial answer', chunks: Math.max(chunks, b.afterChunks + 2) },
        call,
        chunks,
      )
      if (!call.stream) {
        const text = jsonText(r)
        return respond(
          (async function* () {
            yield text.slice(0, text.length >> 1)
            await sleep(5, ex.signal)
            yield RESET
          })(),
          jsonHeaders,
        )
      }
      return respond(
        (async function* () {
          let sent = 0
          for (const f of frames(r)) {
            if (f.content && sent++ >= b.afterChunks) break
            yield f.data
          }
          await sleep(5, ex.signal) // let the last frame leave before the reset
          yield RESET
        })(),
        streamHeaders,
      )
    }
    case 'garbage_sse': {
      const r = buildReply({ kind: 'text', text: call.echo ? `echo: ${call.echo}` : 'ok' }, call, chunks)
      if (!call.stream) {
        ex.finished = true
        return new Response(jsonText(r), { headers: jsonHeaders })
      }
      return respond(
        (async function* () {
          let i = 0
          for (const f of frames(r)) {
            yield call.sse ? (JUNK[i++ % JUNK.length] ?? '') : '\n  '
            yield f.data
          }
        })(),
        streamHeaders,
      )
    }
    case 'html_200':
      ex.finished = true
      return new Response(
        '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad ' +
          'Gateway</h1></center><hr><center>cloudflare</center></body></html>\n',
        { headers: { ...hdr, 'content-type': 'text/html; charset=UTF-8' } },
      )
    case 'invalid_json':
      ex.finished = true
      return new Response('{"id": "broken", "choices": [{"index": 0, "message": {"role": "assistant", "content": "unterminated', { headers: jsonHeaders })
    case 'empty_stream':
      ex.finished = true
      return new Response('', { headers: call.stream ? streamHeaders : jsonHeaders })
    case 'endless': {
      const every = b.intervalMs ?? 20
      if (!call.stream)
        return respond(
          (async function* () {
            while (!ex.signal.aborted) {
              yield ' '
              await sleep(every, ex.signal)
            }
          })(),
          jsonHeaders,
        )
      const r = buildReply({ kind: 'text', text: 'x' }, call, 1)
      r.text = endlessText()
      return respond(
        (async function* () {
          for (const f of frames(r)) {
            if (ex.signal.aborted) return
            if (f.content) await sleep(every, ex.signal)
            yield f.data
          }
        })(),
        streamHeaders,
      )
    }
    case 'slow': {
      const words = b.text.match(/\S+\s*|\s+/g) ?? ['']
      const r = buildReply({ kind: 'text', text: b.text, chunks: words.length }, call, chunks)
      r.text = words
      if (!call.stream) {
        await sleep(b.chunkDelayMs * words.length, ex.signal)
        ex.finished = true
        return new Response(jsonText(r), { headers: jsonHeaders })
      }
      return respond(
        (async function* () {
          for (const f of frames(r)) {
            if (f.content) await sleep(b.chunkDelayMs, ex.signal)
            if (ex.signal.aborted) return
            yield f.data
          }
        })(),
        streamHeaders,
      )
    }
  }
}

/** non-generation endpoints: only error and transport behaviours make sense */
async function playOther(b: Behaviour | undefined, err: (b: ErrorBehaviour) => ErrorReply, ok: () => Response, ex: Exchange): Promise<Response> {
  const call: ModelCall = {
    model: '',
    stream: false,
    sse: false,
    contentType: 'application/json',
    echo: '',
    promptChars: 0,
    json: () => ({}),
    frames: () => [],
    error: err,
    streamError: () => '',
  }
  switch (b?.kind) {
    case 'error':
    case 'stall_before_headers':
    case 'stall_after_headers':
    case 'html_200':
    case 'invalid_json':
    case 'empty_stream':
      return playModel(b, call, ex, 1)
    case 'reset_mid_stream': {
      const text = await ok().text()
      return new Response(
        bodyStream(
          (async function* () {
            yield text.slice(0, text.length >> 1)
            await sleep(5, ex.signal)
            yield RESET
          })(),
          ex,
        ),
        { headers: { 'content-type': 'application/json' } },
      )
    }
    default:
      ex.finished = true
      return ok()
  }
}

// ───────────── the server ─────────────

/** Looked up when a fake starts, not at load: the wire modules import this one, so any of them may be loaded first. */
const wireOf = (type: FakeType): Wire =>
  ({ openai: openaiWire, anthropic: anthropicWire, gemini: geminiWire, azure: azureWire, vertex: vertexWire, bedrock: bedrockWire })[type]

/** a 1×1 PNG: what the fake image endpoints answer */
export const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='

/** a multipart body as the fake sees it: text fields as strings, files as `{filename, type, size}`, repeated names as arrays */
async function readForm(req: Request): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const [name, v] of await req.formData()) {
    const value = typeof v === 'string' ? v : { filename: v.name, type: v.type, size: v.size }
    out[name] = name in out ? [out[name], value].flat() : value
  }
  return out
}

async function readBody(req: Request): Promise<{ body: any; raw: string }> {
  if (/^multipart\/form-data/i.test(req.headers.get('content-type') ?? '')) return { body: await readForm(req), raw: '' }
  const raw = await req.text()
  if (!raw) return { body: undefined, raw }
  try {
    return { body: JSON.parse(raw), raw }
  } catch {
    return { body: raw, raw }
  }
}

export async function startFake(type: FakeType, opts: FakeOptions = {}): Promise<Fake> {
  const wire = wireOf(type)
  const fast = !!opts.fast
  const chunks = opts.streamChunks ?? 3
  let queue: Behaviour[] = []
  let fallback: Behaviour | null = null

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: opts.port ?? 0,
    idleTimeout: 0, // stalls must last until the client gives up
    async fetch(req) {
      const url = new URL(req.url)
      const rec: Recorded = {
        method: req.method,
        path: url.pathname,
        query: fast ? {} : Object.fromEntries(url.searchParams),
        headers: fast ? {} : Object.fromEntries(req.headers),
        body: undefined,
        key: wire.keyOf(req, url, opts),
        aborted: false,
      }
      const ex: Exchange = { rec, signal: req.signal, finished: false, fast }
      req.signal.addEventListener(
        'abort',
        () => {
          if (!ex.finished) rec.aborted = true
        },
        { once: true },
      )
      if (!fast) fake.requests.push(rec)
      const read = await readBody(req)
      rec.body = read.body
      if (!fast) rec.raw = read.raw

      if (opts.keys && !(rec.key !== undefined && opts.keys.includes(rec.key))) {
        ex.finished = true
        return errorResponse(wire.authError(rec.key))
      }
      const fromHandler = () => fake.handler?.(rec)
      const ctx: WireCtx = {
        rec,
        url,
        body: rec.body,
        fast,
        opts,
        play: call => {
          const b = fromHandler() ?? queue.shift() ?? fallback ?? { kind: 'text', text: `echo: ${call.echo}` }
          return playModel(b, call, ex, chunks)
        },
        serve: (err, ok) => playOther(fromHandler(), err, ok, ex),
      }
      return wire.handle(ctx)
    },
  })

  const port = server.port!
  const fake: Fake = {
    type,
    port,
    url: `http://127.0.0.1:${port}${wire.base}`,
    requests: [],
    last: () => fake.requests[fake.requests.length - 1],
    enqueue: (...b) => {
      queue.push(...b)
    },
    setDefault: b => {
      fallback = b
    },
    handler: undefined,
    reset: () => {
      fake.requests.length = 0
      queue = []
      fallback = null
      fake.handler = undefined
    },
    stop: async () => {
      await server.stop(true)
    },
  }
  return fake
}
