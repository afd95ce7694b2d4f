/**
 * A model call, after the front door: the endpoint, the validated body, the model asked for.
 * The dispatcher routes it to a provider and answers in the caller's dialect.
 */
import type { Endpoint } from '../routes/endpoints'
import type { Config } from '../config/schema'
import type { Logger } from '../log'
import { createModelRouter, type ModelRouter } from '../routing/models'
import { err, renderError } from '../http/errors'

export interface ModelCall {
  endpoint: Endpoint
  body: Record<string, unknown>
  bytes: Uint8Array
  /** the model the client asked for (body.model, or the Gemini URL path) */
  model: string
  request: Request
  query: URLSearchParams
}

export interface Dispatcher {
  router: ModelRouter
  dispatch(call: ModelCall): Promise<Response>
}

export function createDispatcher(config: Config, log: Logger): Dispatcher {
  const router = createModelRouter(config, config.providers)
  return {
    router,
    async dispatch(call) {
      const routed = router.resolve(call.model)
      if (!routed.ok) {
        const kind = config.providers.length === 0 ? 'unavailable' : 'not_found'
        return renderError(call.endpoint.dialect, err(kind, routed.message, { param: 'model', code: kind === 'not_found' ? 'model_not_found' : undefined }))
      }
      log.debug(`route ${call.model} → ${routed.route.target.provider}/${routed.route.target.model}`)
      return renderError(call.endpoint.dialect, err('unavailable', `provider ${routed.route.target.provider} is not available yet`))
    },
  }
}
