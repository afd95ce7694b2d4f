/**
 * POST /v1/responses/input_tokens (the input token count of a Responses request), as an endpoint descriptor. OpenAI
 * providers count it themselves; across dialects it is the token-counting special plan (src/endpoints/special.ts).
 */
import { SSE, type EndpointDescriptor } from '../../endpoint'
import { anyReader } from '../../frames'
import { openaiErrorFrame } from '../sse'

/** the answer, as api.openai.com gives it */
export const encodeInputTokensResponse = (n: number) => ({ object: 'response.input_tokens' as const, input_tokens: n })

export const responsesInputTokensEndpoint: EndpointDescriptor = {
  id: 'openai.responses_input_tokens',
  dialect: 'openai',
  tag: 'OpenAI',
  summary: 'Count the input tokens of a Responses request',
  route: { paths: ['/v1/responses/input_tokens'] },
  schema: () => (require('../responses/schema') as typeof import('../responses/schema')).ResponsesBody,
  streams: () => false,
  passThrough: { path: () => '/responses/input_tokens', keepsBytes: false },
  streamContentType: () => SSE,
  frames: () => anyReader,
  errorFrame: () => openaiErrorFrame,
}
