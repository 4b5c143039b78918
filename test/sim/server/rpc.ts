/**
 * Request body in, response body out, for both wire protocols. Malformed requests get XAPI-style
 * failures in the protocol's own envelope.
 */
import type { SimValue } from '../model'
import { dispatch, type CallSite, type DispatchResult } from './dispatch'
import { encodeBatchJson, encodeBatchXml } from './events'
import { jsonFailure, jsonSuccessHead, jsonSuccessTail, JsonRpcParseError, parseJsonRpc } from './jsonrpc'
import { Out } from './out'
import type { PoolState } from './pool'
import { parseMethodCall, xmlBareStringArray, xmlFailure, XmlRpcParseError, xmlSuccessHead, XML_SUCCESS_TAIL } from './xmlrpc'

export interface RpcReply {
  /** wire method name, '' when the request did not parse */
  method: string
  body: Buffer[]
  length: number
  /** JSON-RPC id of the request, JSON-encoded */
  idJson?: string
  /** recycles the body's scratch memory: call only once the body has been written out */
  release?: () => void
}

function single(method: string, s: string): RpcReply {
  const b = Buffer.from(s, 'utf8')
  return { method, body: [b], length: b.length }
}

export function encodeXml(pool: PoolState, r: DispatchResult): Out {
  const o = new Out()
  switch (r.kind) {
    case 'error':
      o.str(xmlFailure(r.description))
      break
    case 'bare':
      o.str(xmlBareStringArray(r.items))
      break
    case 'batch':
      o.str(xmlSuccessHead())
      encodeBatchXml(pool.xml, pool.db, r.batch, o)
      o.str(XML_SUCCESS_TAIL)
      break
    case 'value':
      o.str(xmlSuccessHead())
      pool.xml.value(r.type, r.value, o)
      o.str(XML_SUCCESS_TAIL)
      break
  }
  return o
}

export async function handleXmlRpc(pool: PoolState, site: CallSite, body: string): Promise<RpcReply> {
  let call: { method: string; params: SimValue[] }
  try {
    call = parseMethodCall(body)
  } catch (e) {
    const msg = e instanceof XmlRpcParseError ? e.message : String(e)
    return single('', xmlFailure(['XMLRPC_UNMARSHAL_FAILURE', 'methodCall', msg]))
  }
  const r = await dispatch(pool, site, call.method, call.params)
  const o = encodeXml(pool, r)
  const parts = o.chunks()
  return { method: call.method, body: parts, length: o.length, release: () => o.release() }
}

export async function handleJsonRpc(pool: PoolState, site: CallSite, body: string): Promise<RpcReply> {
  let req
  try {
    req = parseJsonRpc(body)
  } catch (e) {
    if (e instanceof JsonRpcParseError) return single('', jsonFailure(e.version, e.idJson, ['JSONRPC_UNMARSHAL_FAILURE', e.message]))
    return single('', jsonFailure(2, 'null', ['INTERNAL_ERROR', String(e)]))
  }
  const r = await dispatch(pool, site, req.method, req.params)
  const o = new Out()
  switch (r.kind) {
    case 'error':
      o.str(jsonFailure(req.version, req.idJson, r.description))
      break
    case 'bare':
      o.str(`${jsonSuccessHead(req.version)}${JSON.stringify(r.items)}${jsonSuccessTail(req.version, req.idJson)}`)
      break
    case 'batch':
      o.str(jsonSuccessHead(req.version))
      encodeBatchJson(pool.json, pool.db, r.batch, o)
      o.str(jsonSuccessTail(req.version, req.idJson))
      break
    case 'value':
      o.str(jsonSuccessHead(req.version))
      pool.json.value(r.type, r.value, o)
      o.str(jsonSuccessTail(req.version, req.idJson))
      break
  }
  const parts = o.chunks()
  return { method: req.method, body: parts, length: o.length, idJson: req.idJson, release: () => o.release() }
}
