/**
 * shared/xva: XXH64 as xapi writes it beside each chunk (checked against the system's libxxhash
 * through Python's ctypes, when the library is there), and the tar framing read back as written.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseTarHeader, TAR_BLOCK, tarHeader, tarPadding, xvaChunkName } from '../../../shared/xva/tar'
import { xxh64Hex } from '../../../shared/xva/xxhash64'

const LIB = ['/usr/lib/x86_64-linux-gnu/libxxhash.so.0', '/usr/lib/aarch64-linux-gnu/libxxhash.so.0'].find((p) => existsSync(p))

function sample(n: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 255
  return b
}

describe('XXH64', () => {
  it('known values: empty input and a short string', () => {
    expect(xxh64Hex(new Uint8Array(0))).toBe('EF46DB3751D8E999')
    expect(xxh64Hex(Buffer.from('abc'))).toBe('44BC2CF5AD770999')
  })

  it.skipIf(!LIB)('equals libxxhash for every tail length and a whole chunk', () => {
    const sizes = [1, 3, 4, 7, 8, 15, 31, 32, 33, 63, 64, 100, 1000, 1024 * 1024]
    const py = `import ctypes,sys\nlib=ctypes.CDLL('${LIB}');lib.XXH64.restype=ctypes.c_uint64;lib.XXH64.argtypes=[ctypes.c_char_p,ctypes.c_size_t,ctypes.c_uint64]\nfor n in map(int,sys.argv[1:]):\n b=bytes(((i*31+7)&255) for i in range(n));print('%016X'%lib.XXH64(b,n,0))`
    const ref = execFileSync('/usr/bin/python3', ['-c', py, ...sizes.map(String)], { encoding: 'utf8' }).trim().split('\n')
    expect(sizes.map((n) => xxh64Hex(sample(n)))).toEqual(ref)
  })
})

describe('tar framing', () => {
  it('a header reads back with its name and size; damage and the end are told apart', () => {
    const name = xvaChunkName('Ref:12', 3)
    expect(name).toBe('Ref:12/00000003')
    const h = tarHeader(name, 1048576)
    expect(h.length).toBe(TAR_BLOCK)
    expect(parseTarHeader(h)).toEqual({ kind: 'entry', entry: { name, size: 1048576, type: '0' } })
    const bad = Uint8Array.from(h)
    bad[10] = (bad[10] ?? 0) ^ 1
    expect(parseTarHeader(bad).kind).toBe('bad')
    expect(parseTarHeader(new Uint8Array(TAR_BLOCK))).toEqual({ kind: 'end' })
    expect(tarPadding(16)).toBe(496)
    expect(tarPadding(1048576)).toBe(0)
  })

  it('GNU tar reads the header as a regular file of that size', () => {
    const py = 'import tarfile,io,sys\nb=sys.stdin.buffer.read()\nt=tarfile.open(fileobj=io.BytesIO(b))\nm=t.getmembers()[0]\nprint(m.name, m.size, m.isfile())'
    const data = Buffer.from('hello')
    const archive = Buffer.concat([Buffer.from(tarHeader('ova.xml', data.length)), data, Buffer.alloc(tarPadding(data.length)), Buffer.alloc(TAR_BLOCK * 2)])
    expect(execFileSync('/usr/bin/python3', ['-c', py], { input: archive, encoding: 'utf8' }).trim()).toBe('ova.xml 5 True')
  })
})
