/**
 * Azure OpenAI wire for the fake upstream, after Microsoft's REST reference: the resource endpoint serves
 * `POST /openai/deployments/{deployment}/{chat/completions|completions|embeddings}?api-version=…` and the v1 API
 * `POST /openai/v1/{chat/completions|responses|embeddings}` (the deployment as `model`). Auth is the `api-key` header
 * or an Entra ID `Authorization: Bearer` token. A missing api-version is `404 Resource not found`, an unknown
 * deployment `404 DeploymentNotFound`; the bodies, streams and frames are the OpenAI wire's (reused, not copied).
 */
import { MODELS, openaiWire } from './openai'
import { errorResponse, type ErrorReply, type Wire, type WireCtx } from './upstream'

const headers = () => ({ 'apim-request-id': crypto.randomUUID(), 'x-ms-region': 'Sweden Central', 'x-ms-deployment-name': '' })

const azureError = (status: number, code: string, message: string): ErrorReply => ({ status, headers: headers(), body: { error: { code, message } } })

/** Azure's prompt-filter refusal (400), as the reference shows it: `code: content_filter` and the per-category result. */
export function azureContentFilterError(category = 'violence', severity = 'medium'): ErrorReply {
  const result: Record<string, unknown> = {
    hate: { filtered: false, severity: 'safe' },
    jailbreak: { filtered: false, detected: false },
    self_harm: { filtered: false, severity: 'safe' },
    sexual: { filtered: false, severity: 'safe' },
    violence: { filtered: false, severity: 'safe' },
    [category]: category === 'jailbreak' ? { filtered: true, detected: true } : { filtered: true, severity },
  }
  return {
    status: 400,
    headers: headers(),
    body: {
      error: {
        message:
          "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. " +
          'To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766',
        type: null,
        param: 'prompt',
        code: 'content_filter',
        status: 400,
        innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: result },
      },
    },
  }
}

const NOT_FOUND = () => azureError(404, '404', 'Resource not found')
const NO_DEPLOYMENT = () =>
  azureError(
    404,
    'DeploymentNotFound',
    'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
  )

/** deployment → model: every model of the openai fake is deployed under its own name, plus the fake's `deployments` */
const deploymentsOf = (ctx: WireCtx): Record<string, string> => ({ ...Object.fromEntries(MODELS.map(m => [m, m])), ...ctx.opts.deployments })

/** Serve an Azure call as the openai wire would serve `/v1{op}` for the deployment's model. */
function asOpenAI(ctx: WireCtx, op: string, deployment: string) {
  const model = deploymentsOf(ctx)[deployment]
  if (!model) return errorResponse(NO_DEPLOYMENT())
  const body = ctx.body && typeof ctx.body === 'object' ? { ...ctx.body, model } : ctx.body
  return openaiWire.handle({ ...ctx, rec: { ...ctx.rec, path: `/v1${op}` }, body })
}

export const azureWire: Wire = {
  base: '',
  keyOf: req => req.headers.get('api-key') ?? (req.headers.get('authorization')?.replace(/^Bearer\s+/i, '') || undefined),
  authError: () =>
    azureError(
      401,
      '401',
      'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription ' +
        'and use a correct regional API endpoint for your resource.',
    ),
  handle(ctx: WireCtx) {
    const { rec, url, body } = ctx
    if (rec.method !== 'POST') return errorResponse(NOT_FOUND())
    const classic = rec.path.match(/^\/openai\/deployments\/([^/]+)(\/chat\/completions|\/completions|\/embeddings)$/)
    if (classic) {
      if (!url.searchParams.get('api-version')) return errorResponse(NOT_FOUND())
      return asOpenAI(ctx, classic[2] ?? '', decodeURIComponent(classic[1] ?? ''))
    }
    const v1 = rec.path.match(/^\/openai\/v1(\/chat\/completions|\/responses|\/embeddings)$/)
    if (v1) {
      if (typeof body?.model !== 'string') return errorResponse(azureError(400, 'BadRequest', "Missing required parameter: 'model'."))
      return asOpenAI(ctx, v1[1] ?? '', body.model)
    }
    return errorResponse(NOT_FOUND())
  },
}
