/** VM settings the way templates and installers leave them: platform flags, recommendations, BIOS strings, NVRAM. */
import { GiB } from './context'
import type { BuildContext } from './context'
import type { OsSpec } from './products'

export function platformFor(b: BuildContext, os: OsSpec, vcpus: number): Record<string, string> {
  const cps = vcpus >= 4 && vcpus % 2 === 0 ? (vcpus >= 8 ? 4 : 2) : 1
  if (os.domainType === 'pv') return { 'cores-per-socket': String(cps), nx: 'true', pae: 'true', apic: 'true', acpi: '1', timeoffset: '0' }
  const p: Record<string, string> = {
    acpi: '1',
    apic: 'true',
    'cores-per-socket': String(cps),
    device_id: os.windows ? '0002' : '0001',
    hpet: 'true',
    nx: 'true',
    pae: 'true',
    timeoffset: os.windows ? '-28800' : '0',
    vga: 'std',
    videoram: '8',
    viridian: os.windows ? 'true' : 'false',
  }
  if (!b.legacy) p['device-model'] = os.uefi ? 'qemu-upstream-uefi' : 'qemu-upstream-compat'
  if (os.windows) {
    p.viridian_reference_tsc = 'true'
    p.viridian_time_ref_count = 'true'
    if (!b.legacy) {
      p.viridian_apic_assist = 'true'
      p.viridian_crash_ctl = 'true'
      p.viridian_stimer = 'true'
      p.acpi_laptop_slate = '1'
    }
  }
  if (os.secureBoot && !b.legacy) p.secureboot = 'true'
  if (os.key === 'win11' && !b.legacy) p.vtpm = 'true'
  return p
}

export function recommendations(b: BuildContext, os: OsSpec): string {
  const parts = [
    `<restriction field="memory-static-max" max="${os.maxMemGiB * GiB}"/>`,
    `<restriction field="vcpus-max" max="${os.maxVcpus}"/>`,
    os.windows ? '<restriction field="has-vendor-device" value="true"/>' : '',
    b.legacy ? '' : `<restriction field="supports-bios" value="${os.uefi && os.secureBoot ? 'no' : 'yes'}"/>`,
    b.legacy ? '' : `<restriction field="supports-uefi" value="${os.uefi ? 'yes' : 'no'}"/>`,
    b.legacy ? '' : `<restriction field="supports-secure-boot" value="${os.secureBoot ? 'yes' : 'no'}"/>`,
    '<restriction max="255" property="number-of-vbds"/>',
    '<restriction max="7" property="number-of-vifs"/>',
    b.legacy ? '<restriction field="allow-gpu-passthrough" value="0"/>' : '',
  ]
  return `<restrictions>${parts.join('')}</restrictions>`
}

export function biosStrings(b: BuildContext): Record<string, string> {
  const strings: Record<string, string> = {
    'bios-vendor': 'Xen',
    'bios-version': '',
    'system-manufacturer': 'Xen',
    'system-product-name': 'HVM domU',
    'system-version': '',
    'system-serial-number': '',
    'hp-rombios': '',
    'oem-1': 'Xen',
    'oem-2': 'MS_VM_CERT/SHA1/bdbeb6e0a816d43fa6d3fe8aaef04c2bad9d3e3d',
  }
  if (!b.legacy) {
    strings['baseboard-asset-tag'] = ''
    strings['baseboard-location-in-chassis'] = ''
    strings['baseboard-manufacturer'] = ''
    strings['baseboard-product-name'] = ''
    strings['baseboard-serial-number'] = ''
    strings['baseboard-version'] = ''
    strings['enclosure-asset-tag'] = ''
  }
  return strings
}

/** base64 of an EFI variable store, the size of a freshly installed guest's */
export function nvram(b: BuildContext): Record<string, string> {
  const bytes = Buffer.alloc(256)
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(b.rng.int(0x100000000) >>> 0, i)
  bytes.write('VARS', 0, 'latin1')
  return { 'EFI-variables': bytes.toString('base64') }
}

export function templateOtherConfig(b: BuildContext, os: OsSpec, name: string): Record<string, string> {
  const oc: Record<string, string> = {
    default_template: 'true',
    'install-methods': os.installMethods,
    disks: `<provision><disk device="0" size="${os.diskGiB * GiB}" sr="" bootable="true" type="system"/></provision>`,
    instant: 'true',
  }
  if (!os.windows) oc.linux_template = 'true'
  if (os.domainType === 'pv') {
    // eliloader templates (XenServer 7.x): the installer is fetched from install-repository
    oc['install-distro'] = os.key.startsWith('sles') ? 'sleslike' : 'debianlike'
    oc['install-arch'] = 'amd64'
    if (os.key === 'debian8') oc['debian-release'] = 'jessie'
  }
  if (!b.legacy) oc.reference_label = name.toLowerCase().replace(/[^a-z0-9]+/g, '-')
  return oc
}
