/**
 * The simulator's dom0 sshd: one ssh2 Server per simulated host, on the host's own loopback address and the fleet's
 * one shared SSH port, with a host key of its own (ed25519, kept in stateDir/ssh/ so a client that trusted it once
 * keeps trusting it; `rotateKey()` makes a new one, as a reinstalled host would have).
 *
 * Login: root with the pool's password, or a public key added with `authorize()`. A host whose sshd is off
 * (host.disable_ssh, test/sim/server/ssh-calls.ts) drops connections before the handshake, as a stopped sshd
 * does. The shell (./shell.ts) answers `xl info` from the host's simulated hardware, `xe` stubs from the pool's
 * objects, `stty size`, `yes` (endless output that waits for the SSH window: the flow-control test) and `exit`.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import type { Connection, ParsedKey } from 'ssh2'
import type { SimHostSpec } from '../model'
import type { PoolState } from '../server/pool'
import { sshEnabled } from '../server/ssh-calls'
import { DomShell } from './shell'

const { Server, utils } = ssh2

/** SHA256:<base64 without padding> of an SSH public key blob, as `ssh-keygen -lf` prints it */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`
}

function hostKeyFile(stateDir: string, address: string): string {
  return join(stateDir, 'ssh', `${address}.key`)
}

function loadOrMakeKey(stateDir: string, address: string, fresh: boolean): string {
  const file = hostKeyFile(stateDir, address)
  if (!fresh && existsSync(file)) return readFileSync(file, 'utf8')
  mkdirSync(join(stateDir, 'ssh'), { recursive: true })
  // ssh2's generateKeyPairSync writes a key its own parser refuses about once in 150 ("Malformed OpenSSH
  // private key"): with 100 hosts (many-pools) a start failed half the time. Such a key is made again.
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519', { comment: `root@${address}` })
    if (utils.parseKey(pair.private) instanceof Error) continue
    writeFileSync(file, pair.private, { mode: 0o600 })
    return pair.private
  }
}

function parsed(key: string): ParsedKey {
  const k = utils.parseKey(key)
  if (k instanceof Error) throw k
  return k
}

export class SimSshServer {
  private server: NetServer | undefined
  private key: string
  private ssh: InstanceType<typeof Server>
  private readonly clients = new Set<Connection>()
  /** public keys (OpenSSH blobs) root may log in with */
  private readonly authorized: ParsedKey[] = []
  /** bytes the shells wrote to their channels (the flow-control test reads it) */
  bytesSent = 0

  constructor(
    private readonly pool: PoolState,
    private readonly host: SimHostSpec,
    private readonly stateDir: string,
  ) {
    this.key = loadOrMakeKey(stateDir, host.address, false)
    this.ssh = this.makeSsh()
  }

  get fingerprint(): string {
    return sshFingerprint(parsed(this.key).getPublicSSH())
  }

  /** the host key's public half, as an authorized_keys / known_hosts line */
  get publicKeyLine(): string {
    const k = parsed(this.key)
    return `${k.type} ${k.getPublicSSH().toString('base64')}`
  }

  /** a new host key (the next handshake presents it); returns its fingerprint */
  rotateKey(): string {
    this.key = loadOrMakeKey(this.stateDir, this.host.address, true)
    // ssh2 takes its host keys when its Server is made: new connections go to a new one
    this.ssh = this.makeSsh()
    return this.fingerprint
  }

  authorize(publicKey: string): void {
    this.authorized.push(parsed(publicKey))
  }

  private makeSsh(): InstanceType<typeof Server> {
    return new Server({ hostKeys: [this.key], ident: 'OpenSSH_8.0' }, (client) => this.serve(client))
  }

  async listen(port: number): Promise<number> {
    // a stopped sshd (host.disable_ssh): the connection closes before any handshake
    const net = createServer((socket) => {
      if (sshEnabled(this.pool, this.host.ref)) this.ssh.injectSocket(socket)
      else socket.destroy()
    })
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject)
      net.listen(port, this.host.address, () => {
        net.off('error', reject)
        resolve()
      })
    })
    net.on('error', () => undefined)
    this.server = net
    return (net.address() as AddressInfo).port
  }

  get isListening(): boolean {
    return this.server !== undefined
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.end()
    const s = this.server
    this.server = undefined
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  private serve(client: Connection): void {
    this.clients.add(client)
    client.on('close', () => this.clients.delete(client))
    client.on('error', () => undefined)
    client.on('authentication', (ctx) => {
      if (ctx.username !== this.pool.spec.username) return ctx.reject(['password', 'publickey'])
      if (ctx.method === 'password') return ctx.password === this.pool.spec.password ? ctx.accept() : ctx.reject(['password', 'publickey'])
      if (ctx.method === 'publickey') {
        const known = this.authorized.find((k) => k.getPublicSSH().equals(ctx.key.data))
        if (!known) return ctx.reject(['password', 'publickey'])
        if (!ctx.signature || !ctx.blob) return ctx.accept() // the "would you take this key" probe
        return known.verify(ctx.blob, ctx.signature, ctx.hashAlgo) ? ctx.accept() : ctx.reject(['password', 'publickey'])
      }
      return ctx.reject(['password', 'publickey'])
    })
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept()
        const size = { cols: 80, rows: 24 }
        let shell: DomShell | undefined
        session.on('pty', (ok, _no, info) => {
          size.cols = info.cols
          size.rows = info.rows
          ok?.()
        })
        session.on('window-change', (ok, _no, info) => {
          size.cols = info.cols
          size.rows = info.rows
          ok?.()
        })
        session.on('env', (ok) => ok?.())
        session.on('shell', (ok) => {
          const channel = ok()
          shell = new DomShell(this.pool, this.host, channel, size, (n) => (this.bytesSent += n))
          shell.start()
        })
        session.on('exec', (ok, _no, info) => {
          const channel = ok()
          const sh = new DomShell(this.pool, this.host, channel, size, (n) => (this.bytesSent += n))
          void sh.exec(info.command)
        })
        session.on('close', () => shell?.stop())
      })
    })
  }
}
