/**
 * The multipart reader (src/dialects/multipart.ts) on what clients and hostile senders send: quoted boundaries, binary
 * parts, repeated names, a model value replaced in place, and bodies that are not multipart at all.
 */
import { describe, expect, test } from 'bun:test'
import { boundaryOf, formFields, parseForm, setFormField } from '../src/dialects/multipart'

const te = new TextEncoder()
const part = (name: string, value: string | Uint8Array, file?: string) =>
  Buffer.concat([
    te.encode(`--B\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"\r\nContent-Type: image/png` : ''}\r\n\r\n`),
    typeof value === 'string' ? te.encode(value) : value,
    te.encode('\r\n'),
  ])
const body = (...parts: Buffer[]) => new Uint8Array(Buffer.concat([...parts, te.encode('--B--\r\n')]))

describe('multipart', () => {
  test('boundaries, quoted or not', () => {
    expect(boundaryOf('multipart/form-data; boundary=abc')).toBe('abc')
    expect(boundaryOf('multipart/form-data; boundary="a b;c"')).toBe('a b;c')
    expect(boundaryOf('application/json')).toBeUndefined()
  })

  test('fields, files (views, not copies) and repeated names', () => {
    const bin = new Uint8Array([13, 10, 45, 45, 67, 0, 255]) // CRLF--C: like a boundary, but not this one
    const b = body(part('model', 'm1'), part('image[]', bin, 'a.png'), part('image[]', bin, 'b.png'), part('model', 'second'))
    const r = parseForm(b, 'B')
    if (!r.ok) throw new Error(r.why)
    expect(r.parts.map(p => [p.name, p.filename, p.type])).toEqual([
      ['model', undefined, undefined],
      ['image[]', 'a.png', 'image/png'],
      ['image[]', 'b.png', 'image/png'],
      ['model', undefined, undefined],
    ])
    expect([...r.parts[1]!.data]).toEqual([...bin])
    expect(r.parts[1]!.data.buffer).toBe(b.buffer)
    expect(formFields(r.parts)).toEqual({ model: 'm1' })
  })

  test('the model set in place: every other byte kept', () => {
    const b = body(part('prompt', 'hi'), part('model', 'alias'), part('file', new Uint8Array([1, 2, 3]), 'x.png'))
    const r = parseForm(b, 'B')
    if (!r.ok) throw new Error(r.why)
    const out = setFormField(b, r.parts, 'model', 'gpt-image-1')
    expect(
      Buffer.from(out).equals(Buffer.from(body(part('prompt', 'hi'), part('model', 'gpt-image-1'), part('file', new Uint8Array([1, 2, 3]), 'x.png')))),
    ).toBe(true)
    // a file named model is not the model field
    const f = body(part('model', new Uint8Array([9]), 'model.bin'))
    const rf = parseForm(f, 'B')
    if (!rf.ok) throw new Error(rf.why)
    expect(setFormField(f, rf.parts, 'model', 'x')).toBe(f)
  })

  test('not multipart: each says why', () => {
    const why = (b: string, boundary = 'B') => {
      const r = parseForm(te.encode(b), boundary)
      return r.ok ? 'ok' : r.why
    }
    expect(why('{"model":"x"}')).toContain('boundary')
    expect(why('--B\r\nContent-Disposition: form-data; name="m"\r\n\r\nvalue')).toContain('closing boundary')
    expect(why('--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--')).toContain('no name')
    expect(why('--Bxx')).toContain('malformed')
    expect(why('--B\r\nno headers end')).toContain('end of headers')
    const many = `${'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n'.repeat(1001)}--B--`
    expect(why(many)).toContain('more than 1000 parts')
  })
})
