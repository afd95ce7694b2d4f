/**
 * The benchmark's fake upstream: OpenAI, Anthropic and Gemini wire formats on one port, fixed answers.
 * The bodies and frames are the test fakes' own (test/fakes/fixed.ts renders them with the same wire builders
 * the tests check), built once at start, so the upstream costs as little CPU as possible (it shares 2 cores
 * with the proxy under test and the load generator).
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

import { type FixedStream, fixedAnswers } from '../test/fakes/fixed'

export { answerChunks } from '../test/fakes/fixed'

export interface UpstreamOptions {
  port?: number
  chunks?: number
  pacedMs?: number
  holdMs?: number
  hostname?: string
}

const JSON_HEADERS = { 'content-type': 'application/json' }
const GEMINI_JSON_HEADERS = { 'content-type': 'application/json; charset=UTF-8' }

export function startUpstream(opts: UpstreamOptions = {}) {
  const chunks = Math.max(1, opts.chunks ?? 20)
  const pacedMs = opts.pacedMs ?? 2
  const holdMs = opts.holdMs ?? 4000
  const b = fixedAnswers(chunks)

  const stream = (s: FixedStream, mode: 'fast' | 'paced' | 'hold', signal: AbortSignal) => {
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
        return wantsStream(body) ? stream(b.openai.stream, modeOf(body), req.signal) : new Response(b.openai.json, { headers: JSON_HEADERS })
      }
      if (path.endsWith('/messages')) {
        return wantsStream(body) ? stream(b.anthropic.stream, modeOf(body), req.signal) : new Response(b.anthropic.json, { headers: JSON_HEADERS })
      }
      const colon = path.lastIndexOf(':')
      if (path.includes('/models/') && colon > 0) {
        const action = path.slice(colon + 1)
        if (action === 'generateContent') return new Response(b.geminiSse.json, { headers: GEMINI_JSON_HEADERS })
        if (action === 'streamGenerateContent')
          return stream((q > 0 && url.includes('alt=sse', q) ? b.geminiSse : b.geminiArray).stream, modeOf(path), req.signal)
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
