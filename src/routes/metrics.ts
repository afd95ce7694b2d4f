/**
 * GET /metrics: Prometheus text exposition of the app's metrics (src/observe/metrics.ts), with the gauges read now:
 * key states per provider, open streams, dropped request-log rows, build info. Behind auth unless metrics.public.
 */
import { Elysia } from 'elysia'
import type { Dispatcher } from '../dispatch'
import type { AppState } from '../state'
import type { Metrics, Gauges } from '../observe/metrics'
import { VERSION } from '../version'

export const METRICS_PATH = '/metrics'

/** The gauges of this app, read now. */
export function gaugesOf(dispatcher: Dispatcher, state: AppState): Gauges {
  const keys = [...dispatcher.providers.values()].map(p => {
    const n = { provider: p.name, active: 0, cooling: 0, disabled: 0 }
    for (const k of p.pool.states()) n[k.status]++
    return n
  })
  return { version: VERSION, keys, openStreams: state.streams.size, droppedLogRows: state.dropped.logRows }
}

export const metricsRoutes = (metrics: Metrics, dispatcher: Dispatcher, state: AppState) =>
  new Elysia({ name: 'metrics' }).get(
    METRICS_PATH,
    () => new Response(metrics.render(gaugesOf(dispatcher, state)), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } }),
    {
      detail: {
        tags: ['System'],
        summary: 'Prometheus metrics (text format; behind auth unless metrics.public)',
        description:
          'Prometheus text exposition (format 0.0.4): requests, latency and TTFB histograms, tokens by kind, upstream attempts, retries and failovers, key states per provider, open streams, dropped request-log rows, build info. Behind auth unless `metrics: {public: true}`.',
        responses: { 200: { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' as const } } } } },
      },
    },
  )
