/**
 * The model endpoints: one row per inbound API, with the body schema that validates it (compiled
 * once at start) and documents it in /swagger.
 */
import { t, type TSchema } from 'elysia'
import type { Dialect } from '../ir/types'

export type EndpointId =
  | 'openai.chat' | 'openai.completions' | 'openai.responses' | 'openai.embeddings'
  | 'anthropic.messages' | 'anthropic.count_tokens'
  | 'gemini.generate' | 'gemini.stream' | 'gemini.count_tokens'

export interface Endpoint { id: EndpointId; dialect: Dialect; schema: TSchema }

const loose = (required: Record<string, TSchema>) => t.Object(required, { additionalProperties: true })
const Model = t.String({ minLength: 1, description: 'model name, alias, or provider/model' })

export const ENDPOINTS: Record<EndpointId, Endpoint> = {
  'openai.chat': { id: 'openai.chat', dialect: 'openai', schema: loose({ model: Model, messages: t.Array(t.Any()) }) },
  'openai.completions': { id: 'openai.completions', dialect: 'openai', schema: loose({ model: Model }) },
  'openai.responses': { id: 'openai.responses', dialect: 'openai', schema: loose({ model: Model }) },
  'openai.embeddings': { id: 'openai.embeddings', dialect: 'openai', schema: loose({ model: Model, input: t.Any() }) },
  'anthropic.messages': { id: 'anthropic.messages', dialect: 'anthropic', schema: loose({ model: Model, messages: t.Array(t.Any()), max_tokens: t.Number() }) },
  'anthropic.count_tokens': { id: 'anthropic.count_tokens', dialect: 'anthropic', schema: loose({ model: Model, messages: t.Array(t.Any()) }) },
  'gemini.generate': { id: 'gemini.generate', dialect: 'gemini', schema: loose({ contents: t.Array(t.Any()) }) },
  'gemini.stream': { id: 'gemini.stream', dialect: 'gemini', schema: loose({ contents: t.Array(t.Any()) }) },
  'gemini.count_tokens': { id: 'gemini.count_tokens', dialect: 'gemini', schema: loose({}) },
}
