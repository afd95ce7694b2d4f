/**
 * Type guards for JSON read off the wire (client bodies beyond what their schema declares, upstream answers),
 * shared by the three dialects: decoders narrow `unknown` with these instead of reading untyped values.
 */

/** A JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The object, or an empty one: for reading optional fields of something that may not be an object. */
export const asObject = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {})

/** The array, or an empty one. */
export const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

/** The value at a path of object fields (`dig(u, 'prompt_tokens_details', 'cached_tokens')`), else undefined. */
export function dig(v: unknown, ...keys: string[]): unknown {
  for (const k of keys) v = isObject(v) ? v[k] : undefined
  return v
}

/** A finite number, else undefined. */
export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)

/** A string, else undefined. */
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** A non-empty string, else undefined. */
export const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined)

/** An array of strings. */
export const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(s => typeof s === 'string')

/** The client's body (CodecContext.raw) as its endpoint's schema type, for an encoder's optional reads: the schema
 *  validated it before the codecs ran; without one (tests, internal calls) it is `{}`. */
export const rawBody = <T extends object>(raw: unknown): Partial<T> => (isObject(raw) ? (raw as Partial<T>) : {})

/** A field a schema leaves undeclared (it lets unknown fields through), read as `unknown`. */
export const field = (body: object, key: string): unknown => (body as Record<string, unknown>)[key]
