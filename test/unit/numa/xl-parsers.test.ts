import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildPluginTopology, distanceMatrix, parsePluginTopology, parseXlInfo, parseXlVcpuList } from '../../../shared/numa/xl'
import { compactRanges, formatCpuList, parseCpuList } from '../../../shared/numa/cpulist'

const FIX = join(__dirname, '../../fixtures/numa')
const read = (n: string): string => readFileSync(join(FIX, n), 'utf8')
const topologyFixtures = readdirSync(FIX)
  .filter((f) => f.endsWith('.xl-info.txt'))
  .map((f) => f.slice(0, -'.xl-info.txt'.length))

describe('xl info -n parser (TypeScript twin of the plugin parser, same fixtures)', () => {
  it('covers the fixture set: 2-socket SMT2 both numberings, sub-NUMA, Opteron, 1 node, offline CPUs', () => {
    expect(topologyFixtures.sort()).toEqual(['1n', '2n-offline-cpus', '2s2n-smt2-adjacent', '2s2n-smt2-split', '2s4n-snc-128t', 'opteron-8n'])
  })
  it.each(topologyFixtures)('%s parses to exactly the expected JSON', (name) => {
    const info = parseXlInfo(read(`${name}.xl-info.txt`))
    const expected = JSON.parse(read(`${name}.expected.json`)) as { host: unknown; cpus: unknown; nodes: unknown; distances: unknown }
    expect(info.host).toEqual(expected.host)
    expect(info.cpus).toEqual(expected.cpus)
    expect(info.nodes).toEqual(expected.nodes)
    expect(distanceMatrix(info.nodes)).toEqual(expected.distances)
  })
  it('skips nothing but the offline rows: CPUs 5 and 13 are absent, the rest keep their ids', () => {
    const info = parseXlInfo(read('2n-offline-cpus.xl-info.txt'))
    expect(info.cpus.map((c) => c.cpu)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 14, 15])
    expect(info.host.nr_cpus).toBe(14)
    expect(info.host.max_cpu_id).toBe(15)
  })
  it('refuses a malformed table row, naming the line', () => {
    expect(() => parseXlInfo('cpu_topology           :\ncpu:    core    socket     node\n  0:       x        0        0\n')).toThrow(/row 3/)
    expect(() => parseXlInfo('nr_cpus                : many\n')).toThrow(/nr_cpus is not an integer/)
  })
})

describe('xl vcpu-list parser', () => {
  it('parses all / none / ranges / offline vCPUs / names with spaces to the expected JSON', () => {
    expect(parseXlVcpuList(read('vcpu-list.txt'))).toEqual(JSON.parse(read('vcpu-list.expected.json')))
  })
  it('refuses a garbage row', () => {
    expect(() => parseXlVcpuList('Domain-0 zero\n')).toThrow(/malformed row 1/)
  })
})

describe('xl CPU lists', () => {
  it('expands all, none and ranges and formats them back as xl prints them', () => {
    expect(parseCpuList('all', 4)).toEqual([0, 1, 2, 3])
    expect(parseCpuList('none', 4)).toEqual([])
    expect(parseCpuList('0,2,4-6,31', 32)).toEqual([0, 2, 4, 5, 6, 31])
    expect(formatCpuList([0, 1, 2, 3], 4)).toBe('all')
    expect(formatCpuList([], 4)).toBe('none')
    expect(formatCpuList([16, 17, 18, 19, 24], 32)).toBe('16-19,24')
    expect(compactRanges([0, 2, 4, 5, 6, 31])).toBe('0,2,4-6,31')
    expect(() => parseCpuList('3-1', 8)).toThrow(/descending/)
  })
})

describe('plugin answer validation', () => {
  it('accepts what buildPluginTopology produces', () => {
    const doc = buildPluginTopology(read('2s2n-smt2-split.xl-info.txt'), read('vcpu-list.txt'))
    const r = parsePluginTopology(JSON.stringify(doc))
    expect(r.ok).toBe(true)
  })
  it('names what is wrong with bad JSON or a bad shape', () => {
    const notJson = parsePluginTopology('<html>502</html>')
    expect(notJson.ok).toBe(false)
    if (!notJson.ok) expect(notJson.error).toMatch(/not JSON/)
    const badShape = parsePluginTopology(JSON.stringify({ version: 1, host: {}, cpus: [{ cpu: 'zero' }], nodes: [], distances: [], vcpus: [] }))
    expect(badShape.ok).toBe(false)
    if (!badShape.ok) expect(badShape.error).toMatch(/cpus\.0\.cpu/)
  })
})
