/**
 * Bun's fetch() keeps at most 256 requests in flight per process unless BUN_CONFIG_MAX_HTTP_REQUESTS is set
 * at start; the agproxy command sets it for itself (src/index.ts), so more streams than that reach the
 * upstream at once instead of queueing.
 */
import { test, expect } from 'bun:test'
import { request } from 'node:http'
import { configFile, startCli } from './support/cli'

const STREAMS = 300

test(`${STREAMS} concurrent streams are all open at the upstream at once (not capped at 256)`, async () => {
  let open = 0
  let peak = 0
  const release = Promise.withResolvers<void>()
  const upstream = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch() {
      open++
      peak = Math.max(peak, open)
      if (open >= STREAMS) release.resolve()
      await Promise.race([release.promise, Bun.sleep(4000)])
      open--
      const chunk = (o: object) => `data: ${JSON.stringify(o)}\n\n`
      const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm' }
      return new Response(
        chunk({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }] }) +
          chunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
          'data: [DONE]\n\n',
        { headers: { 'content-type': 'text/event-stream' } },
      )
    },
  })
  const cfg = configFile(`log_level: warn\nproviders:\n  - { name: up, type: openai, base_url: "http://127.0.0.1:${upstream.port}/v1" }\n`)
  // cleanEnv has no BUN_CONFIG_MAX_HTTP_REQUESTS: the command must raise the cap itself
  const agproxy = await startCli(['--port', '0', '--config', cfg])
  try {
    const port = new URL(agproxy.url).port
    // the client side uses node:http: the test runner's own fetch() is capped at 256 in flight
    const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] })
    const answers = await Promise.all(
      Array.from(
        { length: STREAMS },
        () =>
          new Promise<string>((resolve, reject) => {
            const req = request(
              {
                host: '127.0.0.1',
                port: Number(port),
                path: '/v1/chat/completions',
                method: 'POST',
                agent: false,
                headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
              },
              res => {
                let text = ''
                res.on('data', d => {
                  text += d
                })
                res.on('end', () => resolve(text))
              },
            )
            req.on('error', reject)
            req.end(body)
          }),
      ),
    )
    expect(answers.every(a => a.includes('"content":"hi"') && a.includes('[DONE]'))).toBe(true)
    expect(peak).toBe(STREAMS)
  } finally {
    await agproxy.stop()
    upstream.stop(true)
  }
}, 30_000)
