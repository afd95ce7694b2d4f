/**
 * SIGHUP reloads the configuration of a running agproxy: new providers, models and keys apply to new requests
 * (disabled keys come back), and a broken file leaves the running configuration in place.
 */
import { test, expect } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFake } from './fakes/upstream'

test.skipIf(process.platform === 'win32')('SIGHUP: a new provider applies to the next request; a broken file is refused', async () => {
  const a = await startFake('openai')
  const b = await startFake('anthropic')
  const dir = mkdtempSync(join(tmpdir(), 'agproxy-reload-'))
  const cfg = join(dir, 'agproxy.yaml')
  writeFileSync(cfg, `providers:\n  - { name: first, type: openai, base_url: "${a.url}" }\n`)
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, '..', 'src', 'index.ts'), '--port', '0', '--config', cfg],
    { env: { ...process.env, HOME: dir, GEMINI_API_KEY: '', OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' }, stdout: 'pipe', stderr: 'pipe', cwd: dir })
  const errText: string[] = []
  void (async () => { for await (const c of proc.stderr) errText.push(new TextDecoder().decode(c)) })()
  try {
    const reader = proc.stdout.getReader()
    let banner = ''
    while (!/listening on http:\/\/[^\s]+:(\d+)/.test(banner)) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`agproxy did not start: ${banner}`)
      banner += new TextDecoder().decode(value)
    }
    const port = banner.match(/listening on http:\/\/[^\s]+:(\d+)/)![1]
    const ask = async () => {
      const r = await fetch(`http://localhost:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) })
      await r.text()
      return r.headers.get('x-agproxy-provider')
    }
    expect(await ask()).toBe('first')

    writeFileSync(cfg, `providers:\n  - { name: second, type: anthropic, base_url: "${b.url}" }\n`)
    proc.kill('SIGHUP')
    let now: string | null = null
    for (let i = 0; i < 50 && now !== 'second'; i++) { await Bun.sleep(50); now = await ask() }
    expect(now).toBe('second')
    expect(b.last()!.path).toBe('/v1/messages')

    writeFileSync(cfg, `auth_mode: strcit\n`)
    proc.kill('SIGHUP')
    for (let i = 0; i < 50 && !errText.join('').includes('not reloaded'); i++) await Bun.sleep(50)
    expect(errText.join('')).toMatch(/SIGHUP: the configuration was not reloaded.*auth_mode: expected one of/)
    expect(await ask()).toBe('second')
  } finally {
    proc.kill()
    await proc.exited
    await a.stop(); await b.stop()
  }
}, 30_000)
