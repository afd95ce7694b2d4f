/**
 * IR images → the OpenAI Images answer: `{created, data: [{b64_json} | {url}], usage}`; `response_format: "url"`
 * gets each image as a data: URL (agproxy hosts no files).
 */
import type { IRImageResponse } from '../../../ir/types'

/** IR → `{created, data, usage}`; `url` selects data: URLs instead of b64_json */
export function encodeImagesResponse(res: IRImageResponse, responseFormat: unknown) {
  const url = responseFormat === 'url'
  const data = res.images.map(i => (url ? { url: `data:${i.mimeType};base64,${i.data}` } : { b64_json: i.data }))
  const { inputTokens, outputTokens } = res.usage
  return {
    created: Math.floor(Date.now() / 1000),
    data: res.text ? data.map(d => ({ ...d, revised_prompt: res.text })) : data,
    usage: { input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
  }
}
