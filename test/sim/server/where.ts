/**
 * The expression language of `<class>.get_all_records_where` (XAPI's Db_filter):
 *   expr := true | false | not expr | expr and expr | expr or expr | ( expr ) | val = val | val <> val
 *   val  := field "name" | "literal"
 * Field values compare as XAPI's database strings ("true"/"false", decimal ints, refs).
 */
import { SimXapiError, type SimRecord, type SimValue } from '../model'

type Tok = { k: 'word'; v: string } | { k: 'str'; v: string } | { k: 'op'; v: '=' | '<>' | '(' | ')' }

function tokenize(s: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < s.length) {
    const c = s[i] ?? ''
    if (/\s/.test(c)) {
      i++
    } else if (c === '"') {
      let v = ''
      i++
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++
        v += s[i] ?? ''
        i++
      }
      if (s[i] !== '"') throw new Error('unterminated string')
      i++
      out.push({ k: 'str', v })
    } else if (c === '(' || c === ')' || c === '=') {
      out.push({ k: 'op', v: c })
      i++
    } else if (c === '<' && s[i + 1] === '>') {
      out.push({ k: 'op', v: '<>' })
      i += 2
    } else {
      const m = /^[A-Za-z_]+/.exec(s.slice(i))
      if (!m) throw new Error(`unexpected ${JSON.stringify(c)}`)
      out.push({ k: 'word', v: m[0].toLowerCase() })
      i += m[0].length
    }
  }
  return out
}

type Val = { field: string } | { lit: string }
type Expr =
  | { k: 'const'; v: boolean }
  | { k: 'not'; e: Expr }
  | { k: 'and' | 'or'; a: Expr; b: Expr }
  | { k: 'eq' | 'ne'; a: Val; b: Val }

class Parser {
  private i = 0
  constructor(private readonly t: Tok[]) {}

  parse(): Expr {
    const e = this.or()
    if (this.i !== this.t.length) throw new Error('trailing tokens')
    return e
  }
  private peekWord(w: string): boolean {
    const t = this.t[this.i]
    return t?.k === 'word' && t.v === w
  }
  private or(): Expr {
    let a = this.and()
    while (this.peekWord('or')) {
      this.i++
      a = { k: 'or', a, b: this.and() }
    }
    return a
  }
  private and(): Expr {
    let a = this.unary()
    while (this.peekWord('and')) {
      this.i++
      a = { k: 'and', a, b: this.unary() }
    }
    return a
  }
  private unary(): Expr {
    const t = this.t[this.i]
    if (!t) throw new Error('unexpected end')
    if (t.k === 'word' && t.v === 'not') {
      this.i++
      return { k: 'not', e: this.unary() }
    }
    if (t.k === 'word' && (t.v === 'true' || t.v === 'false')) {
      this.i++
      return { k: 'const', v: t.v === 'true' }
    }
    if (t.k === 'op' && t.v === '(') {
      this.i++
      const e = this.or()
      const close = this.t[this.i++]
      if (close?.k !== 'op' || close.v !== ')') throw new Error('missing )')
      return e
    }
    const a = this.val()
    const op = this.t[this.i++]
    if (op?.k !== 'op' || (op.v !== '=' && op.v !== '<>')) throw new Error('expected = or <>')
    return { k: op.v === '=' ? 'eq' : 'ne', a, b: this.val() }
  }
  private val(): Val {
    const t = this.t[this.i++]
    if (t?.k === 'word' && t.v === 'field') {
      const name = this.t[this.i++]
      if (name?.k !== 'str') throw new Error('field needs a quoted name')
      return { field: name.v }
    }
    if (t?.k === 'str') return { lit: t.v }
    throw new Error('expected field "name" or "literal"')
  }
}

function dbString(v: SimValue | undefined): string {
  if (v === undefined) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

export function compileWhere(expr: string): (rec: SimRecord) => boolean {
  let e: Expr
  try {
    e = new Parser(tokenize(expr)).parse()
  } catch (err) {
    throw new SimXapiError(['INTERNAL_ERROR', `cannot parse expression ${JSON.stringify(expr)}: ${err instanceof Error ? err.message : String(err)}`])
  }
  const val = (v: Val, r: SimRecord): string => ('field' in v ? dbString(r[v.field]) : v.lit)
  const ev = (x: Expr, r: SimRecord): boolean => {
    switch (x.k) {
      case 'const':
        return x.v
      case 'not':
        return !ev(x.e, r)
      case 'and':
        return ev(x.a, r) && ev(x.b, r)
      case 'or':
        return ev(x.a, r) || ev(x.b, r)
      case 'eq':
        return val(x.a, r) === val(x.b, r)
      case 'ne':
        return val(x.a, r) !== val(x.b, r)
    }
  }
  return (r) => ev(e, r)
}
