/**
 * The simulator's dom0 sshd (test/sim/ssh) and its SSH management calls (test/sim/server/ssh-calls.ts), seen by
 * real clients: ssh2's Client for the shell, the official XenAPI Python client and Xen Orchestra's xen-api for
 * host.enable_ssh / disable_ssh / set_ssh_enabled_timeout (XAPI ≥ 25.13 / 25.21; MESSAGE_METHOD_UNKNOWN on 7.2).
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ssh2 from 'ssh2'
import { Xapi } from 'xen-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { runPython } from '../../helpers/python'

const { Client, utils } = ssh2

let sim: SimControl
let tmp: string

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.97', opDurationMs: 0 }) })
  tmp = await mkdtemp(join(tmpdir(), 'xenpilot-sim-ssh-'))
}, 60_000)
afterAll(async () => {
  await sim?.stop()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

const fingerprintOf = (key: Buffer): string => `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`

interface Shell {
  client: InstanceType<typeof Client>
  presented: string
  /** everything the shell wrote so far */
  text(): string
  send(s: string): void
  /** the shell's channel closed (exit) */
  closed: Promise<void>
  waitFor(re: RegExp, ms?: number): Promise<string>
}

function connect(pool: SimPoolHandle, host: number, auth: { password?: string; privateKey?: string } = { password: pool.password }): Promise<Shell> {
  const h = pool.hosts[host]
  if (!h) throw new Error('no host')
  return new Promise((resolve, reject) => {
    const client = new Client()
    let presented = ''
    client.on('error', reject)
    client.on('ready', () => {
      client.shell({ term: 'xterm-256color', cols: 100, rows: 30 }, (err, stream) => {
        if (err) return reject(err)
        let out = ''
        const waiters: (() => void)[] = []
        stream.on('data', (d: Buffer) => {
          out += d.toString('utf8')
          for (const w of waiters.splice(0)) w()
        })
        const closed = new Promise<void>((ok) => stream.once('close', () => ok()))
        resolve({
          client,
          closed,
          presented,
          text: () => out,
          send: (s) => stream.write(s),
          waitFor: (re, ms = 10_000) =>
            new Promise((ok, fail) => {
              const t = setTimeout(() => fail(new Error(`timed out waiting for ${re} in ${JSON.stringify(out.slice(-400))}`)), ms)
              const check = (): void => {
                const m = re.exec(out)
                if (m) {
                  clearTimeout(t)
                  ok(m[0])
                } else waiters.push(check)
              }
              check()
            }),
        })
      })
    })
    client.connect({
      host: h.address,
      port: sim.sshPort,
      username: 'root',
      ...auth,
      hostVerifier: (key: Buffer) => {
        presented = fingerprintOf(key)
        return true
      },
      readyTimeout: 10_000,
    })
  })
}

describe('simulated dom0 sshd', () => {
  it('logs root in with the pool password, shows a prompt and answers xl info from the host’s simulated hardware', async () => {
    const pool = sim.pool('tiny-current')
    const sh = await connect(pool, 0)
    try {
      expect(sh.presented).toBe(pool.hosts[0]?.sshFingerprint)
      await sh.waitFor(/\]# $/)
      sh.send('xl info\r')
      await sh.waitFor(/xend_config_format\s+: 4/)
      const host = pool.objects.get('host')?.get(pool.hosts[0]?.ref ?? '')
      const cpus = pool.objects.get('host_cpu')
      const count = [...(cpus?.values() ?? [])].filter((c) => c['host'] === pool.hosts[0]?.ref).length
      expect(sh.text()).toMatch(new RegExp(`nr_cpus\\s+: ${count}\\r\\n`))
      const metrics = pool.objects.get('host_metrics')?.get(String(host?.['metrics']))
      const totalMiB = Number(metrics?.['memory_total'] ?? 0) / 1024 / 1024
      expect(totalMiB).toBeGreaterThan(0)
      const shown = Number(/total_memory\s+: (\d+)/.exec(sh.text())?.[1])
      // xl counts the MMIO hole XAPI leaves out of memory_total
      expect(shown).toBeGreaterThanOrEqual(totalMiB)
      expect(shown - totalMiB).toBeLessThanOrEqual(4096)
      sh.send('xe host-list\r')
      await sh.waitFor(new RegExp(String(host?.['uuid'])))
      sh.send('stty size\r')
      await sh.waitFor(/30 100/)
      sh.send('nosuch\r')
      await sh.waitFor(/-bash: nosuch: command not found/)
      sh.send('exit\r')
      await sh.closed
      expect(sh.text()).toMatch(/logout\r\n$/)
    } finally {
      sh.client.end()
    }
  })

  it('refuses a wrong password; takes an authorized public key; a rotated host key is a different fingerprint', async () => {
    const pool = sim.pool('tiny-current')
    await expect(connect(pool, 1, { password: 'wrong' })).rejects.toThrow(/authentication/i)
    const pair = utils.generateKeyPairSync('ed25519')
    pool.authorizeSshKey(pair.public)
    const sh = await connect(pool, 1, { privateKey: pair.private })
    await sh.waitFor(/\]# $/)
    sh.client.end()
    const host = pool.hosts[1]
    if (!host) throw new Error('no host')
    const before = host.sshFingerprint
    const after = pool.rotateHostKey(host.address)
    expect(after).not.toBe(before)
    const again = await connect(pool, 1)
    expect(again.presented).toBe(after)
    again.client.end()
  })

  it('a host whose SSH was disabled through XAPI drops connections before the handshake; enabling it lets them in', async () => {
    const pool = sim.pool('tiny-current')
    const host = pool.hosts[0]?.ref ?? ''
    await pool.call('host.disable_ssh', [host])
    await expect(connect(pool, 0)).rejects.toThrow()
    await pool.call('host.enable_ssh', [host])
    const sh = await connect(pool, 0)
    sh.client.end()
  })
})

describe('SSH management calls, real clients', () => {
  async function python(mode: 'current' | 'legacy', pool: SimPoolHandle): Promise<Record<string, unknown>> {
    const master = pool.hosts[0]
    if (!master) throw new Error('no master')
    const cafile = join(tmp, `${pool.name}.pem`)
    await writeFile(cafile, master.certPem)
    const script = fileURLToPath(new URL('./xenapi_ssh.py', import.meta.url))
    return JSON.parse(await runPython(script, [mode, pool.masterUrl, cafile, pool.username, pool.password])) as Record<string, unknown>
  }

  it('official XenAPI Python client: timeout, disable, Async enable with expiry, INVALID_VALUE, pool-wide; 7.2 answers MESSAGE_METHOD_UNKNOWN', async () => {
    const out = await python('current', sim.pool('tiny-current'))
    expect(out).toMatchObject({ disable: 'succeeded', after_disable: false, timeout: 'succeeded', timeout_value: '600', enable: 'success', after_enable: true })
    expect(Math.abs(Number(out['expiry_in_s']) - 600)).toBeLessThanOrEqual(2)
    expect(out['too_long']).toEqual(['INVALID_VALUE', 'ssh_enabled_timeout', '172801'])
    expect(out['negative']).toEqual(['INVALID_VALUE', 'ssh_enabled_timeout', '-1'])
    expect(out).toMatchObject({ no_timeout: 'succeeded', expiry_cleared: '19700101T00:00:00Z', pool_disable: 'succeeded', all_disabled: [false, false], pool_enable: 'succeeded', all_enabled: [true, true] })
    expect((out['bad_ref'] as string[])[0]).toBe('HANDLE_INVALID')
    const legacy = await python('legacy', sim.pool('tiny-legacy'))
    expect(legacy['enable']).toEqual(['MESSAGE_METHOD_UNKNOWN', 'host.enable_ssh'])
    expect(legacy['timeout']).toEqual(['MESSAGE_METHOD_UNKNOWN', 'host.set_ssh_enabled_timeout'])
    expect(legacy['has_field']).toBe(false)
  }, 120_000)

  it("Xen Orchestra's xen-api (JSON-RPC): a timeout that expires switches SSH off by itself", async () => {
    const pool = sim.pool('tiny-current')
    const x = new Xapi({ url: pool.masterUrl, auth: { user: pool.username, password: pool.password }, allowUnauthorized: true, debounce: 50 })
    await x.connect()
    try {
      const host = pool.hosts[1]?.ref ?? ''
      await x.call('host.set_ssh_enabled_timeout', host, 1)
      await x.callAsync('host.enable_ssh', host)
      expect(await x.call('host.get_record', host)).toMatchObject({ ssh_enabled: true, ssh_enabled_timeout: 1 })
      const until = Date.now() + 20_000
      while ((pool.objects.get('host')?.get(host)?.['ssh_enabled'] as boolean) && Date.now() < until) await new Promise((r) => setTimeout(r, 100))
      expect(pool.objects.get('host')?.get(host)?.['ssh_enabled']).toBe(false)
      await x.call('host.set_ssh_enabled_timeout', host, 0)
      await x.call('host.enable_ssh', host)
      await expect(x.call('host.set_ssh_enabled_timeout', host, 200000)).rejects.toMatchObject({ code: 'INVALID_VALUE', params: ['ssh_enabled_timeout', '200000'] })
    } finally {
      await x.disconnect()
    }
  }, 60_000)
})
