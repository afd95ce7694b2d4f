/**
 * Legacy OpenAI Completions request → IR request: the prompt becomes one user message.
 */
import type { CodecContext, IRRequest } from '../../../ir/types'
import { invalid } from '../../../ir/types'
import type { CompletionRequestBody } from './schema'
import { isStringArray } from '../../guards'

const IGNORED = ['logprobs', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'seed'] as const

/** POST /v1/completions body → IR request */
export function decodeCompletionRequest(b: CompletionRequestBody, ctx: CodecContext): IRRequest {
  if (b.n != null && b.n !== 1) throw invalid('Only n=1 is supported: request one choice per call.', 'n')
  let prompt: string
  if (typeof b.prompt === 'string') prompt = b.prompt
  else if (isStringArray(b.prompt)) {
    if (b.prompt.length === 0) throw invalid('prompt must not be empty.', 'prompt')
    if (b.prompt.length > 1) ctx.warn('several prompts were joined into one (batch prompts are not supported)')
    prompt = b.prompt.join('\n')
  } else throw invalid('Token-array prompts are not supported across providers; send the prompt as text.', 'prompt')

  if (b.suffix) ctx.warn('suffix (fill-in-the-middle) is not supported across providers; ignored')
  if (b.echo) ctx.warn('echo is not supported; ignored')
  if (b.best_of != null && b.best_of !== 1) ctx.warn('best_of is not supported; ignored')
  for (const f of IGNORED) if (b[f] != null) ctx.warn(`${f} is not supported across providers; ignored`)

  const req: IRRequest = { model: b.model, system: [], messages: [{ role: 'user', content: [{ type: 'text', text: prompt }] }], stream: b.stream === true }
  if (typeof b.max_tokens === 'number') req.maxTokens = b.max_tokens
  if (typeof b.temperature === 'number') req.temperature = b.temperature
  if (typeof b.top_p === 'number') req.topP = b.top_p
  const stop = typeof b.stop === 'string' ? [b.stop] : Array.isArray(b.stop) ? b.stop : []
  if (stop.length) req.stop = stop
  if (typeof b.user === 'string' && b.user) req.user = b.user
  return req
}
