/**
 * Host hardware: NUMA topologies (docs/numa.md §3 recipe) and the CPU models whose cpu_info / host_cpu
 * records match them.
 */
import type { SimNumaTopology } from '../model'

export interface CpuModel {
  vendor: 'GenuineIntel' | 'AuthenticAMD'
  modelname: string
  family: number
  model: number
  stepping: number
  /** MHz, as cpu_info.speed prints it ('2593.906') */
  speedMHz: number
  flags: string
  features: string
  featuresPv: string
  featuresHvm: string
  featuresPvHost: string
  featuresHvmHost: string
}

export interface HardwareSpec {
  topology: SimNumaTopology
  cpu: CpuModel
  /** spanned MiB on node 0 that is MMIO hole, not RAM */
  holeMiB: number
  biosStrings: Record<string, string>
}

const INTEL_FLAGS =
  'fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush acpi mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon rep_good nopl nonstop_tsc cpuid pni pclmulqdq monitor est ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch cpuid_fault ssbd ibrs ibpb stibp fsgsbase bmi1 avx2 bmi2 erms invpcid avx512f avx512dq rdseed adx smap clflushopt clwb avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 arat pku ospke md_clear arch_capabilities'
const AMD_FLAGS =
  'fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm rep_good nopl cpuid extd_apicid pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch ibpb fsgsbase bmi1 avx2 bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 clzero xsaveerptr rdpru arat umip vaes vpclmulqdq rdpid'
const LEGACY_FLAGS =
  'fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush acpi mmx fxsr sse sse2 ht syscall nx lm constant_tsc arch_perfmon rep_good nopl nonstop_tsc eagerfpu pni pclmulqdq monitor est ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm ida arat epb pln pts dtherm fsgsbase bmi1 avx2 bmi2 erms xsaveopt cqm_llc cqm_occup_llc'

const featureWords = (words: string[]): string => words.join('-')

export const CPU_SILVER_4208: CpuModel = {
  vendor: 'GenuineIntel',
  modelname: 'Intel(R) Xeon(R) Silver 4208 CPU @ 2.10GHz',
  family: 6,
  model: 85,
  stepping: 7,
  speedMHz: 2095.078,
  flags: INTEL_FLAGS,
  features: featureWords(['fffa3223', 'bfebfbff', '00000121', '2c100800', 'd39ffffb', '00000000', '00000008', '00000000', '00001000', 'bc00a000', '00000000']),
  featuresPv: featureWords(['1fc9cbf5', 'f6f83203', '2991cbf5', '00000123', '00000007', 'd19b0fa9', '00000008', '00000000', '00101000', '9c004000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000']),
  featuresHvm: featureWords(['1fcbfbff', 'f7fa3223', '2d93fbff', '00000523', '0000000f', 'd19ffffb', '00000008', '00000000', '00101000', 'bc004400', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000']),
  featuresPvHost: featureWords(['1fc9cbf5', 'f6f83203', '2991cbf5', '00000123', '00000007', 'd19b0fa9', '00000008', '00000000', '00101000', '9c004000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000']),
  featuresHvmHost: featureWords(['1fcbfbff', 'f7fa3223', '2d93fbff', '00000523', '0000000f', 'd19ffffb', '00000008', '00000000', '00101000', 'bc004400', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000']),
}

export const CPU_PLATINUM_8358: CpuModel = {
  ...CPU_SILVER_4208,
  modelname: 'Intel(R) Xeon(R) Platinum 8358 CPU @ 2.60GHz',
  model: 106,
  stepping: 6,
  speedMHz: 2593.906,
}

export const CPU_E_2288G: CpuModel = {
  ...CPU_SILVER_4208,
  modelname: 'Intel(R) Xeon(R) E-2288G CPU @ 3.70GHz',
  model: 158,
  stepping: 13,
  speedMHz: 3695.988,
}

export const CPU_EPYC_7313P: CpuModel = {
  vendor: 'AuthenticAMD',
  modelname: 'AMD EPYC 7313P 16-Core Processor',
  family: 25,
  model: 1,
  stepping: 1,
  speedMHz: 2999.986,
  flags: AMD_FLAGS,
  features: featureWords(['7ed8320b', '178bfbff', '75c237ff', '2fd3fbff', '219c97a9', '0040069c', '00000000', '0000000f', '00000000', '00000000', '00000000']),
  featuresPv: featureWords(['1fc9cbf5', 'f6d83203', '75c237ff', '2f93cbff', '219c07a9', '0040060c', '00000000', '0000000c', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000']),
  featuresHvm: featureWords(['1fcbfbff', 'f7da3203', '75c237ff', '2fd3fbff', '219c07a9', '0040060c', '00000000', '0000000c', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000']),
  featuresPvHost: featureWords(['1fc9cbf5', 'f6d83203', '75c237ff', '2f93cbff', '219c07a9', '0040060c', '00000000', '0000000c', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000']),
  featuresHvmHost: featureWords(['1fcbfbff', 'f7da3203', '75c237ff', '2fd3fbff', '219c07a9', '0040060c', '00000000', '0000000c', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000', '00000000']),
}

export const CPU_E5_2660_V3: CpuModel = {
  vendor: 'GenuineIntel',
  modelname: 'Intel(R) Xeon(R) CPU E5-2660 v3 @ 2.60GHz',
  family: 6,
  model: 63,
  stepping: 2,
  speedMHz: 2597.07,
  flags: LEGACY_FLAGS,
  features: '7ffefbff-bfebfbff-00000021-2c100800',
  featuresPv: '17c9cbf5-f6f83203-2191cbf5-00000023-00000001-00000329-00000000-00000000-00001000-0c000000',
  featuresHvm: '17cbfbff-f7fa3223-2d93fbff-00000023-00000001-000007ab-00000000-00000000-00001000-0c000000',
  featuresPvHost: '17c9cbf5-f6f83203-2191cbf5-00000023-00000001-00000329-00000000-00000000-00001000-0c000000',
  featuresHvmHost: '17cbfbff-f7fa3223-2d93fbff-00000023-00000001-000007ab-00000000-00000000-00001000-0c000000',
}

function distanceMatrix(nodes: number, f: (i: number, j: number) => number): number[][] {
  const m: number[][] = []
  for (let i = 0; i < nodes; i++) {
    const row: number[] = []
    for (let j = 0; j < nodes; j++) row.push(i === j ? 10 : f(i, j))
    m.push(row)
  }
  return m
}

function nodeMem(nodes: number, perNodeMiB: number, holeMiB: number): number[] {
  return Array.from({ length: nodes }, (_, i) => (i === 0 ? perNodeMiB + holeMiB : perNodeMiB))
}

const dell = (model: string, serial: string): Record<string, string> => ({
  'bios-vendor': 'Dell Inc.',
  'bios-version': '2.19.1',
  'system-manufacturer': 'Dell Inc.',
  'system-product-name': model,
  'system-version': '',
  'system-serial-number': serial,
  'baseboard-manufacturer': 'Dell Inc.',
  'baseboard-product-name': '0H28RR',
  'baseboard-version': 'A08',
  'baseboard-serial-number': `.${serial}.CNFCP0099000Q1.`,
  'baseboard-asset-tag': '',
  'baseboard-location-in-chassis': '',
  'enclosure-asset-tag': '',
  'hp-rombios': '',
  'oem-1': 'Dell System',
  'oem-2': '5[0000]',
})

/** 1 socket, 1 node, 8 cores SMT2 (16 threads), 64 GiB: a lab box. Siblings adjacent. */
export function labHost(serial: string): HardwareSpec {
  const holeMiB = 1024
  return {
    topology: { siblingNumbering: 'adjacent', sockets: 1, nodes: 1, coresPerSocket: 8, threadsPerCore: 2, nodeMemMiB: nodeMem(1, 65536, holeMiB), distances: [[10]] },
    cpu: CPU_E_2288G,
    holeMiB,
    biosStrings: dell('PowerEdge T140', serial),
  }
}

/** 2 sockets, 2 nodes (10,21), 8 cores SMT2 per socket = 32 threads, 256 GiB. */
export function twoNodeHost(serial: string, numbering: 'adjacent' | 'split', perNodeGiB = 128): HardwareSpec {
  const holeMiB = 1536
  return {
    topology: { siblingNumbering: numbering, sockets: 2, nodes: 2, coresPerSocket: 8, threadsPerCore: 2, nodeMemMiB: nodeMem(2, perNodeGiB * 1024, holeMiB), distances: distanceMatrix(2, () => 21) },
    cpu: CPU_SILVER_4208,
    holeMiB,
    biosStrings: dell('PowerEdge R640', serial),
  }
}

/** 2 sockets with sub-NUMA clustering: 4 nodes (10/11/21), 32 cores SMT2 per socket = 128 threads. */
export function sncHost(serial: string, perNodeGiB = 192): HardwareSpec {
  const holeMiB = 2048
  return {
    topology: {
      siblingNumbering: 'split',
      sockets: 2,
      nodes: 4,
      coresPerSocket: 32,
      threadsPerCore: 2,
      nodeMemMiB: nodeMem(4, perNodeGiB * 1024, holeMiB),
      // nodes 0,1 on socket 0 and 2,3 on socket 1: same socket 11, across sockets 21
      distances: distanceMatrix(4, (i, j) => (Math.floor(i / 2) === Math.floor(j / 2) ? 11 : 21)),
    },
    cpu: CPU_PLATINUM_8358,
    holeMiB,
    biosStrings: dell('PowerEdge R750', serial),
  }
}

/** 1 socket AMD, 1 node, 16 cores SMT2, siblings half-apart (AMD numbering). */
export function epycHost(serial: string, memGiB = 256): HardwareSpec {
  const holeMiB = 2048
  return {
    topology: { siblingNumbering: 'split', sockets: 1, nodes: 1, coresPerSocket: 16, threadsPerCore: 2, nodeMemMiB: nodeMem(1, memGiB * 1024, holeMiB), distances: [[10]] },
    cpu: CPU_EPYC_7313P,
    holeMiB,
    biosStrings: dell('PowerEdge R6515', serial),
  }
}

/** The real 7.2 sample host: 2 × E5-2660 v3 (10 cores SMT2), 40 threads, 2 nodes (10,21), 256 GiB. */
export function haswellHost(serial: string): HardwareSpec {
  const holeMiB = 1024
  return {
    topology: { siblingNumbering: 'adjacent', sockets: 2, nodes: 2, coresPerSocket: 10, threadsPerCore: 2, nodeMemMiB: nodeMem(2, 131072, holeMiB), distances: distanceMatrix(2, () => 21) },
    cpu: CPU_E5_2660_V3,
    holeMiB,
    biosStrings: dell('PowerEdge R630', serial),
  }
}

export function cpuCount(t: SimNumaTopology): number {
  return t.sockets * t.coresPerSocket * t.threadsPerCore
}

/** Where logical CPU `cpu` sits, for either numbering (docs/numa.md §3). */
export function cpuLocation(t: SimNumaTopology, cpu: number): { socket: number; core: number; thread: number; node: number } {
  const perSocket = t.coresPerSocket * t.threadsPerCore
  const total = perSocket * t.sockets
  const nodesPerSocket = Math.max(1, t.nodes / t.sockets)
  let socket: number
  let core: number
  let thread: number
  if (t.siblingNumbering === 'adjacent') {
    socket = Math.floor(cpu / perSocket)
    core = Math.floor((cpu % perSocket) / t.threadsPerCore)
    thread = cpu % t.threadsPerCore
  } else {
    const coresTotal = total / t.threadsPerCore
    thread = Math.floor(cpu / coresTotal)
    const j = cpu % coresTotal
    socket = Math.floor(j / t.coresPerSocket)
    core = j % t.coresPerSocket
  }
  const node = socket * nodesPerSocket + Math.floor(core / (t.coresPerSocket / nodesPerSocket))
  return { socket, core, thread, node: Math.min(node, t.nodes - 1) }
}

/** Logical CPUs of a node, ascending. */
export function cpusOfNode(t: SimNumaTopology, node: number): number[] {
  const out: number[] = []
  for (let c = 0; c < cpuCount(t); c++) if (cpuLocation(t, c).node === node) out.push(c)
  return out
}
