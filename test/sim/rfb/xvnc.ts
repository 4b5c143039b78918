/**
 * Start Debian's Xvnc (tigervnc-standalone-server) for a test or benchmark: a real VNC server on
 * 127.0.0.1, security None, on a free display and port, stopped by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect, createServer } from 'node:net'

export interface XvncHandle {
  host: string
  port: number
  display: number
  pid: number
  stop(): Promise<void>
}

export const XVNC_PATH = '/usr/bin/Xvnc'

export function xvncAvailable(): boolean {
  return existsSync(XVNC_PATH)
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

export async function startXvnc(opts: { geometry?: string; desktop?: string; /** 'weave': X's classic root pattern, so a screenshot is not blank */ background?: 'black' | 'weave' } = {}): Promise<XvncHandle> {
  const port = await freePort()
  let displayOut = ''
  // -displayfd: Xvnc picks a free display number itself and writes it to fd 3 once it is ready
  const child: ChildProcess = spawn(
    XVNC_PATH,
    [
      '-displayfd',
      '3',
      '-rfbport',
      String(port),
      '-localhost',
      '-SecurityTypes',
      'None',
      '-geometry',
      opts.geometry ?? '800x600',
      '-depth',
      '24',
      '-desktop',
      opts.desktop ?? 'xenpilot-test',
      '-nolisten',
      'tcp',
      '-AlwaysShared',
      opts.background === 'weave' ? '-retro' : '-br',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000)
  })
  const fd3 = child.stdio[3]
  if (fd3 && 'on' in fd3) fd3.on('data', (d: Buffer) => (displayOut += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let dead = false
  void exited.then(() => (dead = true))
  const deadline = Date.now() + 30_000
  while (!(displayOut.includes('\n') && (await canConnect(port)))) {
    if (dead) throw new Error(`Xvnc exited during start: ${stderr}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`Xvnc did not start within 30 s: ${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const pid = child.pid ?? 0
  return {
    host: '127.0.0.1',
    port,
    display: Number(displayOut.trim()),
    pid,
    async stop() {
      if (dead) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    },
  }
}
