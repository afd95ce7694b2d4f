/** A URL as messages show it: any credentials and query string hidden (they may hold secrets). */
export const displayUrl = (raw: string) =>
  raw
    .trim()
    .replace(/\/\/[^/@?#]*@/, '//…@')
    .replace(/[?#].*$/s, '?…')
