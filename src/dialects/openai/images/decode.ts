/**
 * OpenAI Images request (generation, or an edit's form fields and files) → IR image request.
 */
import type { IRImageRequest } from '../../../ir/types'
import { invalid } from '../../../ir/types'

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a)

/** `1536x1024` → `3:2`; `auto` or anything else → undefined (the model's default) */
export function aspectOf(size: unknown): string | undefined {
  const m = typeof size === 'string' ? size.match(/^(\d+)x(\d+)$/) : null
  if (!m) return undefined
  const w = Number(m[1])
  const h = Number(m[2])
  const g = gcd(w, h) || 1
  return `${w / g}:${h / g}`
}

/** the request's fields (JSON, or a form's strings) and an edit's images → IR */
export function decodeImagesRequest(b: Record<string, unknown>, images?: IRImageRequest['images']): IRImageRequest {
  const prompt = typeof b.prompt === 'string' ? b.prompt : ''
  if (!prompt.trim()) throw invalid('prompt must not be empty.', 'prompt')
  const n = b.n === undefined || b.n === null ? undefined : Number(b.n)
  if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= 10)) throw invalid('n must be an integer from 1 to 10.', 'n')
  const req: IRImageRequest = { model: String(b.model), prompt }
  if (n && n > 1) req.n = n
  const aspect = aspectOf(b.size)
  if (aspect) req.aspectRatio = aspect
  if (images?.length) req.images = images
  return req
}
