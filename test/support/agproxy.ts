/**
 * Start a real agproxy on a free loopback port for a test. Config is built the same way the CLI
 * builds it (defaults + the given settings, validated), with quiet logs unless AGPROXY_TEST_LOG=1.
 */
import { buildConfig } from '../../src/config/load'
import { listen, type Listening } from '../../src/server'
import { createLogger, silentLogger, type Logger } from '../../src/log'

export interface TestServer extends Listening {
  /** lines logged by this instance */
  logs: string[]
}

export async function startAgproxy(settings: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}): Promise<TestServer> {
  const config = buildConfig({ port: 0, ...settings }, {}, env, 'test-config')
  const logs: string[] = []
  const log: Logger = createLogger(
    'debug',
    l => {
      logs.push(l)
      if (process.env.AGPROXY_TEST_LOG) console.error(l)
    },
    config.log_format,
  )
  // env also feeds zero-config (provider key variables): tests never see the developer's real keys
  const running = listen(config, { log: process.env.AGPROXY_TEST_LOG === '0' ? silentLogger : log, env })
  return Object.assign(running, { logs, url: `http://localhost:${running.port}` })
}
