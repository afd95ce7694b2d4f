/**
 * The count_tokens answer (POST /v1/messages/count_tokens): `{input_tokens}`.
 */

/** a token count → the wire answer (never negative, whole tokens) */
export const encodeCountTokensResponse = (n: number) => ({ input_tokens: Math.max(0, Math.round(n)) })
