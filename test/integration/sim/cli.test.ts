import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { request } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { parseArgs, parseFaultSpec } from '../../sim/cli'

interface FleetLine {
  fleet: string
  pools: { name: string; masterUrl: string; memberUrls: string[]; username: string; password: string; hosts: { name: string; address: string; url: string; fingerprint256: string }[] }[]
}

let child: ChildProcessWithoutNullStreams | undefined
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL')
  child = undefined
})

function firstLine(p: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = ''
    let err = ''
    const onData = (c: Buffer): void => {
      buf += c.toString()
      const i = buf.indexOf('\n')
      if (i >= 0) {
        p.stdout.off('data', onData)
        resolve(buf.slice(0, i))
      }
    }
    p.stdout.on('data', onData)
    p.stderr.on('data', (c: Buffer) => (err += c.toString()))
    p.on('exit', (code) => reject(new Error(`simulator CLI exited ${code}: ${err}`)))
  })
}

/** login over XML-RPC, pinning the printed fingerprint instead of a CA */
function loginPinned(url: string, fingerprint: string, user: string, password: string): Promise<string> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: Number(u.port), method: 'POST', path: '/', rejectUnauthorized: false, agent: false },
      (res) => {
        const seen = (res.socket as TLSSocket).getPeerCertificate().fingerprint256
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => (seen === fingerprint ? resolve(body) : reject(new Error(`fingerprint ${seen} is not the printed ${fingerprint}`))))
      },
    )
    req.on('error', reject)
    req.end(
      `<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params><param><value>${user}</value></param><param><value>${password}</value></param></params></methodCall>`,
    )
  })
}

describe('simulator CLI', () => {
  it('prints one JSON line describing the fleet first, serves it, and stops cleanly on SIGTERM', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'xenpilot-sim-cli-'))
    onTestFinished(() => rmSync(stateDir, { recursive: true, force: true }))
    child = spawn('node_modules/.bin/tsx', ['test/sim/cli.ts', '--fleet', 'tiny', '--op-ms', '0', '--state-dir', stateDir], { stdio: ['pipe', 'pipe', 'pipe'] })
    const info = JSON.parse(await firstLine(child)) as FleetLine
    expect(info.fleet).toBe('tiny')
    const pool = info.pools[0]
    if (!pool) throw new Error('no pool printed')
    const master = pool.hosts.find((h) => h.url === pool.masterUrl)
    if (!master) throw new Error('master not among hosts')
    expect(master.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    const body = await loginPinned(pool.masterUrl, master.fingerprint256, pool.username, pool.password)
    expect(body).toContain('<value>Success</value>')
    const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})

describe('CLI arguments', () => {
  it('parses fault specs KIND[:ARG][@METHOD][#POOL]', () => {
    expect(parseFaultSpec('delay:250@VM.get_all_records#Lab')).toEqual({ fault: { kind: 'delay', ms: 250, method: 'VM.get_all_records' }, pool: 'Lab' })
    expect(parseFaultSpec('huge-response:1000000')).toEqual({ fault: { kind: 'huge-response', bytes: 1000000 } })
    expect(parseFaultSpec('html-502')).toEqual({ fault: { kind: 'html-502' } })
    expect(() => parseFaultSpec('explode')).toThrow(/unknown fault kind/)
  })

  it('parses flags and rejects unknown ones with a clear message', () => {
    expect(parseArgs(['--fleet', 'bench-10k', '--port=4443', '--op-ms', '0', '--vnc', 'web-01=127.0.0.1:5901'])).toMatchObject({
      fleet: 'bench-10k',
      port: 4443,
      opMs: 0,
      vnc: { 'web-01': { host: '127.0.0.1', port: 5901 } },
    })
    expect(() => parseArgs(['--fleet', 'nope'])).toThrow(/unknown fleet/)
    expect(parseArgs(['--fleet', 'huge', '--scale', '0.25'])).toMatchObject({ fleet: 'huge', scale: 0.25 })
    expect(() => parseArgs(['--fleet', 'huge', '--scale', '2'])).toThrow(/--scale needs a number more than 0 and at most 1/)
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown argument/)
  })
})

describe('fault selection', () => {
  it('prefers a fault aimed at the method over a general one, and the latest among equals', async () => {
    const { FaultSet } = await import('../../sim/server/faults')
    const f = new FaultSet()
    f.add({ kind: 'delay', ms: 10 })
    f.add({ kind: 'html-502', method: 'session.login_with_password' }, { once: true })
    expect(f.take('127.0.0.1', 'session.login_with_password')).toEqual({ kind: 'html-502', method: 'session.login_with_password' })
    expect(f.take('127.0.0.1', 'session.login_with_password')).toEqual({ kind: 'delay', ms: 10 })
    f.add({ kind: 'http-500' }, { hostAddress: '127.0.0.2' })
    expect(f.take('127.0.0.2', 'VM.get_all')).toEqual({ kind: 'http-500' })
    expect(f.take('127.0.0.1', 'VM.get_all')).toEqual({ kind: 'delay', ms: 10 })
  })
})
