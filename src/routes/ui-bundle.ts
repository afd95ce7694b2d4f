/**
 * The dashboard's bundle (src/ui), built by Bun's bundler when this runs as a macro: at compile time for the binary
 * (`bun build --compile` inlines the result), and on the first /ui request when running from source (the module that
 * calls it is imported lazily). Bun.build cannot run inside a macro, so the CLI does, in a temp dir.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface UiBundle {
  html: string
  /** file name → text (main.js, main.css) */
  files: Record<string, string>
}

/** Bundle src/ui/main.tsx (with its CSS) minified for browsers; throws with the bundler's message when it fails. */
export function bundleUi(): UiBundle {
  const ui = join(import.meta.dir, '..', 'ui')
  const out = mkdtempSync(join(tmpdir(), 'agproxy-ui-'))
  try {
    const r = Bun.spawnSync(
      [process.execPath, 'build', join(ui, 'main.tsx'), '--target=browser', '--minify', '--entry-naming=[name].[ext]', `--outdir=${out}`],
      { cwd: join(ui, '..', '..'), stdout: 'pipe', stderr: 'pipe' },
    )
    if (r.exitCode !== 0) throw new Error(`bundling the dashboard failed: ${r.stderr.toString() || r.stdout.toString()}`)
    const files = Object.fromEntries(readdirSync(out).map(f => [f, readFileSync(join(out, f), 'utf8')]))
    return { html: readFileSync(join(ui, 'index.html'), 'utf8'), files }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}
