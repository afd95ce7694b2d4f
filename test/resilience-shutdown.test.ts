/**
 * Graceful shutdown of the real command (`bun src/index.ts --config …`): on SIGTERM/SIGINT agproxy stops
 * accepting connections, lets in-flight requests finish (up to shutdown_grace), then exits 0.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startFake, type Fake } from './fakes/upstream'
import { cleanEnv, configFile, startCli } from './support/cli'
import { callFor, parseSSE } from './support/resilience'

let fake: Fake
beforeAll(async () => {
  fake = await startFake('openai')
})
afterAll(async () => {
  await fake.stop()
})

const yaml = (grace: number) => `port: 0
log_level: info
shutdown_grace: ${grace}
timeouts: { first_token: 5, idle: 5 }
providers:
  - name: up
    type: openai
    base_url: ${fake.url}
    api_keys: [sk-proj-SHUTDOWN00000000000000000001]
`

async function streamOn(url: string) {
  const c = callFor('openai', 'gpt-4o', { stream: true })
  const res = await fetch(url + c.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(c.body) })
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  const dec = new TextDecoder()
  let text = ''
  const first = await reader.read()
  text += dec.decode(first.value!)
  // resolved once the answer has started flowing; `rest` with the whole text at its end
  const rest = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += dec.decode(r.value, { stream: true })
    return text
  })()
  return { rest }
}

test.each(['SIGTERM', 'SIGINT'] as const)(
  '%s: the in-flight stream completes, new connections are refused, exit 0',
  async signal => {
    fake.reset()
    fake.enqueue({ kind: 'slow', text: 'one two three four five six', chunkDelayMs: 150 })
    const run = await startCli(['--config', configFile(yaml(10))], cleanEnv())
    try {
      const { rest: done } = await streamOn(run.url).catch(e => {
        throw new Error(`${(e as Error).message}\n--- agproxy stderr:\n${run.stderr}`)
      })
      const t0 = Date.now()
      run.proc.kill(signal)
      await run.waitFor(/no longer accepting connections/, 3000)
      // the listener is closed: a new request cannot get in
      const late = await fetch(`${run.url}/healthz`).then(
        r => r.status,
        e => `refused (${(e as Error).name})`,
      )
      expect(String(late)).toStartWith('refused')
      const text = await done
      const events = parseSSE(text)
      expect(events.at(-1)!.data).toBe('[DONE]')
      expect(
        events
          .map(e => {
            try {
              return JSON.parse(e.data).choices?.[0]?.delta?.content ?? ''
            } catch {
              return ''
            }
          })
          .join(''),
      ).toBe('one two three four five six')
      expect(text).not.toContain('"error"')
      const code = await run.proc.exited
      expect(code).toBe(0)
      expect(Date.now() - t0).toBeLessThan(3000)
      expect(fake.last()!.aborted).toBe(false)
    } finally {
      run.proc.kill('SIGKILL')
    }
  },
  15_000,
)

test('shutdown_grace bounds the wait: an endless stream is cut after the grace, still exit 0', async () => {
  fake.reset()
  fake.enqueue({ kind: 'endless', intervalMs: 50 })
  const run = await startCli(['--config', configFile(yaml(0.6))], cleanEnv())
  try {
    const { rest } = await streamOn(run.url)
    const done = rest.catch(e => `cut: ${(e as Error).message}`)
    const t0 = Date.now()
    run.proc.kill('SIGTERM')
    const code = await run.proc.exited
    const ms = Date.now() - t0
    expect(code).toBe(0)
    expect(ms).toBeGreaterThanOrEqual(550)
    expect(ms).toBeLessThan(2500)
    await done
  } finally {
    run.proc.kill('SIGKILL')
  }
}, 15_000)

test('idle: SIGTERM exits 0 at once', async () => {
  const run = await startCli(['--config', configFile(yaml(10))], cleanEnv())
  const t0 = Date.now()
  run.proc.kill('SIGTERM')
  expect(await run.proc.exited).toBe(0)
  expect(Date.now() - t0).toBeLessThan(1500)
}, 15_000)
