/**
 * Editing client configuration files without disturbing them: JSON/JSONC through jsonc-parser (comments and
 * formatting kept), dotenv files line by line, and the proof that nothing but the intended keys changed.
 */
import { applyEdits, format, modify, parse, printParseErrorCode, type ParseError } from 'jsonc-parser'

/** A configuration file agproxy setup will not edit (unparseable, or shaped so an edit is unsafe). */
export class SetupError extends Error {}

/** The parsed JSON/JSONC object in `text` (an empty or missing file is `{}`); refuses what does not parse. */
export function parseJsonc(text: string | undefined, file: string): Record<string, unknown> {
  if (text === undefined || !text.trim()) return {}
  const errors: ParseError[] = []
  const data = parse(text, errors, { allowTrailingComma: true, disallowComments: false })
  const first = errors[0]
  if (first) {
    const line = text.slice(0, first.offset).split('\n').length
    throw new SetupError(`${file}: not valid JSON (${printParseErrorCode(first.error)} on line ${line}); fix it, then run agproxy setup again`)
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new SetupError(`${file}: expected an object at the top level`)
  return data as Record<string, unknown>
}

/** The indentation the file already uses (two spaces for a new file). */
function indentOf(text: string): { insertSpaces: boolean; tabSize: number } {
  const m = text.match(/\n([ \t]+)["/]/)
  if (m?.[1]?.startsWith('\t')) return { insertSpaces: false, tabSize: 1 }
  return { insertSpaces: true, tabSize: m?.[1]?.length ?? 2 }
}

/** `text` with each path set to its value: every other byte (comments, order, spacing) stays. */
export function setJsonc(text: string | undefined, sets: Array<[path: string[], value: unknown]>, file: string): string {
  parseJsonc(text, file)
  let out = text?.trim() ? text : '{}\n'
  const formattingOptions = { ...indentOf(out), eol: out.includes('\r\n') ? '\r\n' : '\n' }
  for (const [path, value] of sets) {
    // jsonc-parser's own formatting reflows the whole line an insertion starts on (a one-line sibling included):
    // insert unformatted, then format only the inserted text
    const edits = modify(out, path, value, {})
    out = applyEdits(out, edits)
    for (const e of edits) {
      // a first property of an empty object: its braces are formatted with it
      const first = e.length === 0 && !e.content.startsWith(',')
      const range = { offset: Math.max(0, e.offset - (first ? 1 : 0)), length: e.content.length + (first ? 2 : 0) }
      out = applyEdits(out, format(out, range, { ...formattingOptions, keepLines: false }))
    }
  }
  return out.endsWith('\n') ? out : `${out}\n`
}

/** The value at `path` of a parsed object, if any. */
export function at(obj: unknown, path: string[]): unknown {
  let cur = obj
  for (const k of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined
  return cur
}

/** A deep copy of `obj` without the given paths (and the objects left empty along them), for comparing what else a change touched. */
export function without(obj: unknown, paths: string[][]): unknown {
  const copy = structuredClone(obj) as Record<string, unknown>
  for (const path of paths) {
    const chain: Array<Record<string, unknown>> = [copy]
    for (const k of path.slice(0, -1)) {
      const next = chain.at(-1)?.[k]
      if (next === null || typeof next !== 'object') break
      chain.push(next as Record<string, unknown>)
    }
    if (chain.length !== path.length) continue
    for (let i = chain.length - 1; i >= 0; i--) {
      const holder = chain[i] as Record<string, unknown>
      const k = path[i] ?? ''
      if (i === chain.length - 1) delete holder[k]
      else if (Object.keys(holder[k] as object).length === 0) delete holder[k]
      else break
    }
  }
  return copy
}

/** Throws unless `after` equals `before` outside `paths`: the guarantee that setup changed nothing else. */
export function assertOnlyChanged(before: unknown, after: unknown, paths: string[][], file: string): void {
  if (!Bun.deepEquals(without(before, paths), without(after, paths)))
    throw new SetupError(`${file}: the edit would change more than agproxy's own settings; nothing was written (please report this)`)
}

// ───────────── dotenv ─────────────

const envLine = (name: string) => new RegExp(`^[ \\t]*(?:export[ \\t]+)?${name}[ \\t]*=.*$`, 'm')

/** A dotenv file's variables (KEY=value lines; quotes removed; comments and other lines ignored). */
export function parseDotenv(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of (text ?? '').split(/\r?\n/)) {
    const m = line.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/)
    if (m?.[1]) out[m[1]] = (m[2] ?? '').replace(/^(['"])(.*)\1$/, '$2')
  }
  return out
}

/** `text` with each variable set: an existing line is replaced in place, a new one appended. */
export function setDotenv(text: string | undefined, vars: Record<string, string>): string {
  let out = text ?? ''
  for (const [name, value] of Object.entries(vars)) {
    const line = `${name}=${value}`
    if (envLine(name).test(out)) out = out.replace(envLine(name), () => line)
    else out = `${out}${out && !out.endsWith('\n') ? '\n' : ''}${line}\n`
  }
  return out
}
