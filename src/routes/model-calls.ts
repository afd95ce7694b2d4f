/**
 * The model-call routes: read and validate the JSON (or multipart) body (schemas compiled once), find the model,
 * hand over to the dispatcher. Bodies are read here, not by Elysia (`parse: 'none'`), so that limits,
 * slow senders and bad JSON get errors in the caller's dialect and the raw bytes stay available.
 *
 * A POST to a canonical model-call route comes straight from the front door (`direct`), with the request as it came
 * and the path the front door resolved and authorised: no rebuilt request, no Elysia routing. Elysia keeps the routes
 * for the docs, and serves the model calls the route table does not list (Gemini `provider/model` paths).
 */
import { Elysia, NotFoundError, t } from 'elysia'
import { ENDPOINT_LIST, GEMINI_ACTIONS, type Endpoint, type EndpointId } from '../endpoints'
import { operationDocs } from '../endpoints/docs'
import { readFormBody, readJsonBody, type FormResult } from '../http/body'
import { clientKeyOfRequest, clientSignal, traceOf, type CallContext, type DirectCall } from '../http/front'
import type { ClientKeys } from '../clientkeys'
import { compileValidator } from '../schema/validate'
import { detectDialect, err, renderError } from '../http/errors'
import { isAnswer, type Answer, type Dispatcher } from '../dispatch'
import type { Dialect, IRError } from '../ir/types'
import type { BodyBudget } from '../http/body-budget'
import type { Trace } from '../observe/trace'

/** How the actions read in a 404 for an unknown one: `:generateContent, :streamGenerateContent (add ?alt=sse for SSE) or :countTokens` */
const ACTIONS_TEXT = (() => {
  const names = Object.keys(GEMINI_ACTIONS).map(a => `:${a}${GEMINI_ACTIONS[a]?.streams({}) ? ' (add ?alt=sse for SSE)' : ''}`)
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names.join('')
})()

/** The query of a request URL (no URL parse for the usual URL without one). */
const queryOf = (url: string) => (url.includes('?') ? new URL(url).searchParams : new URLSearchParams())

/** The model-call routes (Elysia's, for the docs and the paths the route table does not list) and the direct entry. */
export interface ModelCalls {
  // biome-ignore lint/suspicious/noExplicitAny: Elysia's type parameters describe the routes; app.ts only mounts them
  routes: Elysia<any, any, any, any, any, any, any>
  direct(call: DirectCall): Promise<Response>
}

/** The dispatcher's answer or error as the HTTP response (the edge: errors are rendered in the caller's dialect). */
export function render(dialect: Dialect, r: Answer | IRError, trace?: Trace): Response {
  if (!isAnswer(r)) {
    trace?.failed(r)
    return renderError(dialect, r)
  }
  // the client went away before an answer: nobody reads this
  if (r.answer === 'gone') return new Response(null, { status: 499 })
  if (trace) {
    trace.provider = r.provider
    trace.routedModel = r.model
  }
  const provider = r.provider
  const model = r.model
  if (r.answer === 'json') return Response.json(r.body, { status: r.status ?? 200, headers: answerHeaders(false, undefined, provider, model) })
  if (r.answer === 'text') return new Response(r.text, { headers: answerHeaders(false, r.contentType, provider, model) })
  return new Response(r.stream as BodyInit, { headers: answerHeaders(true, r.contentType, provider, model) })
}

/** A name as a header value: as it is when it is printable ASCII, else percent-encoded (a model name is the client's
 *  when it names `provider/model`: one a header cannot carry must not cost the answer). */
const headerValue = (s: string) => (/^[\x20-\x7e]*$/.test(s) ? s : encodeURIComponent(s))

/** the answers' headers by kind (stream or not), content type, provider and model, made once: a Response copies a Headers
 *  object natively (≈ 4 µs a call less than reading a plain object's properties); bounded, as a model name may be the client's */
const ANSWER_HEADERS = new Map<string, Headers>()

function answerHeaders(stream: boolean, contentType: string | undefined, provider: string, model: string): Headers {
  const key = `${stream ? 's' : 'w'}${contentType ?? ''}\0${provider}\0${model}`
  let h = ANSWER_HEADERS.get(key)
  if (h) return h
  const init: Record<string, string> = {}
  if (contentType !== undefined) init['content-type'] = contentType
  if (stream) {
    init['cache-control'] = 'no-cache'
    init['x-accel-buffering'] = 'no'
  }
  init['x-agproxy-provider'] = headerValue(provider)
  init['x-agproxy-model'] = headerValue(model)
  if (ANSWER_HEADERS.size >= 1000) ANSWER_HEADERS.clear()
  ANSWER_HEADERS.set(key, (h = new Headers(init)))
  return h
}

/** The model-call routes; `bodies` is the app's budget of request bodies held at once; `clientKeys`: the limits of the
 *  client key a request came with (front door), checked once its model is known. */
export function modelCallRoutes(dispatcher: Dispatcher, maxBodyMb: number, bodyTimeoutS: number, bodies: BodyBudget, clientKeys?: ClientKeys): ModelCalls {
  // compiled on first use of each endpoint: start-up stays fast (cold start of the binary), later calls reuse it
  const validators = new Map<EndpointId, ReturnType<typeof compileValidator>>()
  const validatorFor = (e: Endpoint) => {
    let v = validators.get(e.id)
    if (!v) validators.set(e.id, (v = compileValidator(e.schema())))
    return v
  }
  const limits = { maxBytes: maxBodyMb * 1048576, deadlineMs: bodyTimeoutS * 1000 }

  async function call(endpoint: Endpoint, request: Request, ctx: CallContext, pathModel?: string): Promise<Response> {
    // the body's bytes count against limits.request_bodies_mb from before it is read until the dispatch is over
    // (the raw bytes and the parsed JSON are held until then: pass-through, retries)
    const hold = bodies.hold()
    const trace = ctx.trace
    if (trace) trace.endpoint = endpoint.id
    let done: (() => void) | undefined
    try {
      const body = endpoint.multipart
        ? await readFormBody(request, limits, validatorFor(endpoint), hold)
        : await readJsonBody(request, limits, validatorFor(endpoint), hold)
      if (!body.ok) trace?.failed(body.error)
      // a sender too slow to finish its body gets its connection closed, not kept alive half-read
      if (!body.ok) return renderError(endpoint.dialect, body.error, body.error.status === 408 ? { connection: 'close' } : undefined)
      const model = pathModel ?? (body.value.model as string)
      if (/[\r\n\0]/.test(model))
        return renderError(endpoint.dialect, err('invalid_request', 'model: must not contain control characters.', { param: 'model' }))
      const client = clientKeys && ctx.client
      if (client) {
        trace?.asked(model)
        const refused = await clientKeys.admit(client, model)
        if (refused) {
          trace?.failed(refused)
          return renderError(endpoint.dialect, refused)
        }
        // counted when the request is over (a stream: at its end); without a trace, when the dispatch is
        if (trace) trace.onEnd = rec => void clientKeys.finished(client, rec)
        else done = () => void clientKeys.finished(client, {})
      }
      return render(
        endpoint.dialect,
        await dispatcher.dispatch({
          endpoint,
          body: body.value,
          bytes: body.bytes,
          parts: endpoint.multipart ? (body as Extract<FormResult, { ok: true }>).parts : undefined,
          model,
          request,
          signal: ctx.signal,
          query: ctx.query,
          trace,
        }),
        trace,
      )
    } finally {
      hold.release()
      done?.()
    }
  }

  const route = (e: Endpoint) => ({
    parse: 'none' as const,
    detail: operationDocs(e, { tags: [e.tag], summary: e.summary }),
  })

  /** The context of a request Elysia routed (the front door rebuilt it and kept its signal, trace and client key beside it). */
  const routed = (request: Request): CallContext => ({
    query: queryOf(request.url),
    signal: clientSignal(request),
    trace: traceOf(request),
    client: clientKeyOfRequest(request),
  })

  /** `gemini-2.5-pro:generateContent` (`target` already percent-decoded, as Elysia's params are) → the Gemini endpoint;
   *  an unknown action is a 404 naming the ones that exist */
  const gemini = (target: string, request: Request) => {
    const colon = target.lastIndexOf(':')
    const action = colon > 0 ? target.slice(colon + 1) : ''
    const endpoint = GEMINI_ACTIONS[action]
    if (colon <= 0) {
      // no action: `models/{model}` itself, which is GET-only (model lookup)
      const url = new URL(request.url)
      return renderError(
        detectDialect(url.pathname, request.headers, url.searchParams),
        err('method_not_allowed', `${request.method} is not allowed on ${url.pathname.slice(0, 200)}; use GET.`),
        { allow: 'GET' },
      )
    }
    if (!endpoint) return renderError('gemini', err('not_found', `"${target}" names no model action. Use models/{model}${ACTIONS_TEXT}.`))
    return call(endpoint, request, routed(request), target.slice(0, colon))
  }

  /** A POST to a canonical model-call route, from the front door: the model of a Gemini action path is its last
   *  segment up to the action, percent-decoded once. */
  const direct = (d: DirectCall): Promise<Response> => {
    const e = d.endpoint
    if ('paths' in e.route) return call(e, d.request, d)
    const segment = d.path.slice(d.path.lastIndexOf('/') + 1)
    const raw = segment.slice(0, segment.lastIndexOf(':'))
    let model: string
    try {
      model = decodeURIComponent(raw)
    } catch {
      if (d.trace) d.trace.endpoint = e.id
      const bad = err('invalid_request', `The model name "${raw.slice(0, 100)}" in the path is not valid percent-encoding: encode it with encodeURIComponent.`)
      d.trace?.failed(bad)
      return Promise.resolve(renderError(e.dialect, bad))
    }
    return call(e, d.request, d, model)
  }

  /** only a configured provider may stand before the slash; anything else is an unknown path (diagnostic 404) */
  const providerModel = (provider: string, model: string) => {
    if (!dispatcher.providers.has(provider)) throw new NotFoundError()
    return `${provider}/${model}`
  }

  const hidden = { parse: 'none' as const, detail: { hide: true } }
  // the Elysia routes are built when the app first mounts them (after listen: a model call goes through `direct`)
  const build = () => {
    const app = new Elysia({ name: 'model-calls' })
    // the endpoints whose model is in the body: one route per path
    for (const e of ENDPOINT_LIST) {
      if ('paths' in e.route) for (const path of e.route.paths) app.post(path, ({ request }) => call(e, request, routed(request)), route(e))
    }
    const routes = app
      // Gemini's `{model}:action` paths cannot be expressed in the router: one route per prefix, documented in docs.ts
      .post('/v1beta/models/:model', ({ params, request }) => gemini(params.model, request), { ...hidden, params: t.Object({ model: t.String() }) })
      .post('/v1/models/:id', ({ params, request }) => gemini(params.id, request), { ...hidden, params: t.Object({ id: t.String() }) })
      // `provider/model` names, as the Google SDK sends them (unencoded): /v1beta/models/oa/gpt-4o:generateContent
      // (parameter names must match the GET routes at the same position: the router is shared)
      .post('/v1beta/models/:model/:name', ({ params, request }) => gemini(providerModel(params.model, params.name), request), {
        ...hidden,
        params: t.Object({ model: t.String(), name: t.String() }),
      })
      .post('/v1/models/:id/:name', ({ params, request }) => gemini(providerModel(params.id, params.name), request), {
        ...hidden,
        params: t.Object({ id: t.String(), name: t.String() }),
      })
    return routes
  }
  let routes: ReturnType<typeof build> | undefined
  return {
    get routes() {
      return (routes ??= build())
    },
    direct,
  }
}
