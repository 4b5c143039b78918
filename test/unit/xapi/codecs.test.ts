import { describe, expect, it } from 'vitest'
import { parseXmlRpcFragment, parseXmlRpcResponse, XmlRpcResponseParser } from '../../../main/xapi/xmlrpc'
import { XmlRpcDouble, serializeMethodCall } from '../../../main/xapi/xmlrpc-serialize'
import { parseJsonSafe } from '../../../main/xapi/json-safe'
import { normaliseDate, normaliseResult, recordNormaliser } from '../../../main/xapi/normalise'
import { encodeXmlParams, toXapiDate } from '../../../main/xapi/transport'
import { XapiError } from '../../../main/xapi/errors'
import { decodeTaskResult, parseAddress } from '../../../main/xapi/client'

const envelope = (v: string) => `<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>${v}</member></struct></value></param></params></methodResponse>`

describe('XML-RPC requests', () => {
  it('sends ints as strings, floats as <double>, bools as <boolean>, escapes text', () => {
    const xml = serializeMethodCall('event.from', ['OpaqueRef:s', ['vm'], '', new XmlRpcDouble(30), 5, true, { 'a<b': 'x&y' }])
    expect(xml).toContain('<methodName>event.from</methodName>')
    expect(xml).toContain('<value><double>30.0</double></value>')
    expect(xml).toContain('<value><string>5</string></value>')
    expect(xml).toContain('<boolean>1</boolean>')
    expect(xml).toContain('<name>a&lt;b</name><value><string>x&amp;y</string>')
    expect(xml).toContain('<array><data><value><string>vm</string></value></data></array>')
  })

  it('marks float params from the datamodel (event.from timeout 30 → <double>)', () => {
    const p = encodeXmlParams('event.from', ['s', ['*'], '', 30])
    expect(p[3]).toBeInstanceOf(XmlRpcDouble)
    expect(serializeMethodCall('event.from', p)).toContain('<double>30.0</double>')
  })

  it('converts ISO dates to XAPI dates for datetime params', () => {
    expect(toXapiDate('2025-03-19T04:16:24.000Z')).toBe('20250319T04:16:24Z')
  })
})

describe('XML-RPC responses (streaming)', () => {
  it('parses bare values as strings, typed scalars, structs and arrays', () => {
    const v = parseXmlRpcResponse(
      envelope(
        '<value><struct><member><name>a</name><value>8589934592</value></member><member><name>b</name><value><i4>7</i4></value></member><member><name>c</name><value><double>1.5</double></value></member><member><name>d</name><value><boolean>0</boolean></value></member><member><name>e</name><value><array><data><value>x</value><value/></data></array></value></member><member><name>f</name><value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value></member><member><name>g</name><value>a &amp; &lt;b&gt;</value></member></struct></value>',
      ),
    )
    expect(v).toEqual({ Status: 'Success', Value: { a: '8589934592', b: 7, c: 1.5, d: false, e: ['x', ''], f: '20250319T04:16:24Z', g: 'a & <b>' } })
  })

  it('gives the same result however the bytes are split', () => {
    const xml = envelope('<value><struct><member><name>name_label</name><value>héllo wörld</value></member><member><name>n</name><value><int>42</int></value></member></struct></value>')
    for (const size of [1, 3, 7, 64]) {
      const p = new XmlRpcResponseParser()
      for (let i = 0; i < xml.length; i += size) p.write(xml.slice(i, i + size))
      expect(p.end()).toEqual({ Status: 'Success', Value: { name_label: 'héllo wörld', n: 42 } })
    }
  })

  it('returns the raw value when there is no Status envelope (system.listMethods)', () => {
    expect(parseXmlRpcResponse('<methodResponse><params><param><value><array><data><value>VM.start</value></data></array></value></param></params></methodResponse>')).toEqual(['VM.start'])
  })

  it('rejects truncated and malformed XML with a clear error', () => {
    const xml = envelope('<value>x</value>')
    expect(() => parseXmlRpcResponse(xml.slice(0, xml.length - 30))).toThrow(/malformed|truncated/)
    expect(() => parseXmlRpcResponse('<html><body>Bad gateway</body>')).toThrow(/malformed|without a value/)
    expect(() => parseXmlRpcResponse(envelope('<value><boolean>yes</boolean></value>'))).toThrow(/boolean/)
  })

  it('decodes task results (XML-RPC fragments) by the method result type', () => {
    expect(decodeTaskResult('Async.VM.clone', '<value>OpaqueRef:abc</value>')).toBe('OpaqueRef:abc')
    expect(decodeTaskResult('Async.VM.start', '')).toBeUndefined()
    expect(decodeTaskResult('Async.VM.start', '<value></value>')).toBeUndefined()
    expect(parseXmlRpcFragment('<value><array><data><value>OpaqueRef:NULL</value></data></array></value>')).toEqual(['OpaqueRef:NULL'])
  })
})

describe('JSON-RPC bodies', () => {
  it('keeps ints beyond 2^53 exact as strings and tolerates NaN/Infinity tokens', () => {
    const v = parseJsonSafe('{"result":{"big":18446744073709551615,"small":8589934592,"neg":-9223372036854775808,"f":NaN,"g":Infinity,"h":-Infinity,"s":"NaN Infinity 12345678901234567890"}}')
    expect(v).toEqual({ result: { big: '18446744073709551615', small: 8589934592, neg: '-9223372036854775808', f: 'NaN', g: 'Infinity', h: '-Infinity', s: 'NaN Infinity 12345678901234567890' } })
  })

  it('keeps escaped quotes inside strings intact on the slow path', () => {
    expect(parseJsonSafe('["a\\"NaN\\\\", 12345678901234567890]')).toEqual(['a"NaN\\', '12345678901234567890'])
  })

  it('names malformed JSON', () => {
    expect(() => parseJsonSafe('{"result": ')).toThrow(/malformed JSON/)
  })
})

describe('normalisation to the generated record types', () => {
  it('normalises a VM record type-directed', () => {
    const rec = recordNormaliser('VM')({
      memory_static_max: '2147483648',
      VCPUs_max: 4,
      resident_on: 'OpaqueRef:NULL',
      affinity: 'OpaqueRef:1',
      VBDs: ['OpaqueRef:a', 'OpaqueRef:NULL'],
      is_a_template: false,
      snapshot_time: '19700101T00:00:00Z',
      other_config: { k: 'v' },
      power_state: 'Running',
      future_field: 'kept',
    })
    expect(rec).toEqual({
      memory_static_max: 2147483648,
      VCPUs_max: 4,
      resident_on: null,
      affinity: 'OpaqueRef:1',
      VBDs: ['OpaqueRef:a', null],
      is_a_template: false,
      snapshot_time: '1970-01-01T00:00:00Z',
      other_config: { k: 'v' },
      power_state: 'Running',
      future_field: 'kept',
    })
  })

  it('keeps int64 beyond 2^53 as an exact string, and parses float strings', () => {
    const r = recordNormaliser('VM_metrics')({ memory_actual: '18446744073709551615', VCPUs_utilisation: { '0': 'NaN', '1': 0.5 } }) as Record<string, unknown>
    expect(r.memory_actual).toBe('18446744073709551615')
    expect(r.VCPUs_utilisation).toEqual({ '0': NaN, '1': 0.5 })
  })

  it('normalises get_all_records maps and event batches', () => {
    const all = normaliseResult('host.get_all_records', { 'OpaqueRef:h': { memory_overhead: '123', API_version_major: '2' } }) as Record<string, Record<string, unknown>>
    expect(all['OpaqueRef:h']).toEqual({ memory_overhead: 123, API_version_major: 2 })
    const batch = normaliseResult('event.from', { events: [{ id: '5', class: 'vm', operation: 'mod', ref: 'OpaqueRef:v', snapshot: { VCPUs_max: '2', resident_on: 'OpaqueRef:NULL' } }], valid_ref_counts: { vm: '3' }, token: 't' }) as {
      events: { snapshot: Record<string, unknown> }[]
      valid_ref_counts: Record<string, unknown>
    }
    expect(batch.events[0]?.snapshot).toEqual({ VCPUs_max: 2, resident_on: null })
    expect(batch.valid_ref_counts.vm).toBe(3)
  })

  it('turns XAPI dates into ISO 8601', () => {
    expect(normaliseDate('20250319T04:16:24Z')).toBe('2025-03-19T04:16:24Z')
    expect(normaliseDate('20250319T04:16:24')).toBe('2025-03-19T04:16:24Z')
    expect(normaliseDate('2025-03-19T04:16:24Z')).toBe('2025-03-19T04:16:24Z')
  })
})

describe('XAPI errors', () => {
  it('builds a human sentence from the catalogue, naming objects', () => {
    const e = new XapiError('VM_BAD_POWER_STATE', ['OpaqueRef:v', 'halted', 'running'], { describeRef: (r) => (r === 'OpaqueRef:v' ? 'VM “web-01”' : undefined) })
    expect(e.code).toBe('VM_BAD_POWER_STATE')
    expect(e.params).toEqual(['OpaqueRef:v', 'halted', 'running'])
    expect(e.message).toMatch(/^You attempted an operation on a VM that was not in an appropriate power state/)
    expect(e.message).toContain('vm: VM “web-01”')
    expect(e.message).toContain('expected: halted')
  })

  it('still says something useful for an unknown code', () => {
    expect(new XapiError('BRAND_NEW_ERROR', ['x']).message).toBe('The server reported BRAND_NEW_ERROR (x).')
  })
})

describe('addresses', () => {
  it('parses host, host:port, bracketed and bare IPv6', () => {
    expect(parseAddress('10.0.0.1')).toEqual({ host: '10.0.0.1', port: 443 })
    expect(parseAddress('xen.local:8443')).toEqual({ host: 'xen.local', port: 8443 })
    expect(parseAddress('[fe80::1]:444')).toEqual({ host: 'fe80::1', port: 444 })
    expect(parseAddress('fe80::1')).toEqual({ host: 'fe80::1', port: 443 })
    expect(() => parseAddress('h:99999')).toThrow(/port 99999 .* out of range/)
    expect(() => parseAddress('[')).toThrow(/IPv6/)
  })
})
