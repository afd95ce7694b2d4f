/** What several instances share (redis_url): the Redis connection and the key pools' states carried through it. */
import type { Config } from '../config/schema'
import type { Logger } from '../log'
import { SharedKeys } from './keys'
import { SharedRedis } from './redis'

/** The shared Redis of this configuration and its key-state carrier; neither without redis_url. */
export function openShared(config: Pick<Config, 'redis_url'>, log: Logger): { redis?: SharedRedis; sharedKeys?: SharedKeys } {
  if (!config.redis_url) return {}
  const redis = new SharedRedis(config.redis_url, { log })
  return { redis, sharedKeys: new SharedKeys(redis) }
}
