/**
 * Response body builder: glue strings are written into a shared scratch buffer (no allocation
 * per piece), cached record fragments go in as Buffers untouched, so a 90 MB get_all_records is a
 * list of existing Buffers plus a few scratch slices.
 */
const SCRATCH = 256 * 1024
const COPY_MAX = 16 * 1024

export class Out {
  private readonly parts: Buffer[] = []
  private scratch = Buffer.allocUnsafe(SCRATCH)
  /** start of the not-yet-emitted region of scratch */
  private start = 0
  private pos = 0
  length = 0

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

  buf(b: Buffer): void {
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
    this.scratch = Buffer.allocUnsafe(SCRATCH)
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
    for (const p of parts) {
      run.push(p)
      size += p.length
      if (size >= min) {
        out.push(run.length === 1 && run[0] ? run[0] : Buffer.concat(run, size))
        run = []
        size = 0
      }
    }
    if (run.length) out.push(run.length === 1 && run[0] ? run[0] : Buffer.concat(run, size))
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
