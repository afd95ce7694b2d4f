/**
 * IR image request → Gemini POST /v1beta/models/{model}:generateContent with image output (an image model such as
 * gemini-2.5-flash-image), and its answer's inlineData parts → IR images.
 */
import type { IRImageRequest, IRImageResponse } from '../../../ir/types'
import { IRErrorValue, err } from '../../../ir/errors'
import { asArray, asObject, dig, num } from '../../guards'
import { errorFromWire } from '../errors'
import { modelSegment } from './request'

/** IR → generateContent asking for TEXT and IMAGE (image models answer both; an edit's images go first) */
export function encodeGeminiImagesUpstream(req: IRImageRequest): { path: string; body: unknown } {
  const images = (req.images ?? []).map(i => ({ inlineData: { mimeType: i.mimeType, data: i.data } }))
  const generationConfig: Record<string, unknown> = { responseModalities: ['TEXT', 'IMAGE'] }
  if (req.n) generationConfig.candidateCount = req.n
  if (req.aspectRatio) generationConfig.imageConfig = { aspectRatio: req.aspectRatio }
  return {
    path: `/v1beta/models/${modelSegment(req.model)}:generateContent`,
    body: { contents: [{ role: 'user', parts: [...images, { text: req.prompt }] }], generationConfig },
  }
}

/** the generateContent answer → IR images; none at all is an error naming why (finish reason, block reason, text) */
export function decodeGeminiImagesUpstream(body: unknown): IRImageResponse {
  const b = asObject(body)
  if (b.error) throw new IRErrorValue(errorFromWire(b))
  const images: IRImageResponse['images'] = []
  const texts: string[] = []
  const reasons: string[] = []
  for (const c of asArray(b.candidates)) {
    const reason = dig(c, 'finishReason')
    if (typeof reason === 'string' && reason !== 'STOP') reasons.push(reason)
    for (const p of asArray(dig(c, 'content', 'parts'))) {
      const inline = asObject(dig(p, 'inlineData') ?? dig(p, 'inline_data'))
      if (typeof inline.data === 'string') images.push({ mimeType: String(inline.mimeType ?? inline.mime_type ?? 'image/png'), data: inline.data })
      else if (typeof dig(p, 'text') === 'string' && !dig(p, 'thought')) texts.push(dig(p, 'text') as string)
    }
  }
  const blocked = dig(b, 'promptFeedback', 'blockReason')
  if (typeof blocked === 'string') reasons.push(blocked)
  const text = texts.join('').trim()
  if (!images.length) {
    const why = [reasons.length ? `finish reason ${reasons.join(', ')}` : '', text ? `it said: ${text.slice(0, 200)}` : ''].filter(Boolean).join('; ')
    throw new IRErrorValue(
      err(
        'upstream',
        `The Gemini model answered without an image${why ? ` (${why})` : ''}. Use an image model (e.g. gemini-2.5-flash-image) or rephrase the prompt.`,
      ),
    )
  }
  const u = asObject(b.usageMetadata)
  return { images, ...(text ? { text } : {}), usage: { inputTokens: num(u.promptTokenCount) ?? 0, outputTokens: num(u.candidatesTokenCount) ?? 0 } }
}
