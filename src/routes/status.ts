/**
 * GET /agproxy/keys: the key pools of the running instance (what `agproxy keys` prints). Raw keys never
 * appear: each key is its configured name or masked form. Behind auth whenever auth is on (the front
 * door checks it: the path is not public); with auth off, answered only to loopback peers (statusGate).
 */
import { Elysia, t, type TSchema } from 'elysia'
import { jsonResponse, Int } from '../endpoints/docs'
import type { Server } from 'bun'
import type { Config } from '../config/schema'
import { effectiveAuthMode } from '../config/load'
import type { Dispatcher } from '../dispatch'
import type { KeyState } from '../providers/pool'
import { err, renderError } from '../http/errors'
import { isLoopbackAddress } from '../http/guards'
import type { Dialect } from '../ir/types'

export const KEYS_PATH = '/agproxy/keys'

export interface KeysStatus {
  now: number
  providers: Array<{
    name: string
    type: string
    strategy: string
    keys: KeyState[]
  }>
}

export function keysStatus(dispatcher: Dispatcher): KeysStatus {
  return {
    now: Date.now(),
    providers: [...dispatcher.providers.values()].map(p => {
      const json = p.pool.toJSON()
      return {
        name: p.name,
        type: p.type,
        strategy: json.strategy,
        keys: json.keys,
      }
    }),
  }
}

/**
 * With auth off, the status route answers loopback peers only. Undefined = let it through. The front door calls
 * this with the path it resolved (the one Elysia will route), after auth.
 */
export function statusGate(path: string, req: Request, server: Server<unknown> | null | undefined, config: Config, dialect: Dialect): Response | undefined {
  // Elysia matches a trailing slash too
  if (!path.startsWith(KEYS_PATH) || path.replace(/\/+$/, '') !== KEYS_PATH) return undefined
  if (effectiveAuthMode(config) !== 'off') return undefined // with auth on, the front door requires a key
  if (!server) return undefined // in-process (tests): no network peer
  const addr = server.requestIP(req)?.address
  if (addr && isLoopbackAddress(addr)) return undefined
  return renderError(
    dialect,
    err(
      'permission',
      `${KEYS_PATH} is answered only on this machine while auth is off; turn auth on (auth_mode, api_keys) to query it from ${addr ?? 'elsewhere'}.`,
    ),
  )
}

const KeysStatusSchema: TSchema = t.Object({
  now: Int({ description: 'ms since the epoch' }),
  providers: t.Array(
    t.Object({
      name: t.String(),
      type: t.String(),
      strategy: t.String(),
      keys: t.Array(
        t.Object(
          { name: t.String(), masked: t.String(), status: t.String({ description: 'active | cooling | disabled' }), uses: Int(), failures: Int() },
          { additionalProperties: true },
        ),
      ),
    }),
  ),
})

export const statusRoutes = (dispatcher: Dispatcher) =>
  new Elysia({ name: 'status' }).get(KEYS_PATH, () => keysStatus(dispatcher), {
    detail: {
      tags: ['System'],
      summary: 'Key pool state per provider (names or masked keys only)',
      description: 'What `agproxy keys` prints: each key by name or masked form, its status, uses, failures and cooldowns. Loopback only while auth is off.',
      responses: { 200: jsonResponse('The key pools', KeysStatusSchema) },
    },
  })
