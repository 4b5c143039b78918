/**
 * Response body builder: glue strings are written into a shared scratch buffer (no allocation
 * per piece), small cached record fragments are copied next to their glue, big ones go in as
 * Buffers untouched, so a 112 MB get_all_records is a few dozen large writes.
 */
const FIRST = 64 * 1024
const SCRATCH = 2 * 1024 * 1024
const COPY_MAX = 16 * 1024
/** recycled scratch buffers kept for the next response (64 MB) */
const SPARE_MAX = 32
const spare: Buffer[] = []

/**
 * A 2 MB scratch buffer, recycled when possible: fresh memory costs a page fault per 4 KB on first
 * touch, which was a third of the CPU time of serving a cached bench-10k get_all_records.
 */
function takeScratch(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafe(SCRATCH)
}

export class Out {
  private readonly parts: Buffer[] = []
  // small replies (most calls) never need more than this
  private scratch: Buffer = Buffer.allocUnsafe(FIRST)
  /** the recyclable scratch buffers this body was written into */
  private readonly owned: Buffer[] = []
  private released = false
  /** start of the not-yet-emitted region of scratch */
  private start = 0
  private pos = 0
  length = 0

  /**
   * Hand the scratch buffers back for the next response. Only once nothing reads the body any
   * more (the HTTP layer calls it when the response has been written out completely).
   */
  release(): void {
    if (this.released) return
    this.released = true
    for (const b of this.owned) if (spare.length < SPARE_MAX) spare.push(b)
    this.owned.length = 0
  }

  str(s: string): void {
    // worst case 3 bytes per UTF-16 unit
    if (s.length * 3 > this.scratch.length - this.pos) {
      if (s.length * 3 > SCRATCH) {
        this.cut()
        const b = Buffer.from(s, 'utf8')
        this.parts.push(b)
        this.length += b.length
        return
      }
      this.fresh()
    }
    const n = this.scratch.write(s, this.pos, 'utf8')
    this.pos += n
    this.length += n
  }

  /**
   * Append a fragment. `adjacent`: the caller expects runs of fragments that lie next to each
   * other in memory (warmed get_all_records members): such a run becomes one slice, uncopied.
   */
  buf(b: Buffer, adjacent = false): void {
    if (adjacent) {
      this.cut()
      const last = this.parts[this.parts.length - 1]
      if (last && last.buffer === b.buffer && last.byteOffset + last.length === b.byteOffset) {
        this.parts[this.parts.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + b.length)
      } else this.parts.push(b)
      this.length += b.length
      return
    }
    if (b.length <= COPY_MAX) {
      // small fragments are copied next to their glue: one copy now instead of one at write time
      if (b.length > this.scratch.length - this.pos) this.fresh()
      b.copy(this.scratch, this.pos)
      this.pos += b.length
      this.length += b.length
      return
    }
    this.cut()
    this.parts.push(b)
    this.length += b.length
  }

  private fresh(): void {
    this.cut()
    this.scratch = takeScratch()
    this.owned.push(this.scratch)
    this.start = 0
    this.pos = 0
  }

  private cut(): void {
    if (this.pos > this.start) {
      this.parts.push(this.scratch.subarray(this.start, this.pos))
      this.start = this.pos
    }
  }

  finish(): Buffer[] {
    this.cut()
    return this.parts
  }

  /** the body in pieces of at least `min` bytes, so the TLS socket sees few large writes */
  chunks(min = 64 * 1024): Buffer[] {
    const parts = this.finish()
    const out: Buffer[] = []
    let run: Buffer[] = []
    let size = 0
    const flush = (): void => {
      if (run.length) out.push(run.length === 1 && run[0] ? run[0] : Buffer.concat(run, size))
      run = []
      size = 0
    }
    for (const p of parts) {
      // a big part goes out as it is: gluing a few bytes to it would copy all of it
      if (p.length >= min) {
        flush()
        out.push(p)
        continue
      }
      run.push(p)
      size += p.length
      if (size >= min) flush()
    }
    flush()
    return out
  }

  toBuffer(): Buffer {
    const parts = this.finish()
    return parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts, this.length)
  }

  toString(): string {
    return this.toBuffer().toString('utf8')
  }
}

/** OCaml's `%.16g`, as ocaml-rpc prints floats; nan/inf as OCaml writes them. */
export function formatG16(n: number): string {
  if (Number.isNaN(n)) return 'nan'
  if (n === Infinity) return 'inf'
  if (n === -Infinity) return '-inf'
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n)
  const exp = n === 0 ? 0 : Math.floor(Math.log10(Math.abs(n)))
  if (exp < -4 || exp >= 16) {
    const [mant = '', e = '0'] = n.toExponential(15).split('e')
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant
    const ev = Number(e)
    return `${m}e${ev < 0 ? '-' : '+'}${String(Math.abs(ev)).padStart(2, '0')}`
  }
  const s = n.toPrecision(16)
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s
}

const SLAB = 1024 * 1024

/**
 * Buffers for cached fragments, cut from shared 1 MB slabs: one Buffer.from per record would
 * allocate an external ArrayBuffer each (10,000 of them for a bench-10k get_all_records), and
 * external allocations drive V8 into back-to-back GCs. A slab lives while any of its fragments does.
 */
export class FragmentSlab {
  private slab = Buffer.allocUnsafe(0)
  private pos = 0

  from(s: string): Buffer {
    // worst case 3 bytes per UTF-16 unit; big strings get a slab of their own
    const worst = s.length * 3
    if (worst > this.slab.length - this.pos) {
      if (worst > SLAB / 4) return Buffer.from(s, 'utf8')
      this.slab = Buffer.allocUnsafe(SLAB)
      this.pos = 0
    }
    const start = this.pos
    this.pos += this.slab.write(s, start, 'utf8')
    return this.slab.subarray(start, this.pos)
  }
}
