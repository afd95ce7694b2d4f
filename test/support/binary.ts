/**
 * The agproxy executable for this machine, built through scripts/build.ts's buildTarget() (what `npm run build` runs)
 * and shared by the test files that run it (binary, install): building is slow. It is kept in .cache/test-binary/<key>,
 * the key a hash of src/, package.json, the Bun version and the compile flags, so a run after a change rebuilds and an
 * unchanged tree reuses it; older builds are removed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { buildTarget, COMPILE_FLAGS, currentTarget, exeName, type Built } from '../../scripts/build'
import { ROOT } from './cli'

let building: Promise<Built> | undefined

/** Every file under dir, sorted. */
const walk = (dir: string): string[] =>
  readdirSync(dir)
    .sort()
    .flatMap(n => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]))

/** What the binary is built from (the build script too: how it compiles is part of what it is). */
function sourceKey(): string {
  const h = new Bun.CryptoHasher('sha256').update(`${Bun.version}\n${COMPILE_FLAGS.join(' ')}\n`)
  for (const f of [join(ROOT, 'package.json'), join(ROOT, 'scripts', 'build.ts'), ...walk(join(ROOT, 'src'))])
    h.update(`${relative(ROOT, f)}\n`).update(readFileSync(f))
  return h.digest('hex').slice(0, 16)
}

/** The built binary (ok: false with the reason when it could not be built); undefined when this machine is no target. */
export function builtBinary(): Promise<Built> | undefined {
  const target = currentTarget()
  if (!target) return undefined
  building ??= (async () => {
    const cache = join(ROOT, '.cache', 'test-binary')
    const key = sourceKey()
    const dir = join(cache, key)
    const file = join(dir, exeName(target))
    if (existsSync(join(dir, 'ok')) && existsSync(file)) {
      const bytes = await Bun.file(file).bytes()
      return { target, file, ok: true, size: bytes.length, sha256: new Bun.CryptoHasher('sha256').update(bytes).digest('hex'), via: 'cache' }
    }
    if (existsSync(cache)) for (const old of readdirSync(cache)) rmSync(join(cache, old), { recursive: true, force: true }) // ~115 MB each
    mkdirSync(dir, { recursive: true })
    const built = await buildTarget(target, { outDir: dir })
    if (built.ok) await Bun.write(join(dir, 'ok'), '')
    return built
  })()
  return building
}
