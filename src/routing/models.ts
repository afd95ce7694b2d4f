/**
 * Model routing: a client-facing model name → provider + upstream model (+ fallbacks).
 * The table is built once at start; resolution is a few map lookups and, for globs, a scan of a
 * list already sorted by specificity.
 */
import type { Config, ProviderConfig } from '../config/schema'

export interface Target {
  provider: string
  model: string
}
export interface Route {
  target: Target
  fallbacks: Target[]
  via: string
}
export type RouteResult = { ok: true; route: Route } | { ok: false; message: string }

interface Pattern {
  pattern: string
  re: RegExp
  literal: number
  wildcards: number
  order: number
  target: string
  fallbacks: string[]
}

const globToRe = (g: string) =>
  new RegExp(
    '^' +
      g
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
    'i',
  )

/** One `models:` entry as resolve() consults it: exact aliases first, then globs, most specific first. */
export interface RouteEntry {
  pattern: string
  glob: boolean
  /** the target and fallbacks as written (`*` stands for the asked name) */
  target: string
  fallbacks: string[]
}

export interface ModelRouter {
  resolve(model: string): RouteResult
  /** the `models:` entries in the order resolve() tries them */
  entries(): RouteEntry[]
  /** `models:` targets and fallbacks that lead to no provider: one message each, naming the setting (checked at start) */
  problems(): string[]
  /** every client-facing name: aliases (not globs) and advertised models, as provider/model and bare */
  list(): Array<{ id: string; provider: string; upstream: string }>
}

export function createModelRouter(config: Pick<Config, 'models'>, providers: ProviderConfig[]): ModelRouter {
  const byName = new Map(providers.map(p => [p.name, p]))
  const exact = new Map<string, Pattern>()
  const globs: Pattern[] = []
  let order = 0
  for (const [pattern, spec] of Object.entries(config.models ?? {})) {
    const target = typeof spec === 'string' ? spec : spec.target
    const fallbacks = typeof spec === 'string' ? [] : (spec.fallbacks ?? [])
    const wildcards = (pattern.match(/[*?]/g) ?? []).length
    const p: Pattern = { pattern, re: globToRe(pattern), literal: pattern.length - wildcards, wildcards, order: order++, target, fallbacks }
    if (wildcards) globs.push(p)
    else exact.set(pattern.toLowerCase(), p)
  }
  // most specific first: more literal characters, then fewer wildcards, then file order
  globs.sort((a, b) => b.literal - a.literal || a.wildcards - b.wildcards || a.order - b.order)

  const advertisedBy = (model: string) => providers.find(p => p.models?.some(m => m.toLowerCase() === model.toLowerCase()))

  /** "provider/model" naming a configured provider → that provider, model as written after the slash */
  const explicit = (name: string): Target | undefined => {
    const slash = name.indexOf('/')
    const p = slash > 0 ? byName.get(name.slice(0, slash)) : undefined
    return p && slash < name.length - 1 ? { provider: p.name, model: name.slice(slash + 1) } : undefined
  }

  /** "provider/model" or a bare model → a target (without the map) */
  const direct = (name: string): Target | undefined => {
    const ex = explicit(name)
    if (ex) return ex
    const adv = advertisedBy(name)
    if (adv) return { provider: adv.name, model: name }
    // biome-ignore lint/style/noNonNullAssertion: length checked
    if (providers.length === 1) return { provider: providers[0]!.name, model: name }
    return undefined
  }

  const available = () => {
    const names = [
      ...[...exact.values()].map(p => p.pattern),
      ...globs.map(g => g.pattern),
      ...providers.flatMap(p => (p.models ?? []).map(m => `${p.name}/${m}`)),
    ]
    return names.length
      ? names.slice(0, 40).join(', ') + (names.length > 40 ? ', …' : '')
      : '(none configured: add models under providers: or models: in agproxy.yaml)'
  }

  /** why a target or fallback as written leads nowhere (`*` stands for any name), or undefined when it resolves */
  const problemOf = (written: string): string | undefined => {
    const name = written.replaceAll('*', 'x')
    const slash = name.indexOf('/')
    const names = providers.map(p => p.name).join(', ')
    if (slash > 0 && !explicit(name) && !advertisedBy(name))
      return `"${written}" names provider "${name.slice(0, slash)}", which is not configured; write it as provider/model with one of: ${names}`
    if (!direct(name)) return `"${written}" names no provider and no provider lists it under models:; write it as provider/model with one of: ${names}`
    return undefined
  }

  function problems(): string[] {
    if (!providers.length) return []
    const out: string[] = []
    for (const e of entries()) {
      const t = problemOf(e.target)
      if (t) out.push(`models.${e.pattern}: ${t}`)
      e.fallbacks.forEach((f, i) => {
        const p = problemOf(f)
        if (p) out.push(`models.${e.pattern}.fallbacks[${i}]: ${p}`)
      })
    }
    return out
  }

  const entries = (): RouteEntry[] =>
    [...exact.values(), ...globs].map(p => ({ pattern: p.pattern, glob: p.wildcards > 0, target: p.target, fallbacks: p.fallbacks }))

  function resolve(model: string): RouteResult {
    if (providers.length === 0)
      return {
        ok: false,
        message:
          `no provider is configured for model ${model}; add one under \`providers:\` (see README), or set GEMINI_API_KEY, OPENAI_API_KEY or ` +
          `ANTHROPIC_API_KEY`,
      }
    // order: an exact alias; `provider/model` naming a configured provider; the most specific glob;
    // the provider that advertises the model; the only provider
    const alias = exact.get(model.toLowerCase())
    const ex = alias ? undefined : explicit(model)
    if (ex) return { ok: true, route: { target: ex, fallbacks: [], via: 'provider' } }
    const mapped = alias ?? globs.find(g => g.re.test(model))
    if (mapped) {
      // a `*` in the target stands for the model name as asked (`claude-*: anthropic/*`)
      const target = direct(mapped.target.replaceAll('*', model))
      if (!target) return { ok: false, message: `models: "${mapped.pattern}" maps to "${mapped.target}", which names no provider; write it as provider/model` }
      const fallbacks = mapped.fallbacks.map(f => direct(f.replaceAll('*', model))).filter((t): t is Target => !!t)
      return { ok: true, route: { target, fallbacks, via: mapped.pattern } }
    }
    const target = direct(model)
    if (target) return { ok: true, route: { target, fallbacks: [], via: 'direct' } }
    return { ok: false, message: `The model \`${model}\` does not exist or no provider serves it. Available: ${available()}.` }
  }

  return {
    resolve,
    entries,
    problems,
    list() {
      // each name with where resolve() sends it (an advertised name may be caught by a glob first)
      const out: Array<{ id: string; provider: string; upstream: string }> = []
      const seen = new Set<string>()
      const add = (id: string) => {
        if (seen.has(id.toLowerCase())) return
        seen.add(id.toLowerCase())
        const r = resolve(id)
        if (r.ok) out.push({ id, provider: r.route.target.provider, upstream: r.route.target.model })
      }
      for (const p of exact.values()) add(p.pattern)
      for (const p of providers) for (const m of p.models ?? []) add(m)
      for (const p of providers) for (const m of p.models ?? []) add(`${p.name}/${m}`)
      return out
    },
  }
}
