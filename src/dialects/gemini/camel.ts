/**
 * The Gemini REST API accepts proto field names in snake_case as well as camelCase
 * (`system_instruction`, `function_call`, `inline_data`, `thinking_config`, …). Decoders normalize a
 * wire body to camelCase first, leaving user data untouched: function call `args`, function `response`
 * objects and schemas (whose `properties` keys are parameter names) are copied as they are.
 */
import { isObject } from '../guards'

/** keys whose values are user data or schemas: never rename inside them */
const OPAQUE = new Set(['args', 'response', 'parameters', 'parametersJsonSchema', 'responseSchema', 'responseJsonSchema', 'labels'])

/** `system_instruction` → `systemInstruction` */
export const toCamel = (key: string): string => key.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase())

/** Deep copy with every field name in camelCase (the camelCase spelling wins when both are present). */
export function camelize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelize)
  if (!isObject(value)) return value
  const out: Record<string, unknown> = {}
  const keys = Object.keys(value)
  // snake_case spellings first, so that an explicit camelCase field overrides
  for (const pass of [true, false]) {
    for (const key of keys) {
      if (key.includes('_') !== pass) continue
      const name = pass ? toCamel(key) : key
      const v = value[key]
      if (v === undefined || (v === null && name in out)) continue
      out[name] = OPAQUE.has(name) ? v : camelize(v)
    }
  }
  return out
}
