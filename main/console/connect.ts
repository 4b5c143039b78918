/**
 * XAPI's console handshake on an open TLS socket (docs/xapi.md §3, as XenCenter's HttpConnectStream
 * does it): `CONNECT /console?ref=…&session_id=… HTTP/1.0` with Host and the session cookie, then
 * the reply headers up to the blank line. On 200 the socket is a byte-transparent pipe to the
 * VM's VNC server; bytes that arrived with the headers are handed back as `leftover`.
 */
import type { Duplex } from 'node:stream'

export interface ConsoleConnectRequest {
  hostAddress: string
  consoleRef: string
  sessionId: string
}

export interface ConsoleConnectReply {
  status: number
  reason: string
  headers: Record<string, string>
  /** bytes after the blank line (usually the start of the RFB greeting) */
  leftover: Buffer
}

const MAX_HEADER_BYTES = 16 * 1024

export function consoleConnectRequest(req: ConsoleConnectRequest): string {
  const query = `ref=${encodeURIComponent(req.consoleRef)}&session_id=${encodeURIComponent(req.sessionId)}`
  return `CONNECT /console?${query} HTTP/1.0\r\nHost: ${req.hostAddress}\r\nCookie: session_id=${req.sessionId}\r\n\r\n`
}

export class ConsoleConnectFailure extends Error {
  constructor(
    message: string,
    /** 'timeout' | 'closed' | 'malformed' */
    public readonly kind: 'timeout' | 'closed' | 'malformed',
  ) {
    super(message)
  }
}

/** Sends CONNECT and reads the reply head. Never consumes bytes past the blank line. */
export function sendConsoleConnect(socket: Duplex, req: ConsoleConnectRequest, timeoutMs = 15_000): Promise<ConsoleConnectReply> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0)
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('close', onClose)
    }
    const fail = (err: Error): void => {
      cleanup()
      reject(err)
    }
    const onError = (err: Error): void => fail(new ConsoleConnectFailure(`the connection failed during CONNECT: ${err.message}`, 'closed'))
    const onClose = (): void => fail(new ConsoleConnectFailure('the host closed the connection without answering CONNECT', 'closed'))
    const onData = (chunk: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) {
        if (buf.length > MAX_HEADER_BYTES) fail(new ConsoleConnectFailure(`the reply to CONNECT has no end of headers within ${MAX_HEADER_BYTES} bytes`, 'malformed'))
        return
      }
      // stop reading before the RFB bytes reach a listener that is not there yet
      socket.pause()
      cleanup()
      const head = buf.subarray(0, end).toString('latin1')
      const leftover = buf.subarray(end + 4)
      const [statusLine = '', ...lines] = head.split('\r\n')
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine)
      if (!m || !m[1]) {
        reject(new ConsoleConnectFailure(`the reply to CONNECT is not HTTP: ${JSON.stringify(statusLine.slice(0, 80))}`, 'malformed'))
        return
      }
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const i = line.indexOf(':')
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
      }
      resolve({ status: Number(m[1]), reason: m[2] ?? '', headers, leftover })
    }
    const timer = setTimeout(
      () => fail(new ConsoleConnectFailure(`the host did not answer CONNECT /console within ${Math.round(timeoutMs / 1000)} s`, 'timeout')),
      timeoutMs,
    )
    socket.on('data', onData)
    socket.on('error', onError)
    socket.on('close', onClose)
    socket.write(consoleConnectRequest(req))
    socket.resume()
  })
}
