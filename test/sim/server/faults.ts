/**
 * Misbehaviour on demand for RPC responses: delays, dropped connections, truncated or non-UTF-8
 * bodies, proxy error pages, huge (streamed, never buffered) responses, trickled answers and
 * values nested deeper than any parser should take (deep-value).
 */
import type { ServerResponse } from 'node:http'
import type { SimFault } from '../model'

interface ActiveFault {
  fault: SimFault
  once: boolean
  hostAddress?: string
}

export class FaultSet {
  private faults: ActiveFault[] = []

  add(fault: SimFault, opts: { once?: boolean; hostAddress?: string } = {}): void {
    const f: ActiveFault = { fault, once: opts.once ?? false }
    if (opts.hostAddress !== undefined) f.hostAddress = opts.hostAddress
    this.faults.push(f)
  }

  clear(): void {
    this.faults = []
  }

  /**
   * The fault to apply to this response, consuming it when it is a one-shot: one aimed at this
   * method wins over a general one, and among equals the most recently injected.
   */
  take(hostAddress: string, method: string): SimFault | undefined {
    let best = -1
    let bestScore = -1
    for (let i = 0; i < this.faults.length; i++) {
      const f = this.faults[i]
      if (!f || (f.hostAddress !== undefined && f.hostAddress !== hostAddress)) continue
      const m = f.fault.method
      if (m !== undefined && m !== method && `Async.${m}` !== method) continue
      const score = (m !== undefined ? 2 : 0) + (f.hostAddress !== undefined ? 1 : 0)
      if (score >= bestScore) {
        best = i
        bestScore = score
      }
    }
    const f = this.faults[best]
    if (!f) return undefined
    if (f.once) this.faults.splice(best, 1)
    return f.fault
  }
}

const HTML_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n'

export interface FaultReply {
  contentType: string
  body: Buffer[]
  length: number
  /** for huge JSON responses */
  idJson?: string
  json: boolean
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** send `reply` with `fault` applied; returns when the response is done (or the socket dropped) */
export async function sendWithFault(res: ServerResponse, fault: SimFault, reply: FaultReply, sendNormally: () => void): Promise<void> {
  switch (fault.kind) {
    case 'delay':
      await sleep(fault.ms)
      sendNormally()
      return
    case 'http-500':
      res.writeHead(500, { 'content-type': 'text/plain' })
      res.end('Internal Server Error\n')
      return
    case 'html-502':
      res.writeHead(502, { 'content-type': 'text/html' })
      res.end(HTML_502)
      return
    case 'drop-mid-response': {
      const whole = Buffer.concat(reply.body)
      res.writeHead(200, { 'content-type': reply.contentType, 'content-length': String(whole.length) })
      res.write(whole.subarray(0, Math.max(1, Math.floor(whole.length / 2))), () => {
        res.socket?.destroy()
      })
      return
    }
    case 'truncated-xml': {
      const whole = Buffer.concat(reply.body)
      const cut = whole.subarray(0, Math.max(1, Math.floor(whole.length / 2)))
      res.writeHead(200, { 'content-type': reply.contentType, 'content-length': String(cut.length) })
      res.end(cut)
      return
    }
    case 'invalid-utf8': {
      const bad = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1])
      const body = reply.json
        ? Buffer.concat([Buffer.from('{"jsonrpc":"2.0","result":"'), bad, Buffer.from(`","id":${reply.idJson ?? 'null'}}`)])
        : Buffer.concat([
            Buffer.from('<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>'),
            bad,
            Buffer.from('</value></member></struct></value></param></params></methodResponse>'),
          ])
      res.writeHead(200, { 'content-type': reply.contentType, 'content-length': String(body.length) })
      res.end(body)
      return
    }
    case 'huge-response':
      await streamHuge(res, fault.bytes, reply)
      return
    case 'trickle':
      await trickle(res, fault.bytesPerSecond, reply)
      return
    case 'deep-value': {
      const hostile = withDeepValue(Buffer.concat(reply.body).toString('utf8'), reply.json, fault.levels)
      if (hostile === undefined) return sendNormally()
      const body = Buffer.from(hostile, 'utf8')
      res.writeHead(200, { 'content-type': reply.contentType, 'content-length': String(body.length) })
      res.end(body)
      return
    }
  }
}

/** the member the deep-value fault adds to an other_config map */
export const DEEP_VALUE_KEY = 'xenpilot-hostile'

/**
 * `answer` (XML-RPC or JSON-RPC text) with a member DEEP_VALUE_KEY, holding a value nested `levels`
 * arrays deep, added first in its first other_config map; undefined when it holds none
 */
export function withDeepValue(answer: string, json: boolean, levels: number): string | undefined {
  const at = json ? /"other_config":\s*\{/.exec(answer) : /<name>other_config<\/name>\s*<value>\s*<struct>/.exec(answer)
  if (!at) return undefined
  const cut = at.index + at[0].length
  const rest = answer.slice(cut)
  const member = json
    ? `"${DEEP_VALUE_KEY}":${'['.repeat(levels)}"x"${']'.repeat(levels)}${/^\s*\}/.test(rest) ? '' : ','}`
    : `<member><name>${DEEP_VALUE_KEY}</name>${'<value><array><data>'.repeat(levels)}<value>x</value>${'</data></array></value>'.repeat(levels)}</member>`
  return answer.slice(0, cut) + member + rest
}

/** the whole answer, a few bytes every 100 ms, until it is sent or the client hangs up */
async function trickle(res: ServerResponse, bytesPerSecond: number, reply: FaultReply): Promise<void> {
  const whole = Buffer.concat(reply.body)
  res.writeHead(200, { 'content-type': reply.contentType, 'content-length': String(whole.length) })
  const step = Math.max(1, Math.round(bytesPerSecond / 10))
  for (let at = 0; at < whole.length; at += step) {
    if (res.destroyed || res.socket?.destroyed) return
    res.write(whole.subarray(at, at + step))
    await sleep(100)
  }
  res.end()
}

async function streamHuge(res: ServerResponse, bytes: number, reply: FaultReply): Promise<void> {
  const head = Buffer.from(
    reply.json
      ? '{"jsonrpc":"2.0","result":"'
      : '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>',
  )
  const tail = Buffer.from(reply.json ? `","id":${reply.idJson ?? 'null'}}` : '</value></member></struct></value></param></params></methodResponse>')
  const fill = Math.max(0, bytes - head.length - tail.length)
  res.writeHead(200, { 'content-type': reply.contentType, 'content-length': String(head.length + fill + tail.length) })
  res.write(head)
  const chunk = Buffer.alloc(64 * 1024, 'x')
  let left = fill
  while (left > 0) {
    if (res.destroyed || res.socket?.destroyed) return
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left)
    left -= piece.length
    if (!res.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done)
          res.off('close', done)
          resolve()
        }
        res.on('drain', done)
        res.on('close', done)
      })
    }
  }
  res.end(tail)
}
