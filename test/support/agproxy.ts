/**
 * Start a real agproxy on a free loopback port for a test. Config is built the same way the CLI
 * builds it (defaults + the given settings, validated), with quiet logs unless AGPROXY_TEST_LOG=1.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildConfig } from '../../src/config/load'
import { listen, type Listening } from '../../src/server'
import { createLogger, silentLogger, type Logger } from '../../src/log'

export interface TestServer extends Listening {
  /** lines logged by this instance */
  logs: string[]
}

export async function startAgproxy(settings: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}): Promise<TestServer> {
  // the request log (on by default) and other state go to a fresh data_dir, never the developer's ~/.agproxy
  const dataDir = settings.data_dir ?? env.AGPROXY_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'agproxy-test-'))
  const config = buildConfig({ port: 0, data_dir: dataDir, ...settings }, {}, env, 'test-config')
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
