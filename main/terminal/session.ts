/**
 * One SSH terminal: an ssh2 Client to a host's dom0, a shell with a pty, and the flow control between the host
 * and the window that shows it.
 *
 *   host ──SSH channel──▶ main ──terminal.data {data, bytes}──▶ window (xterm) ──terminal.ack {bytes}──▶ main
 *
 * Main counts the bytes it handed to the window and not yet acknowledged; past HIGH_WATER it stops reading the
 * channel (ssh2 then stops widening the SSH window, so the host blocks after at most one window, 2 MiB) and
 * reads again below LOW_WATER. A host that writes forever therefore costs main at most HIGH_WATER + one SSH
 * window, however slow or stalled the window is.
 *
 * The host key is checked before authentication (`verify`, see ./known-hosts.ts checkHostKey): anything but a
 * match ends the handshake, and the verdict is what `open` rejects with.
 */
import { StringDecoder } from 'node:string_decoder'
import ssh2 from 'ssh2'
import type { ClientChannel, ConnectConfig } from 'ssh2'
import type { HostKeyVerdict } from './known-hosts'

const { Client } = ssh2

/** unacknowledged bytes after which main stops reading the host */
export const HIGH_WATER = 256 * 1024
/** …and below which it reads again */
export const LOW_WATER = 64 * 1024

export type SshAuth = { kind: 'password'; password: string } | { kind: 'key'; privateKey: string; passphrase?: string }

export interface SshTerminalOptions {
  host: string
  port: number
  username: string
  auth: SshAuth
  cols: number
  rows: number
  /** the pin comparison; anything but 'match' refuses the host */
  verify: (key: Buffer) => HostKeyVerdict
  /** handshake + authentication (default 20 s) */
  readyTimeoutMs?: number
}

export interface TerminalSink {
  data(text: string, bytes: number): void
  ended(reason: string): void
}

/** why a terminal could not be opened */
export class SshOpenError extends Error {
  constructor(
    readonly code: 'hostkey-unknown' | 'hostkey-changed' | 'auth-failed' | 'unreachable' | 'ssh-refused',
    message: string,
    readonly verdict?: HostKeyVerdict,
    /** the key the host presented (base64 blob), when the host key was the reason */
    readonly presentedKey?: Buffer,
  ) {
    super(message)
  }
}

export class SshTerminal {
  private unacked = 0
  private paused = false
  private closed = false

  private constructor(
    private readonly client: InstanceType<typeof Client>,
    private readonly channel: ClientChannel,
  ) {}

  static open(opts: SshTerminalOptions, sink: TerminalSink): Promise<SshTerminal> {
    return new Promise((resolve, reject) => {
      const client = new Client()
      let verdict: HostKeyVerdict | undefined
      let presented: Buffer | undefined
      let settled = false
      const fail = (e: SshOpenError): void => {
        if (settled) return
        settled = true
        client.end()
        reject(e)
      }
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (verdict && verdict.kind !== 'match') {
          const e =
            verdict.kind === 'unknown'
              ? new SshOpenError('hostkey-unknown', `${opts.host} presented an SSH host key XenPilot has not seen before (${verdict.fingerprint}). Compare it with the host's key before trusting it.`, verdict, presented)
              : new SshOpenError('hostkey-changed', `The SSH host key of ${opts.host} changed: it presented ${verdict.fingerprint}, the pinned key is ${verdict.previous}. XenPilot refused to connect; someone may be in the middle.`, verdict, presented)
          return fail(e)
        }
        if (err.level === 'client-authentication') return fail(new SshOpenError('auth-failed', `${opts.host} refused the login of ${opts.username} (${opts.auth.kind === 'password' ? 'password' : 'key'} not accepted).`))
        if (err.level === 'client-timeout') return fail(new SshOpenError('unreachable', `${opts.host}:${opts.port} did not complete the SSH handshake in time.`))
        const why = err.code === 'ECONNREFUSED' ? `nothing answers on port ${opts.port} (is SSH enabled on the host?)` : err.code === 'ECONNRESET' || /before handshake|Connection lost/i.test(err.message) ? `the host closed the connection before the SSH handshake (SSH may be disabled on it)` : err.message
        fail(new SshOpenError(err.code === 'ECONNREFUSED' || /before handshake|Connection lost|ECONNRESET/.test(`${err.code ?? ''} ${err.message}`) ? 'ssh-refused' : 'unreachable', `SSH to ${opts.host}:${opts.port} failed: ${why}.`))
      })
      client.on('ready', () => {
        client.shell({ term: 'xterm-256color', cols: opts.cols, rows: opts.rows }, (err, channel) => {
          if (err) return fail(new SshOpenError('ssh-refused', `${opts.host} refused a shell: ${err.message}.`))
          settled = true
          const t = new SshTerminal(client, channel)
          t.attach(sink)
          resolve(t)
        })
      })
      client.on('close', () => {
        if (!settled) fail(new SshOpenError('unreachable', `SSH to ${opts.host}:${opts.port} closed before a shell opened.`))
      })
      const config: ConnectConfig = {
        host: opts.host.replace(/^\[|\]$/g, ''),
        port: opts.port,
        username: opts.username,
        readyTimeout: opts.readyTimeoutMs ?? 20_000,
        keepaliveInterval: 30_000,
        hostVerifier: (key: Buffer) => {
          presented = Buffer.from(key)
          verdict = opts.verify(presented)
          return verdict.kind === 'match'
        },
        ...(opts.auth.kind === 'password' ? { password: opts.auth.password, tryKeyboard: false } : { privateKey: opts.auth.privateKey, ...(opts.auth.passphrase ? { passphrase: opts.auth.passphrase } : {}) }),
      }
      try {
        client.connect(config)
      } catch (e) {
        fail(new SshOpenError('unreachable', `SSH to ${opts.host}:${opts.port} could not start: ${e instanceof Error ? e.message : String(e)}.`))
      }
    })
  }

  private attach(sink: TerminalSink): void {
    const decoder = new StringDecoder('utf8')
    this.channel.on('data', (chunk: Buffer) => {
      this.unacked += chunk.length
      const text = decoder.write(chunk)
      sink.data(text, chunk.length)
      if (!this.paused && this.unacked >= HIGH_WATER) {
        this.paused = true
        this.channel.pause()
      }
    })
    this.channel.stderr.on('data', (chunk: Buffer) => {
      this.unacked += chunk.length
      sink.data(chunk.toString('utf8'), chunk.length)
    })
    let reason = 'the shell ended'
    this.channel.on('exit', (code: number | null, signal?: string) => {
      reason = signal ? `the shell ended (signal ${signal})` : `the shell ended (exit status ${code ?? 0})`
    })
    this.channel.on('close', () => {
      if (this.closed) return
      this.closed = true
      this.client.end()
      sink.ended(reason)
    })
    this.client.on('close', () => {
      if (this.closed) return
      this.closed = true
      sink.ended('the connection to the host closed')
    })
  }

  /** keystrokes / pasted text */
  input(data: string): void {
    if (!this.closed) this.channel.write(data)
  }

  resize(cols: number, rows: number): void {
    if (!this.closed) this.channel.setWindow(rows, cols, 0, 0)
  }

  /** the window wrote `bytes` more to its screen */
  ack(bytes: number): void {
    this.unacked = Math.max(0, this.unacked - bytes)
    if (this.paused && this.unacked <= LOW_WATER) {
      this.paused = false
      this.channel.resume()
    }
  }

  /** bytes handed to the window and not acknowledged, and whether reading the host is paused */
  flow(): { unacked: number; paused: boolean; buffered: number } {
    return { unacked: this.unacked, paused: this.paused, buffered: this.channel.readableLength }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.channel.end()
    this.client.end()
  }
}
