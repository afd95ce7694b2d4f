/**
 * Schema checks compiled once at start, with errors that name the field and what was expected.
 * Used for request bodies and for the config file.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { TSchema } from '@sinclair/typebox'

export interface FieldError { path: string; message: string }

/** `/messages/0/role` → `messages[0].role` */
export const fieldPath = (pointer: string) =>
  pointer.replace(/^\//, '').split('/').filter(Boolean)
    .map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : (i ? '.' : '') + s.replace(/~1/g, '/').replace(/~0/g, '~'))).join('')

export function compileValidator(schema: TSchema): (value: unknown) => FieldError | undefined {
  const check = TypeCompiler.Compile(schema)
  return (value) => {
    if (check.Check(value)) return undefined
    const e = check.Errors(value).First()
    if (!e) return { path: '', message: 'invalid value' }
    return { path: fieldPath(e.path), message: describeValueError(e) }
  }
}

export function describeValueError(e: { message: string; value: unknown; schema: any; path: string }): string {
  const s = e.schema
  const got = e.value === undefined ? 'nothing' : truncate(safeJson(e.value))
  if (e.message.startsWith('Unexpected property')) return 'unknown field; check its spelling'
  if (e.value === undefined) return 'is required'
  let expected: string
  if (s?.anyOf?.every((x: any) => 'const' in x)) expected = 'one of ' + s.anyOf.map((x: any) => x.const).join('|')
  else if (s?.anyOf) {
    // Elysia's numeric types are unions with a numeric string: name the number
    const types = [...new Set(s.anyOf.filter((x: any) => !(x.type === 'string' && x.format)).map((x: any) => x.type ?? ('const' in x ? JSON.stringify(x.const) : 'value')))]
    expected = types.map((x) => (x === 'integer' ? 'an integer' : x === 'array' || x === 'object' ? `an ${x}` : `a ${x}`)).join(' or ')
  }
  else if (s?.pattern) expected = `a string matching ${s.pattern}${s.description ? ` (${s.description})` : ''}`
  else if (s?.type) expected = `${/^[aeiou]/.test(s.type) ? 'an' : 'a'} ${s.type}` +
    (s.minimum !== undefined ? ` >= ${s.minimum}` : '') + (s.maximum !== undefined ? ` <= ${s.maximum}` : '') +
    (s.minLength ? ` of at least ${s.minLength} character(s)` : '') + (s.minItems ? ` with at least ${s.minItems} item(s)` : '') +
    (s.multipleOf === 1 ? ' (whole number)' : '')
  else expected = e.message.toLowerCase()
  return `expected ${expected}, got ${got}`
}

const truncate = (s: string) => (s.length > 80 ? s.slice(0, 77) + '...' : s)

function safeJson(v: unknown): string {
  try { return JSON.stringify(v) ?? String(v) } catch { return Array.isArray(v) ? '[…]' : typeof v === 'object' ? '{…}' : String(v) }
}
