/**
 * A small RFB client for tests and benchmarks: handshake (answering 3.3 like XenCenter or 3.8 like
 * noVNC), ServerInit, Raw + DesktopSize updates into a 0xRRGGBB framebuffer, key and pointer
 * events, cut text both ways. Works over any Duplex (TCP socket, TLS socket, WebSocket stream).
 */
import type { Duplex } from 'node:stream'

export interface RfbServerInit {
  /** version the server greeted with, e.g. '003.008' */
  serverVersion: string
  /** version this client answered */
  clientVersion: string
  width: number
  height: number
  name: string
}

interface Waiter {
  need: number
  /** consume without keeping the bytes (large pixel payloads in benchmarks) */
  discard: boolean
  resolve: (b: Buffer) => void
  reject: (e: Error) => void
}

export interface RfbTestClientOptions {
  /** keep a decoded framebuffer (default true); benchmarks turn it off to measure transport only */
  decode?: boolean
  /** ask for QEMU extended key events (pseudo-encoding -258), as noVNC does */
  extendedKeys?: boolean
}

export class RfbTestClient {
  /** received bytes not consumed yet, as chunks (no quadratic concatenation on big updates) */
  private chunks: Buffer[] = []
  private queued = 0
  private waiter: Waiter | undefined
  private ended: Error | undefined
  private readonly decode: boolean
  private readonly wantExtendedKeys: boolean
  /** the server acknowledged QEMU extended key events */
  extendedKeys = false
  init: RfbServerInit | undefined
  width = 0
  height = 0
  /** 0xRRGGBB per pixel */
  pixels = new Uint32Array(0)
  updates = 0
  /** bytes received in total */
  bytesIn = 0
  readonly cutTexts: string[] = []
  private readonly updateWaiters: (() => void)[] = []

  constructor(
    readonly socket: Duplex,
    opts: RfbTestClientOptions = {},
  ) {
    this.decode = opts.decode ?? true
    this.wantExtendedKeys = opts.extendedKeys ?? false
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk)
      this.queued += chunk.length
      this.bytesIn += chunk.length
      this.pump()
    })
    const end = (err?: Error): void => {
      if (this.ended) return
      this.ended = err ?? new Error('RFB connection closed')
      const w = this.waiter
      this.waiter = undefined
      w?.reject(this.ended)
    }
    socket.on('error', (e: Error) => end(e))
    socket.on('close', () => end())
    socket.on('end', () => end())
  }

  get closed(): boolean {
    return this.ended !== undefined
  }

  private take(n: number, discard: boolean): Buffer {
    this.queued -= n
    if (discard) {
      let left = n
      while (left > 0) {
        const head = this.chunks[0]
        if (!head) break
        if (head.length <= left) {
          left -= head.length
          this.chunks.shift()
        } else {
          this.chunks[0] = head.subarray(left)
          left = 0
        }
      }
      return Buffer.alloc(0)
    }
    const first = this.chunks[0]
    if (first && first.length >= n) {
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const all = Buffer.concat(this.chunks)
    this.chunks = all.length > n ? [all.subarray(n)] : []
    return all.subarray(0, n)
  }

  private pump(): void {
    const w = this.waiter
    if (w && this.queued >= w.need) {
      this.waiter = undefined
      w.resolve(this.take(w.need, w.discard))
    }
  }

  read(n: number, discard = false): Promise<Buffer> {
    if (this.queued >= n) return Promise.resolve(this.take(n, discard))
    if (this.ended) return Promise.reject(this.ended)
    return new Promise((resolve, reject) => {
      this.waiter = { need: n, discard, resolve, reject }
    })
  }

  /** the handshake up to ServerInit; `answer` is the version this client claims */
  async handshake(answer: '3.3' | '3.8' = '3.8'): Promise<RfbServerInit> {
    const greeting = (await this.read(12)).toString('latin1')
    const m = /^RFB (\d{3}\.\d{3})\n$/.exec(greeting)
    if (!m || !m[1]) throw new Error(`not an RFB server: ${JSON.stringify(greeting)}`)
    const serverVersion = m[1]
    const clientVersion = answer === '3.3' || serverVersion === '003.003' ? '003.003' : '003.008'
    this.socket.write(`RFB ${clientVersion}\n`)
    if (clientVersion === '003.003') {
      const type = (await this.read(4)).readUInt32BE(0)
      if (type !== 1) throw new Error(`server security type ${type}, expected 1 (None)`)
    } else {
      const n = (await this.read(1)).readUInt8(0)
      if (n === 0) throw new Error('server refused the connection')
      const types = [...(await this.read(n))]
      if (!types.includes(1)) throw new Error(`server offers security types ${types.join(',')}, not None`)
      this.socket.write(Buffer.from([1]))
      const result = (await this.read(4)).readUInt32BE(0)
      if (result !== 0) throw new Error(`SecurityResult ${result}`)
    }
    this.socket.write(Buffer.from([1])) // ClientInit: shared
    const head = await this.read(24)
    const width = head.readUInt16BE(0)
    const height = head.readUInt16BE(2)
    const nameLength = head.readUInt32BE(20)
    const name = (await this.read(nameLength)).toString('utf8')
    this.resize(width, height)
    // 32 bpp little-endian, red at 16: a format both our server and Xvnc accept
    const pf = Buffer.alloc(20)
    pf.writeUInt8(0, 0)
    pf.writeUInt8(32, 4)
    pf.writeUInt8(24, 5)
    pf.writeUInt8(0, 6)
    pf.writeUInt8(1, 7)
    pf.writeUInt16BE(255, 8)
    pf.writeUInt16BE(255, 10)
    pf.writeUInt16BE(255, 12)
    pf.writeUInt8(16, 14)
    pf.writeUInt8(8, 15)
    pf.writeUInt8(0, 16)
    this.socket.write(pf)
    const encodings = [0, -223, ...(this.wantExtendedKeys ? [-258] : [])] // Raw + DesktopSize: keeps every server honest about sizes
    const se = Buffer.alloc(4 + 4 * encodings.length)
    se.writeUInt8(2, 0)
    se.writeUInt16BE(encodings.length, 2)
    encodings.forEach((e, i) => se.writeInt32BE(e, 4 + 4 * i))
    this.socket.write(se)
    this.init = { serverVersion, clientVersion, width, height, name }
    void this.messageLoop().catch(() => undefined)
    return this.init
  }

  private resize(width: number, height: number): void {
    this.width = width
    this.height = height
    this.pixels = new Uint32Array(width * height)
  }

  requestUpdate(incremental: boolean, rect?: { x: number; y: number; w: number; h: number }): void {
    const b = Buffer.alloc(10)
    b.writeUInt8(3, 0)
    b.writeUInt8(incremental ? 1 : 0, 1)
    b.writeUInt16BE(rect?.x ?? 0, 2)
    b.writeUInt16BE(rect?.y ?? 0, 4)
    b.writeUInt16BE(rect?.w ?? this.width, 6)
    b.writeUInt16BE(rect?.h ?? this.height, 8)
    this.socket.write(b)
  }

  /** the next FramebufferUpdate has been applied */
  nextUpdate(): Promise<void> {
    return new Promise((resolve) => this.updateWaiters.push(resolve))
  }

  /** a full (non-incremental) update, applied */
  async refresh(): Promise<void> {
    const p = this.nextUpdate()
    this.requestUpdate(false)
    await p
  }

  key(keysym: number, down: boolean): void {
    const b = Buffer.alloc(8)
    b.writeUInt8(4, 0)
    b.writeUInt8(down ? 1 : 0, 1)
    b.writeUInt32BE(keysym >>> 0, 4)
    this.socket.write(b)
  }

  /** QEMU extended key event (only after the server acknowledged them) */
  scancodeKey(keysym: number, scancode: number, down: boolean): void {
    const b = Buffer.alloc(12)
    b.writeUInt8(255, 0)
    b.writeUInt8(0, 1)
    b.writeUInt16BE(down ? 1 : 0, 2)
    b.writeUInt32BE(keysym >>> 0, 4)
    b.writeUInt32BE(scancode >>> 0, 8)
    this.socket.write(b)
  }

  tap(keysym: number): void {
    this.key(keysym, true)
    this.key(keysym, false)
  }

  pointer(x: number, y: number, mask: number): void {
    const b = Buffer.alloc(6)
    b.writeUInt8(5, 0)
    b.writeUInt8(mask, 1)
    b.writeUInt16BE(x, 2)
    b.writeUInt16BE(y, 4)
    this.socket.write(b)
  }

  cutText(text: string): void {
    const t = Buffer.from(text, 'latin1')
    const b = Buffer.alloc(8)
    b.writeUInt8(6, 0)
    b.writeUInt32BE(t.length, 4)
    this.socket.write(Buffer.concat([b, t]))
  }

  /** distinct colours in the framebuffer */
  colours(): Set<number> {
    return new Set(this.pixels)
  }

  close(): void {
    this.socket.destroy()
  }

  private async messageLoop(): Promise<void> {
    for (;;) {
      const type = (await this.read(1)).readUInt8(0)
      if (type === 0) {
        const n = (await this.read(3)).readUInt16BE(1)
        for (let i = 0; i < n; i++) {
          const h = await this.read(12)
          const x = h.readUInt16BE(0)
          const y = h.readUInt16BE(2)
          const w = h.readUInt16BE(4)
          const hh = h.readUInt16BE(6)
          const enc = h.readInt32BE(8)
          if (enc === 0 && !this.decode) {
            await this.read(w * hh * 4, true)
          } else if (enc === 0) {
            const data = await this.read(w * hh * 4)
            for (let row = 0; row < hh; row++) {
              for (let col = 0; col < w; col++) {
                const v = data.readUInt32LE((row * w + col) * 4)
                this.pixels[(y + row) * this.width + x + col] = v & 0xffffff
              }
            }
          } else if (enc === -223) {
            this.resize(w, hh)
          } else if (enc === -258) {
            this.extendedKeys = true
          } else {
            throw new Error(`unexpected encoding ${enc}`)
          }
        }
        this.updates++
        for (const w of this.updateWaiters.splice(0)) w()
      } else if (type === 2) {
        // Bell
      } else if (type === 3) {
        const len = (await this.read(7)).readUInt32BE(3)
        this.cutTexts.push((await this.read(len)).toString('latin1'))
      } else if (type === 1) {
        const h = await this.read(5)
        await this.read(h.readUInt16BE(3) * 6)
      } else {
        throw new Error(`unexpected server message ${type}`)
      }
    }
  }
}
