/**
 * The "raw limit" baselines of client.bench.ts: one XAPI call over HTTPS on the pinned agent, its
 * body parsed only — no normalisation, no graph — with the product's parsers (the incremental JSON
 * parser, the streaming XML parser) or, as the baseline of the old JSON path, one parseJsonSafe of
 * the whole body. Benchmark code: the product's transport (main/xapi/transport.ts) has no such mode.
 */
import https from 'node:https'
import { parseJsonSafe } from '../../main/xapi/json-safe'
import { JsonRpcResponseParser } from '../../main/xapi/json-stream'
import type { HostTrust } from '../../main/xapi/trust'
import { StrictUtf8Stream } from '../../main/xapi/utf8'
import type { WireValue } from '../../main/xapi/wire'
import { XmlRpcResponseParser } from '../../main/xapi/xmlrpc'
import { serializeMethodCall, type XmlRpcParam } from '../../main/xapi/xmlrpc-serialize'

export type RawParser = 'xml-rpc' | 'json-rpc incremental' | 'json-rpc one-shot'

/** `method(session, ...params)` on host:port; resolves to the result as parsed, or rejects with the XAPI error */
export function rawCall(o: { host: string; port: number; trust: HostTrust; parser: RawParser }, method: string, params: readonly unknown[]): Promise<WireValue> {
  const xml = o.parser === 'xml-rpc'
  const body = Buffer.from(xml ? serializeMethodCall(method, params as XmlRpcParam[]) : JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }), 'utf8')
  return new Promise<WireValue>((resolve, reject) => {
    const req = https.request({
      host: o.host,
      port: o.port,
      method: 'POST',
      path: xml ? '/' : '/jsonrpc',
      agent: o.trust.agentFor(o.host, o.port, 'bench-raw'),
      headers: { 'content-type': xml ? 'text/xml' : 'application/json', 'content-length': body.length },
    })
    req.on('error', reject)
    req.on('response', (res) => {
      const decoder = new StrictUtf8Stream()
      const xmlParser = xml ? new XmlRpcResponseParser() : undefined
      const jsonParser = o.parser === 'json-rpc incremental' ? new JsonRpcResponseParser() : undefined
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => {
        try {
          if (xmlParser) xmlParser.write(decoder.write(chunk))
          else if (jsonParser) jsonParser.write(chunk)
          else chunks.push(chunk)
        } catch (e) {
          req.destroy()
          reject(e as Error)
        }
      })
      res.on('error', reject)
      res.on('end', () => {
        try {
          const envelope = xmlParser ? (xmlParser.write(decoder.end()), xmlParser.end()) : jsonParser ? jsonParser.end() : parseJsonSafe(Buffer.concat(chunks).toString('utf8'))
          const e = envelope as { Status?: unknown; Value?: WireValue; ErrorDescription?: unknown; result?: WireValue; error?: unknown }
          if (xml ? e.Status !== 'Success' : e.error !== undefined && e.error !== null) reject(new Error(`${method} failed: ${JSON.stringify(xml ? e.ErrorDescription : e.error)}`))
          else resolve((xml ? e.Value : e.result) ?? '')
        } catch (err) {
          reject(err as Error)
        }
      })
    })
    req.end(body)
  })
}
