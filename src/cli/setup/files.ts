/**
 * What `agproxy setup` does to files: a Change (a file's text before and after), its unified diff with keys
 * masked, timestamped backups written next to the file, and the newest backup set for `--undo`.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { maskKey } from '../../providers/pool'

/** One file's change: `after` null removes the file (undoing a setup that created it). */
export interface Change {
  path: string
  before?: string
  after: string | null
  /** file mode for a new file holding a key */
  secret?: boolean
}

export const readText = (path: string): string | undefined => (existsSync(path) ? readFileSync(path, 'utf8') : undefined)

/** Key-shaped tokens (provider and agproxy keys), masked wherever a diff shows them. */
const KEY_SHAPES = /\b(sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,})/g

/** `text` with every given key, and anything shaped like one, masked (maskKey). */
export function maskText(text: string, keys: string[]): string {
  let out = text
  for (const k of [...keys].filter(k => k.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(k).join(maskKey(k))
  return out.replace(KEY_SHAPES, k => maskKey(k))
}

/** A unified diff of two texts (whole-line LCS, `context` lines around each change). */
export function unifiedDiff(path: string, before: string | undefined, after: string | null, context = 2): string {
  const a = before === undefined ? [] : splitLines(before)
  const b = after === null ? [] : splitLines(after)
  const head = `--- ${before === undefined ? '/dev/null' : path}\n+++ ${after === null ? '/dev/null' : path}`
  const ops = lineOps(a, b)
  const hunks: string[] = []
  let i = 0
  while (i < ops.length) {
    if (ops[i]?.[0] === ' ') {
      i++
      continue
    }
    let start = Math.max(0, i - context)
    while (start > 0 && ops[start - 1]?.[0] !== ' ') start--
    let end = i
    // extend over changes closer than 2×context
    for (let j = i; j < ops.length; j++) {
      if (ops[j]?.[0] !== ' ') end = j
      else if (j - end > 2 * context) break
    }
    const stop = Math.min(ops.length, end + context + 1)
    const slice = ops.slice(start, stop)
    const aStart = ops.slice(0, start).filter(o => o[0] !== '+').length
    const bStart = ops.slice(0, start).filter(o => o[0] !== '-').length
    const aLen = slice.filter(o => o[0] !== '+').length
    const bLen = slice.filter(o => o[0] !== '-').length
    hunks.push(`@@ -${aLen ? aStart + 1 : aStart},${aLen} +${bLen ? bStart + 1 : bStart},${bLen} @@\n${slice.map(o => o[0] + o[1]).join('\n')}`)
    i = stop
  }
  return hunks.length ? `${head}\n${hunks.join('\n')}` : ''
}

const splitLines = (t: string) => (t.endsWith('\n') ? t.slice(0, -1) : t).split('\n')

/** Line operations turning a into b (' ' same, '-' removed, '+' added). */
function lineOps(a: string[], b: string[]): Array<[' ' | '-' | '+', string]> {
  // the files are small; a very large one is shown as removed and added whole
  if (a.length * b.length > 4_000_000) return [...a.map(l => ['-', l] as ['-', string]), ...b.map(l => ['+', l] as ['+', string])]
  const n = a.length
  const m = b.length
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      // biome-ignore lint/style/noNonNullAssertion: rows exist for 0..n
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
  const ops: Array<[' ' | '-' | '+', string]> = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push([' ', a[i++] ?? ''])
      j++
      // biome-ignore lint/style/noNonNullAssertion: i < n here
    } else if (j >= m || (i < n && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push(['-', a[i++] ?? ''])
    else ops.push(['+', b[j++] ?? ''])
  }
  return ops
}

// ───────────── backups ─────────────

const BACKUP = '.agproxy-backup-'
/** a backup of a file that did not exist: undo removes the file */
const ABSENT = '.absent'

/** A sortable UTC stamp, e.g. 2026-12-07T19-15-02-123Z. */
export const stamp = (d = new Date()) => d.toISOString().replace(/[:.]/g, '-')

/** Write the changes: first (unless `backup` is false) a backup of each file's current state, stamped, then the new text.
 *  Returns the backups written. */
export function applyChanges(changes: Change[], opts: { when?: string; backup?: boolean } = {}): string[] {
  const when = opts.when ?? stamp()
  const backups: string[] = []
  for (const c of changes) {
    mkdirSync(dirname(c.path), { recursive: true })
    if (opts.backup !== false) {
      const backup = `${c.path}${BACKUP}${when}${c.before === undefined ? ABSENT : ''}`
      writeFileSync(backup, c.before ?? '', { mode: 0o600 })
      backups.push(backup)
    }
    if (c.after === null) rmSync(c.path, { force: true })
    else writeAtomic(c.path, c.after, c.secret)
  }
  return backups
}

/** Replace a file through a temp file and rename (a crash never leaves it half-written); keeps its mode. */
function writeAtomic(path: string, text: string, secret?: boolean) {
  const mode = existsSync(path) ? statSync(path).mode & 0o777 : secret ? 0o600 : 0o644
  const tmp = `${path}.agproxy-tmp-${process.pid}`
  writeFileSync(tmp, text, { mode })
  chmodSync(tmp, mode)
  renameSync(tmp, path)
}

/** The changes that restore the newest backup set of these files (one setup run), and those backups' paths. */
export function undoChanges(paths: string[]): { changes: Change[]; backups: string[]; when?: string } {
  const found = paths.flatMap(p => backupsOf(p).map(b => ({ path: p, ...b })))
  const when = found
    .map(f => f.when)
    .sort()
    .at(-1)
  if (!when) return { changes: [], backups: [] }
  const latest = found.filter(f => f.when === when)
  return {
    when,
    backups: latest.map(f => f.file),
    changes: latest.map(f => ({ path: f.path, before: readText(f.path), after: f.absent ? null : readFileSync(f.file, 'utf8') })),
  }
}

function backupsOf(path: string): Array<{ file: string; when: string; absent: boolean }> {
  const dir = dirname(path)
  const prefix = basename(path) + BACKUP
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter(n => n.startsWith(prefix))
    .map(n => {
      const rest = n.slice(prefix.length)
      const absent = rest.endsWith(ABSENT)
      return { file: join(dir, n), when: absent ? rest.slice(0, -ABSENT.length) : rest, absent }
    })
}
