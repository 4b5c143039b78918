/**
 * Response body builder: small pieces are joined as strings, cached record fragments go in as
 * Buffers untouched, so a 90 MB get_all_records is a list of existing Buffers plus glue.
 */
export class Out {
  readonly parts: Buffer[] = []
  private pending = ''
  length = 0

  str(s: string): void {
    this.pending += s
    if (this.pending.length > 32768) this.flush()
  }

  buf(b: Buffer): void {
    this.flush()
    this.parts.push(b)
    this.length += b.length
  }

  private flush(): void {
    if (!this.pending) return
    const b = Buffer.from(this.pending, 'utf8')
    this.parts.push(b)
    this.length += b.length
    this.pending = ''
  }

  finish(): Buffer[] {
    this.flush()
    return this.parts
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.finish())
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
