/**
 * The benchmark's fake upstream: OpenAI, Anthropic and Gemini wire formats on one port, fixed answers,
 * every body built once at start so the upstream costs as little CPU as possible (it shares 2 cores with
 * the proxy under test and the load generator).
 *
 *   bun bench/upstream.ts [--port N] [--chunks 20] [--paced-ms 2] [--hold-ms 4000]
 *
 * Prints `listening on http://127.0.0.1:PORT` when ready.
 *
 * The model name picks the stream timing (it is the one thing every proxy passes on, in the body or in the
 * Gemini URL path):
 *   …-paced  the first write carries the opening frames and the first content frame, then one frame every
 *            --paced-ms (so time to first byte is measurable apart from the whole answer)
 *   …-hold   the first write as above, then nothing for --hold-ms, then the rest (open-stream memory test)
 *   other    all frames at once
 *
 * Paths: POST /v1/chat/completions (OpenAI), POST /v1/messages (Anthropic),
 * POST /v1beta/models/{model}:generateContent | :streamGenerateContent[?alt=sse] (Gemini), GET /healthz.
 */

export interface UpstreamOptions {
  port?: number
  chunks?: number
  pacedMs?: number
  holdMs?: number
  hostname?: string
}

const te = new TextEncoder()
const WORDS = 'The quick brown fox jumps over the lazy dog while the gateway relays every token without delay and keeps memory small'.split(' ')

/** the fixed answer, split over `n` chunks */
export function answerChunks(n: number): string[] {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push((i ? ' ' : '') + WORDS[i % WORDS.length])
  return out
}

interface Stream {
  contentType: string
  head: Uint8Array
  rest: Uint8Array[]
}

/** the frames of one answer: `head` = opening frames + first content frame (one write), `rest` = one frame each */
function build(chunks: number) {
  const parts = answerChunks(chunks)
  const text = parts.join('')
  const created = 1_700_000_000
  const usage = { prompt_tokens: 20, completion_tokens: chunks, total_tokens: 20 + chunks }

  // OpenAI chat
  const oaChunk = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-bench0001', object: 'chat.completion.chunk', created, model: 'gpt-bench', system_fingerprint: 'fp_bench', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`
  const openaiJson = te.encode(
    JSON.stringify({
      id: 'chatcmpl-bench0001',
      object: 'chat.completion',
      created,
      model: 'gpt-bench',
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage,
      system_fingerprint: 'fp_bench',
    }),
  )
  const openaiStream: Stream = {
    contentType: 'text/event-stream; charset=utf-8',
    head: te.encode(oaChunk({ role: 'assistant', content: '', refusal: null }) + oaChunk({ content: parts[0] })),
    rest: [...parts.slice(1).map(p => oaChunk({ content: p })), oaChunk({}, 'stop'), 'data: [DONE]\n\n'].map(s => te.encode(s)),
  }

  // Anthropic messages
  const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
  const anthropicJson = te.encode(
    JSON.stringify({
      id: 'msg_01bench',
      type: 'message',
      role: 'assistant',
      model: 'claude-bench',
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: chunks },
    }),
  )
  const anthropicStream: Stream = {
    contentType: 'text/event-stream; charset=utf-8',
    head: te.encode(
      ev('message_start', {
        message: {
          id: 'msg_01bench',
          type: 'message',
          role: 'assistant',
          model: 'claude-bench',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 20, output_tokens: 1 },
        },
      }) +
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
        ev('ping', {}) +
        ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: parts[0] } }),
    ),
    rest: [
      ...parts.slice(1).map(p => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } })),
      ev('content_block_stop', { index: 0 }),
      ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: chunks } }),
      ev('message_stop', {}),
    ].map(s => te.encode(s)),
  }

  // Gemini generateContent
  const gChunk = (t: string, final: boolean) => ({
    candidates: [{ content: { parts: [{ text: t }], role: 'model' }, ...(final ? { finishReason: 'STOP' } : {}), index: 0 }],
    usageMetadata: final ? { promptTokenCount: 20, candidatesTokenCount: chunks, totalTokenCount: 20 + chunks } : { promptTokenCount: 20, totalTokenCount: 20 },
    modelVersion: 'gemini-bench',
    responseId: 'bench0001',
  })
  const geminiJson = te.encode(JSON.stringify(gChunk(text, true)))
  const gFrames = [...parts.map(p => gChunk(p, false)), gChunk('', true)]
  const geminiSse: Stream = {
    contentType: 'text/event-stream',
    head: te.encode(`data: ${JSON.stringify(gFrames[0])}\r\n\r\n`),
    rest: gFrames.slice(1).map(f => te.encode(`data: ${JSON.stringify(f)}\r\n\r\n`)),
  }
  const geminiArray: Stream = {
    contentType: 'application/json; charset=UTF-8',
    head: te.encode(`[${JSON.stringify(gFrames[0])}`),
    rest: [...gFrames.slice(1).map(f => te.encode(`\n,${JSON.stringify(f)}`)), te.encode('\n]')],
  }
  return { openaiJson, openaiStream, anthropicJson, anthropicStream, geminiJson, geminiSse, geminiArray }
}

const JSON_HEADERS = { 'content-type': 'application/json' }

export function startUpstream(opts: UpstreamOptions = {}) {
  const chunks = Math.max(1, opts.chunks ?? 20)
  const pacedMs = opts.pacedMs ?? 2
  const holdMs = opts.holdMs ?? 4000
  const b = build(chunks)

  const stream = (s: Stream, mode: 'fast' | 'paced' | 'hold', signal: AbortSignal) => {
    let body: ReadableStream<Uint8Array>
    if (mode === 'fast') {
      body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(s.head)
          for (const f of s.rest) c.enqueue(f)
          c.close()
        },
      })
    } else {
      let i = -1
      body = new ReadableStream<Uint8Array>(
        {
          async pull(c) {
            if (signal.aborted) return c.close()
            if (i === -1) {
              i = 0
              c.enqueue(s.head)
              return
            }
            if (i >= s.rest.length) return c.close()
            await Bun.sleep(mode === 'hold' && i === 0 ? holdMs : pacedMs)
            if (signal.aborted) return c.close()
            c.enqueue(s.rest[i++]!)
          },
        },
        { highWaterMark: 0 },
      )
    }
    return new Response(body, { headers: { 'content-type': s.contentType, 'cache-control': 'no-cache' } })
  }
  const modeOf = (s: string): 'fast' | 'paced' | 'hold' => (s.includes('-hold') ? 'hold' : s.includes('-paced') ? 'paced' : 'fast')
  const wantsStream = (body: string) => /"stream"\s*:\s*true/.test(body)

  const server = Bun.serve({
    hostname: opts.hostname ?? '127.0.0.1',
    port: opts.port ?? 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = req.url
      const q = url.indexOf('?')
      const path = url.slice(url.indexOf('/', 8), q < 0 ? undefined : q)
      if (req.method === 'GET')
        return new Response(path === '/healthz' || path === '/v1/models' ? '{"status":"ok","object":"list","data":[]}' : '{}', { headers: JSON_HEADERS })
      const body = await req.text()
      if (path.endsWith('/chat/completions')) {
        return wantsStream(body) ? stream(b.openaiStream, modeOf(body), req.signal) : new Response(b.openaiJson, { headers: JSON_HEADERS })
      }
      if (path.endsWith('/messages')) {
        return wantsStream(body) ? stream(b.anthropicStream, modeOf(body), req.signal) : new Response(b.anthropicJson, { headers: JSON_HEADERS })
      }
      const colon = path.lastIndexOf(':')
      if (path.includes('/models/') && colon > 0) {
        const action = path.slice(colon + 1)
        if (action === 'generateContent') return new Response(b.geminiJson, { headers: { 'content-type': 'application/json; charset=UTF-8' } })
        if (action === 'streamGenerateContent') return stream(q > 0 && url.includes('alt=sse', q) ? b.geminiSse : b.geminiArray, modeOf(path), req.signal)
      }
      return new Response(JSON.stringify({ error: { message: `bench upstream: no route for ${req.method} ${path}` } }), { status: 404, headers: JSON_HEADERS })
    },
  })
  return { server, port: server.port!, url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) }
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name)
    return i > 0 ? process.argv[i + 1] : undefined
  }
  const num = (name: string) => (arg(name) === undefined ? undefined : Number(arg(name)))
  const up = startUpstream({ port: num('--port'), chunks: num('--chunks'), pacedMs: num('--paced-ms'), holdMs: num('--hold-ms') })
  console.log(`listening on ${up.url}`)
}
