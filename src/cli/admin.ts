/**
 * How the CLI reaches the running instance's admin API: its address (instanceOrigin) and its admin key (admin_key in
 * the configuration, $AGPROXY_ADMIN_KEY, or the key generated into <data_dir>/admin_key), and one GET with clear errors.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/schema'
import { dataDir } from '../config/load'
import { instanceOrigin } from './keys'

export interface CliIo {
  fetch?: typeof fetch
  env?: Record<string, string | undefined>
  timeoutMs?: number
}

/** The admin key to present, if one is known here. */
export function adminKey(c: Config, env: Record<string, string | undefined> = process.env): string | undefined {
  if (c.admin_key) return c.admin_key
  if (env.AGPROXY_ADMIN_KEY) return env.AGPROXY_ADMIN_KEY
  const file = join(dataDir(c, env), 'admin_key')
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined
}

/** GET `path` of the admin API: the response, or the message to print (exit 1). */
export const adminGet = (c: Config, path: string, io: CliIo = {}, timeout = true) => adminCall(c, 'GET', path, undefined, io, timeout)

/** POST `body` (JSON) to `path` of the admin API: the response, or the message to print (exit 1). */
export const adminPost = (c: Config, path: string, body: unknown, io: CliIo = {}) => adminCall(c, 'POST', path, body, io, true)

async function adminCall(c: Config, method: 'GET' | 'POST', path: string, body: unknown, io: CliIo, timeout: boolean): Promise<Response | string> {
  const origin = instanceOrigin(c)
  const key = adminKey(c, io.env)
  if (!key)
    return `agproxy: no admin key found: set admin_key in agproxy.yaml, or AGPROXY_ADMIN_KEY, or run with the data_dir of the running instance (its ${join(dataDir(c, io.env), 'admin_key')}).`
  let res: Response
  try {
    res = await (io.fetch ?? fetch)(origin + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(timeout ? { signal: AbortSignal.timeout(io.timeoutMs ?? 10_000) } : {}),
    })
  } catch (e) {
    return `agproxy: no agproxy answered at ${origin} (${(e as Error).message}). Is it running with this config (port ${c.port})?`
  }
  if (res.ok) return res
  const text = await res.text().catch(() => '')
  let msg = text
  try {
    msg = JSON.parse(text)?.error?.message ?? text
  } catch {
    /* not JSON */
  }
  return `agproxy: ${origin}${path.split('?')[0]} answered ${res.status}${msg ? `: ${msg}` : ''}`
}

/** Rows as an aligned text table (the first row is the header). */
export function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map(r => r[i]?.length ?? 0)))
  return rows
    .map(r =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
