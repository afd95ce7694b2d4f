/**
 * multipart/form-data bodies relayed as sent (images/edits, audio/transcriptions): the boundary of a content type, the
 * parts of a body read in place (no copies: each part's data is a view of the body), and one text field's value
 * replaced in the raw bytes (the routed model), every other byte kept.
 */

/** One part: its field name, a file's name and type, its bytes (a view into the body). */
export interface FormPart {
  name: string
  filename?: string
  type?: string
  data: Uint8Array
}

/** no real upload has more parts than this */
const MAX_PARTS = 1000

/** the boundary of a multipart content type, or undefined */
export function boundaryOf(contentType: string | null | undefined): string | undefined {
  const m = contentType?.match(/boundary=(?:"([^"]+)"|([^;\s]+))/i)
  return m ? (m[1] ?? m[2]) : undefined
}

/** The parts of a multipart body, or why it is not one. */
export function parseForm(bytes: Uint8Array, boundary: string): { ok: true; parts: FormPart[] } | { ok: false; why: string } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const delim = Buffer.from(`--${boundary}`)
  const next = Buffer.from(`\r\n--${boundary}`)
  const parts: FormPart[] = []
  let pos = buf.indexOf(delim)
  if (pos < 0) return { ok: false, why: 'the boundary of its content type is not in the body' }
  while (parts.length <= MAX_PARTS) {
    pos += delim.length
    if (buf[pos] === 45 && buf[pos + 1] === 45) return { ok: true, parts }
    if (buf[pos] !== 13 || buf[pos + 1] !== 10) return { ok: false, why: 'a boundary line is malformed' }
    const headEnd = buf.indexOf('\r\n\r\n', pos)
    if (headEnd < 0) return { ok: false, why: 'a part has no end of headers' }
    const head = buf.toString('utf8', pos + 2, headEnd)
    const end = buf.indexOf(next, headEnd + 4)
    if (end < 0) return { ok: false, why: 'the body ends before its closing boundary' }
    const disposition = head.match(/content-disposition:[^\r\n]*/i)?.[0] ?? ''
    const name = disposition.match(/;\s*name="([^"]*)"/i)?.[1]
    if (name === undefined) return { ok: false, why: 'a part has no name in its Content-Disposition' }
    const filename = disposition.match(/;\s*filename="([^"]*)"/i)?.[1]
    const type = head.match(/content-type:\s*([^\r\n]+)/i)?.[1]?.trim()
    parts.push({ name, ...(filename !== undefined && { filename }), ...(type && { type }), data: bytes.subarray(headEnd + 4, end) })
    pos = end + 2
  }
  return { ok: false, why: `it has more than ${MAX_PARTS} parts` }
}

/** the text fields of a form (the first value of each name; files left out) */
export function formFields(parts: FormPart[]): Record<string, string> {
  const out: Record<string, string> = {}
  const td = new TextDecoder()
  for (const p of parts) if (p.filename === undefined && !(p.name in out)) out[p.name] = td.decode(p.data)
  return out
}

/** the bytes with text field `name` set to `value` (its first occurrence); unchanged when it is not there */
export function setFormField(bytes: Uint8Array, parts: FormPart[], name: string, value: string): Uint8Array {
  const p = parts.find(x => x.name === name && x.filename === undefined)
  if (!p) return bytes
  const start = p.data.byteOffset - bytes.byteOffset
  return Buffer.concat([bytes.subarray(0, start), new TextEncoder().encode(value), bytes.subarray(start + p.data.byteLength)])
}
