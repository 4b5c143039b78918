/**
 * A pool answer nested deeper than MAX_NESTING is refused by the parsers with an error naming the
 * depth (the transport adds the method), however the body is split; one just inside the limit
 * still parses. XAPI's own records nest 4 levels in a get_all_records answer (envelope, map,
 * record, other_config).
 */
import { describe, expect, it } from 'vitest'
import { JsonParseError, parseJsonSafe } from '../../../main/xapi/json-safe'
import { JsonRpcResponseParser } from '../../../main/xapi/json-stream'
import { XmlRpcParseError, XmlRpcResponseParser, parseXmlRpcFragment, parseXmlRpcResponse } from '../../../main/xapi/xmlrpc'
import { streamedNormalisation } from '../../../main/xapi/normalise'
import { MAX_NESTING } from '../../../main/xapi/wire'

const xmlEnvelope = (v: string): string =>
  `<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>${v}</member></struct></value></param></params></methodResponse>`

/** an XML-RPC value: `levels` arrays around a string (a struct every other level) */
function deepXml(levels: number): string {
  let open = ''
  let close = ''
  for (let i = 0; i < levels; i++) {
    if (i % 2 === 0) {
      open += '<value><array><data>'
      close = '</data></array></value>' + close
    } else {
      open += '<value><struct><member><name>k</name>'
      close = '</member></struct></value>' + close
    }
  }
  return `${open}<value>x</value>${close}`
}

function deepJson(levels: number): string {
  let s = '"x"'
  for (let i = 0; i < levels; i++) s = i % 2 === 0 ? `[${s}]` : `{"k":${s}}`
  return s
}

/** get_all_records with one VM whose other_config holds a value nested `levels` deep */
function xmlRecords(levels: number): string {
  const vm = (ref: string, extra: string): string =>
    `<member><name>${ref}</name><value><struct><member><name>uuid</name><value>${ref}</value></member><member><name>other_config</name><value><struct>${extra}</struct></value></member></struct></value></member>`
  return xmlEnvelope(`<value><struct>${vm('OpaqueRef:a', '')}${vm('OpaqueRef:b', `<member><name>deep</name>${deepXml(levels)}</member>`)}${vm('OpaqueRef:c', '')}</struct></value>`)
}

function jsonRecords(levels: number): string {
  const vm = (extra: string): string => `{"uuid":"u","other_config":{${extra}},"name_label":"${'n'.repeat(200)}"}`
  return `{"jsonrpc":"2.0","result":{"OpaqueRef:a":${vm('')},"OpaqueRef:b":${vm(`"deep":${deepJson(levels)}`)},"OpaqueRef:c":${vm('')}},"id":1}`
}

function jsonEvents(levels: number): string {
  const ev = (i: number, extra: string): string => `{"id":"${i}","class":"vm","operation":"mod","ref":"OpaqueRef:${i}","snapshot":{"uuid":"u${i}","other_config":{${extra}}}}`
  return `{"jsonrpc":"2.0","result":{"events":[${ev(1, '')},${ev(2, `"deep":${deepJson(levels)}`)},${ev(3, '')}],"valid_ref_counts":{},"token":"1"},"id":2}`
}

function xmlFeed(body: string, size: number): unknown {
  const p = new XmlRpcResponseParser(streamedNormalisation('VM.get_all_records')?.hooks)
  for (let i = 0; i < body.length; i += size) p.write(body.slice(i, i + size))
  return p.end()
}

function jsonFeed(body: string, size: number, method = 'VM.get_all_records'): unknown {
  const p = new JsonRpcResponseParser(streamedNormalisation(method)?.hooks)
  const b = Buffer.from(body)
  for (let i = 0; i < b.length; i += size) p.write(b.subarray(i, i + size))
  return p.end()
}

describe('nesting limit', () => {
  it('is a documented few hundred levels, far above what XAPI sends', () => {
    expect(MAX_NESTING).toBeGreaterThanOrEqual(64)
    expect(MAX_NESTING).toBeLessThanOrEqual(1000)
  })

  it('XML-RPC: a 12,000-deep value in a get_all_records answer is refused, whole and split', () => {
    const body = xmlRecords(12_000)
    for (const size of [body.length, 65_536, 4096, 7]) {
      expect(() => xmlFeed(body, size), `chunks of ${size}`).toThrow(XmlRpcParseError)
      expect(() => xmlFeed(body, size)).toThrow(new RegExp(`nested deeper than ${MAX_NESTING} levels`))
    }
  })

  it('XML-RPC: a value just inside the limit parses (envelope 1 + map 2 + record 3 + other_config 4)', () => {
    const v = parseXmlRpcResponse(xmlRecords(MAX_NESTING - 4)) as { Value: Record<string, unknown> }
    expect(Object.keys(v.Value)).toEqual(['OpaqueRef:a', 'OpaqueRef:b', 'OpaqueRef:c'])
    expect(() => parseXmlRpcResponse(xmlRecords(MAX_NESTING - 3))).toThrow(/nested deeper/)
  })

  it('XML-RPC: task results (a fragment) have the same limit', () => {
    expect(() => parseXmlRpcFragment(deepXml(12_000))).toThrow(/nested deeper than/)
  })

  it('JSON-RPC: a 12,000-deep value in a get_all_records answer is refused, whole and split', () => {
    const body = jsonRecords(12_000)
    for (const size of [body.length, 65_536, 4096, 7]) {
      expect(() => jsonFeed(body, size), `chunks of ${size}`).toThrow(JsonParseError)
      expect(() => jsonFeed(body, size)).toThrow(new RegExp(`nested deeper than ${MAX_NESTING} levels`))
    }
  })

  it('JSON-RPC: a 12,000-deep value in an event.from answer is refused, whole and split', () => {
    const body = jsonEvents(12_000)
    for (const size of [body.length, 65_536, 4096, 7]) {
      expect(() => jsonFeed(body, size, 'event.from'), `chunks of ${size}`).toThrow(new RegExp(`nested deeper than ${MAX_NESTING} levels`))
    }
  })

  it('JSON-RPC: just inside the limit parses; one more level is refused', () => {
    const ok = jsonFeed(jsonRecords(MAX_NESTING - 4), 64) as { result: Record<string, unknown> }
    expect(Object.keys(ok.result)).toHaveLength(3)
    expect(() => jsonFeed(jsonRecords(MAX_NESTING - 3), 64)).toThrow(/nested deeper/)
    expect(() => jsonFeed(jsonRecords(MAX_NESTING - 3), 1 << 20)).toThrow(/nested deeper/)
  })

  it('JSON: parseJsonSafe (bodies that are not an object, task results) has the same limit', () => {
    expect(() => parseJsonSafe(deepJson(12_000))).toThrow(/nested deeper than/)
    expect(() => parseJsonSafe(deepJson(MAX_NESTING))).not.toThrow()
    expect(() => parseJsonSafe(deepJson(MAX_NESTING + 1))).toThrow(/nested deeper than/)
  })
})
