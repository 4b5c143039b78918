/**
 * shared/perf/graphs.ts: XenCenter's default graphs, units, and the layouts XenCenter keeps in
 * pool.gui_config. The gui_config below is written the way XenCenter writes it (xenserver/xenadmin:
 * Palette.GetLayoutKey / GetGraphNameKey / GetColorKey, DesignedGraph.ToString = raw data source names
 * joined by ',', SaveDataSourceStateAction: no GraphName key for an empty name, colours as
 * Color.ToArgb().ToString()).
 */
import { describe, expect, it } from 'vitest'
import {
  argbToCss,
  busiestCores,
  cssToArgb,
  defaultGraphs,
  depthSentence,
  storedSentence,
  DERIVED_MEMORY_USED,
  formatValue,
  graphsFromGuiConfig,
  guiConfigFor,
  guiConfigKeysOf,
  neededSources,
  seriesValues,
  unitOf,
  withGuiColours,
} from '../../../shared/perf/graphs'

const HOST = '5d5f3b0e-6c4e-4c53-9d4f-0b1f6f3c2a10'
const VM = '9a1e2f44-0d3c-4a8b-b2de-7c6a2e5d8f01'
const OTHER = '0b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9'

// Color.FromArgb(0,102,255).ToArgb() and Color.FromArgb(153,0,51).ToArgb(), as XenCenter stores them
const BLUE = String((0xff0066ff | 0) >> 0) // "-16750849"
const RED = String((0xff990033 | 0) >> 0)

/** a pool.gui_config as XenCenter leaves it after the user designed graphs for a host and a VM */
const xenCenterGui: Record<string, string> = {
  [`XenCenter.GraphLayout.0.host.${HOST}`]: 'cpu0,cpu1,cpu_avg',
  [`XenCenter.GraphName.0.host.${HOST}`]: 'CPUs',
  // graph 1 has an empty name: XenCenter writes no GraphName key for it
  [`XenCenter.GraphLayout.1.host.${HOST}`]: 'memory_total_kib,memory_free_kib',
  // index 3 after a missing 2: XenCenter stops reading at 2, so this graph is not shown
  [`XenCenter.GraphLayout.3.host.${HOST}`]: 'loadavg',
  [`XenCenter.GraphName.3.host.${HOST}`]: 'Load',
  [`XenCenter.DataSource.host.${HOST}.cpu0`]: BLUE,
  [`XenCenter.DataSource.host.${HOST}.memory_free_kib`]: RED,
  [`XenCenter.GraphLayout.0.vm.${VM}`]: 'memory,memory_internal_free',
  [`XenCenter.GraphName.0.vm.${VM}`]: 'RAM',
  [`XenCenter.GraphLayout.1.vm.${VM}`]: 'vif_0_rx,vif_0_tx,vbd_xvda_read',
  [`XenCenter.GraphName.1.vm.${VM}`]: 'I/O',
  // another object's layout and an unrelated key
  [`XenCenter.GraphLayout.0.host.${OTHER}`]: 'cpu0',
  'XenCenter.CustomFields.owner': 'string',
}

describe('XenCenter gui_config layouts', () => {
  it('reads a host layout as XenCenter does: indexes from 0 up to the first missing one, raw sources, colours', () => {
    const g = graphsFromGuiConfig(xenCenterGui, 'host', HOST)
    expect(g?.map((x) => x.title)).toEqual(['CPUs', 'Graph 2'])
    expect(g?.[0]?.series.map((s) => s.ds)).toEqual(['cpu0', 'cpu1', 'cpu_avg'])
    expect(g?.[0]?.series[0]?.color).toBe('#0066ff')
    expect(g?.[0]?.series[1]?.color).toBeUndefined()
    expect(g?.[0]?.unit).toBe('percent')
    // memory_free_kib is XenCenter's "Used Memory" series: drawn here as total − free, with its colour
    expect(g?.[1]?.series.map((s) => [s.ds, s.label, s.color])).toEqual([
      ['memory_total_kib', 'Total memory', undefined],
      [DERIVED_MEMORY_USED, 'Used memory', '#990033'],
    ])
    expect(g?.[1]?.unit).toBe('bytes')
  })

  it('reads a VM layout; memory_internal_free is used memory', () => {
    const g = graphsFromGuiConfig(xenCenterGui, 'vm', VM)
    expect(g?.map((x) => [x.title, x.series.map((s) => s.ds)])).toEqual([
      ['RAM', ['memory', DERIVED_MEMORY_USED]],
      ['I/O', ['vif_0_rx', 'vif_0_tx', 'vbd_xvda_read']],
    ])
    expect(neededSources('vm', g ?? [])).toEqual(['memory', 'memory_internal_free', 'vif_0_rx', 'vif_0_tx', 'vbd_xvda_read'])
  })

  it('has no custom graphs for an object without layout keys (the defaults are shown)', () => {
    expect(graphsFromGuiConfig(xenCenterGui, 'vm', HOST)).toBeUndefined()
    expect(graphsFromGuiConfig({ [`XenCenter.GraphLayout.1.vm.${VM}`]: 'cpu0' }, 'vm', VM)).toBeUndefined()
    expect(graphsFromGuiConfig({}, 'host', HOST)).toBeUndefined()
  })

  it('writes exactly what XenCenter writes for the same graphs (round trip)', () => {
    const g = graphsFromGuiConfig(xenCenterGui, 'host', HOST) ?? []
    // XenCenter names graph 1 '' (no GraphName key); here it shows as "Graph 2": give it XenCenter's empty name back
    const written = guiConfigFor(g.map((x, i) => (i === 1 ? { ...x, title: '' } : x)), 'host', HOST)
    expect(written).toEqual({
      [`XenCenter.GraphLayout.0.host.${HOST}`]: 'cpu0,cpu1,cpu_avg',
      [`XenCenter.GraphName.0.host.${HOST}`]: 'CPUs',
      [`XenCenter.GraphLayout.1.host.${HOST}`]: 'memory_total_kib,memory_free_kib',
      [`XenCenter.DataSource.host.${HOST}.cpu0`]: BLUE,
      [`XenCenter.DataSource.host.${HOST}.memory_free_kib`]: RED,
    })
    const vm = guiConfigFor(graphsFromGuiConfig(xenCenterGui, 'vm', VM) ?? [], 'vm', VM)
    expect(vm[`XenCenter.GraphLayout.0.vm.${VM}`]).toBe('memory,memory_internal_free')
  })

  it('replaces only the layout and name keys of that object (colours stay, as in XenCenter)', () => {
    expect(guiConfigKeysOf(xenCenterGui, 'host', HOST).sort()).toEqual(
      [`XenCenter.GraphLayout.0.host.${HOST}`, `XenCenter.GraphName.0.host.${HOST}`, `XenCenter.GraphLayout.1.host.${HOST}`, `XenCenter.GraphLayout.3.host.${HOST}`, `XenCenter.GraphName.3.host.${HOST}`].sort(),
    )
    expect(guiConfigKeysOf({ [`XenCenter.GraphLayout.x.host.${HOST}`]: 'cpu0', [`XenCenter.GraphLayout.0.host.${HOST}-other`]: 'cpu0' }, 'host', HOST)).toEqual([])
  })

  it('gives default graphs the colours gui_config sets for their sources', () => {
    const d = withGuiColours(defaultGraphs('host', ['cpu0', 'memory_total_kib', 'memory_free_kib']), xenCenterGui, 'host', HOST)
    expect(d.find((g) => g.id === 'cpu')?.series[0]?.color).toBe('#0066ff')
    expect(d.find((g) => g.id === 'memory')?.series.find((s) => s.ds === DERIVED_MEMORY_USED)?.color).toBe('#990033')
  })

  it('converts colours both ways as ARGB signed integers', () => {
    expect(argbToCss(BLUE)).toBe('#0066ff')
    expect(cssToArgb('#0066ff')).toBe(BLUE)
    expect(cssToArgb('#ffffff')).toBe('-1')
    expect(argbToCss('not a number')).toBeUndefined()
  })
})

describe('default graphs', () => {
  it('host: CPU per core in order + average, memory, network per PIF (bonds too, not the aggregate), disk per SR, latency, load', () => {
    const ds = ['cpu10', 'cpu2', 'cpu0', 'cpu1', 'cpu_avg', 'memory_total_kib', 'memory_free_kib', 'pif_eth0_rx', 'pif_eth0_tx', 'pif_bond0_rx', 'pif_bond0_tx', 'pif_aggr_rx', 'pif_aggr_tx', 'io_throughput_read_abcd1234', 'io_throughput_write_abcd1234', 'read_latency_abcd1234', 'write_latency_abcd1234', 'loadavg']
    const g = defaultGraphs('host', ds)
    expect(g.map((x) => x.id)).toEqual(['cpu', 'memory', 'network', 'disk', 'latency', 'load'])
    expect(g[0]?.series.map((s) => s.ds)).toEqual(['cpu0', 'cpu1', 'cpu2', 'cpu10', 'cpu_avg'])
    expect(g[1]?.series.map((s) => s.ds)).toEqual(['memory_total_kib', DERIVED_MEMORY_USED])
    expect(g[2]?.series.map((s) => s.ds)).toEqual(['pif_bond0_rx', 'pif_bond0_tx', 'pif_eth0_rx', 'pif_eth0_tx'])
    expect(g[3]?.unit).toBe('bytesPerSec')
    expect(g[4]?.unit).toBe('ms')
  })

  it('VM: CPU, memory used, network per VIF, disk per VBD read/write, IOPS, latency; nothing for missing sources', () => {
    const ds = ['cpu0', 'cpu1', 'memory', 'memory_internal_free', 'vif_1_rx', 'vif_1_tx', 'vif_0_rx', 'vif_0_tx', 'vbd_xvda_read', 'vbd_xvda_write', 'vbd_xvda_iops_read', 'vbd_xvda_iops_write', 'vbd_xvda_read_latency', 'vbd_xvda_write_latency']
    const g = defaultGraphs('vm', ds)
    expect(g.map((x) => x.id)).toEqual(['cpu', 'memory', 'network', 'disk', 'iops', 'latency'])
    expect(g[2]?.series.map((s) => s.label)).toEqual(['NIC 0 receive', 'NIC 0 send', 'NIC 1 receive', 'NIC 1 send'])
    expect(defaultGraphs('vm', ['cpu0', 'memory']).map((x) => [x.id, x.series.length])).toEqual([
      ['cpu', 1],
      ['memory', 1],
    ])
  })
})

describe('units', () => {
  it('scales raw values into the unit and derives used memory', () => {
    expect(unitOf('cpu3')).toBe('percent')
    expect(seriesValues('vm', 'cpu0', { cpu0: [0.5, null] }, 2)).toEqual([50, null])
    // VM: memory (B) − memory_internal_free (KiB)
    expect(seriesValues('vm', DERIVED_MEMORY_USED, { memory: [4 * 2 ** 30], memory_internal_free: [2 ** 20] }, 1)).toEqual([3 * 2 ** 30])
    // host: both KiB
    expect(seriesValues('host', DERIVED_MEMORY_USED, { memory_total_kib: [2 ** 20], memory_free_kib: [2 ** 18] }, 1)).toEqual([0.75 * 2 ** 30])
    expect(seriesValues('host', 'io_throughput_read_abcd1234', { io_throughput_read_abcd1234: [2] }, 1)).toEqual([2 * 2 ** 20])
    expect(seriesValues('host', 'read_latency_abcd1234', { read_latency_abcd1234: [1500] }, 1)).toEqual([1.5])
  })

  it('reads well', () => {
    expect(formatValue('percent', 42.4)).toBe('42 %')
    expect(formatValue('bytes', 3 * 2 ** 30)).toBe('3.0 GiB')
    expect(formatValue('bytesPerSec', 1536)).toBe('1.5 KiB/s')
    expect(formatValue('ms', 1.5)).toBe('1.50 ms')
    expect(formatValue('percent', null)).toBe('—')
  })
})

describe('how far back the history goes, in words', () => {
  const at = (t: number): string => `t${t}`
  it('names only the tiers stored, each coarser one only when it reaches further back', () => {
    expect(depthSentence({ minute: 500, hour: 100, day: null }, at)).toBe('1-minute detail since t500, hourly before')
    expect(depthSentence({ minute: 500, hour: 100, day: 10 }, at)).toBe('1-minute detail since t500, hourly since t100, daily before')
    expect(depthSentence({ minute: 500, hour: 600, day: null }, at)).toBe('1-minute detail since t500')
    expect(depthSentence({ minute: null, hour: 100, day: 10 }, at)).toBe('Hourly detail since t100, daily before')
    expect(depthSentence({ minute: null, hour: null, day: null }, at)).toBe('No history stored yet')
  })

  it('says what is on disk, and before the first write what waits in memory instead of "0 B"', () => {
    const at = (t: number): string => `t${t}`
    const GiB = 1024 ** 3
    expect(storedSentence({ bytes: 0, maxBytes: 2 * GiB, pendingValues: 41234, nextWriteAt: 900 }, at)).toBe('Nothing on disk yet: 41,234 values wait in memory, written at t900 · limit 2.0 GiB')
    expect(storedSentence({ bytes: 0, maxBytes: 2 * GiB, pendingValues: 0, nextWriteAt: 900 }, at)).toBe('Nothing stored yet · limit 2.0 GiB')
    expect(storedSentence({ bytes: 3 * 1024 ** 2, maxBytes: 2 * GiB, pendingValues: 12, nextWriteAt: 900 }, at)).toBe('3.0 MiB of 2.0 GiB on disk, 12 new values not written yet')
    expect(storedSentence({ bytes: 3 * 1024 ** 2, maxBytes: 2 * GiB, pendingValues: 0, nextWriteAt: null }, at)).toBe('3.0 MiB of 2.0 GiB on disk')
  })
})

describe("a host's CPU graph with little room", () => {
  it('keeps the average and the busiest cores by mean over the range, and says how many are left out', () => {
    const s = (ds: string, values: (number | null)[]) => ({ ds, values })
    const series = [s('cpu0', [0.1, 0.1]), s('cpu1', [0.9, null]), s('cpu2', [0.5, 0.6]), s('cpu3', [0.2, 0.2]), s('cpu4', [0.7, 0.7]), s('cpu_avg', [0.4, 0.3])]
    const r = busiestCores(series, 3)
    expect(r.series.map((x) => x.ds)).toEqual(['cpu1', 'cpu2', 'cpu4', 'cpu_avg'])
    expect(r.hidden).toBe(2)
    expect(r.cores).toBe(5)
    // few cores: every series kept
    expect(busiestCores(series.slice(2), 3).hidden).toBe(0)
  })
})
