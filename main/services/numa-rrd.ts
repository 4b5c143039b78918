/**
 * Per-pCPU load for the NUMA view: the host's RRD `cpu<N>` busy fractions from GET /rrd_updates
 * (PROTOCOL.md §4), asked of the host itself (RRD scope is the queried host) over the pinned TLS
 * socket the pools layer opens. Read-only, small (the last minute, 5 s step), and optional: every
 * failure means "load unknown", never a guessed number.
 */
import type { TLSSocket } from 'node:tls'
import type { PoolHostAccess } from '../pools/api'

const MAX_BYTES = 16 * 1024 * 1024
const TIMEOUT_MS = 10_000

export interface HostCpuLoad {
  /** pCPU id → busy fraction 0..1 */
  load: Record<number, number>
  /** epoch seconds of the row used */
  at: number
}

/** Fetches and parses one host's newest `cpu<N>` values. Throws with a sentence on failure. */
export async function fetchHostCpuLoad(access: PoolHostAccess, connectionId: string, hostAddress: string, hostUuid: string): Promise<HostCpuLoad> {
  const { socket, sessionId } = await access.connectHostTls(connectionId, hostAddress)
  const query = new URLSearchParams({ session_id: sessionId, start: '-60', cf: 'AVERAGE', interval: '5', host: 'true', json: 'true' })
  const raw = await httpGet(socket, hostAddress, `/rrd_updates?${query.toString()}`)
  return parseRrdCpuLoad(raw, hostUuid)
}

function httpGet(socket: TLSSocket, host: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`rrd_updates from ${host} timed out after ${TIMEOUT_MS / 1000} s`))
    }, TIMEOUT_MS)
    socket.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BYTES) {
        clearTimeout(timer)
        socket.destroy()
        reject(new Error(`rrd_updates from ${host} is larger than ${MAX_BYTES} bytes`))
        return
      }
      chunks.push(c)
    })
    socket.on('error', (e) => {
      clearTimeout(timer)
      reject(new Error(`rrd_updates from ${host} failed: ${e.message}`))
    })
    socket.on('end', () => {
      clearTimeout(timer)
      socket.destroy()
      try {
        resolve(decodeHttpResponse(Buffer.concat(chunks), host))
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)))
      }
    })
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`)
  })
}

/** Status line, headers, and a body that may be chunked. */
export function decodeHttpResponse(buf: Buffer, host: string): string {
  const headEnd = buf.indexOf('\r\n\r\n')
  if (headEnd < 0) throw new Error(`rrd_updates from ${host}: incomplete HTTP response`)
  const head = buf.subarray(0, headEnd).toString('latin1')
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)
  if (!status) throw new Error(`rrd_updates from ${host}: not an HTTP response`)
  let body = buf.subarray(headEnd + 4)
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const parts: Buffer[] = []
    let i = 0
    for (;;) {
      const eol = body.indexOf('\r\n', i)
      if (eol < 0) break
      const len = parseInt(body.subarray(i, eol).toString('latin1'), 16)
      if (!Number.isFinite(len) || len === 0) break
      parts.push(body.subarray(eol + 2, eol + 2 + len))
      i = eol + 2 + len + 2
    }
    body = Buffer.concat(parts)
  }
  const text = body.toString('utf8')
  if (status[1] !== '200') throw new Error(`rrd_updates from ${host} answered ${status[1]}: ${text.slice(0, 120).trim()}`)
  return text
}

/** Newest row's `AVERAGE:host:<uuid>:cpu<N>` values. Old xcp-rrdd printed JSON with bare keys: tolerate it. */
export function parseRrdCpuLoad(text: string, hostUuid: string): HostCpuLoad {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    try {
      doc = JSON.parse(text.replace(/([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:/g, '$1"$2":'))
    } catch {
      throw new Error('rrd_updates answer is not JSON')
    }
  }
  const meta = isObj(doc) && isObj(doc['meta']) ? doc['meta'] : undefined
  const legend = meta && Array.isArray(meta['legend']) ? meta['legend'] : undefined
  const data = isObj(doc) && Array.isArray(doc['data']) ? doc['data'] : undefined
  if (!legend || !data) throw new Error('rrd_updates answer has no meta.legend or data')
  // rows are newest first; take the newest row that has a number for some cpuN
  const cols: { cpu: number; i: number }[] = []
  legend.forEach((l, i) => {
    const m = typeof l === 'string' ? /^AVERAGE:host:([^:]+):cpu(\d+)$/.exec(l) : null
    if (m && m[1] === hostUuid) cols.push({ cpu: Number(m[2]), i })
  })
  for (const row of data) {
    if (!isObj(row) || !Array.isArray(row['values'])) continue
    const values = row['values']
    const load: Record<number, number> = {}
    for (const c of cols) {
      const v = Number(values[c.i])
      if (Number.isFinite(v)) load[c.cpu] = Math.max(0, Math.min(1, v))
    }
    if (Object.keys(load).length > 0) return { load, at: typeof row['t'] === 'number' ? row['t'] : Number(row['t']) }
  }
  throw new Error('rrd_updates has no cpuN values for this host yet')
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
