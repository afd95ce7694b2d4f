/**
 * The layering rule, checked over the import graph of src/: no import cycles, and no upward import
 * (a lower layer never imports a higher one — e.g. the provider layer nothing from the HTTP edge).
 * `bun scripts/check-layers.ts` prints the violations and exits 1; test/layering.test.ts runs it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

/** Layers from the bottom up; a file may import its own layer and the ones below it. Keys are paths under src/. */
export const LAYERS: string[][] = [
  // the dashboard's page code (browser only): alone at the bottom, so it imports nothing of the server
  ['ui'],
  ['version.ts', 'ir', 'log.ts', 'schema'],
  ['config'],
  ['dialects', 'routing'],
  ['endpoints'],
  ['providers', 'observe', 'store', 'shared'],
  ['dispatch', 'state.ts', 'clientkeys'],
  ['http', 'routes'],
  ['app.ts'],
  ['server.ts', 'cli'],
  ['main.ts', 'index.ts'],
]

export interface Violation {
  kind: 'cycle' | 'upward' | 'unlayered'
  message: string
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p))
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

function resolveImport(from: string, spec: string, files: Set<string>): string | undefined {
  if (!spec.startsWith('.')) return undefined
  const base = resolve(dirname(from), spec)
  for (const c of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) if (files.has(c)) return c
  return undefined
}

/** The import graph of the .ts files under `root`: file → files it imports (relative imports only). */
export function importGraph(root: string): Map<string, string[]> {
  const files = sourceFiles(root)
  const set = new Set(files)
  const graph = new Map<string, string[]>()
  for (const f of files) {
    const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '')
    const deps = new Set<string>()
    for (const m of text.matchAll(IMPORT)) {
      const target = resolveImport(f, m[1] ?? m[2] ?? '', set)
      if (target && target !== f) deps.add(target)
    }
    graph.set(f, [...deps])
  }
  return graph
}

/** The layer index of a file: the first entry of LAYERS naming its top-level file or folder under root. */
export function layerOf(root: string, file: string, layers = LAYERS): number {
  const top = relative(root, file).split(/[\\/]/)[0] ?? ''
  return layers.findIndex(l => l.includes(top))
}

/** Strongly connected components with more than one file (Tarjan), i.e. the import cycles. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const on = new Set<string>()
  const out: string[][] = []
  const visit = (v: string) => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0))
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = []
      let w: string | undefined
      do {
        w = stack.pop()
        if (w === undefined) break
        on.delete(w)
        scc.push(w)
      } while (w !== v)
      if (scc.length > 1) out.push(scc)
    }
  }
  for (const v of graph.keys()) if (!idx.has(v)) visit(v)
  return out
}

export function checkLayers(root: string, layers = LAYERS): Violation[] {
  const graph = importGraph(root)
  const rel = (f: string) => relative(root, f)
  const out: Violation[] = []
  for (const scc of cycles(graph)) out.push({ kind: 'cycle', message: `import cycle: ${scc.map(rel).sort().join(' ↔ ')}` })
  for (const [from, deps] of graph) {
    const lf = layerOf(root, from, layers)
    if (lf < 0) {
      out.push({ kind: 'unlayered', message: `${rel(from)} is in no layer: add its folder to LAYERS in scripts/check-layers.ts` })
      continue
    }
    for (const to of deps) {
      const lt = layerOf(root, to, layers)
      if (lt > lf)
        out.push({
          kind: 'upward',
          message: `${rel(from)} imports ${rel(to)}: ${layers[lf]?.join('/')} must not depend on ${layers[lt]?.join('/')} (a higher layer)`,
        })
    }
  }
  return out
}

if (import.meta.main) {
  const root = resolve(import.meta.dir, '..', 'src')
  const v = checkLayers(root)
  for (const x of v) console.error(`layering: ${x.message}`)
  console.log(v.length ? `layering: ${v.length} violation(s)` : 'layering: ok (no cycles, no upward imports)')
  process.exit(v.length ? 1 : 0)
}
