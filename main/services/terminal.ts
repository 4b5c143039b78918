/**
 * The host terminal's share of the contract (shared/contract/terminal.ts): SSH sessions to hosts' dom0 held in
 * main (main/terminal/session.ts), their host keys pinned on first use (main/terminal/known-hosts.ts,
 * `<dataDir>/ssh-known-hosts.json`), passwords remembered in the one keychain (account `ssh:<connection>:<host
 * uuid>`, written only after the host accepted the password), key files read on main's side with a sentence for
 * whatever is wrong with them, and "enable SSH for N minutes" through XAPI as one ActionRunner action.
 *
 * Each terminal belongs to the window that opened it: its output goes to that window only, and it is closed when
 * that window's session closes.
 */
import { readFile, stat } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import type { TerminalInfo, TerminalTarget, terminalMethods } from '../../shared/contract/terminal'
import { versionAtLeast } from '../../shared/numa/model'
import type { Keychain } from '../pools/keychain'
import type { PoolManagerApi } from '../pools/api'
import type { HistorySink } from '../operations/runner'
import { KnownHosts, checkHostKey, sshFingerprint, sshHostKey, sshKeyType } from '../terminal/known-hosts'
import { SshLogins, sshLoginKey } from '../terminal/ssh-logins'
import type { SmallFileProblem } from '../storage/small-file'
import { SshOpenError, SshTerminal, type SshAuth } from '../terminal/session'
import { ServiceError } from './errors'
import { connectedAction, moduleActions } from './guard'
import type { EventSink, ModuleFactory, ServiceModuleContext } from './module'

const { utils } = ssh2

/** a private key file larger than this is not a key (OpenSSH RSA 16384-bit keys are ~13 KiB) */
const MAX_KEY_FILE = 64 * 1024

/** the terminal's files in the data folder, opened once at start (their problems go to the start's notices) */
export interface TerminalFiles {
  knownHosts: KnownHosts
  logins: SshLogins
  /** what reading them found wrong (damaged and set aside, too new), as sentences */
  problems(): SmallFileProblem[]
}

/** `<dataDir>/ssh-known-hosts.json` (pins) and `<dataDir>/ssh-logins.json` (port and user per host); no dataDir: memory only */
export function openTerminalFiles(dataDir: string | undefined): TerminalFiles {
  const knownHosts = new KnownHosts(dataDir ? join(dataDir, 'ssh-known-hosts.json') : undefined)
  const logins = new SshLogins(dataDir ? join(dataDir, 'ssh-logins.json') : undefined)
  return { knownHosts, logins, problems: () => [knownHosts.problem, logins.problem].filter((p): p is SmallFileProblem => p !== undefined) }
}

export interface TerminalModuleOptions {
  /** where ssh-known-hosts.json and ssh-logins.json live; undefined = memory only (tests) */
  dataDir?: string
  /** the files already opened (runtime.ts: their problems are start notices); else opened from dataDir */
  files?: TerminalFiles
  keychain: Keychain
  history?: HistorySink
  /** Electron only: the terminal in its own window */
  popout?: (target: TerminalTarget) => Promise<void>
  /** terminals open at once, all windows together (default 32) */
  maxTerminals?: number
  log?: (line: string) => void
  /** `npm run demo`: per host address, the SSH port to use and the host key to pin (source 'demo') unless one is pinned */
  seedSsh?: ReadonlyMap<string, { port: number; hostKey: string }>
}

interface OpenTerminal {
  term: SshTerminal
  owner: EventSink
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

/** a sentence for what is wrong with a key file, or the key's text */
export async function readKeyFile(path: string, passphrase: string | undefined): Promise<string> {
  let size: number
  try {
    const st = await stat(path)
    if (!st.isFile()) throw new ServiceError('key-file', `The key file ${path} is not a file.`)
    size = st.size
  } catch (e) {
    if (e instanceof ServiceError) throw e
    const code = (e as NodeJS.ErrnoException).code
    throw new ServiceError('key-file', `The key file ${path} could not be read: ${code === 'ENOENT' ? 'there is no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}.`)
  }
  if (size > MAX_KEY_FILE) throw new ServiceError('key-file', `The key file ${path} is ${Math.round(size / 1024)} KiB: too large to be an SSH private key (at most ${MAX_KEY_FILE / 1024} KiB).`)
  if (size === 0) throw new ServiceError('key-file', `The key file ${path} is empty.`)
  const text = await readFile(path, 'utf8').catch((e: unknown) => {
    throw new ServiceError('key-file', `The key file ${path} could not be read: ${(e as Error).message}.`)
  })
  const parsed = utils.parseKey(text, passphrase)
  if (parsed instanceof Error) {
    const m = parsed.message
    if (/passphrase/i.test(m) && !passphrase) throw new ServiceError('key-file', `The key file ${path} is encrypted: enter its passphrase.`)
    if (/passphrase|decrypt|bad decrypt/i.test(m)) throw new ServiceError('key-file', `The passphrase does not open the key file ${path}.`)
    throw new ServiceError('key-file', `The key file ${path} is not an SSH private key XenPilot can use (${m}).`)
  }
  const key = Array.isArray(parsed) ? (parsed[0] as ReturnType<typeof utils.parseKey> | undefined) : parsed
  if (!key || key instanceof Error || !key.isPrivateKey()) throw new ServiceError('key-file', `The key file ${path} holds a public key; choose the private key (the file without .pub).`)
  return text
}

export function terminalModule(opts: TerminalModuleOptions): ModuleFactory<keyof typeof terminalMethods> {
  const files = opts.files ?? openTerminalFiles(opts.dataDir)
  const known = files.knownHosts
  for (const p of files.problems()) opts.log?.(`terminal: ${p.message}`)
  /** the key each host:port presented when it was refused (what the user is shown and may trust) */
  const presented = new Map<string, Buffer>()
  /** the port and user last used per host, kept across restarts */
  const lastUsed = files.logins
  const terminals = new Map<string, OpenTerminal>()
  const seeded = (async () => {
    for (const [address, s] of opts.seedSsh ?? []) {
      const hk = sshHostKey(address, s.port)
      if (known.get(hk)) continue
      const blob = Buffer.from(s.hostKey.split(' ')[1] ?? '', 'base64')
      await known
        .set(hk, { fingerprint: sshFingerprint(blob), keyType: sshKeyType(blob), publicKey: blob.toString('base64'), pinnedAt: new Date().toISOString(), source: 'demo' })
        .catch((e: unknown) => opts.log?.(`terminal: the seeded host key of ${hk} could not be pinned: ${(e as Error).message}`))
    }
  })()

  return (ctx: ServiceModuleContext) => {
    const { pools } = ctx
    const actions = moduleActions(ctx, opts.history ?? { append: () => undefined }, (id, ref) => str(pools.graph(id)?.get('host', ref)?.['name_label']) || undefined)
    const guarded = connectedAction(pools, 'SSH on its hosts')

    function locate(t: TerminalTarget): { name: string; address: string; uuid: string; rec: Record<string, unknown> } {
      if (!pools.get(t.connectionId)) throw new ServiceError('not-found', `There is no saved server with id “${t.connectionId}”.`)
      const rec = pools.graph(t.connectionId)?.get('host', t.hostRef)
      if (!rec) throw new ServiceError('not-found', `Host ${t.hostRef} is not in this pool.`)
      const address = str(rec['address'])
      const name = str(rec['name_label']) || address
      if (!address) throw new ServiceError('not-found', `${name} has no management address to connect to.`)
      return { name, address, uuid: str(rec['uuid']) || t.hostRef, rec }
    }

    const account = (t: TerminalTarget, uuid: string): string => `ssh:${t.connectionId}:${uuid}`

    function sshControl(rec: Record<string, unknown>): TerminalInfo['sshControl'] {
      if (typeof rec['ssh_enabled_timeout'] === 'number') return 'timeout'
      const sw = rec['software_version']
      const xapi = typeof sw === 'object' && sw !== null ? str((sw as Record<string, unknown>)['xapi']) : ''
      return versionAtLeast(xapi, '25.13.0') === true ? 'enable' : 'none'
    }

    function hostKeyError(e: SshOpenError, hk: string): ServiceError {
      if (e.presentedKey) presented.set(hk, e.presentedKey)
      const type = e.presentedKey ? sshKeyType(e.presentedKey) : 'unknown'
      if (e.verdict?.kind === 'unknown') return new ServiceError('hostkey-unknown', e.message, [e.verdict.fingerprint, type, hk])
      if (e.verdict?.kind === 'changed') return new ServiceError('hostkey-changed', e.message, [e.verdict.fingerprint, e.verdict.previous, type, hk])
      return new ServiceError(e.code, e.message)
    }

    return {
      handlers: {
        'terminal.info': async (t) => {
          const h = locate(t)
          await seeded
          const used = lastUsed.get(sshLoginKey(t.connectionId, h.uuid)) ?? { port: opts.seedSsh?.get(h.address)?.port ?? 22, username: 'root' }
          const pin = known.get(sshHostKey(h.address, used.port))
          const saved = await opts.keychain.get(account(t, h.uuid)).catch(() => undefined)
          const expiry = str(h.rec['ssh_expiry'])
          const expiryMs = expiry ? Date.parse(expiry) : Number.NaN
          return {
            hostName: h.name,
            address: h.address,
            port: used.port,
            username: used.username,
            pinned: pin ? { fingerprint: pin.fingerprint, keyType: pin.keyType, pinnedAt: pin.pinnedAt, source: pin.source } : null,
            savedPassword: saved !== undefined,
            sshControl: sshControl(h.rec),
            sshEnabled: typeof h.rec['ssh_enabled'] === 'boolean' ? h.rec['ssh_enabled'] : null,
            sshExpiry: Number.isFinite(expiryMs) && expiryMs > 0 ? new Date(expiryMs).toISOString() : null,
            poolOnline: pools.get(t.connectionId)?.status === 'connected',
          }
        },
        'terminal.open': async (a, call) => {
          const max = opts.maxTerminals ?? 32
          if (terminals.size >= max) throw new ServiceError('too-many-terminals', `${max} terminals are open already; close one to open another.`)
          const h = locate(a)
          const hk = sshHostKey(h.address, a.port)
          let auth: SshAuth
          let remember: string | undefined
          if (a.auth.kind === 'password') {
            auth = { kind: 'password', password: a.auth.password }
            if (a.auth.remember) remember = a.auth.password
          } else if (a.auth.kind === 'saved') {
            const pw = await opts.keychain.get(account(a, h.uuid)).catch(() => undefined)
            if (pw === undefined) throw new ServiceError('no-password', `No password for ${h.name} is remembered; type it.`)
            auth = { kind: 'password', password: pw }
          } else {
            auth = { kind: 'key', privateKey: await readKeyFile(a.auth.path, a.auth.passphrase), ...(a.auth.passphrase ? { passphrase: a.auth.passphrase } : {}) }
          }
          const terminalId = randomUUID()
          const owner = call.emit
          let term: SshTerminal
          try {
            term = await SshTerminal.open(
              { host: h.address, port: a.port, username: a.username, auth, cols: a.cols, rows: a.rows, verify: (key) => checkHostKey(known.get(hk), key) },
              {
                data: (data, bytes) => owner('terminal.data', { terminalId, data, bytes }),
                ended: (reason) => {
                  if (terminals.delete(terminalId)) owner('terminal.ended', { terminalId, reason: `${h.name}: ${reason}` })
                },
              },
            )
          } catch (e) {
            if (e instanceof SshOpenError) throw hostKeyError(e, hk)
            throw e
          }
          terminals.set(terminalId, { term, owner })
          call.onClose?.(() => {
            terminals.get(terminalId)?.term.close()
            terminals.delete(terminalId)
          })
          // remembered for the next time (and the next start) once the host let us in
          void lastUsed.remember(sshLoginKey(a.connectionId, h.uuid), { port: a.port, username: a.username }).catch((e: unknown) => opts.log?.(`terminal: the port and user for ${h.name} could not be remembered: ${(e as Error).message}`))
          // remembered only once the host took it (a refused password is never remembered)
          if (remember !== undefined) await opts.keychain.set(account(a, h.uuid), remember).catch((e: unknown) => opts.log?.(`terminal: the password for ${h.name} could not be remembered: ${(e as Error).message}`))
          ctx.log(`terminal: ${a.username}@${h.address}:${a.port} opened (${terminalId})`)
          return { terminalId, hostName: h.name, address: h.address, port: a.port, username: a.username, fingerprint: known.get(hk)?.fingerprint ?? '' }
        },
        'terminal.input': (a) => {
          terminals.get(a.terminalId)?.term.input(a.data)
          return null
        },
        'terminal.resize': (a) => {
          terminals.get(a.terminalId)?.term.resize(a.cols, a.rows)
          return null
        },
        'terminal.ack': (a) => {
          terminals.get(a.terminalId)?.term.ack(a.bytes)
          return null
        },
        'terminal.close': (a) => {
          const t = terminals.get(a.terminalId)
          terminals.delete(a.terminalId)
          t?.term.close()
          return null
        },
        'terminal.trustHostKey': async (a) => {
          const h = locate(a)
          const hk = sshHostKey(h.address, a.port)
          const seen = presented.get(hk)
          if (!seen) throw new ServiceError('refused', `XenPilot has not been shown a key by ${hk} to trust; connect first.`)
          const fingerprint = sshFingerprint(seen)
          if (fingerprint !== a.fingerprint) throw new ServiceError('refused', `${hk} last presented ${fingerprint}, not the key you confirmed (${a.fingerprint}); connect again and compare.`)
          const pin = known.get(hk)
          if (pin && pin.fingerprint !== fingerprint && a.replaces !== pin.fingerprint) {
            throw new ServiceError('refused', `Another key (${pin.fingerprint}) is pinned for ${hk}; replacing it needs your explicit confirmation of the key it replaces.`)
          }
          await known.set(hk, { fingerprint, keyType: sshKeyType(seen), publicKey: seen.toString('base64'), pinnedAt: new Date().toISOString(), source: 'user' })
          presented.delete(hk)
          ctx.log(`terminal: SSH host key of ${hk} pinned: ${fingerprint}${pin && pin.fingerprint !== fingerprint ? ` (replaces ${pin.fingerprint})` : ''}`)
          return null
        },
        'terminal.forgetPassword': async (t) => {
          const h = locate(t)
          await opts.keychain.delete(account(t, h.uuid))
          return null
        },
        'terminal.enableSsh': guarded(async (a) => {
          const h = locate(a)
          const control = sshControl(h.rec)
          if (control === 'none') throw new ServiceError('not-supported', `${h.name} cannot switch SSH on through XAPI: that needs XAPI 25.13 or later (XCP-ng 8.3 with its 2025 updates, XenServer 8).`)
          return actions.run({
            connectionId: a.connectionId,
            cls: 'host',
            ref: a.hostRef,
            objectName: h.name,
            title: control === 'timeout' ? `Enable SSH for ${a.minutes} min` : 'Enable SSH',
            params: control === 'timeout' ? { minutes: a.minutes } : {},
            steps: control === 'timeout' ? 2 : 1,
            work: async (x) => {
              if (control === 'timeout') await x.call('host.set_ssh_enabled_timeout', [a.hostRef, a.minutes * 60])
              await x.task('Async.host.enable_ssh', [a.hostRef])
              return {
                note:
                  control === 'timeout'
                    ? `SSH is on for ${a.minutes} minutes; XAPI switches it off again by itself.`
                    : `SSH is on. This XAPI cannot switch it off by itself: disable it on the host when done.`,
              }
            },
          })
        }),
        'terminal.popout': async (t) => {
          if (!opts.popout) throw new ServiceError('not-supported', 'Pop-out windows are made by the desktop app; in a browser the terminal opens in a new tab.')
          await opts.popout(t)
          return null
        },
      },
      close: () => {
        for (const t of terminals.values()) t.term.close()
        terminals.clear()
        return Promise.all([known.idle(), lastUsed.idle()]).then(() => undefined)
      },
    }
  }
}
