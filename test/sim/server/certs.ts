/**
 * One real self-signed certificate per host (EC P-256, SAN IP:<address>), made by the openssl CLI
 * and cached per state directory so restarts of a big fleet are quick.
 */
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface HostCert {
  keyPem: string
  certPem: string
  fingerprint256: string
}

async function readPair(dir: string, address: string): Promise<HostCert | undefined> {
  try {
    const [keyPem, certPem] = await Promise.all([readFile(join(dir, `${address}.key`), 'utf8'), readFile(join(dir, `${address}.crt`), 'utf8')])
    const x = new X509Certificate(certPem)
    if (Date.parse(x.validTo) < Date.now() + 86_400_000) return undefined
    return { keyPem, certPem, fingerprint256: x.fingerprint256 }
  } catch {
    return undefined
  }
}

/** the host's certificate; `fresh` makes a new key pair even when one is cached (rotation) */
export async function hostCertificate(stateDir: string, address: string, fresh = false): Promise<HostCert> {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) throw new Error(`host address ${JSON.stringify(address)} is not a loopback IPv4 address`)
  const dir = join(stateDir, 'certs')
  await mkdir(dir, { recursive: true })
  if (!fresh) {
    const cached = await readPair(dir, address)
    if (cached) return cached
  }
  const key = join(dir, `${address}.key`)
  const crt = join(dir, `${address}.crt`)
  await rm(key, { force: true })
  await rm(crt, { force: true })
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    crt,
    '-days',
    '3650',
    '-subj',
    `/CN=${address}/O=XenPilot simulator`,
    '-addext',
    `subjectAltName=IP:${address}`,
  ])
  const pair = await readPair(dir, address)
  if (!pair) throw new Error(`openssl did not produce a usable certificate for ${address} in ${dir}`)
  return pair
}

/** certificates for many hosts, a few openssl processes at a time */
export async function hostCertificates(stateDir: string, addresses: string[], parallel = 4): Promise<Map<string, HostCert>> {
  const out = new Map<string, HostCert>()
  let next = 0
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++
      const address = addresses[i]
      if (address === undefined) return
      out.set(address, await hostCertificate(stateDir, address))
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, addresses.length) }, worker))
  return out
}
