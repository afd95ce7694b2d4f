/**
 * The model endpoints: one row per inbound API, with the body schema that validates it (compiled
 * once at start) and documents it in /swagger. The schemas live with their dialects.
 */
import type { TSchema } from 'elysia'
import type { Dialect } from '../ir/types'
import { ChatCompletionBody, CompletionBody, ResponsesBody, EmbeddingBody } from '../dialects/openai'
import { AnthropicMessagesBody, AnthropicCountTokensBody } from '../dialects/anthropic'
import { GeminiGenerateContentBody, GeminiCountTokensBody } from '../dialects/gemini'

export type EndpointId =
  | 'openai.chat' | 'openai.completions' | 'openai.responses' | 'openai.embeddings'
  | 'anthropic.messages' | 'anthropic.count_tokens'
  | 'gemini.generate' | 'gemini.stream' | 'gemini.count_tokens'

export interface Endpoint { id: EndpointId; dialect: Dialect; schema: TSchema }

const row = (id: EndpointId, dialect: Dialect, schema: TSchema): [EndpointId, Endpoint] => [id, { id, dialect, schema }]

export const ENDPOINTS = Object.fromEntries([
  row('openai.chat', 'openai', ChatCompletionBody),
  row('openai.completions', 'openai', CompletionBody),
  row('openai.responses', 'openai', ResponsesBody),
  row('openai.embeddings', 'openai', EmbeddingBody),
  row('anthropic.messages', 'anthropic', AnthropicMessagesBody),
  row('anthropic.count_tokens', 'anthropic', AnthropicCountTokensBody),
  row('gemini.generate', 'gemini', GeminiGenerateContentBody),
  row('gemini.stream', 'gemini', GeminiGenerateContentBody),
  row('gemini.count_tokens', 'gemini', GeminiCountTokensBody),
]) as Record<EndpointId, Endpoint>
