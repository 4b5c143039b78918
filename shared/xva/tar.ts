/**
 * The tar framing of an XVA (xapi's Tar_helpers over ocaml-tar): 512-byte headers, file data
 * padded to 512 bytes, two zero blocks at the end. Only what XVAs use: regular files with short
 * names (`ova.xml`, `Ref:12/00000003`, `Ref:12/00000003.xxhash`), sizes below 8 GiB.
 * Plain Uint8Array, no Node Buffer: the simulator, main and tests share it.
 */

export const TAR_BLOCK = 512

export interface TarEntry {
  name: string
  size: number
  /** '0' (or '\0') regular file; anything else is reported as is */
  type: string
}

export type TarHeaderResult = { kind: 'entry'; entry: TarEntry } | { kind: 'end' } | { kind: 'bad'; why: string }

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: false })

function writeOctal(b: Uint8Array, off: number, width: number, value: number): void {
  // width includes the terminating NUL
  const s = value.toString(8).padStart(width - 1, '0')
  b.set(enc.encode(s), off)
  b[off + width - 1] = 0
}

function writeString(b: Uint8Array, off: number, width: number, s: string): void {
  const bytes = enc.encode(s)
  if (bytes.length > width) throw new Error(`tar: ${JSON.stringify(s)} is longer than ${width} bytes`)
  b.set(bytes, off)
}

/** a ustar header for a regular file (mode 0400, owner 0, mtime 0 as xapi's Tar.Header.make) */
export function tarHeader(name: string, size: number, mtime = 0): Uint8Array {
  if (size < 0 || size >= 8 * 1024 ** 3) throw new Error(`tar: size ${size} of ${name} is out of range`)
  const b = new Uint8Array(TAR_BLOCK)
  writeString(b, 0, 100, name)
  writeOctal(b, 100, 8, 0o400)
  writeOctal(b, 108, 8, 0)
  writeOctal(b, 116, 8, 0)
  writeOctal(b, 124, 12, size)
  writeOctal(b, 136, 12, mtime)
  b[156] = 0x30 // '0' regular file
  writeString(b, 257, 6, 'ustar')
  b[262] = 0
  writeString(b, 263, 2, '00')
  // checksum: the header's bytes summed with the checksum field as spaces
  b.fill(0x20, 148, 156)
  let sum = 0
  for (let i = 0; i < TAR_BLOCK; i++) sum += b[i]!
  const cs = sum.toString(8).padStart(6, '0')
  b.set(enc.encode(cs), 148)
  b[154] = 0
  b[155] = 0x20
  return b
}

/** bytes of zero padding after `size` bytes of file data */
export function tarPadding(size: number): number {
  const r = size % TAR_BLOCK
  return r === 0 ? 0 : TAR_BLOCK - r
}

/** the end of an archive: two zero blocks */
export function tarEnd(): Uint8Array {
  return new Uint8Array(TAR_BLOCK * 2)
}

function readString(b: Uint8Array, off: number, width: number): string {
  let end = off
  while (end < off + width && b[end] !== 0) end++
  return dec.decode(b.subarray(off, end))
}

function readOctal(b: Uint8Array, off: number, width: number): number | undefined {
  const s = readString(b, off, width).trim()
  if (s === '') return 0
  if (!/^[0-7]+$/.test(s)) return undefined
  return parseInt(s, 8)
}

/** one 512-byte block read as a header: an entry, the end-of-archive zero block, or why it is not a header */
export function parseTarHeader(b: Uint8Array): TarHeaderResult {
  if (b.length !== TAR_BLOCK) return { kind: 'bad', why: `a tar header is ${TAR_BLOCK} bytes, got ${b.length}` }
  let zero = true
  for (let i = 0; i < TAR_BLOCK; i++) {
    if (b[i] !== 0) {
      zero = false
      break
    }
  }
  if (zero) return { kind: 'end' }
  const stored = readOctal(b, 148, 8)
  let sum = 0
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!
  if (stored === undefined || stored !== sum) return { kind: 'bad', why: 'a tar header checksum does not match (the file is damaged or is not a tar archive)' }
  const size = readOctal(b, 124, 12)
  if (size === undefined) return { kind: 'bad', why: 'a tar header has an unreadable size' }
  let name = readString(b, 0, 100)
  const magic = readString(b, 257, 6)
  if (magic === 'ustar') {
    const prefix = readString(b, 345, 155)
    if (prefix) name = `${prefix}/${name}`
  }
  const t = b[156] ?? 0
  return { kind: 'entry', entry: { name, size, type: t === 0 ? '0' : String.fromCharCode(t) } }
}

/** XVA layout: the chunk file name of chunk `n` of the disk stored under `prefix` (`Ref:12/00000003`) */
export function xvaChunkName(prefix: string, n: number): string {
  return `${prefix}/${String(n).padStart(8, '0')}`
}

export const XVA_CHUNK = 1024 * 1024
export const XVA_OVA_XML = 'ova.xml'
export const XVA_CHECKSUM_XXHASH = '.xxhash'
export const XVA_CHECKSUM_SHA1 = '.checksum'
