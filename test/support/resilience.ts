/**
 * Helpers for the resilience tests: provider configs pointing at fakes, model calls per dialect (raw
 * fetch), reading a whole SSE answer, the key pool state from GET /agproxy/keys, and a TCP "blackhole"
 * (a listening socket that never accepts, with its backlog full, so a connect to it hangs).
 */
import { dlopen, FFIType, ptr } from 'bun:ffi'
import type { Fake, ProviderType } from '../fakes/upstream'
import type { TestServer } from './agproxy'
import type { KeysStatus } from '../../src/routes/status'

export type Dialect = 'openai' | 'anthropic' | 'gemini'

/** base_url for a fake as a user would configure it */
export const baseOf = (f: Fake) => (f.type === 'openai' ? f.url : `http://127.0.0.1:${f.port}`)

export const provider = (
  name: string,
  f: Fake,
  keys: Array<string | { key: string; name?: string; weight?: number }>,
  extra: Record<string, unknown> = {},
) => ({ name, type: f.type, base_url: baseOf(f), api_keys: keys, ...extra })

/** A model call in a dialect: path and body. `prompt` varies the conversation (stickiness hashes it). */
export function callFor(
  dialect: Dialect | 'responses',
  model: string,
  opts: { stream?: boolean; prompt?: string; system?: string; extra?: Record<string, unknown> } = {},
): { path: string; body: Record<string, unknown> } {
  const prompt = opts.prompt ?? 'hi'
  switch (dialect) {
    case 'openai':
      return {
        path: '/v1/chat/completions',
        body: {
          model,
          stream: !!opts.stream,
          messages: [...(opts.system ? [{ role: 'system', content: opts.system }] : []), { role: 'user', content: prompt }],
          ...opts.extra,
        },
      }
    case 'responses':
      return {
        path: '/v1/responses',
        body: { model, stream: !!opts.stream, input: prompt, ...(opts.system ? { instructions: opts.system } : {}), ...opts.extra },
      }
    case 'anthropic':
      return {
        path: '/v1/messages',
        body: {
          model,
          max_tokens: 64,
          stream: !!opts.stream,
          messages: [{ role: 'user', content: prompt }],
          ...(opts.system ? { system: opts.system } : {}),
          ...opts.extra,
        },
      }
    case 'gemini':
      return {
        path: `/v1beta/models/${model}:${opts.stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
        body: {
          contents: [{ role: 'user', parts: [{ text: prompt }] }],
          ...(opts.system ? { systemInstruction: { parts: [{ text: opts.system }] } } : {}),
          ...opts.extra,
        },
      }
  }
}

export async function call(
  srv: TestServer,
  dialect: Dialect | 'responses',
  model: string,
  opts: Parameters<typeof callFor>[2] & { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  const c = callFor(dialect, model, opts)
  return fetch(srv.url + c.path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify(c.body),
    signal: opts.signal,
  })
}

/** The key pool state of a running agproxy. */
export async function keyStates(srv: TestServer, headers: Record<string, string> = {}): Promise<KeysStatus> {
  const r = await fetch(`${srv.url}/agproxy/keys`, { headers })
  if (r.status !== 200) throw new Error(`/agproxy/keys → ${r.status} ${await r.text()}`)
  return r.json() as Promise<KeysStatus>
}

/** One key's state by provider and key name. */
export async function keyState(srv: TestServer, providerName: string, keyName: string) {
  const s = await keyStates(srv)
  const p = s.providers.find(x => x.name === providerName)
  const k = p?.keys.find(x => x.name === keyName)
  if (!k) throw new Error(`no key ${keyName} in provider ${providerName}: ${JSON.stringify(s)}`)
  return { ...k, now: s.now }
}

/** SSE events of a complete body: [{event, data}] (comments dropped). */
export function parseSSE(text: string): Array<{ event?: string; data: string }> {
  const out: Array<{ event?: string; data: string }> = []
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event: string | undefined
    const data: string[] = []
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim()
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
    }
    if (data.length || event) out.push({ event, data: data.join('\n') })
  }
  return out
}

/** Read a stream to its end (or `ms`), returning the text and how long it took. */
export async function readAll(res: Response, ms = 10_000): Promise<string> {
  const reader = res.body!.getReader()
  const dec = new TextDecoder()
  let text = ''
  const until = Date.now() + ms
  while (Date.now() < until) {
    const r = await Promise.race([reader.read(), Bun.sleep(Math.max(1, until - Date.now())).then(() => 'timeout' as const)])
    if (r === 'timeout') {
      reader.cancel().catch(() => {})
      throw new Error(`stream not finished after ${ms} ms; so far: ${text.slice(-500)}`)
    }
    if (r.done) break
    text += dec.decode(r.value, { stream: true })
  }
  return text
}

/** Wait until `cond()` holds (polling), or fail after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await cond()) return
    await Bun.sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** True when the stream text ends in the dialect's well-formed in-stream error. */
export function streamError(dialect: Dialect | 'responses', text: string): string | undefined {
  const events = parseSSE(text)
  const last = [...events].reverse().find(e => e.data && e.data !== '[DONE]')
  if (!last) return undefined
  let j: any
  try {
    j = JSON.parse(last.data)
  } catch {
    return undefined
  }
  switch (dialect) {
    case 'openai':
      return j.error?.message && events.at(-1)?.data === '[DONE]' ? j.error.message : undefined
    case 'responses':
      return last.event === 'response.failed' && j.response?.status === 'failed' ? j.response.error?.message : undefined
    case 'anthropic':
      return last.event === 'error' && j.type === 'error' ? j.error?.message : undefined
    case 'gemini':
      return typeof j.error?.code === 'number' ? j.error.message : undefined
  }
}

/** The type of a fake for a dialect's own provider (pass-through) */
export const SAME: Record<Dialect, ProviderType> = { openai: 'openai', anthropic: 'anthropic', gemini: 'gemini' }

// ───────────── a TCP blackhole ─────────────

export interface Blackhole {
  port: number
  close(): void
}

/** The libc socket calls blackhole() needs, through bun:ffi (throws where libc is not there). */
const openLibc = () =>
  dlopen('libc.so.6', {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    getsockname: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  })

/**
 * A loopback port where TCP connects hang: a socket listening with backlog 0 that never accepts, its
 * one queue slot taken by a connection we hold. Linux drops further SYNs, so connect() waits.
 * Undefined where libc sockets are not reachable through bun:ffi.
 */
export async function blackhole(): Promise<Blackhole | undefined> {
  if (process.platform !== 'linux') return undefined
  let libc: ReturnType<typeof openLibc>
  try {
    libc = openLibc()
  } catch {
    return undefined
  }
  const fd = libc.symbols.socket(2 /* AF_INET */, 1 /* SOCK_STREAM */, 0)
  const addr = new Uint8Array(16)
  addr[0] = 2 // sin_family (little-endian u16)
  addr[4] = 127
  addr[7] = 1 // 127.0.0.1, port 0
  if (fd < 0 || libc.symbols.bind(fd, ptr(addr), 16) !== 0 || libc.symbols.listen(fd, 0) !== 0) return undefined
  const len = new Uint32Array([16])
  libc.symbols.getsockname(fd, ptr(addr), ptr(len))
  const port = (addr[2]! << 8) | addr[3]!
  // fill the accept queue, then check that a further connect hangs
  const held: Array<{ end(): void }> = []
  for (let i = 0; i < 3; i++) {
    const opened = await new Promise<boolean>(resolve => {
      const t = setTimeout(() => resolve(false), 300)
      Bun.connect({
        hostname: '127.0.0.1',
        port,
        socket: {
          open(s) {
            clearTimeout(t)
            held.push(s)
            resolve(true)
          },
          data() {},
          connectError() {
            clearTimeout(t)
            resolve(true)
          },
        },
      }).catch(() => {})
    })
    if (!opened)
      return {
        port,
        close: () => {
          for (const s of held) s.end()
          libc.symbols.close(fd)
        },
      }
  }
  for (const s of held) s.end()
  libc.symbols.close(fd)
  return undefined
}

// ───────────── an OpenAI upstream that breaks after content ─────────────

export interface Resetting {
  url: string
  requests: number
  stop(): void
}

/**
 * An OpenAI-type upstream (chat completions and responses) that streams some content, waits `afterMs`
 * (so the content surely reached agproxy and its client), then drops the connection mid-stream.
 */
export function resettingUpstream(afterMs = 150): Resetting {
  const te = new TextEncoder()
  const sse = (event: string | undefined, data: unknown) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`
  const state = { requests: 0 }
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    fetch(req) {
      state.requests++
      const path = new URL(req.url).pathname
      const frames = path.endsWith('/responses')
        ? [
            sse('response.created', {
              type: 'response.created',
              sequence_number: 0,
              response: { id: 'resp_r', object: 'response', created_at: 1, status: 'in_progress', model: 'm', output: [] },
            }),
            sse('response.output_item.added', {
              type: 'response.output_item.added',
              sequence_number: 1,
              output_index: 0,
              item: { id: 'msg_r', type: 'message', status: 'in_progress', role: 'assistant', content: [] },
            }),
            sse('response.content_part.added', {
              type: 'response.content_part.added',
              sequence_number: 2,
              item_id: 'msg_r',
              output_index: 0,
              content_index: 0,
              part: { type: 'output_text', text: '', annotations: [] },
            }),
            sse('response.output_text.delta', {
              type: 'response.output_text.delta',
              sequence_number: 3,
              item_id: 'msg_r',
              output_index: 0,
              content_index: 0,
              delta: 'partial ',
            }),
          ]
        : [
            sse(undefined, {
              id: 'c1',
              object: 'chat.completion.chunk',
              created: 1,
              model: 'm',
              choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
            }),
            sse(undefined, {
              id: 'c1',
              object: 'chat.completion.chunk',
              created: 1,
              model: 'm',
              choices: [{ index: 0, delta: { content: 'partial ' }, finish_reason: null }],
            }),
          ]
      let timer: Timer | undefined
      return new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            for (const f of frames) c.enqueue(te.encode(f))
            timer = setTimeout(() => c.error(undefined), afterMs)
          },
          cancel() {
            clearTimeout(timer)
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      )
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    get requests() {
      return state.requests
    },
    stop: () => {
      server.stop(true)
    },
  }
}
