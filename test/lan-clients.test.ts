/**
 * LAN access explained (issue 13 §2): with a wildcard bind the banner and `agproxy clients` list the addresses other
 * machines use, and when the clients' key is the one agproxy generated, the 401 and the client settings name its file.
 */
import { describe, expect, spyOn, test } from 'bun:test'
import * as os from 'node:os'
import type { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { buildConfig } from '../src/config/load'
import { clientsText, lanOrigins } from '../src/http/banner'
import { cleanEnv, configFile, runCli, startCli, tempDir } from './support/cli'

const NETS = {
  lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
  eth0: [
    { address: '192.168.1.20', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '192.168.1.20/24' },
    { address: 'fd00::20', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fd00::20/64', scopeid: 0 },
    { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 4 },
  ],
  wlan0: [{ address: '10.0.0.7', netmask: '255.0.0.0', family: 'IPv4', mac: '02:00:00:00:00:02', internal: false, cidr: '10.0.0.7/8' }],
} as ReturnType<typeof networkInterfaces>

describe('lanOrigins', () => {
  test('0.0.0.0: every non-internal IPv4 address', () => {
    expect(lanOrigins(buildConfig({ allow_lan_access: true }), 8045, NETS)).toEqual(['http://192.168.1.20:8045', 'http://10.0.0.7:8045'])
  })
  test('::: IPv6 too, link-local left out', () => {
    expect(lanOrigins(buildConfig({ host: '::' }), 8045, NETS)).toEqual(['http://192.168.1.20:8045', 'http://[fd00::20]:8045', 'http://10.0.0.7:8045'])
  })
  test('a loopback or single-address bind: none', () => {
    expect(lanOrigins(buildConfig({}), 8045, NETS)).toEqual([])
    expect(lanOrigins(buildConfig({ host: '192.168.1.20' }), 8045, NETS)).toEqual([])
  })
  test('the network interfaces are read only for a wildcard bind (not at every start)', () => {
    const read = spyOn(os, 'networkInterfaces')
    try {
      expect(clientsText(buildConfig({}), 8045)).not.toContain('From other machines')
      expect(read).not.toHaveBeenCalled()
      lanOrigins(buildConfig({ allow_lan_access: true }), 8045)
      expect(read).toHaveBeenCalledTimes(1)
    } finally {
      read.mockRestore()
    }
  })
})

describe('client settings with LAN access', () => {
  const data = tempDir()
  const lan = buildConfig({ allow_lan_access: true, data_dir: data })

  test('name the LAN addresses and the generated key file', () => {
    const text = clientsText(lan, 8045, { nets: NETS })
    expect(text).toContain(
      'From other machines on the network, use http://192.168.1.20:8045 or http://10.0.0.7:8045 in place of http://127.0.0.1:8045 (the same paths).\n',
    )
    expect(text).toContain(
      `\nA key is required (auth_mode all_except_health): send the key agproxy generated for LAN access, kept in ${join(data, 'api_key')}.\n`,
    )
  })

  test('configured api_keys: no key file', () => {
    const text = clientsText(buildConfig({ allow_lan_access: true, api_keys: ['sk-mine'] }), 8045, { nets: NETS })
    expect(text).toContain("\nA key is required (auth_mode all_except_health): send one of api_keys as the client's API key.\n")
    expect(text).not.toContain('sk-mine')
  })

  test('`agproxy clients --allow-lan` prints this machine’s LAN addresses', async () => {
    const r = await runCli(['clients', '--config', configFile(`data_dir: ${data}\n`), '--allow-lan'])
    expect(r.code).toBe(0)
    const mine = lanOrigins(lan, 8045)
    if (mine.length) expect(r.stdout).toContain(`From other machines on the network, use ${mine.join(' or ')} in place of http://127.0.0.1:8045`)
    expect(r.stdout).toContain(`kept in ${join(data, 'api_key')}.`)
  })
})

test('started with --allow-lan and no api_keys: the banner lists the LAN addresses; a keyless or wrong-key client is told the key file (SDKs)', async () => {
  const home = tempDir('agproxy-home-')
  const run = await startCli(['--config', configFile('{}\n'), '--port', '0', '--allow-lan'], cleanEnv({}, home))
  const file = join(home, '.agproxy', 'api_key')
  try {
    const port = Number(new URL(run.url).port)
    const mine = lanOrigins(buildConfig({ allow_lan_access: true }), port)
    if (mine.length) expect(run.stdout).toContain(`From other machines on the network, use ${mine.join(' or ')} in place of http://127.0.0.1:${port}`)
    expect(run.stdout).toContain(`send the key agproxy generated for LAN access, kept in ${file}.`)

    const openai = new OpenAI({ baseURL: `${run.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 })
    const e1 = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch(e => e)
    expect(e1).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(e1.error.message).toBe(
      'The API key is not valid for this agproxy. Send your agproxy key in one of: "Authorization: Bearer <key>", "x-api-key: <key>", "x-goog-api-key: <key>" ' +
        `or "?key=<key>". No api_keys are configured: the key is the one agproxy generated for LAN access, kept in ${file} (or set your own with api_keys ` +
        'in agproxy.yaml, AGPROXY_API_KEYS or --api-key).',
    )
    const anthropic = new Anthropic({ baseURL: run.url, apiKey: 'sk-ant-wrong', maxRetries: 0 })
    const e2 = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch(e => e)
    expect(e2).toBeInstanceOf(Anthropic.AuthenticationError)
    expect(e2.error.error.message).toContain(`kept in ${file} (or set your own`)
  } finally {
    await run.stop()
  }
}, 20_000)
