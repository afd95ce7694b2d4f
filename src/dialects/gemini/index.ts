/** The Gemini dialect (generateContent / streamGenerateContent / countTokens / embeddings), both directions. */
export {
  GeminiGenerateContentBody, GeminiCountTokensBody, GeminiEmbedContentBody, GeminiBatchEmbedContentsBody,
} from './model'
export { geminiClient, geminiStreamContentType } from './client'
export { geminiUpstream } from './upstream'
export {
  geminiCountTokensUpstream, decodeGeminiCountTokens, encodeGeminiCountTokensResponse, decodeGeminiCountTokensRequest,
  encodeGeminiEmbedUpstream, decodeGeminiEmbedUpstream, decodeGeminiEmbedRequest, encodeGeminiEmbedResponse,
} from './count'
export { cleanSchemaForGemini } from './schema-clean'
export { geminiErrorBody, geminiErrorToIR } from './mapping'
