/** Index into a test fixture or result, failing the test by name when the index is out of range (noUncheckedIndexedAccess). */
export function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i]
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`)
  return x
}
