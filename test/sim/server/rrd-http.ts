/**
 * The simulator's RRD HTTP handlers (xcp-rrdd behind xapi's rrdd_proxy):
 *   GET /rrd_updates   start required (400 without), cf, interval, host, vm_uuid*, json; 200 with Content-Length
 *   GET /host_rrd      the host's whole RRD
 *   GET /vm_rrd?uuid=  the VM's whole RRD where it runs; elsewhere a 302 to its host (Location without a
 *                      port unless it is not 443, the query copied, as rrdd_proxy writes it); a halted VM's archived RRD from
 *                      the master (a member redirects there with rrd_unarchive)
 * Full dumps go out as XAPI sends them: HTTP/1.0 style, no Content-Length, the connection closed after.
 * JSON when the Accept header prefers it (since 23.17 `*` / `*` counts as JSON) or `json` is in the query.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { RELEASES } from '../../../shared/xapi/datamodel.generated'
import type { SimHostSpec, SimRecord } from '../model'
import { hash32, rrdDump, rrdUpdates, type RrdQuery } from '../rrd'
import type { PoolState } from './pool'

const JSON_FOR_ANY_ACCEPT = RELEASES.indexOf('23.18.0')

export const RRD_PATHS = new Set(['/rrd_updates', '/host_rrd', '/vm_rrd'])

/** Accept: q-weighted choice between application/json and text/xml; undefined when neither matches */
function acceptPrefersJson(accept: string | undefined, release: string): boolean | undefined {
  if (!accept) return undefined
  const modern = RELEASES.indexOf(release) >= JSON_FOR_ANY_ACCEPT || RELEASES.indexOf(release) < 0
  let json = -1
  let xml = -1
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.trim().toLowerCase().split(';')
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const q = qp ? Number(qp.slice(2)) : 1
    if (!Number.isFinite(q)) continue
    if (type === 'application/json') json = Math.max(json, q)
    else if (type === 'text/xml') xml = Math.max(xml, q)
    else if (modern && (type === '*/*' || type === 'application/*')) json = Math.max(json, q)
    else if (modern && type === 'text/*') xml = Math.max(xml, q)
  }
  if (json <= 0 && xml <= 0) return undefined
  return json >= xml
}

function wantsJson(req: IncomingMessage, url: URL, release: string): boolean {
  return acceptPrefersJson(req.headers.accept, release) ?? url.searchParams.has('json')
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' })
  res.end(`${text}\n`)
}

/** a whole RRD: no Content-Length, the end of the body is the end of the connection */
function sendDump(res: ServerResponse, body: string, json: boolean): void {
  res.useChunkedEncodingByDefault = false
  res.shouldKeepAlive = false
  res.writeHead(200, { 'content-type': json ? 'application/json' : 'text/xml', 'access-control-allow-origin': '*', connection: 'close' })
  res.end(body)
}

export function serveRrd(pool: PoolState, host: SimHostSpec, req: IncomingMessage, res: ServerResponse, url: URL, authed: boolean): void {
  if (!authed) return plain(res, 401, 'unauthorised: a valid session_id is required')
  const now = Math.floor(Date.now() / 1000)
  const release = pool.spec.xapiRelease
  const json = wantsJson(req, url, release)
  try {
    if (url.pathname === '/rrd_updates') return updates(pool, host, res, url, now, json)
    if (url.pathname === '/host_rrd') {
      const rec = pool.db.get('host', host.ref)
      if (!rec) return plain(res, 404, 'no host RRD available')
      return sendDump(res, rrdDump(pool.spec, { kind: 'host', rec }, now, json), json)
    }
    return vmRrd(pool, host, req, res, url, now, json)
  } catch (e) {
    plain(res, 500, `${url.pathname} failed: ${e instanceof Error ? e.message : String(e)}`)
  }
}

function updates(pool: PoolState, host: SimHostSpec, res: ServerResponse, url: URL, now: number, json: boolean): void {
  const startRaw = url.searchParams.get('start')
  const start = Number(startRaw)
  if (startRaw === null || startRaw.trim() === '' || !Number.isInteger(start)) return plain(res, 400, 'get_rrd_updates: missing the \'start\' parameter')
  const cf = url.searchParams.get('cf')
  const interval = Number(url.searchParams.get('interval') ?? '0')
  const q: RrdQuery = {
    hostRef: host.ref,
    start,
    interval: Number.isFinite(interval) && interval > 0 ? interval : 0,
    cf: cf === 'MIN' || cf === 'MAX' ? cf : 'AVERAGE',
    json,
    includeHost: url.searchParams.get('host') === 'true',
    now,
  }
  const vmUuids = url.searchParams.getAll('vm_uuid')
  if (vmUuids.length) q.vmUuids = vmUuids
  const r = rrdUpdates(pool.spec, q)
  const body = Buffer.from(r.body, 'utf8')
  res.writeHead(200, { 'content-type': r.contentType, 'content-length': String(body.length), 'access-control-allow-origin': '*', 'access-control-allow-headers': 'X-Requested-With' })
  res.end(body)
}

/** a halted VM's archive ends when it stopped: within the last few days, fixed per VM */
function haltedAt(vm: SimRecord, now: number): number {
  return now - 3600 * (6 + (hash32(String(vm['uuid'])) % 96))
}

function vmRrd(pool: PoolState, host: SimHostSpec, req: IncomingMessage, res: ServerResponse, url: URL, now: number, json: boolean): void {
  const uuid = url.searchParams.get('uuid')
  if (!uuid) return plain(res, 400, 'get_vm_rrd: missing the \'uuid\' parameter')
  const ref = pool.db.byUuid('VM', uuid)
  const vm = ref ? pool.db.get('VM', ref) : undefined
  if (!vm) return plain(res, 404, `no VM with uuid ${uuid}`)
  const resident = typeof vm['resident_on'] === 'string' && vm['resident_on'] !== 'OpaqueRef:NULL' && pool.db.get('host', vm['resident_on']) ? vm['resident_on'] : undefined
  if (resident === host.ref) return sendDump(res, rrdDump(pool.spec, { kind: 'vm', rec: vm }, now, json), json)
  const redirect = (address: string, extra?: [string, string]): void => {
    const q = new URLSearchParams(url.search)
    if (extra) q.set(extra[0], extra[1])
    // rrdd_proxy's Location names the host without a port (XAPI listens on 443); the simulator's
    // shared port is named when it is another one, as a host behind a port mapping would need
    const port = req.socket.localPort
    res.writeHead(302, { location: `https://${address}${port && port !== 443 ? `:${port}` : ''}${url.pathname}?${q.toString()}`, connection: 'close' })
    res.end()
  }
  if (resident) return redirect(pool.hostAddress(resident))
  if (!pool.isMaster(host.ref) && !url.searchParams.has('rrd_unarchive')) return redirect(pool.masterAddress, ['rrd_unarchive', ''])
  // the master unarchives the RRD the VM left when it stopped
  return sendDump(res, rrdDump(pool.spec, { kind: 'vm', rec: vm }, now, json, undefined, haltedAt(vm, now)), json)
}
