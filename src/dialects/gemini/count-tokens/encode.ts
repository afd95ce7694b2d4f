/**
 * A token count → the countTokens answer a Gemini client reads (`{totalTokens}`).
 */

/** a token count → `{totalTokens}` */
export function encodeGeminiCountTokensResponse(n: number): { totalTokens: number } {
  return { totalTokens: n }
}
