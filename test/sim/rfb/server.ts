/**
 * The simulator's RFB server, one instance per console connection. Speaks the two dialects XAPI
 * hosts put behind /console:
 *   - 3.3 like vncterm (PV text consoles, dom0): greeting `RFB 003.003\n`, the server picks the
 *     security type and sends it as a u32 (1 = None);
 *   - 3.8 like QEMU (HVM guests): a list of security types, the client's pick, a SecurityResult.
 *     A client may answer a 3.8 greeting with 003.003 (XenCenter always does) or 003.007.
 * Encodings: Raw, plus the DesktopSize pseudo-encoding so the guest can change resolution. The
 * 3.8 (QEMU) dialect also offers QEMU's extended key events (scancodes), as QEMU does.
 */
import type { Duplex } from 'node:stream'
import type { Rect, ScreenListener, SimScreen } from './screen'

export type RfbDialect = '3.3' | '3.8'

interface PixelFormat {
  bitsPerPixel: number
  depth: number
  bigEndian: boolean
  trueColour: boolean
  redMax: number
  greenMax: number
  blueMax: number
  redShift: number
  greenShift: number
  blueShift: number
}

const SERVER_PIXEL_FORMAT: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
}

const ENCODING_RAW = 0
const ENCODING_DESKTOP_SIZE = -223
const ENCODING_QEMU_EXTENDED_KEY_EVENT = -258

type Phase = 'version' | 'security' | 'init' | 'normal' | 'closed'

export class RfbServerConnection {
  private buffer: Buffer = Buffer.alloc(0)
  private phase: Phase = 'version'
  private minor = 8
  private pixelFormat: PixelFormat = { ...SERVER_PIXEL_FORMAT }
  private desktopSizeSupported = false
  private extendedKeysAcknowledged = false
  /** union of damaged areas not yet sent */
  private dirty: Rect | undefined
  /** a resize not yet announced */
  private pendingResize = false
  /** an incremental request waiting for something to change */
  private waiting: Rect | undefined
  private unlisten: (() => void) | undefined

  constructor(
    private readonly socket: Duplex,
    private readonly screen: SimScreen,
    private readonly dialect: RfbDialect,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', () => this.close())
    socket.on('close', () => this.close())
    socket.on('end', () => this.close())
    screen.connections++
    socket.write(dialect === '3.3' ? 'RFB 003.003\n' : 'RFB 003.008\n')
  }

  private close(reason?: string): void {
    if (this.phase === 'closed') return
    this.phase = 'closed'
    this.unlisten?.()
    if (reason) this.socket.end()
    else this.socket.destroy()
  }

  private fail(reason: string): void {
    // A protocol violation by the client: real servers drop the connection.
    this.phase = 'closed'
    this.unlisten?.()
    this.socket.destroy(new Error(`RFB server: ${reason}`))
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    while (this.phase !== 'closed') {
      const used = this.step()
      if (used === 0) break
      this.buffer = this.buffer.subarray(used)
    }
  }

  /** consumes one protocol unit from the buffer; returns the bytes used (0 = need more) */
  private step(): number {
    const b = this.buffer
    switch (this.phase) {
      case 'version': {
        if (b.length < 12) return 0
        const m = /^RFB 003\.00([378])\n$/.exec(b.subarray(0, 12).toString('latin1'))
        if (!m || !m[1]) {
          this.fail(`unsupported client version ${JSON.stringify(b.subarray(0, 12).toString('latin1'))}`)
          return 0
        }
        const minor = Number(m[1])
        this.minor = this.dialect === '3.3' ? 3 : minor
        this.screen.lastProtocol = `3.${this.minor}`
        if (this.minor === 3) {
          // the server decides: None
          this.socket.write(u32(1))
          this.phase = 'init'
        } else {
          this.socket.write(Buffer.from([1, 1]))
          this.phase = 'security'
        }
        return 12
      }
      case 'security': {
        if (b.length < 1) return 0
        const type = b[0]
        if (type !== 1) {
          if (this.minor >= 8) {
            const reason = Buffer.from('Only security type None is offered')
            this.socket.write(Buffer.concat([u32(1), u32(reason.length), reason]))
          }
          this.close('bad security type')
          return 1
        }
        if (this.minor >= 8) this.socket.write(u32(0))
        this.phase = 'init'
        return 1
      }
      case 'init': {
        if (b.length < 1) return 0
        this.sendServerInit()
        this.phase = 'normal'
        this.unlisten = this.screen.listen(this.listener)
        return 1
      }
      case 'normal':
        return this.clientMessage(b)
      case 'closed':
        return 0
    }
  }

  private readonly listener: ScreenListener = {
    damage: (rect) => {
      this.dirty = union(this.dirty, rect)
      this.flush()
    },
    resize: () => {
      if (!this.desktopSizeSupported) {
        // a client that cannot follow a resize must reconnect, as with QEMU
        this.close('resolution changed')
        return
      }
      this.pendingResize = true
      this.dirty = undefined
      this.flush()
    },
    cutText: (text) => {
      const bytes = Buffer.from(text, 'latin1')
      this.socket.write(Buffer.concat([Buffer.from([3, 0, 0, 0]), u32(bytes.length), bytes]))
    },
    end: () => this.close('guest ended'),
  }

  private sendServerInit(): void {
    const name = Buffer.from(this.screen.name, 'utf8')
    const head = Buffer.alloc(24)
    head.writeUInt16BE(this.screen.width, 0)
    head.writeUInt16BE(this.screen.height, 2)
    writePixelFormat(head, 4, SERVER_PIXEL_FORMAT)
    head.writeUInt32BE(name.length, 20)
    this.socket.write(Buffer.concat([head, name]))
  }

  private clientMessage(b: Buffer): number {
    if (b.length < 1) return 0
    const type = b[0]
    switch (type) {
      case 0: {
        // SetPixelFormat
        if (b.length < 20) return 0
        const pf = readPixelFormat(b, 4)
        if (!pf.trueColour || ![8, 16, 32].includes(pf.bitsPerPixel)) {
          this.fail(`unsupported pixel format ${JSON.stringify(pf)}`)
          return 0
        }
        this.pixelFormat = pf
        return 20
      }
      case 2: {
        // SetEncodings
        if (b.length < 4) return 0
        const n = b.readUInt16BE(2)
        if (b.length < 4 + 4 * n) return 0
        const encodings: number[] = []
        for (let i = 0; i < n; i++) encodings.push(b.readInt32BE(4 + 4 * i))
        this.desktopSizeSupported = encodings.includes(ENCODING_DESKTOP_SIZE)
        if (this.dialect === '3.8' && encodings.includes(ENCODING_QEMU_EXTENDED_KEY_EVENT) && !this.extendedKeysAcknowledged) {
          // like QEMU: acknowledge with an empty pseudo-rectangle; the client may then send scancodes
          this.extendedKeysAcknowledged = true
          const ack = Buffer.alloc(16)
          ack.writeUInt16BE(1, 2)
          ack.writeInt32BE(ENCODING_QEMU_EXTENDED_KEY_EVENT, 12)
          this.socket.write(ack)
        }
        return 4 + 4 * n
      }
      case 3: {
        // FramebufferUpdateRequest
        if (b.length < 10) return 0
        const incremental = b[1] !== 0
        const rect = { x: b.readUInt16BE(2), y: b.readUInt16BE(4), w: b.readUInt16BE(6), h: b.readUInt16BE(8) }
        if (incremental) {
          this.waiting = rect
          this.flush()
        } else {
          this.waiting = undefined
          this.sendUpdate(clip(rect, this.screen.width, this.screen.height))
        }
        return 10
      }
      case 4: {
        // KeyEvent
        if (b.length < 8) return 0
        this.screen.key(b.readUInt32BE(4), b[1] !== 0)
        return 8
      }
      case 5: {
        // PointerEvent
        if (b.length < 6) return 0
        this.screen.pointer(b.readUInt16BE(2), b.readUInt16BE(4), b[1] ?? 0)
        return 6
      }
      case 6: {
        // ClientCutText (latin-1)
        if (b.length < 8) return 0
        const len = b.readUInt32BE(4)
        if (len > 1 << 24) {
          this.fail(`ClientCutText of ${len} bytes`)
          return 0
        }
        if (b.length < 8 + len) return 0
        this.screen.clientCutText(b.subarray(8, 8 + len).toString('latin1'))
        return 8 + len
      }
      case 255: {
        // QEMU client message; subtype 0 = extended key event: down u16, keysym u32, keycode u32
        if (b.length < 2) return 0
        if (b[1] !== 0 || !this.extendedKeysAcknowledged) {
          this.fail(`unsupported QEMU client message subtype ${b[1]}`)
          return 0
        }
        if (b.length < 12) return 0
        this.screen.scancodeKey(b.readUInt32BE(8), b.readUInt32BE(4), b.readUInt16BE(2) !== 0)
        return 12
      }
      default:
        this.fail(`unknown client message type ${type}`)
        return 0
    }
  }

  /** answers a waiting incremental request if something changed */
  private flush(): void {
    if (!this.waiting || this.phase !== 'normal') return
    if (this.pendingResize) {
      this.pendingResize = false
      this.waiting = undefined
      const msg = Buffer.alloc(16)
      msg.writeUInt8(0, 0)
      msg.writeUInt16BE(1, 2)
      msg.writeUInt16BE(0, 4)
      msg.writeUInt16BE(0, 6)
      msg.writeUInt16BE(this.screen.width, 8)
      msg.writeUInt16BE(this.screen.height, 10)
      msg.writeInt32BE(ENCODING_DESKTOP_SIZE, 12)
      this.socket.write(msg)
      // after a resize the client's framebuffer is undefined: everything is new
      this.dirty = { x: 0, y: 0, w: this.screen.width, h: this.screen.height }
      return
    }
    if (!this.dirty) return
    const area = intersect(this.dirty, clip(this.waiting, this.screen.width, this.screen.height))
    if (!area) return
    this.dirty = undefined
    this.waiting = undefined
    this.sendUpdate(area)
  }

  private sendUpdate(rect: Rect | undefined): void {
    if (!rect || rect.w === 0 || rect.h === 0) {
      // nothing to send: an empty update keeps the client's request/response rhythm
      this.socket.write(Buffer.from([0, 0, 0, 0]))
      return
    }
    const header = Buffer.alloc(16)
    header.writeUInt8(0, 0)
    header.writeUInt16BE(1, 2)
    header.writeUInt16BE(rect.x, 4)
    header.writeUInt16BE(rect.y, 6)
    header.writeUInt16BE(rect.w, 8)
    header.writeUInt16BE(rect.h, 10)
    header.writeInt32BE(ENCODING_RAW, 12)
    this.socket.write(Buffer.concat([header, encodeRaw(this.screen, rect, this.pixelFormat)]))
  }
}

function encodeRaw(screen: SimScreen, rect: Rect, pf: PixelFormat): Buffer {
  const bpp = pf.bitsPerPixel / 8
  const out = Buffer.alloc(rect.w * rect.h * bpp)
  const { pixels, width } = screen
  const fast = bpp === 4 && pf.redMax === 255 && pf.greenMax === 255 && pf.blueMax === 255
  let o = 0
  for (let y = rect.y; y < rect.y + rect.h; y++) {
    const row = y * width
    for (let x = rect.x; x < rect.x + rect.w; x++) {
      const rgb = pixels[row + x] ?? 0
      const r = (rgb >>> 16) & 0xff
      const g = (rgb >>> 8) & 0xff
      const bl = rgb & 0xff
      let v: number
      if (fast) v = ((r << pf.redShift) | (g << pf.greenShift) | (bl << pf.blueShift)) >>> 0
      else
        v =
          (((Math.round((r * pf.redMax) / 255) << pf.redShift) |
            (Math.round((g * pf.greenMax) / 255) << pf.greenShift) |
            (Math.round((bl * pf.blueMax) / 255) << pf.blueShift)) >>>
          0)
      if (bpp === 4) {
        if (pf.bigEndian) out.writeUInt32BE(v, o)
        else out.writeUInt32LE(v, o)
      } else if (bpp === 2) {
        if (pf.bigEndian) out.writeUInt16BE(v & 0xffff, o)
        else out.writeUInt16LE(v & 0xffff, o)
      } else out.writeUInt8(v & 0xff, o)
      o += bpp
    }
  }
  return out
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n, 0)
  return b
}

function writePixelFormat(b: Buffer, at: number, pf: PixelFormat): void {
  b.writeUInt8(pf.bitsPerPixel, at)
  b.writeUInt8(pf.depth, at + 1)
  b.writeUInt8(pf.bigEndian ? 1 : 0, at + 2)
  b.writeUInt8(pf.trueColour ? 1 : 0, at + 3)
  b.writeUInt16BE(pf.redMax, at + 4)
  b.writeUInt16BE(pf.greenMax, at + 6)
  b.writeUInt16BE(pf.blueMax, at + 8)
  b.writeUInt8(pf.redShift, at + 10)
  b.writeUInt8(pf.greenShift, at + 11)
  b.writeUInt8(pf.blueShift, at + 12)
}

function readPixelFormat(b: Buffer, at: number): PixelFormat {
  return {
    bitsPerPixel: b.readUInt8(at),
    depth: b.readUInt8(at + 1),
    bigEndian: b.readUInt8(at + 2) !== 0,
    trueColour: b.readUInt8(at + 3) !== 0,
    redMax: b.readUInt16BE(at + 4),
    greenMax: b.readUInt16BE(at + 6),
    blueMax: b.readUInt16BE(at + 8),
    redShift: b.readUInt8(at + 10),
    greenShift: b.readUInt8(at + 11),
    blueShift: b.readUInt8(at + 12),
  }
}

function union(a: Rect | undefined, b: Rect): Rect {
  if (!a) return { ...b }
  const x = Math.min(a.x, b.x)
  const y = Math.min(a.y, b.y)
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y }
}

function intersect(a: Rect, b: Rect | undefined): Rect | undefined {
  if (!b) return undefined
  const x = Math.max(a.x, b.x)
  const y = Math.max(a.y, b.y)
  const x1 = Math.min(a.x + a.w, b.x + b.w)
  const y1 = Math.min(a.y + a.h, b.y + b.h)
  if (x1 <= x || y1 <= y) return undefined
  return { x, y, w: x1 - x, h: y1 - y }
}

function clip(r: Rect, width: number, height: number): Rect | undefined {
  return intersect(r, { x: 0, y: 0, w: width, h: height })
}
