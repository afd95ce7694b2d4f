/**
 * Gemini `Schema` (the OpenAPI 3.0 subset of functionDeclarations.parameters and responseSchema:
 * upper-case types, `nullable`, snake_case keywords allowed) → plain JSON Schema for the IR, so other
 * dialects' upstreams understand a Gemini client's tools.
 */
import { toCamel } from './camel'
import { isObject } from '../guards'

/** Gemini-only keywords with no JSON Schema meaning */
const DROP = new Set(['propertyOrdering', 'nullable'])

/** A Gemini (OpenAPI-subset) Schema → JSON Schema: lower-case types, `nullable` as a null type */
export function geminiSchemaToJsonSchema(schema: unknown): Record<string, unknown> {
  if (!isObject(schema)) return {}
  const out: Record<string, unknown> = {}
  for (const [rawKey, v] of Object.entries(schema)) {
    const key = toCamel(rawKey)
    if (DROP.has(key) || v === undefined || v === null) continue
    if (key === 'type') {
      const ty = String(v).toLowerCase()
      if (ty !== 'type_unspecified') out.type = ty
    } else if (key === 'properties' && isObject(v)) {
      out.properties = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, geminiSchemaToJsonSchema(s)]))
    } else if (key === 'items' || key === 'additionalProperties') {
      out[key] = isObject(v) ? geminiSchemaToJsonSchema(v) : v
    } else if (key === 'anyOf' && Array.isArray(v)) {
      out.anyOf = v.map(geminiSchemaToJsonSchema)
    } else if (key === 'format' && v === 'enum') {
    } else if (
      (key === 'minItems' || key === 'maxItems' || key === 'minLength' || key === 'maxLength' || key === 'minProperties' || key === 'maxProperties') &&
      typeof v === 'string'
    ) {
      out[key] = Number(v) // int64 fields may come as strings in proto JSON
    } else {
      out[key] = v
    }
  }
  if (schema.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null']
    else if (Array.isArray(out.anyOf)) out.anyOf = [...out.anyOf, { type: 'null' }]
  }
  return out
}

/** Gemini's type enum names, as clients write them in a JSON Schema too (Gemini CLI's responseJsonSchema) */
const GEMINI_TYPES = new Set(['STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL'])
const SUBSCHEMA = new Set([
  'items',
  'additionalProperties',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
  'additionalItems',
])
const SUBSCHEMA_LIST = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems', 'items'])
const SUBSCHEMA_MAP = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'])

/**
 * A JSON Schema (responseJsonSchema, parametersJsonSchema) as Gemini accepts it → one every upstream
 * accepts: upper-case type names (`"OBJECT"`, which the Gemini API tolerates and OpenAI rejects) in
 * lower case. Only schema positions are walked, so enum / const / default values stay as sent.
 */
export function normalizeJsonSchemaTypes(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(normalizeJsonSchemaTypes)
  if (!isObject(schema)) return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'type') {
      const lower = (t: unknown) => (typeof t === 'string' && GEMINI_TYPES.has(t) ? t.toLowerCase() : t)
      out[k] = Array.isArray(v) ? v.map(lower) : lower(v)
    } else if (SUBSCHEMA_LIST.has(k) && Array.isArray(v)) out[k] = v.map(normalizeJsonSchemaTypes)
    else if (SUBSCHEMA.has(k) && isObject(v)) out[k] = normalizeJsonSchemaTypes(v)
    else if (SUBSCHEMA_MAP.has(k) && isObject(v)) out[k] = Object.fromEntries(Object.entries(v).map(([n, s]) => [n, normalizeJsonSchemaTypes(s)]))
    else out[k] = v
  }
  return out
}
