/**
 * Schema checks, with errors that name the field and what was expected: compiled once (request bodies, checked per
 * request: the offending value is echoed, it is the client's own), or interpreted (the config file, checked once or
 * at a reload: compiling its schema would cost ~25 ms of every start; it chooses how values appear, so that a key is
 * never printed: config/load.ts).
 */
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import type { ValueError } from '@sinclair/typebox/errors'
import type { TSchema } from '@sinclair/typebox'

export interface FieldError {
  path: string
  message: string
}

/** How the offending value appears after "got": its JSON, cut to 80 characters, unless `show` says otherwise. */
export type ShowValue = (value: unknown, path: string) => string

/** `/messages/0/role` → `messages[0].role` */
export const fieldPath = (pointer: string) =>
  pointer
    .replace(/^\//, '')
    .split('/')
    .filter(Boolean)
    .map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : (i ? '.' : '') + s.replace(/~1/g, '/').replace(/~0/g, '~')))
    .join('')

/** A validator compiled once, for values checked many times (request bodies). */
export function compileValidator(schema: TSchema, show: ShowValue = showJson): (value: unknown) => FieldError | undefined {
  const check = TypeCompiler.Compile(schema)
  return value => (check.Check(value) ? undefined : firstError(check.Errors(value).First(), show))
}

/** compileValidator's validator, compiled at its first use (a route's body): compiling costs start-up time otherwise. */
export function compileOnFirstUse(schema: TSchema, show: ShowValue = showJson): (value: unknown) => FieldError | undefined {
  let check: ((value: unknown) => FieldError | undefined) | undefined
  return value => (check ??= compileValidator(schema, show))(value)
}

/** A validator that interprets the schema (no compile step), for a value checked once (the config file). */
export function schemaValidator(schema: TSchema, show: ShowValue = showJson): (value: unknown) => FieldError | undefined {
  return value => (Value.Check(schema, value) ? undefined : firstError(Value.Errors(schema, value).First(), show))
}

function firstError(first: ValueError | undefined, show: ShowValue): FieldError {
  if (!first) return { path: '', message: 'invalid value' }
  const e = intoObjectMember(first)
  return { path: fieldPath(e.path), message: describeValueError(e, show) }
}

/** A union's error names the union ("expected a string or an object"). When the value is an object and exactly one
 *  member is an object schema, that member's own error says what is wrong in it (`api_keys[0].weight: …`). */
function intoObjectMember(e: ValueError): ValueError {
  const members = (e.schema as SchemaNode).anyOf ?? []
  const objects = members.flatMap((m, i) => (m?.type === 'object' ? [i] : []))
  if (objects.length !== 1 || !e.errors?.length || !e.value || typeof e.value !== 'object' || Array.isArray(e.value)) return e
  const inner = e.errors[objects[0] ?? -1]?.First()
  return inner ? intoObjectMember(inner) : e
}

/** The JSON Schema keywords an error message reads (TypeBox schemas are plain JSON Schema objects). */
interface SchemaNode {
  anyOf?: SchemaNode[]
  const?: unknown
  type?: string
  format?: string
  pattern?: string
  description?: string
  minimum?: number
  maximum?: number
  minLength?: number
  minItems?: number
  multipleOf?: number
}

export const showJson: ShowValue = value => truncate(safeJson(value))

export function describeValueError(e: { message: string; value: unknown; schema: SchemaNode; path: string }, show: ShowValue = showJson): string {
  const s = e.schema
  const got = e.value === undefined ? 'nothing' : show(e.value, fieldPath(e.path))
  if (e.message.startsWith('Unexpected property')) return 'unknown field; check its spelling'
  if (e.value === undefined) return 'is required'
  let expected: string
  if (s?.anyOf?.every(x => 'const' in x)) expected = `one of ${s.anyOf.map(x => x.const).join('|')}`
  else if (s?.anyOf) {
    // Elysia's numeric types are unions with a numeric string: name the number
    const types = [...new Set(s.anyOf.filter(x => !(x.type === 'string' && x.format)).map(x => x.type ?? ('const' in x ? JSON.stringify(x.const) : 'value')))]
    expected = types.map(x => (x === 'integer' ? 'an integer' : x === 'array' || x === 'object' ? `an ${x}` : `a ${x}`)).join(' or ')
  } else if (s?.pattern) expected = `a string matching ${s.pattern}${s.description ? ` (${s.description})` : ''}`
  else if (s?.type)
    expected =
      `${/^[aeiou]/.test(s.type) ? 'an' : 'a'} ${s.type}` +
      (s.minimum !== undefined ? ` >= ${s.minimum}` : '') +
      (s.maximum !== undefined ? ` <= ${s.maximum}` : '') +
      (s.minLength ? ` of at least ${s.minLength} character(s)` : '') +
      (s.minItems ? ` with at least ${s.minItems} item(s)` : '') +
      (s.multipleOf === 1 ? ' (whole number)' : '')
  else expected = e.message.toLowerCase()
  return `expected ${expected}, got ${got}`
}

/** 'a string', 'a number', 'an object', … (a value's kind, for messages that must not show the value) */
export const kindOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v === 'undefined' ? 'nothing' : `a ${typeof v}`

const truncate = (s: string) => (s.length > 80 ? `${s.slice(0, 77)}...` : s)

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return Array.isArray(v) ? '[…]' : typeof v === 'object' ? '{…}' : String(v)
  }
}
