/**
 * The routing as it resolves from a configuration and the environment, with no instance running: the provider configs
 * (configured, with keys from the standard variables where they have none, or zero-config from those variables), the
 * model map and the router. The dispatcher, the start-up check and `agproxy models` all read this one.
 */
import type { Config } from '../config/schema'
import { createModelRouter, type ModelRouter } from '../routing/models'
import { providersFromEnv, withEnvKeys, type ProviderSetup } from '../providers/registry'

export interface Routing {
  providers: ProviderSetup[]
  models: Config['models']
  /** no providers configured: these come from the key variables */
  zeroConfig: boolean
  router: ModelRouter
}

/** The providers and the router a configuration gives in this environment. */
export function routingOf(config: Pick<Config, 'providers' | 'models'>, env: Record<string, string | undefined>): Routing {
  const fromEnv = config.providers.length ? undefined : providersFromEnv(env)
  const providers = fromEnv?.providers ?? withEnvKeys(config.providers, env)
  const models = fromEnv ? { ...fromEnv.models, ...config.models } : config.models
  return { providers, models, zeroConfig: !!fromEnv, router: createModelRouter({ models }, providers) }
}

/** `models:` entries that lead to no provider, each as "<label>: models.<name>: why" (empty when all resolve). */
export const routingProblems = (config: Pick<Config, 'providers' | 'models'>, env: Record<string, string | undefined>, label = 'config') =>
  routingOf(config, env)
    .router.problems()
    .map(p => `${label}: ${p}`)
