/**
 * The inbound APIs: one descriptor each, in its dialect folder (`dialects/<d>/<endpoint>/endpoint.ts`), listed here
 * once. The route table, the Elysia routes, the OpenAPI document and the dispatcher all read this list; adding an
 * endpoint is its folder and one line below.
 */
import { chatEndpoint } from '../dialects/openai/chat/endpoint'
import { completionsEndpoint } from '../dialects/openai/completions/endpoint'
import { responsesEndpoint } from '../dialects/openai/responses/endpoint'
import { embeddingsEndpoint } from '../dialects/openai/embeddings/endpoint'
import { imagesEndpoint, imageEditsEndpoint } from '../dialects/openai/images/endpoint'
import { transcriptionsEndpoint } from '../dialects/openai/transcriptions/endpoint'
import { responsesCompactEndpoint } from '../dialects/openai/responses-compact/endpoint'
import { responsesInputTokensEndpoint } from '../dialects/openai/responses-input-tokens/endpoint'
import { messagesEndpoint } from '../dialects/anthropic/messages/endpoint'
import { countTokensEndpoint as anthropicCountTokens } from '../dialects/anthropic/count-tokens/endpoint'
import { generateEndpoint, streamEndpoint } from '../dialects/gemini/generate/endpoint'
import { countTokensEndpoint as geminiCountTokens } from '../dialects/gemini/count-tokens/endpoint'
import { embedContentEndpoint, batchEmbedContentsEndpoint } from '../dialects/gemini/embed/endpoint'
import type { EndpointId } from '../dialects/endpoint'
import { compactPlan, countTokensPlan, embeddingsPlan, geminiEmbedPlan, imagesPlan, transcriptionsPlan } from './special'
import type { Endpoint } from './plan'

export type { EndpointId, EndpointDescriptor, Tag } from '../dialects/endpoint'
export type { Endpoint, ModelCall, Plan } from './plan'

/** Every inbound API, in route-table order. */
export const ENDPOINT_LIST: Endpoint[] = [
  chatEndpoint,
  completionsEndpoint,
  responsesEndpoint,
  { ...responsesCompactEndpoint, special: compactPlan },
  { ...responsesInputTokensEndpoint, special: countTokensPlan },
  { ...embeddingsEndpoint, special: embeddingsPlan },
  { ...imagesEndpoint, special: imagesPlan },
  { ...imageEditsEndpoint, special: imagesPlan },
  { ...transcriptionsEndpoint, special: transcriptionsPlan },
  messagesEndpoint,
  { ...anthropicCountTokens, special: countTokensPlan },
  generateEndpoint,
  streamEndpoint,
  { ...geminiCountTokens, special: countTokensPlan },
  { ...embedContentEndpoint, special: geminiEmbedPlan },
  { ...batchEmbedContentsEndpoint, special: geminiEmbedPlan },
]

export const ENDPOINTS = Object.fromEntries(ENDPOINT_LIST.map(e => [e.id, e])) as Record<EndpointId, Endpoint>

/** Gemini `models/{model}:action` → its endpoint (the one place that knows the action names). */
export const GEMINI_ACTIONS: Record<string, Endpoint> = Object.fromEntries(ENDPOINT_LIST.flatMap(e => ('action' in e.route ? [[e.route.action, e]] : [])))

/** Gemini actions agproxy does not serve that still say a path is Google's (for the caller's error dialect). */
export const OTHER_GEMINI_ACTIONS: string[] = []

/** The Responses APIs a chat-only server lacks (`responses: auto | chat`): Responses itself (translated through Chat
 *  Completions), compaction (a summary through Chat Completions) and input token counts (a local estimate). */
export const RESPONSES_APIS: ReadonlySet<EndpointId> = new Set<EndpointId>(['openai.responses', 'openai.responses_compact', 'openai.responses_input_tokens'])
