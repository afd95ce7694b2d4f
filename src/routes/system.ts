/** System routes: health, the index, and the sinks Claude Code probes. */
import { Elysia, t } from 'elysia'
import { clientFamilies, originFor } from '../http/clients'
import { VERSION } from '../version'
import { jsonResponse } from '../endpoints/docs'

const Health = t.Object({
  status: t.Union([t.Literal('ok'), t.Literal('degraded')]),
  version: t.String(),
  reasons: t.Optional(t.Array(t.String(), { description: 'why it is degraded (it still serves)' })),
})

const Index = t.Object({
  name: t.Literal('agproxy'),
  version: t.String(),
  docs: t.String({ description: 'this reference' }),
  clients: t.Array(t.Object({ dialect: t.String(), clients: t.String(), setting: t.String(), base_url: t.String() })),
})

/** An OpenAPI answer with no body (the sinks and probes). */
const NO_CONTENT = { 204: { description: 'No content' } }

/** The telemetry sinks' docs. */
const SINK = {
  tags: ['System'],
  summary: 'Claude Code telemetry sink (204)',
  description: 'Claude Code posts its telemetry here when ANTHROPIC_BASE_URL points at agproxy; it is discarded unread.',
  responses: NO_CONTENT,
}

/** The health answer: `ok`, or `degraded` with the app's reasons by source (AppState.degraded). */
const healthOf = (degraded: Map<string, string>) =>
  degraded.size
    ? { status: 'degraded' as const, version: VERSION, reasons: [...degraded].map(([source, why]) => `${source}: ${why}`) }
    : { status: 'ok' as const, version: VERSION }

/** The health answer as the front door sends it (the same body as the Elysia route's, which documents it). */
export const healthResponse = (degraded: Map<string, string>) => Response.json(healthOf(degraded))

/** `degraded`: the app's reasons by source (AppState.degraded); still 200 — agproxy serves on. */
export const systemRoutes = (listenOrigin: () => string, degraded: Map<string, string> = new Map()) => {
  const noContent = () => new Response(null, { status: 204 })
  const health = () => healthOf(degraded)
  // the answer's schema is documented, not given to Elysia as `response`: it would compile a checker of this answer at the
  // first probe (the start's first request) and run it on every probe
  const answer = { 200: jsonResponse('Healthy, or degraded with the reasons', Health) }
  return new Elysia({ name: 'system' })
    .get('/healthz', health, {
      detail: {
        tags: ['System'],
        summary: 'Health check (`degraded` with reasons when a part is failing)',
        description: 'Always 200 while agproxy serves; `degraded` lists what is failing. Needs no key unless auth_mode is strict.',
        responses: answer,
      },
    })
    .get('/health', health, {
      detail: { tags: ['System'], summary: 'Health check (alias)', description: 'The same as /healthz, for probes that expect this path.', responses: answer },
    })
    .get(
      '/',
      ({ request }) => {
        const origin = originFor(request.headers.get('host'), listenOrigin())
        return {
          name: 'agproxy',
          version: VERSION,
          docs: `${origin}/swagger`,
          clients: clientFamilies(origin).map(f => ({ dialect: f.dialect, clients: f.clients, setting: f.setting, base_url: f.baseUrl })),
        }
      },
      {
        detail: {
          tags: ['System'],
          summary: 'Index: version and the base URL to set per client',
          description: 'What each client family sets to reach this agproxy, with the address the caller used.',
          responses: { 200: jsonResponse('The index', Index) },
        },
      },
    )
    .head('/', () => new Response(null, { status: 200, headers: { 'content-type': 'application/json' } }), {
      detail: {
        tags: ['System'],
        summary: 'Index (HEAD)',
        description: 'A reachability check: 200 with no body.',
        responses: { 200: { description: 'agproxy is here' } },
      },
    })
    .post('/api/event_logging/batch', noContent, { parse: 'none', detail: SINK })
    .post('/api/event_logging/v2/batch', noContent, { parse: 'none', detail: SINK })
    .post('/v1/api/event_logging/batch', noContent, { parse: 'none', detail: SINK })
    .head('/api/hello', noContent, {
      detail: {
        tags: ['System'],
        summary: 'Connectivity probe (204)',
        description: 'Claude Code probes this before it starts; agproxy answers so it does not wait.',
        responses: NO_CONTENT,
      },
    })
}
