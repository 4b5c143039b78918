/**
 * New VMs from templates (issue 14): what a template offers and what a New VM spec may ask of it,
 * read the way XenCenter reads templates — `VM.recommendations` (the <restrictions> XML: vcpus-max,
 * memory-static-max, number-of-vbds/vifs, supports-bios/uefi/secure-boot), other_config
 * `install-methods` and the `disks` provision XML, HVM_boot_policy / PV_bootloader for the kind of
 * install. Pure code: the wizard validates each step with it before Next, main checks the spec again
 * before calling XAPI (the same sentences).
 */
import type { NewVmSpecInput } from '../contract/provision'
import { topologyLimit, topologyProblem } from './cpu-topology'
import { canCreateDiskOn, checkFits, formatBytes, hostsSeeing, type CanRun, type Rec, type StorageView } from './storage'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const map = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {})
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) || 0 : 0)

export const MiB = 1024 ** 2
export const GiB = 1024 ** 3

/** what `VM.recommendations` says (absent: no limit given) */
export interface Recommendations {
  vcpusMax?: number
  vcpusMin?: number
  memoryStaticMax?: number
  vbdsMax?: number
  vifsMax?: number
  /** undefined: the template does not say (XenServer 7.x: BIOS only) */
  supportsBios?: boolean
  supportsUefi?: boolean
  supportsSecureBoot?: boolean
  hasVendorDevice?: boolean
}

const ATTR = /([A-Za-z_-]+)\s*=\s*"([^"]*)"/g

/** the <restrictions> document; anything it cannot read is left out (the template then has no such limit) */
export function parseRecommendations(xml: string): Recommendations {
  const out: Recommendations = {}
  for (const m of xml.matchAll(/<restriction\b([^>]*)\/?>/g)) {
    const a = new Map<string, string>()
    for (const x of (m[1] ?? '').matchAll(ATTR)) if (x[1] !== undefined && x[2] !== undefined) a.set(x[1], x[2])
    const key = a.get('field') ?? a.get('property')
    const max = a.has('max') ? Number(a.get('max')) : undefined
    const min = a.has('min') ? Number(a.get('min')) : undefined
    const value = a.get('value')
    const yes = value === 'yes' || value === 'true' || value === '1'
    const finite = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n >= 0
    switch (key) {
      case 'vcpus-max':
        if (finite(max)) out.vcpusMax = max
        break
      case 'vcpus-min':
        if (finite(min)) out.vcpusMin = min
        break
      case 'memory-static-max':
        if (finite(max)) out.memoryStaticMax = max
        break
      case 'number-of-vbds':
        if (finite(max)) out.vbdsMax = max
        break
      case 'number-of-vifs':
        if (finite(max)) out.vifsMax = max
        break
      case 'supports-bios':
        if (value !== undefined) out.supportsBios = yes
        break
      case 'supports-uefi':
        if (value !== undefined) out.supportsUefi = yes
        break
      case 'supports-secure-boot':
        if (value !== undefined) out.supportsSecureBoot = yes
        break
      case 'has-vendor-device':
        if (value !== undefined) out.hasVendorDevice = yes
        break
    }
  }
  return out
}

/** one <disk/> of other_config["disks"] */
export interface ProvisionDisk {
  device: string
  size: number
  /** SR uuid, '' for the pool's default SR */
  sr: string
  bootable: boolean
  type: string
}

/** the template's provision XML as xapi reads it; a disk it cannot read is left out */
export function provisionDisks(template: Rec | undefined): ProvisionDisk[] {
  const xml = str(map(template?.other_config)['disks'])
  const out: ProvisionDisk[] = []
  for (const m of xml.matchAll(/<disk\b([^>]*)\/?>/g)) {
    const a = new Map<string, string>()
    for (const x of (m[1] ?? '').matchAll(ATTR)) if (x[1] !== undefined && x[2] !== undefined) a.set(x[1], x[2])
    const size = Number(a.get('size'))
    const device = a.get('device')
    if (device === undefined || !Number.isFinite(size) || size <= 0) continue
    out.push({ device, size, sr: a.get('sr') ?? '', bootable: a.get('bootable') === 'true', type: a.get('type') ?? 'system' })
  }
  return out
}

export type TemplateKind = 'hvm' | 'pv-eli' | 'pv'

/** HVM (BIOS order boot policy), PV with eliloader (network install), other PV (pygrub) */
export function templateKind(t: Rec | undefined): TemplateKind {
  if (str(t?.HVM_boot_policy) !== '') return 'hvm'
  return str(t?.PV_bootloader) === 'eliloader' ? 'pv-eli' : 'pv'
}

/** other_config install-methods: cdrom, http, ftp, nfs */
export function installMethodsOf(t: Rec | undefined): string[] {
  return str(map(t?.other_config)['install-methods'])
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

export interface InstallChoices {
  cd: boolean
  /** PV network install from a URL (http/ftp/nfs of install-methods) */
  url: boolean
  /** URL schemes the template accepts */
  urlSchemes: string[]
  pxe: boolean
  /** a custom template (not a default one) that may already hold its OS */
  none: boolean
}

/** XenCenter's Installation Media page: what this template offers */
export function installChoices(t: Rec | undefined): InstallChoices {
  const kind = templateKind(t)
  const methods = installMethodsOf(t)
  const schemes = methods.filter((m) => m === 'http' || m === 'ftp' || m === 'nfs')
  const custom = t?.is_default_template !== true && map(t?.other_config)['default_template'] !== 'true'
  return {
    cd: kind === 'hvm' || methods.includes('cdrom') || methods.length === 0,
    url: kind === 'pv-eli' && schemes.length > 0,
    urlSchemes: kind === 'pv-eli' ? schemes : [],
    pxe: kind === 'hvm',
    none: custom,
  }
}

/** the VM (or snapshot) has started at least once: XAPI recorded the CPU it booted on (or vm.settings said so) */
export function hasBooted(t: Rec | undefined): boolean {
  return t?.booted === true || Object.keys(map(t?.last_boot_CPU_flags)).length > 0
}

/**
 * The boot modes an HVM template (or VM, or snapshot) allows (none for PV; BIOS only where the
 * server says nothing of UEFI): its recommendations, and XenCenter's VM.CanChangeBootMode — once
 * it has started, the firmware stays BIOS or UEFI as the installed OS was set up (Secure Boot on
 * or off within UEFI).
 */
export function bootModes(t: Rec | undefined): ('bios' | 'uefi' | 'uefi-secure')[] {
  if (templateKind(t) !== 'hvm') return []
  const r = parseRecommendations(str(t?.recommendations))
  const out: ('bios' | 'uefi' | 'uefi-secure')[] = []
  if (r.supportsBios !== false) out.push('bios')
  if (r.supportsUefi === true) out.push('uefi')
  if (r.supportsSecureBoot === true) out.push('uefi-secure')
  if (!hasBooted(t)) return out
  const uefi = str(map(t?.HVM_boot_params)['firmware']) === 'uefi'
  return out.filter((m) => (m !== 'bios') === uefi)
}

const MODE_NAME = { bios: 'BIOS', uefi: 'UEFI', 'uefi-secure': 'UEFI Secure Boot' } as const

/** why `t` cannot boot `mode` (bootModes' rules in words), or undefined when it can */
export function bootModeRefusal(t: Rec | undefined, mode: 'bios' | 'uefi' | 'uefi-secure'): string | undefined {
  if (bootModes(t).includes(mode)) return undefined
  const name = str(t?.name_label) || 'This VM'
  if (templateKind(t) !== 'hvm') return `${name} is a PV guest: it has no firmware to choose`
  const uefi = str(map(t?.HVM_boot_params)['firmware']) === 'uefi'
  if (hasBooted(t) && (mode !== 'bios') !== uefi && bootModes({ ...t, booted: false, last_boot_CPU_flags: {} }).includes(mode)) {
    return `${name} has already started with ${uefi ? 'UEFI' : 'BIOS'}: the OS installed on it would not boot with ${mode === 'bios' ? 'BIOS' : 'UEFI'}`
  }
  return `${name} does not support ${MODE_NAME[mode]} (its template's recommendations)`
}

/** the mode the template itself is set to */
export function templateBootMode(t: Rec | undefined): 'bios' | 'uefi' | 'uefi-secure' | undefined {
  const modes = bootModes(t)
  if (modes.length === 0) return undefined
  const fw = str(map(t?.HVM_boot_params)['firmware'])
  const secure = str(map(t?.platform)['secureboot']) === 'true'
  const want = fw === 'uefi' ? (secure ? 'uefi-secure' : 'uefi') : 'bios'
  return modes.includes(want) ? want : modes[0]
}

/** the HVM boot order for an install method, as XenCenter sets it: CD first, or network first (PXE) */
export function bootOrderFor(method: NewVmSpecInput['install']['method'], current: string): string {
  if (method === 'pxe') {
    // GetBootOrderNetworkFirst: 'n' moved to the front
    const order = current.toLowerCase()
    if (order === '') return 'ncd'
    return order.includes('n') ? `n${order.replace('n', '')}` : `n${order}`
  }
  if (method === 'cd') return 'dcn'
  return current || 'cdn'
}

/** what the wizard knows about the pool when it checks a spec */
export type ProvisionView = StorageView

export interface SpecProblems {
  template?: string
  name?: string
  install?: string
  home?: string
  cpu?: string
  memory?: string
  disks?: string
  networks?: string
}

/** the wizard's steps in order, named for the problems each may have */
export const STEPS: readonly (keyof SpecProblems)[] = ['template', 'name', 'install', 'home', 'cpu', 'memory', 'disks', 'networks']

function installProblem(view: ProvisionView, install: NewVmSpecInput['install'], choices: InstallChoices): string | undefined {
  switch (install.method) {
    case 'cd':
      if (!choices.cd) return 'This template does not install from a DVD'
      if (install.vdi !== undefined && !view.get('VDI', install.vdi)) return 'The chosen ISO is no longer in the pool'
      return undefined
    case 'url': {
      if (!choices.url) return 'This template does not install from a network URL'
      const scheme = install.url.slice(0, Math.max(0, install.url.indexOf(':'))).toLowerCase()
      return choices.urlSchemes.includes(scheme === 'https' ? 'http' : scheme) ? undefined : `This template installs from ${choices.urlSchemes.join(', ')} URLs`
    }
    case 'pxe':
      return choices.pxe ? undefined : 'Only HVM templates boot from the network'
    case 'none':
      return choices.none ? undefined : 'A default template holds no OS: choose install media'
  }
}

function cpuProblem(view: ProvisionView, spec: NewVmSpecInput, r: Recommendations): string | undefined {
  const { vcpusMax: max, vcpusAtStartup: start, coresPerSocket: cps } = spec
  if (start < 1 || max < 1) return 'A VM needs at least 1 vCPU'
  if (start > max) return `vCPUs at startup (${start}) cannot exceed the maximum (${max})`
  if (r.vcpusMax !== undefined && max > r.vcpusMax) return `This template allows at most ${r.vcpusMax} vCPUs`
  if (r.vcpusMin !== undefined && start < r.vcpusMin) return `This template needs at least ${r.vcpusMin} vCPUs`
  // the home server chosen sets the topology's limit, else the largest server (XenCenter's MaxCoresPerSocket)
  const home = spec.homeServer !== undefined ? view.get('host', spec.homeServer) : undefined
  return topologyProblem(max, cps, topologyLimit(view.hosts().map((h) => view.get('host', h)), home))
}

function memoryProblem(spec: NewVmSpecInput, template: Rec | undefined, r: Recommendations): string | undefined {
  const staticMin = num(template?.memory_static_min)
  const { memoryStaticMax: smax, memoryDynamicMin: dmin, memoryDynamicMax: dmax } = spec
  if (dmin > dmax) return `The minimum memory (${formatBytes(dmin)}) cannot exceed the maximum (${formatBytes(dmax)})`
  if (dmax > smax) return `The dynamic maximum (${formatBytes(dmax)}) cannot exceed the static maximum (${formatBytes(smax)})`
  if (dmin < staticMin) return `The minimum memory cannot be below the template's static minimum (${formatBytes(staticMin)})`
  if (r.memoryStaticMax !== undefined && smax > r.memoryStaticMax) return `This template allows at most ${formatBytes(r.memoryStaticMax)} of memory`
  return undefined
}

function disksProblem(view: ProvisionView, spec: NewVmSpecInput, r: Recommendations, existingVbds: number): string | undefined {
  if (r.vbdsMax !== undefined && spec.disks.length + existingVbds + 1 > r.vbdsMax) return `This template allows at most ${r.vbdsMax} drives (disks and DVD)`
  const bySr = new Map<string, number>()
  for (const d of spec.disks) {
    if (d.sr === '') return `${d.name}: choose the storage it goes on`
    const sr = view.get('SR', d.sr)
    const here = canCreateDiskOn(sr)
    if (here !== true) return `${d.name}: ${here}`
    bySr.set(d.sr, (bySr.get(d.sr) ?? 0) + d.size)
  }
  for (const [sr, bytes] of bySr) {
    const fits = checkFits(view.get('SR', sr), bytes)
    if (fits !== true) return fits
  }
  if (spec.install.method === 'none' && spec.disks.length === 0 && existingVbds === 0) return 'The VM would have no disk to boot from: add one or choose install media'
  return undefined
}

/**
 * Every problem of a spec, per wizard step (empty when it can be created). `template` is the
 * template's record, `existingVbds` how many drives it already has.
 */
export function checkNewVm(view: ProvisionView, spec: NewVmSpecInput, template: Rec | undefined): SpecProblems {
  const p: SpecProblems = {}
  if (!template) return { template: 'The template is no longer in the pool' }
  if (template.is_a_template !== true) p.template = `${str(template.name_label) || 'This VM'} is not a template`
  const r = parseRecommendations(str(template.recommendations))
  if (spec.name.trim() === '') p.name = 'A name is required'
  const install = installProblem(view, spec.install, installChoices(template))
  if (install) p.install = install
  const modeRefused = spec.bootMode === undefined ? undefined : bootModeRefusal(template, spec.bootMode)
  if (modeRefused) p.install = modeRefused
  if (spec.homeServer !== undefined && !view.get('host', spec.homeServer)) p.home = 'The chosen server is no longer in the pool'
  else if (spec.homeServer !== undefined) {
    const away = unreachable(view, spec, spec.homeServer)
    if (away) p.home = away
  }
  const cpu = cpuProblem(view, spec, r)
  if (cpu) p.cpu = cpu
  const mem = memoryProblem(spec, template, r)
  if (mem) p.memory = mem
  const disks = disksProblem(view, spec, r, view.vbdsOf(spec.template).length)
  if (disks) p.disks = disks
  if (r.vifsMax !== undefined && spec.vifs.length > r.vifsMax) p.networks = `This template allows at most ${r.vifsMax} network interfaces`
  else if (spec.vifs.some((v) => !view.get('network', v.network))) p.networks = 'A chosen network is no longer in the pool'
  if (spec.copyTo !== undefined) {
    const here = canCreateDiskOn(view.get('SR', spec.copyTo))
    if (here !== true) p.disks = here
  }
  return p
}

/**
 * What the home server cannot reach (XAPI's VM.start_on would refuse with VM_REQUIRES_SR): the ISO
 * or physical DVD chosen, a new disk's SR or the full copy's SR that is local to another server.
 * XenCenter's Home Server page offers only the servers that see the VM's storage.
 */
function unreachable(view: ProvisionView, spec: NewVmSpecInput, host: string): string | undefined {
  const hostName = str(view.get('host', host)?.name_label) || 'The home server'
  const seen = (srRef: string): boolean => view.get('SR', srRef) === undefined || hostsSeeing(view, srRef).includes(host)
  const srName = (srRef: string): string => str(view.get('SR', srRef)?.name_label) || 'its storage'
  if (spec.install.method === 'cd' && spec.install.vdi !== undefined) {
    const vdi = view.get('VDI', spec.install.vdi)
    const sr = str(vdi?.SR)
    if (vdi && !seen(sr)) return `${hostName} cannot reach '${str(vdi.name_label) || 'the disc'}' (on '${srName(sr)}' of another server): choose the server it is on, or no home server`
  }
  for (const d of spec.disks) if (d.sr !== '' && !seen(d.sr)) return `${hostName} cannot reach '${srName(d.sr)}', where ${d.name} goes: choose the server it is on, or no home server`
  if (spec.copyTo !== undefined && !seen(spec.copyTo)) return `${hostName} cannot reach '${srName(spec.copyTo)}', where the template's disks are copied: choose the server it is on, or no home server`
  return undefined
}

/** the first problem as one sentence, or true */
export function canCreateVm(view: ProvisionView, spec: NewVmSpecInput, template: Rec | undefined): CanRun {
  const p = checkNewVm(view, spec, template)
  for (const s of STEPS) {
    const x = p[s]
    if (x) return x
  }
  return true
}

/**
 * The disks the wizard proposes: the provision XML's, each on its SR (the pool's default SR for
 * sr=""), named as XenCenter names them ('<VM name> 0').
 */
export function proposedDisks(template: Rec | undefined, vmName: string, srOfUuid: (uuid: string) => string | undefined, defaultSr: string | undefined): NewVmSpecInput['disks'] {
  const out: NewVmSpecInput['disks'] = []
  for (const d of provisionDisks(template)) {
    // no SR known (no default SR, a UUID of another pool): the disk stays, '' until the user picks one
    const sr = (d.sr !== '' ? srOfUuid(d.sr) : undefined) ?? defaultSr ?? ''
    out.push({ device: d.device, size: d.size, sr, name: `${vmName || 'New VM'} ${d.device}`, description: 'Created by XenPilot' })
  }
  return out
}
