import { describe, expect, it } from 'vitest'
import { decodeHttpResponse, parseRrdCpuLoad } from '../../../main/services/numa-rrd'

const UUID = 'b1a7e0c2-0000-4000-8000-000000000001'
const doc = {
  meta: { start: 100, step: 5, end: 110, rows: 2, columns: 4, legend: [`AVERAGE:host:${UUID}:cpu0`, `AVERAGE:host:${UUID}:cpu1`, `AVERAGE:host:${UUID}:cpu_avg`, 'AVERAGE:vm:x:cpu0'] },
  data: [
    { t: 110, values: ['NaN', 'NaN', 'NaN', '0.5'] },
    { t: 105, values: ['0.25', '1.2', '0.3', '0.5'] },
  ],
}

describe('RRD cpuN for the NUMA view', () => {
  it('takes the newest row with host cpuN values, clamps to 0..1, ignores cpu_avg and VM columns', () => {
    expect(parseRrdCpuLoad(JSON.stringify(doc), UUID)).toEqual({ load: { 0: 0.25, 1: 1 }, at: 105 })
  })
  it('tolerates the bare-key JSON of xcp-rrdd before 23.31', () => {
    const old = `{meta: {start: 100, step: 5, end: 110, rows: 1, columns: 1, legend: ["AVERAGE:host:${UUID}:cpu3"]}, data: [{t: 110, values: ["0.5"]}]}`
    expect(parseRrdCpuLoad(old, UUID).load).toEqual({ 3: 0.5 })
  })
  it('refuses answers without values, naming the problem', () => {
    expect(() => parseRrdCpuLoad('<xport/>', UUID)).toThrow(/not JSON/)
    expect(() => parseRrdCpuLoad(JSON.stringify({ meta: { legend: [] }, data: [] }), UUID)).toThrow(/no cpuN values/)
  })
  it('decodes chunked HTTP bodies and reports non-200 answers', () => {
    const body = '{"a":1}'
    const chunked = Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a\r\n4\r\n":1}\r\n0\r\n\r\n`)
    expect(decodeHttpResponse(chunked, 'h')).toBe(body)
    expect(() => decodeHttpResponse(Buffer.from('HTTP/1.1 401 Unauthorized\r\n\r\nunauthorised'), 'h')).toThrow(/answered 401: unauthorised/)
  })
})
