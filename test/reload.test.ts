/**
 * SIGHUP reloads the configuration of a running agproxy: new providers, models and keys apply to new requests
 * (disabled keys come back), and a broken file leaves the running configuration in place.
 */
import { test, expect } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { startFake } from './fakes/upstream'
import { configFile, startCli } from './support/cli'

test.skipIf(process.platform === 'win32')(
  'SIGHUP: a new provider applies to the next request; a broken file is refused',
  async () => {
    const a = await startFake('openai')
    const b = await startFake('anthropic')
    const cfg = configFile(`providers:\n  - { name: first, type: openai, base_url: "${a.url}" }\n`)
    const agproxy = await startCli(['--port', '0', '--config', cfg])
    try {
      const ask = async () => {
        const r = await fetch(`${agproxy.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
        })
        await r.text()
        return r.headers.get('x-agproxy-provider')
      }
      expect(await ask()).toBe('first')

      writeFileSync(cfg, `providers:\n  - { name: second, type: anthropic, base_url: "${b.url}" }\n`)
      agproxy.proc.kill('SIGHUP')
      let now: string | null = null
      for (let i = 0; i < 50 && now !== 'second'; i++) {
        await Bun.sleep(50)
        now = await ask()
      }
      expect(now).toBe('second')
      expect(b.last()!.path).toBe('/v1/messages')

      writeFileSync(cfg, `auth_mode: strcit\n`)
      agproxy.proc.kill('SIGHUP')
      await agproxy.waitFor(/SIGHUP: the configuration was not reloaded.*auth_mode: expected one of/)
      expect(await ask()).toBe('second')
    } finally {
      await agproxy.stop()
      await a.stop()
      await b.stop()
    }
  },
  30_000,
)
