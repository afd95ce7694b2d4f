/**
 * `agproxy models` and `agproxy models resolve NAME`: the routing table as the router resolves it, computed offline
 * from the configuration (no instance needed), and the short form the start banner prints. Every answer comes from
 * the router itself (resolve, entries, list): nothing here matches names.
 */
import type { Config } from '../config/schema'
import { routingOf, type Routing } from '../dispatch/routing'
import type { ModelRouter } from '../routing/models'
import { keyNoteOf } from '../providers/registry'

/** A name no configuration lists: where it lands is where any unlisted name lands (a catch-all glob, the only provider, or an error). */
const UNLISTED = 'some-model-not-listed-anywhere'

const routeText = (router: ModelRouter, name: string) => {
  const r = router.resolve(name)
  return r.ok ? { to: `${r.route.target.provider}/${r.route.target.model}`, fallbacks: r.route.fallbacks.map(f => `${f.provider}/${f.model}`) } : undefined
}

/** Where a name that nothing lists goes, in words. */
function unlistedText(routing: Routing): string {
  const r = routing.router.resolve(UNLISTED)
  if (!r.ok) return routing.providers.length ? 'an error (404 model_not_found): list it under models: or write provider/model' : 'an error: no provider'
  if (r.route.via !== 'direct') return `the glob ${r.route.via} → ${r.route.target.provider}/…`
  return `${r.route.target.provider} (the only provider), the model as asked`
}

/** The full table: `models:` entries in the order they are tried, the names providers list, provider/model, any other name. */
export function modelsText(config: Config, env: Record<string, string | undefined>, file?: string): { code: number; out: string } {
  const routing = routingOf(config, env)
  const { router } = routing
  const rows: string[][] = [['NAME', 'ROUTES TO', 'FALLBACKS']]
  for (const e of router.entries()) {
    // an exact alias resolves to one target; a glob's target depends on the name (`*` is the name as asked)
    const r = e.glob ? { to: e.target, fallbacks: e.fallbacks } : routeText(router, e.pattern)
    rows.push([e.glob ? `${e.pattern}  (glob)` : e.pattern, r?.to ?? `${e.target}  (no provider)`, (r?.fallbacks ?? e.fallbacks).join(', ')])
  }
  const aliases = new Set(router.entries().map(e => e.pattern.toLowerCase()))
  for (const m of router.list()) if (!m.id.includes('/') && !aliases.has(m.id.toLowerCase())) rows.push([m.id, `${m.provider}/${m.upstream}`, ''])
  const widths = [0, 1].map(i => Math.max(i ? 0 : 'any other name'.length, ...rows.map(r => r[i]?.length ?? 0)))
  const table = rows.map(r =>
    r
      .map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c))
      .join('  ')
      .trimEnd(),
  )
  // the two rules after the table: wider text than a route, so outside its columns
  const pad = (s: string) => s.padEnd(widths[0] ?? 0)
  if (routing.providers.length)
    table.push(`${pad('provider/model')}  that provider (${routing.providers.map(p => p.name).join(', ')}), the model after the slash`)
  table.push(`${pad('any other name')}  ${unlistedText(routing)}`)
  const providers = routing.providers.map(p => `  ${p.name} (${p.type}, ${keyNoteOf(p)})`)
  const problems = router.problems().map(p => `  ${p}`)
  const out = [
    `Providers${routing.zeroConfig ? ' (none configured: from the key variables)' : ''}${file ? ` — ${file}` : ''}:`,
    ...(providers.length ? providers : ['  none — add providers: to agproxy.yaml or set GEMINI_API_KEY / OPENAI_API_KEY / ANTHROPIC_API_KEY']),
    '',
    'Model routing (first match wins, top to bottom):',
    ...table.map(l => `  ${l}`),
    ...(problems.length ? ['', 'Problems (agproxy refuses to start with these):', ...problems] : []),
    '',
    'agproxy models resolve NAME shows where one name goes.',
  ]
  return { code: problems.length ? 1 : 0, out: out.join('\n') }
}

/** One name: where it goes and by which rule, or why it goes nowhere (exit 1). */
export function resolveText(config: Config, env: Record<string, string | undefined>, name: string): { code: number; out: string } {
  const routing = routingOf(config, env)
  const r = routing.router.resolve(name)
  if (!r.ok) return { code: 1, out: `${name}: ${r.message}` }
  const { target, fallbacks, via } = r.route
  const rule =
    via === 'provider'
      ? 'provider/model'
      : via === 'direct'
        ? routing.providers.length === 1
          ? 'the only provider'
          : `${target.provider}'s models: list`
        : `models: ${JSON.stringify(via)}`
  return {
    code: 0,
    out: [
      `${name} → ${target.provider}/${target.model}  (by ${rule})`,
      ...(fallbacks.length ? [`  fallbacks: ${fallbacks.map(f => `${f.provider}/${f.model}`).join(', ')}`] : []),
    ].join('\n'),
  }
}

/** The banner's short form: the first few `models:` entries and where any other name goes. */
export function routingSummary(routing: Routing, max = 4): string {
  const entries = routing.router.entries()
  const shown = entries.slice(0, max).map(e => `${e.pattern} → ${e.glob ? e.target : (routeText(routing.router, e.pattern)?.to ?? e.target)}`)
  const more = entries.length > max ? `, … (${entries.length - max} more)` : ''
  return `models: ${shown.length ? `${shown.join(', ')}${more}; ` : ''}any other name → ${unlistedText(routing)} (agproxy models prints the table)`
}
