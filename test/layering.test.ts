/**
 * The layering rule (scripts/check-layers.ts) holds over src/: no import cycles, no upward import. And the
 * checker itself sees a bad import and a cycle in a tree made to have them.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { checkLayers } from '../scripts/check-layers'

const temp = mkdtempSync(join(tmpdir(), 'agproxy-layers-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

const write = (root: string, files: Record<string, string>) => {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
}

describe('layering', () => {
  test('src/ has no cycle and no upward import', () => {
    expect(checkLayers(resolve(import.meta.dir, '..', 'src')).map(v => v.message)).toEqual([])
  })

  test('a provider file importing a route file, and a cycle, are both reported', () => {
    write(temp, {
      'providers/call.ts': "import { route } from '../routes/chat'\nexport const call = route\n",
      'routes/chat.ts': 'export const route = 1\n',
      'dispatch/a.ts': "import { b } from './b'\nexport const a = b\n",
      'dispatch/b.ts': "import { a } from './a'\nexport const b = a\n",
    })
    const found = checkLayers(temp)
    expect(found.some(v => v.kind === 'upward' && v.message.includes('providers/call.ts imports routes/chat.ts'))).toBe(true)
    expect(found.some(v => v.kind === 'cycle' && v.message.includes('dispatch/a.ts') && v.message.includes('dispatch/b.ts'))).toBe(true)
  })
})
