/**
 * A stand-alone "XAPI host" process for the console benchmark: TLS, CONNECT /console with a
 * session check, then a byte pipe to a VNC server — the hop a real pool member makes, in its own
 * process as it would be on its own machine.
 *
 *   env: XP_CERT, XP_KEY (PEM), XP_SESSION, XP_VNC_HOST, XP_VNC_PORT, XP_ADDRESS
 *   stdout: `PORT <n>` once listening; exits when stdin closes.
 */
import { createServer } from 'node:tls'
import { attachConsole } from './index'

function env(name: string): string {
  const v = process.env[name]
  if (!v) throw new Error(`console-host-process: ${name} is not set`)
  return v
}

const session = env('XP_SESSION')
const target = { kind: 'tcp' as const, host: env('XP_VNC_HOST'), port: Number(env('XP_VNC_PORT')) }
const server = createServer({ key: env('XP_KEY'), cert: env('XP_CERT') }, (sock) => {
  sock.setNoDelay(true)
  let buf = Buffer.alloc(0)
  const onData = (chunk: Buffer): void => {
    buf = Buffer.concat([buf, chunk])
    const end = buf.indexOf('\r\n\r\n')
    if (end < 0) return
    sock.off('data', onData)
    const head = buf.subarray(0, end).toString('latin1')
    if (!head.startsWith('CONNECT /console?') || !head.includes(`session_id=${session}`)) return void sock.end('HTTP/1.1 401 Unauthorised\r\n\r\n')
    sock.write('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nCache-Control: no-cache, no-store\r\n\r\n')
    const rest = buf.subarray(end + 4)
    if (rest.length) sock.unshift(rest)
    attachConsole(sock, target)
  }
  sock.on('data', onData)
  sock.on('error', () => sock.destroy())
})
server.listen(0, process.env['XP_ADDRESS'] ?? '127.0.0.1', () => {
  const addr = server.address()
  process.stdout.write(`PORT ${typeof addr === 'object' && addr ? addr.port : 0}\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
