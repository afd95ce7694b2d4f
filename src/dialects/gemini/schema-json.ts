/**
 * Gemini `Schema` (the OpenAPI 3.0 subset of functionDeclarations.parameters and responseSchema:
 * upper-case types, `nullable`, snake_case keywords allowed) → plain JSON Schema for the IR, so other
 * dialects' upstreams understand a Gemini client's tools.
 */
import { toCamel } from './camel'

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)

/** Gemini-only keywords with no JSON Schema meaning */
const DROP = new Set(['propertyOrdering', 'nullable'])

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
      continue
    } else if ((key === 'minItems' || key === 'maxItems' || key === 'minLength' || key === 'maxLength'
      || key === 'minProperties' || key === 'maxProperties') && typeof v === 'string') {
      out[key] = Number(v) // int64 fields may come as strings in proto JSON
    } else {
      out[key] = v
    }
  }
  if ((schema as any).nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null']
    else if (Array.isArray(out.anyOf)) out.anyOf = [...out.anyOf, { type: 'null' }]
  }
  return out
}
