/**
 * XXH64 (seed 0), as xapi writes it next to each 1 MiB chunk of an XVA since it moved from SHA-1:
 * `Printf.sprintf "%016LX"` — 16 upper-case hex digits (stream_vdi.ml write_block).
 *
 * 64-bit arithmetic on pairs of 32-bit halves (no BigInt: a 4 GiB export hashes 4096 chunks).
 * The state lives in module-level scratch numbers; the function is synchronous and re-entrant only
 * in the sense that it never yields.
 */

const P1H = 0x9e3779b1
const P1L = 0x85ebca87
const P2H = 0xc2b2ae3d
const P2L = 0x27d4eb4f
const P3H = 0x165667b1
const P3L = 0x9e3779f9
const P4H = 0x85ebca77
const P4L = 0xc2b2ae63
const P5H = 0x27d4eb2f
const P5L = 0x165667c5

// result registers of the helpers below (a typed array: storing a 32-bit value there never allocates,
// where a module-level `let` holding a number above 2^31 is boxed on every store)
const R = new Uint32Array(2)

/** (ah,al) * (bh,bl) mod 2^64 → (R[0]!, R[1]!) */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff
  const a1 = al >>> 16
  const b0 = bl & 0xffff
  const b1 = bl >>> 16
  const p00 = a0 * b0
  const p01 = a0 * b1
  const p10 = a1 * b0
  const p11 = a1 * b1
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  R[1] = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0
  R[0] = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0
}

/** (ah,al) + (bh,bl) mod 2^64 → (R[0]!, R[1]!) */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl
  R[1] = lo >>> 0
  R[0] = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0
}

/** rotate left by r (0 < r < 64) → (R[0]!, R[1]!) */
function rotl(h: number, l: number, r: number): void {
  if (r === 32) {
    R[0] = l
    R[1] = h
    return
  }
  if (r > 32) {
    const t = h
    h = l
    l = t
    r -= 32
  }
  R[0] = ((h << r) | (l >>> (32 - r))) >>> 0
  R[1] = ((l << r) | (h >>> (32 - r))) >>> 0
}

// accumulators v1..v4 as (high, low) pairs
const V = new Uint32Array(8)

/** round(acc, input) = rotl(acc + input * P2, 31) * P1 → (R[0]!, R[1]!) */
function round(acch: number, accl: number, ih: number, il: number): void {
  mul(ih, il, P2H, P2L)
  add(acch, accl, R[0]!, R[1]!)
  rotl(R[0]!, R[1]!, 31)
  mul(R[0]!, R[1]!, P1H, P1L)
}


/**
 * The hot loop's step for lane k of V: V[k] = rotl(V[k] + input * P2, 31) * P1, all in locals
 * (one call per 8 bytes, nothing boxed).
 */
function lane(k: number, ih: number, il: number): void {
  // t = input * P2
  let a0 = il & 0xffff
  let a1 = il >>> 16
  let p00 = a0 * 0xeb4f
  let p01 = a0 * 0x27d4
  let p10 = a1 * 0xeb4f
  let p11 = a1 * 0x27d4
  let mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  const tl = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0
  const th = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(ih, P2L) + Math.imul(il, P2H)) >>> 0
  // acc + t
  const lo = V[k + 1]! + tl
  const l = lo >>> 0
  const h = (V[k]! + th + (lo > 0xffffffff ? 1 : 0)) >>> 0
  // rotl 31
  const xh = ((h << 31) | (l >>> 1)) >>> 0
  const xl = ((l << 31) | (h >>> 1)) >>> 0
  // * P1
  a0 = xl & 0xffff
  a1 = xl >>> 16
  p00 = a0 * 0xca87
  p01 = a0 * 0x85eb
  p10 = a1 * 0xca87
  p11 = a1 * 0x85eb
  mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  V[k + 1] = ((mid & 0xffff) << 16) | (p00 & 0xffff)
  V[k] = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(xh, P1L) + Math.imul(xl, P1H)
}

function u32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0
}

/** XXH64 of `data` with seed 0, as 16 upper-case hex digits */
export function xxh64Hex(data: Uint8Array): string {
  const len = data.length
  let p = 0
  let hh: number
  let hl: number
  if (len >= 32) {
    // v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1
    add(P1H, P1L, P2H, P2L)
    V[0] = R[0]!
    V[1] = R[1]!
    V[2] = P2H
    V[3] = P2L
    V[4] = 0
    V[5] = 0
    // two's complement of P1
    V[7] = (~P1L + 1) >>> 0
    V[6] = (~P1H + (V[7]! === 0 ? 1 : 0)) >>> 0
    const limit = len - 32
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength)
    while (p <= limit) {
      lane(0, dv.getUint32(p + 4, true), dv.getUint32(p, true))
      lane(2, dv.getUint32(p + 12, true), dv.getUint32(p + 8, true))
      lane(4, dv.getUint32(p + 20, true), dv.getUint32(p + 16, true))
      lane(6, dv.getUint32(p + 28, true), dv.getUint32(p + 24, true))
      p += 32
    }
    rotl(V[0]!, V[1]!, 1)
    let ah = R[0]!
    let al = R[1]!
    rotl(V[2]!, V[3]!, 7)
    add(ah, al, R[0]!, R[1]!)
    ah = R[0]!
    al = R[1]!
    rotl(V[4]!, V[5]!, 12)
    add(ah, al, R[0]!, R[1]!)
    ah = R[0]!
    al = R[1]!
    rotl(V[6]!, V[7]!, 18)
    add(ah, al, R[0]!, R[1]!)
    hh = R[0]!
    hl = R[1]!
    for (const [vh, vl] of [
      [V[0]!, V[1]!],
      [V[2]!, V[3]!],
      [V[4]!, V[5]!],
      [V[6]!, V[7]!],
    ] as const) {
      round(0, 0, vh, vl)
      hh = (hh ^ R[0]!) >>> 0
      hl = (hl ^ R[1]!) >>> 0
      mul(hh, hl, P1H, P1L)
      add(R[0]!, R[1]!, P4H, P4L)
      hh = R[0]!
      hl = R[1]!
    }
  } else {
    hh = P5H
    hl = P5L
  }
  // h += len (lengths stay below 2^53)
  add(hh, hl, Math.floor(len / 0x100000000) >>> 0, len >>> 0)
  hh = R[0]!
  hl = R[1]!
  while (p + 8 <= len) {
    round(0, 0, u32(data, p + 4), u32(data, p))
    hh = (hh ^ R[0]!) >>> 0
    hl = (hl ^ R[1]!) >>> 0
    rotl(hh, hl, 27)
    mul(R[0]!, R[1]!, P1H, P1L)
    add(R[0]!, R[1]!, P4H, P4L)
    hh = R[0]!
    hl = R[1]!
    p += 8
  }
  if (p + 4 <= len) {
    mul(0, u32(data, p), P1H, P1L)
    hh = (hh ^ R[0]!) >>> 0
    hl = (hl ^ R[1]!) >>> 0
    rotl(hh, hl, 23)
    mul(R[0]!, R[1]!, P2H, P2L)
    add(R[0]!, R[1]!, P3H, P3L)
    hh = R[0]!
    hl = R[1]!
    p += 4
  }
  while (p < len) {
    mul(0, data[p]!, P5H, P5L)
    hh = (hh ^ R[0]!) >>> 0
    hl = (hl ^ R[1]!) >>> 0
    rotl(hh, hl, 11)
    mul(R[0]!, R[1]!, P1H, P1L)
    hh = R[0]!
    hl = R[1]!
    p++
  }
  // avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32
  hl = (hl ^ (hh >>> 1)) >>> 0
  mul(hh, hl, P2H, P2L)
  hh = R[0]!
  hl = R[1]!
  // h >> 29 as a 64-bit shift: high = hh >>> 29, low = (hh << 3) | (hl >>> 29)
  const sl = ((hh << 3) | (hl >>> 29)) >>> 0
  hh = (hh ^ (hh >>> 29)) >>> 0
  hl = (hl ^ sl) >>> 0
  mul(hh, hl, P3H, P3L)
  hh = R[0]!
  hl = R[1]!
  hl = (hl ^ hh) >>> 0
  return hex8(hh) + hex8(hl)
}

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0')
}
