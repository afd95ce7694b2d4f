/**
 * Model listings in the three shapes. /v1/models answers OpenAI by default, Anthropic when the
 * request carries anthropic-version, Google when it carries a Google key (the @google/genai SDK
 * defaults to API v1, so its models.list() lands here).
 */
import { Elysia, t, type TSchema } from 'elysia'
import { errorResponse, jsonResponse, Int } from '../endpoints/docs'
import type { ModelRouter } from '../routing/models'
import { detectDialect, err, renderError } from '../http/errors'
import { GEMINI_ACTIONS } from '../endpoints'

/** the Gemini actions agproxy serves (the endpoint descriptors') */
const ACTIONS = Object.keys(GEMINI_ACTIONS)
/** what a listed model advertises: the embedding actions are left out (a listed model is not known to be an embedding model) */
const GENERATION_ACTIONS = ACTIONS.filter(a => !GEMINI_ACTIONS[a]?.id.includes('embed'))

type Shape = 'openai' | 'anthropic' | 'gemini'
const shapeOf = (headers: Headers, url: string): Shape =>
  headers.has('anthropic-version') ? 'anthropic' : headers.has('x-goog-api-key') || new URL(url).searchParams.has('key') ? 'gemini' : 'openai'

const CREATED = 1_735_689_600 // 2025-01-01, a stable "created" for listed aliases

const openaiModel = (id: string, owner: string) => ({ id, object: 'model', created: CREATED, owned_by: owner })
const anthropicModel = (id: string) => ({ type: 'model', id, display_name: id, created_at: new Date(CREATED * 1000).toISOString() })
const googleModel = (id: string) => ({
  name: `models/${id}`,
  version: '001',
  displayName: id,
  description: `${id} via agproxy`,
  inputTokenLimit: 1_048_576,
  outputTokenLimit: 65_536,
  supportedGenerationMethods: GENERATION_ACTIONS,
})

function listBody(shape: Shape, router: ModelRouter) {
  const models = router.list()
  switch (shape) {
    case 'openai':
      return { object: 'list', data: models.map(m => openaiModel(m.id, m.provider)) }
    case 'anthropic':
      return { data: models.map(m => anthropicModel(m.id)), has_more: false, first_id: models[0]?.id ?? null, last_id: models.at(-1)?.id ?? null }
    // Google clients put the model in the URL path (models/{model}:generateContent), where a `provider/model`
    // name is two segments that no route takes: list only the names they can call
    case 'gemini':
      return { models: models.filter(m => !m.id.includes('/')).map(m => googleModel(m.id)) }
  }
}

/** `GET /v1beta/models/{model}:generateContent` lands on the model-get route: it is a POST-only Gemini action */
const GEMINI_ACTION = new RegExp(`:(${ACTIONS.join('|')})$`)
const actionNeedsPost = (request: Request) => {
  const url = new URL(request.url)
  return renderError(
    detectDialect(url.pathname, request.headers, url.searchParams),
    err('method_not_allowed', `${request.method} is not allowed on ${url.pathname.slice(0, 200)}; use POST.`),
    { allow: 'POST' },
  )
}

function getBody(shape: Shape, router: ModelRouter, id: string): Response | object {
  const bare = id.replace(/^models\//, '')
  const r = router.resolve(bare)
  if (!r.ok) return renderError(shape, err('not_found', r.message, { param: 'model', code: 'model_not_found' }))
  switch (shape) {
    case 'openai':
      return openaiModel(bare, r.route.target.provider)
    case 'anthropic':
      return anthropicModel(bare)
    case 'gemini':
      return googleModel(bare)
  }
}

const OpenAIModel = t.Object({ id: t.String(), object: t.Literal('model'), created: Int(), owned_by: t.String({ description: 'the provider' }) })
const AnthropicModel = t.Object({ type: t.Literal('model'), id: t.String(), display_name: t.String(), created_at: t.String() })
const GoogleModel = t.Object({ name: t.String({ description: 'models/{id}' }), displayName: t.String(), supportedGenerationMethods: t.Array(t.String()) })
const GoogleList = t.Object({ models: t.Array(GoogleModel) })
const AnyList = t.Union([
  t.Object({ object: t.Literal('list'), data: t.Array(OpenAIModel) }),
  t.Object({ data: t.Array(AnthropicModel), has_more: t.Boolean(), first_id: t.Union([t.String(), t.Null()]), last_id: t.Union([t.String(), t.Null()]) }),
  GoogleList,
])

/** The docs of a model-list route: its answer (`schema`) and errors in the shape asked for. */
const listDocs = (tag: 'OpenAI' | 'Gemini', summary: string, description: string, schema: TSchema) => ({
  tags: [tag],
  summary,
  description,
  responses: { 200: jsonResponse('The models', schema), default: errorResponse(tag === 'OpenAI' ? 'openai' : 'gemini') },
})

const SHAPES = 'OpenAI shape by default; Anthropic shape with an `anthropic-version` header; Google shape with `x-goog-api-key` or `?key=`.'

export const modelRoutes = (router: ModelRouter) =>
  new Elysia({ name: 'models' })
    .get('/v1/models', ({ request }) => listBody(shapeOf(request.headers, request.url), router), {
      detail: listDocs(
        'OpenAI',
        'List models (OpenAI shape; Anthropic with anthropic-version, Google with a Google key)',
        `Every name a client can pick: \`models:\` aliases, the models providers list, and \`provider/model\`. ${SHAPES}`,
        AnyList,
      ),
    })
    .get(
      '/v1/models/:id',
      ({ request, params }) => (GEMINI_ACTION.test(params.id) ? actionNeedsPost(request) : getBody(shapeOf(request.headers, request.url), router, params.id)),
      {
        params: t.Object({ id: t.String() }),
        detail: listDocs(
          'OpenAI',
          'Retrieve a model',
          `One model, if agproxy routes it (404 model_not_found otherwise). ${SHAPES}`,
          t.Union([OpenAIModel, AnthropicModel, GoogleModel]),
        ),
      },
    )
    .get('/v1beta/models', () => listBody('gemini', router), {
      detail: listDocs('Gemini', 'List models (Google shape)', 'The names a Google client can put in its path (no provider/model names).', GoogleList),
    })
    .get(
      '/v1beta/models/:model',
      ({ request, params }) => (GEMINI_ACTION.test(params.model) ? actionNeedsPost(request) : getBody('gemini', router, params.model)),
      {
        params: t.Object({ model: t.String() }),
        detail: listDocs('Gemini', 'Get a model (Google shape)', 'One model, if agproxy routes it (404 otherwise).', GoogleModel),
      },
    )
