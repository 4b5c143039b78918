import { describe, expect, it } from 'vitest'
import { parseRrdCpuLoad } from '../../../main/services/numa-rrd'

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
  it('reads the bare-key, bare-NaN JSON of xcp-rrdd before 23.31 and the XML form', () => {
    const old = `{meta: {start: 100,step: 5,end: 110,rows: 1,columns: 2,legend: ["AVERAGE:host:${UUID}:cpu3","AVERAGE:host:${UUID}:cpu4"]},data: [{t: 110,values: [0.5000,NaN]}]}`
    expect(parseRrdCpuLoad(old, UUID).load).toEqual({ 3: 0.5 })
    const xml = `<?xml version="1.0" encoding="UTF-8"?><xport><meta><start>100</start><step>5</step><end>110</end><rows>1</rows><columns>1</columns><legend><entry>AVERAGE:host:${UUID}:cpu2</entry></legend></meta><data><row><t>110</t><v>0.7500</v></row></data></xport>`
    expect(parseRrdCpuLoad(xml, UUID)).toEqual({ load: { 2: 0.75 }, at: 110 })
  })
  it('refuses answers without values, naming the problem', () => {
    expect(() => parseRrdCpuLoad('<xport/>', UUID)).toThrow(/should have <xport>/)
    expect(() => parseRrdCpuLoad('garbage', UUID)).toThrow(/neither XML nor JSON/)
    expect(() => parseRrdCpuLoad(JSON.stringify({ meta: { start: 0, step: 5, end: 0, legend: [] }, data: [] }), UUID)).toThrow(/no cpuN values/)
  })
})
