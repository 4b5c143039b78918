/**
 * The one small-file store (main/storage/small-file.ts): schema on every read, damaged files set
 * aside and said, newer versions left untouched, older ones migrated; writes atomic (old or new
 * content, never half, no temp file left), and the in-memory copy changed only after the write.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { SmallFile, SmallFileWriteError, StoredDocument } from '../../../main/storage/small-file'
import { isRoot, mountSmallDisk, smallDiskSkipReason, tempFilesIn, type SmallDisk } from '../../helpers/small-disk'

const Doc = z.object({ version: z.literal(2), names: z.array(z.string()) })
type Doc = z.infer<typeof Doc>

const dirs: string[] = []
const disks: SmallDisk[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) {
    chmodSync(d, 0o700)
    rmSync(d, { recursive: true, force: true })
  }
  for (const d of disks.splice(0)) d.unmount()
})

function spec(dir: string): ConstructorParameters<typeof SmallFile<Doc>>[0] {
  return {
    file: join(dir, 'names.json'),
    what: 'the names',
    version: 2,
    schema: Doc,
    empty: () => ({ version: 2, names: [] }),
    migrate: (from, doc) => {
      if (from === 1) return { version: 2, names: Array.isArray(doc['list']) ? doc['list'] : [] }
      throw new Error(`no way from version ${from}`)
    },
  }
}

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'xp-small-file-'))
  dirs.push(d)
  return d
}

describe('reading', () => {
  it('starts empty without a file, reads a good one, migrates an older version', () => {
    const dir = tmp()
    const f = new SmallFile(spec(dir))
    expect(f.read()).toEqual({ value: { version: 2, names: [] }, from: 'missing' })
    writeFileSync(join(dir, 'names.json'), JSON.stringify({ version: 2, names: ['a'] }))
    expect(f.read()).toEqual({ value: { version: 2, names: ['a'] }, from: 'file' })
    writeFileSync(join(dir, 'names.json'), JSON.stringify({ version: 1, list: ['old'] }))
    expect(f.read().value).toEqual({ version: 2, names: ['old'] })
  })

  it('sets a damaged file aside (kept, named) and says so in a sentence, for bad JSON, a bad shape and an empty file', () => {
    for (const [content, why] of [
      ['{"version":2,"names":["a"', /not valid JSON/],
      [JSON.stringify({ version: 2, names: [1] }), /names\.0: .*string/],
      ['', /the file is empty/],
      ['[1,2]', /does not hold a JSON object/],
      [JSON.stringify({ version: 'two' }), /version "two" is not a number/],
    ] as const) {
      const dir = tmp()
      writeFileSync(join(dir, 'names.json'), content)
      const r = new SmallFile(spec(dir)).read()
      expect(r.from).toBe('damaged')
      expect(r.value).toEqual({ version: 2, names: [] })
      expect(r.problem?.message).toMatch(why)
      expect(r.problem?.message).toMatch(/^The names \(.*names\.json\) could not be read: .* The file was kept as names\.json\.damaged-\d{8}T\d{6}Z and XenPilot started without them\.$/)
      const aside = readdirSync(dir).filter((n) => n.startsWith('names.json.damaged-'))
      expect(aside).toHaveLength(1)
      expect(readFileSync(join(dir, aside[0] ?? ''), 'utf8')).toBe(content)
      expect(existsSync(join(dir, 'names.json'))).toBe(false)
    }
  })

  it('leaves a file from a newer XenPilot untouched and refuses to overwrite it', async () => {
    const dir = tmp()
    const newer = JSON.stringify({ version: 3, names: ['future'], more: true })
    writeFileSync(join(dir, 'names.json'), newer)
    const f = new SmallFile(spec(dir))
    const r = f.read()
    expect(r.from).toBe('too-new')
    expect(r.problem?.message).toMatch(/written by a newer XenPilot \(file version 3, this one reads up to 2\); the file is left untouched/)
    await expect(f.write({ version: 2, names: ['x'] })).rejects.toThrow(SmallFileWriteError)
    expect(readFileSync(join(dir, 'names.json'), 'utf8')).toBe(newer)
  })
})

describe('writing', () => {
  it('writes the whole file with mode 0600, readable back through the schema, and leaves no temp file', async () => {
    const dir = tmp()
    const f = new SmallFile(spec(dir))
    await f.write({ version: 2, names: ['a', 'b'] })
    expect(new SmallFile(spec(dir)).read().value).toEqual({ version: 2, names: ['a', 'b'] })
    expect(statSync(join(dir, 'names.json')).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir)).toEqual(['names.json'])
  })

  it('serialises writes: the last one queued is what is on disk', async () => {
    const dir = tmp()
    const f = new SmallFile(spec(dir))
    await Promise.all(Array.from({ length: 20 }, (_, i) => f.write({ version: 2, names: [String(i)] })))
    expect(f.read().value.names).toEqual(['19'])
  })

  it.skipIf(isRoot)('a folder it may not write in: a sentence naming the file and the reason, old content kept (non-root)', async () => {
    const dir = tmp()
    const f = new SmallFile(spec(dir))
    await f.write({ version: 2, names: ['kept'] })
    chmodSync(dir, 0o500)
    await expect(f.write({ version: 2, names: ['lost'] })).rejects.toThrow(/^XenPilot could not save the names \(.*names\.json\): XenPilot may not write in .* \(permission denied\)\. Nothing was changed\.$/)
    expect(f.read().value.names).toEqual(['kept'])
  })
})

describe.skipIf(smallDiskSkipReason !== undefined)(`on a real small disk${smallDiskSkipReason ? ` (skipped: ${smallDiskSkipReason})` : ''}`, () => {
  it('a full disk: "the disk holding D is full", old content kept, no temp file left', async () => {
    const disk = mountSmallDisk(256 * 1024)
    disks.push(disk)
    const f = new SmallFile(spec(disk.dir))
    await f.write({ version: 2, names: ['kept'] })
    disk.fill()
    const big = Array.from({ length: 2000 }, (_, i) => `name-${i}`)
    const err = await f.write({ version: 2, names: big }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SmallFileWriteError)
    expect((err as SmallFileWriteError).kind).toBe('disk-full')
    expect((err as Error).message).toBe(`XenPilot could not save the names (${join(disk.dir, 'names.json')}): the disk holding ${disk.dir} is full. Nothing was changed.`)
    expect(f.read().value.names).toEqual(['kept'])
    expect(tempFilesIn(disk.dir)).toEqual([])
    disk.unfill()
    await f.write({ version: 2, names: big })
    expect(f.read().value.names).toHaveLength(2000)
  })

  it('a read-only file system: said as such, old content kept', async () => {
    const disk = mountSmallDisk(256 * 1024)
    disks.push(disk)
    const f = new SmallFile(spec(disk.dir))
    await f.write({ version: 2, names: ['kept'] })
    disk.readOnly(true)
    await expect(f.write({ version: 2, names: ['x'] })).rejects.toThrow(`the names (${join(disk.dir, 'names.json')}): ${disk.dir} is on a read-only file system. Nothing was changed.`)
    disk.readOnly(false)
    expect(f.read().value.names).toEqual(['kept'])
  })

  it('StoredDocument: the value in memory changes only after the disk took it', async () => {
    const disk = mountSmallDisk(256 * 1024)
    disks.push(disk)
    const doc = new StoredDocument(spec(disk.dir))
    await doc.update((d) => ({ ...d, names: ['one'] }))
    disk.fill()
    await expect(doc.update((d) => ({ ...d, names: [...d.names, 'two'.repeat(5000)] }))).rejects.toThrow(/is full/)
    expect(doc.value.names).toEqual(['one'])
    disk.unfill()
    await doc.update((d) => ({ ...d, names: [...d.names, 'two'] }))
    expect(doc.value.names).toEqual(['one', 'two'])
    expect(new StoredDocument(spec(disk.dir)).value.names).toEqual(['one', 'two'])
  })
})
