/** System routes: health, the index, and the sinks Claude Code probes. */
import { Elysia, t } from 'elysia'
import { clientFamilies, originFor } from '../http/clients'
import { VERSION } from '../version'

const Health = t.Object({
  status: t.Union([t.Literal('ok'), t.Literal('degraded')]),
  version: t.String(),
  reasons: t.Optional(t.Array(t.String(), { description: 'why it is degraded (it still serves)' })),
})

/** `degraded`: the app's reasons by source (AppState.degraded); still 200 — agproxy serves on. */
export const systemRoutes = (listenOrigin: () => string, degraded: Map<string, string> = new Map()) => {
  const noContent = () => new Response(null, { status: 204 })
  const health = () =>
    degraded.size
      ? { status: 'degraded' as const, version: VERSION, reasons: [...degraded].map(([source, why]) => `${source}: ${why}`) }
      : { status: 'ok' as const, version: VERSION }
  return new Elysia({ name: 'system' })
    .get('/healthz', health, { response: Health, detail: { tags: ['System'], summary: 'Health check (`degraded` with reasons when a part is failing)' } })
    .get('/health', health, { response: Health, detail: { tags: ['System'], summary: 'Health check (alias)' } })
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
      { detail: { tags: ['System'], summary: 'Index: version and the base URL to set per client' } },
    )
    .head('/', () => new Response(null, { status: 200, headers: { 'content-type': 'application/json' } }), {
      detail: { tags: ['System'], summary: 'Index (HEAD)' },
    })
    .post('/api/event_logging/batch', noContent, { parse: 'none', detail: { tags: ['System'], summary: 'Claude Code telemetry sink (204)' } })
    .post('/api/event_logging/v2/batch', noContent, { parse: 'none', detail: { tags: ['System'], summary: 'Claude Code telemetry sink (204)' } })
    .post('/v1/api/event_logging/batch', noContent, { parse: 'none', detail: { tags: ['System'], summary: 'Claude Code telemetry sink (204)' } })
    .head('/api/hello', noContent, { detail: { tags: ['System'], summary: 'Connectivity probe (204)' } })
}
