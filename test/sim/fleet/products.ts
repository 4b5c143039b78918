/**
 * What each emulated product reports about itself: XAPI release, API version, software_version map,
 * licensing maps and its default template catalogue. Values follow what the real products send
 * (XenServer 7.2 from real records; XCP-ng 8.3 / XenServer 8 from their release notes and xapi).
 */
import { RELEASES } from '../../../shared/xapi/datamodel.generated'

export type ProductId = 'xenserver-7.2' | 'xcp-ng-8.3' | 'xenserver-8'

export interface ProductSpec {
  id: ProductId
  brand: 'XenServer' | 'XCP-ng'
  /** a name from shared/xapi RELEASES */
  release: string
  jsonRpc: boolean
  apiMajor: number
  apiMinor: number
  edition: string
  editions: string[]
  softwareVersion: Record<string, string>
  /** names of the default templates the product installs */
  templates: readonly TemplateSpec[]
  toolsSrName: string
  toolsIsoName: string
  pvDrivers: Record<string, string>
}

export interface TemplateSpec {
  name: string
  os: OsKey
  /** boots UEFI where the OS would not (xapi's "Generic Linux UEFI") */
  uefi?: boolean
}

/** Guest operating systems the fleets install; drives template, platform and guest metrics. */
export type OsKey =
  | 'debian12'
  | 'debian11'
  | 'debian8'
  | 'ubuntu2404'
  | 'ubuntu2204'
  | 'ubuntu1604'
  | 'rocky9'
  | 'alma9'
  | 'rhel9'
  | 'rhel7'
  | 'centos7'
  | 'oracle7'
  | 'sles15'
  | 'sles12'
  | 'alpine'
  | 'freebsd14'
  | 'win2022'
  | 'win2019'
  | 'win2016'
  | 'win2012r2'
  | 'win10'
  | 'win11'
  | 'other'

export interface OsSpec {
  key: OsKey
  windows: boolean
  /** os_version map as the guest agent reports it; absent when the OS has no agent */
  osVersion?: Record<string, string>
  uefi: boolean
  secureBoot: boolean
  domainType: 'hvm' | 'pv' | 'pvh'
  /** hardware limits from the template's recommendations */
  maxMemGiB: number
  maxVcpus: number
  /** typical sizes when fleets create VMs */
  memGiB: readonly number[]
  vcpus: readonly number[]
  diskGiB: number
  installMethods: string
  distroTag: string
}

const linuxAgent = (name: string, distro: string, major: string, minor: string, uname: string): Record<string, string> => ({
  name,
  uname,
  distro,
  major,
  minor,
})

export const OSES: Readonly<Record<OsKey, OsSpec>> = {
  debian12: { key: 'debian12', windows: false, osVersion: linuxAgent('Debian GNU/Linux 12 (bookworm)', 'debian', '12', '7', '6.1.0-26-amd64'), uefi: true, secureBoot: false, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [2, 4, 8], vcpus: [2, 4], diskGiB: 20, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'debianbookworm' },
  debian11: { key: 'debian11', windows: false, osVersion: linuxAgent('Debian GNU/Linux 11 (bullseye)', 'debian', '11', '9', '5.10.0-28-amd64'), uefi: false, secureBoot: false, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [1, 2, 4], vcpus: [1, 2], diskGiB: 16, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'debianbullseye' },
  debian8: { key: 'debian8', windows: false, osVersion: linuxAgent('Debian GNU/Linux 8 (jessie)', 'debian', '8', '11', '3.16.0-6-amd64'), uefi: false, secureBoot: false, domainType: 'pv', maxMemGiB: 512, maxVcpus: 16, memGiB: [1, 2], vcpus: [1, 2], diskGiB: 8, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'debianjessie' },
  ubuntu2404: { key: 'ubuntu2404', windows: false, osVersion: linuxAgent('Ubuntu 24.04.1 LTS', 'ubuntu', '24', '04', '6.8.0-45-generic'), uefi: true, secureBoot: false, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [4, 8, 16], vcpus: [2, 4, 8], diskGiB: 32, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'ubuntunoble' },
  ubuntu2204: { key: 'ubuntu2204', windows: false, osVersion: linuxAgent('Ubuntu 22.04.4 LTS', 'ubuntu', '22', '04', '5.15.0-119-generic'), uefi: false, secureBoot: false, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [2, 4, 8], vcpus: [2, 4], diskGiB: 32, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'ubuntujammy' },
  ubuntu1604: { key: 'ubuntu1604', windows: false, osVersion: linuxAgent('Ubuntu 16.04.7 LTS', 'ubuntu', '16', '04', '4.4.0-210-generic'), uefi: false, secureBoot: false, domainType: 'hvm', maxMemGiB: 512, maxVcpus: 16, memGiB: [1, 2, 4], vcpus: [1, 2], diskGiB: 16, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'ubuntuxenial' },
  rocky9: { key: 'rocky9', windows: false, osVersion: linuxAgent('Rocky Linux 9.4 (Blue Onyx)', 'rocky', '9', '4', '5.14.0-427.13.1.el9_4.x86_64'), uefi: true, secureBoot: false, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [4, 8, 16], vcpus: [2, 4, 8], diskGiB: 40, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'rocky9' },
  alma9: { key: 'alma9', windows: false, osVersion: linuxAgent('AlmaLinux 9.4 (Seafoam Ocelot)', 'almalinux', '9', '4', '5.14.0-427.18.1.el9_4.x86_64'), uefi: true, secureBoot: false, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [4, 8], vcpus: [2, 4], diskGiB: 40, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'alma9' },
  rhel9: { key: 'rhel9', windows: false, osVersion: linuxAgent('Red Hat Enterprise Linux 9.4 (Plow)', 'rhel', '9', '4', '5.14.0-427.20.1.el9_4.x86_64'), uefi: true, secureBoot: true, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [8, 16, 32], vcpus: [4, 8], diskGiB: 60, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'rhel9' },
  rhel7: { key: 'rhel7', windows: false, osVersion: linuxAgent('Red Hat Enterprise Linux Server release 7.9 (Maipo)', 'rhel', '7', '9', '3.10.0-1160.el7.x86_64'), uefi: false, secureBoot: false, domainType: 'hvm', maxMemGiB: 512, maxVcpus: 32, memGiB: [4, 8], vcpus: [2, 4], diskGiB: 40, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'rhel7' },
  centos7: { key: 'centos7', windows: false, osVersion: linuxAgent('CentOS Linux release 7.9.2009 (Core)', 'centos', '7', '9', '3.10.0-1160.119.1.el7.x86_64'), uefi: false, secureBoot: false, domainType: 'hvm', maxMemGiB: 512, maxVcpus: 32, memGiB: [1, 2, 4], vcpus: [1, 2], diskGiB: 20, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'centos7' },
  oracle7: { key: 'oracle7', windows: false, osVersion: linuxAgent('Oracle Linux Server release 7.9', 'oracle', '7', '9', '4.14.35-2047.510.5.5.el7uek.x86_64'), uefi: false, secureBoot: false, domainType: 'hvm', maxMemGiB: 512, maxVcpus: 32, memGiB: [8, 16], vcpus: [4], diskGiB: 80, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'oel7' },
  sles15: { key: 'sles15', windows: false, osVersion: linuxAgent('SUSE Linux Enterprise Server 15 SP5', 'sles', '15', '5', '5.14.21-150500.55.65-default'), uefi: true, secureBoot: false, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [4, 8], vcpus: [2, 4], diskGiB: 40, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'sles15' },
  sles12: { key: 'sles12', windows: false, osVersion: linuxAgent('SUSE Linux Enterprise Server 12 SP2', 'sles', '12', '2', '4.4.21-69-default'), uefi: false, secureBoot: false, domainType: 'pv', maxMemGiB: 512, maxVcpus: 32, memGiB: [2, 4], vcpus: [2], diskGiB: 24, installMethods: 'cdrom,nfs,http,ftp', distroTag: 'sles12' },
  alpine: { key: 'alpine', windows: false, osVersion: linuxAgent('Alpine Linux v3.20', 'alpine', '3', '20', '6.6.49-0-virt'), uefi: false, secureBoot: false, domainType: 'hvm', maxMemGiB: 256, maxVcpus: 32, memGiB: [1], vcpus: [1, 2], diskGiB: 4, installMethods: 'cdrom', distroTag: 'alpine' },
  freebsd14: { key: 'freebsd14', windows: false, uefi: true, secureBoot: false, domainType: 'hvm', maxMemGiB: 512, maxVcpus: 32, memGiB: [2, 4], vcpus: [2], diskGiB: 16, installMethods: 'cdrom', distroTag: 'freebsd14' },
  win2022: { key: 'win2022', windows: true, osVersion: { name: 'Microsoft Windows Server 2022 Standard|C:\\Windows|\\Device\\Harddisk0\\Partition2', distro: 'windows', major: '10', minor: '0', spmajor: '0', spminor: '0' }, uefi: true, secureBoot: true, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [8, 16, 32], vcpus: [4, 8], diskGiB: 80, installMethods: 'cdrom', distroTag: 'ws22-x64' },
  win2019: { key: 'win2019', windows: true, osVersion: { name: 'Microsoft Windows Server 2019 Standard|C:\\Windows|\\Device\\Harddisk0\\Partition2', distro: 'windows', major: '10', minor: '0', spmajor: '0', spminor: '0' }, uefi: true, secureBoot: false, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [8, 16], vcpus: [4], diskGiB: 60, installMethods: 'cdrom', distroTag: 'ws19-x64' },
  win2016: { key: 'win2016', windows: true, osVersion: { name: 'Microsoft Windows Server 2016 Standard|C:\\Windows|\\Device\\Harddisk0\\Partition2', distro: 'windows', major: '6', minor: '2', spmajor: '0', spminor: '0' }, uefi: false, secureBoot: false, domainType: 'hvm', maxMemGiB: 512, maxVcpus: 32, memGiB: [4, 8], vcpus: [2, 4], diskGiB: 40, installMethods: 'cdrom', distroTag: 'ws16-x64' },
  win2012r2: { key: 'win2012r2', windows: true, osVersion: { name: 'Microsoft Windows Server 2012 R2 Standard|C:\\Windows|\\Device\\Harddisk0\\Partition2', distro: 'windows', major: '6', minor: '3', spmajor: '0', spminor: '0' }, uefi: false, secureBoot: false, domainType: 'hvm', maxMemGiB: 512, maxVcpus: 16, memGiB: [4, 8], vcpus: [2], diskGiB: 40, installMethods: 'cdrom', distroTag: 'ws12r2-x64' },
  win10: { key: 'win10', windows: true, osVersion: { name: 'Microsoft Windows 10 Pro|C:\\Windows|\\Device\\Harddisk0\\Partition2', distro: 'windows', major: '10', minor: '0', spmajor: '0', spminor: '0' }, uefi: false, secureBoot: false, domainType: 'hvm', maxMemGiB: 512, maxVcpus: 16, memGiB: [4, 8], vcpus: [2], diskGiB: 64, installMethods: 'cdrom', distroTag: 'win10-x64' },
  win11: { key: 'win11', windows: true, osVersion: { name: 'Microsoft Windows 11 Pro|C:\\Windows|\\Device\\Harddisk0\\Partition3', distro: 'windows', major: '10', minor: '0', spmajor: '0', spminor: '0' }, uefi: true, secureBoot: true, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [8], vcpus: [2, 4], diskGiB: 64, installMethods: 'cdrom', distroTag: 'win11-x64' },
  other: { key: 'other', windows: false, uefi: false, secureBoot: false, domainType: 'hvm', maxMemGiB: 1536, maxVcpus: 64, memGiB: [1, 2], vcpus: [1], diskGiB: 8, installMethods: 'cdrom', distroTag: 'other' },
}

const RESTRICTIONS_COMMON: Record<string, string> = {
  restrict_ad: 'false',
  restrict_cpu_masking: 'false',
  restrict_dmc: 'false',
  restrict_dr: 'false',
  restrict_email_alerting: 'false',
  restrict_export_resource_data: 'false',
  restrict_gpu: 'false',
  restrict_guest_ip_setting: 'false',
  restrict_hotfix_apply: 'false',
  restrict_intellicache: 'false',
  restrict_lab: 'false',
  restrict_live_patching: 'false',
  restrict_nested_virt: 'false',
  restrict_pool_attached_storage: 'false',
  restrict_pooling: 'false',
  restrict_qos: 'false',
  restrict_rbac: 'false',
  restrict_read_caching: 'false',
  restrict_set_vcpus_number_live: 'false',
  restrict_storage_xen_motion: 'false',
  restrict_vgpu: 'false',
  restrict_vif_locking: 'false',
  restrict_vlan: 'false',
  restrict_vmpr: 'false',
  restrict_vmss: 'false',
  restrict_vss: 'false',
  restrict_vswitch_controller: 'false',
  restrict_wlb: 'true',
  restrict_xcm: 'true',
  restrict_xen_motion: 'false',
}

export function licenseParams(p: ProductSpec, sockets: number): Record<string, string> {
  const base: Record<string, string> = {
    address1: '',
    address2: '',
    city: '',
    company: '',
    country: '',
    enable_xha: 'true',
    expiry: p.brand === 'XCP-ng' ? '20380101T00:00:00Z' : '20291231T23:00:00Z',
    grace: 'no',
    license_type: '',
    name: '',
    platform_filter: 'false',
    postalcode: '',
    productcode: '',
    regular_nag_dialog: 'false',
    serialnumber: '',
    sku_marketing_name: p.brand === 'XCP-ng' ? 'XCP-ng' : p.id === 'xenserver-7.2' ? 'Citrix XenServer' : 'XenServer Trial Edition',
    sku_type: p.edition,
    sockets: String(sockets),
    state: '',
    version: '',
    ...RESTRICTIONS_COMMON,
  }
  if (p.id === 'xenserver-7.2') {
    base.restrict_batch_hotfix_apply = 'true'
    base.restrict_guest_agent_auto_update = 'true'
    base.restrict_nested_virt = 'true'
    base.restrict_web_selfservice = 'true'
    base.restrict_web_selfservice_manager = 'true'
    base.restrict_pvs_proxy = 'true'
    base.restrict_ssl_legacy_switch = 'false'
  } else {
    base.restrict_certificate_verification = 'false'
    base.restrict_updates = p.brand === 'XCP-ng' ? 'false' : 'true'
    base.restrict_internal_repo_access = 'false'
    base.restrict_usb_passthrough = 'false'
    base.restrict_vtpm = 'false'
    base.restrict_hard_numa = p.id === 'xenserver-8' ? 'false' : 'true'
  }
  return base
}

const TEMPLATES_CURRENT: readonly TemplateSpec[] = [
  { name: 'AlmaLinux 9', os: 'alma9' },
  { name: 'Alpine Linux 3.20', os: 'alpine' },
  { name: 'CentOS 7', os: 'centos7' },
  { name: 'Debian Bookworm 12', os: 'debian12' },
  { name: 'Debian Bullseye 11', os: 'debian11' },
  { name: 'Generic Linux BIOS', os: 'other' },
  { name: 'Generic Linux UEFI', os: 'other', uefi: true },
  { name: 'Oracle Linux 7', os: 'oracle7' },
  { name: 'Other install media', os: 'other' },
  { name: 'Red Hat Enterprise Linux 7', os: 'rhel7' },
  { name: 'Red Hat Enterprise Linux 9', os: 'rhel9' },
  { name: 'Rocky Linux 9', os: 'rocky9' },
  { name: 'SUSE Linux Enterprise Server 15 (64-bit)', os: 'sles15' },
  { name: 'Ubuntu Jammy Jellyfish 22.04', os: 'ubuntu2204' },
  { name: 'Ubuntu Noble Numbat 24.04', os: 'ubuntu2404' },
  { name: 'Windows 10 (64-bit)', os: 'win10' },
  { name: 'Windows 11', os: 'win11' },
  { name: 'Windows Server 2016 (64-bit)', os: 'win2016' },
  { name: 'Windows Server 2019 (64-bit)', os: 'win2019' },
  { name: 'Windows Server 2022 (64-bit)', os: 'win2022' },
]

const TEMPLATES_72: readonly TemplateSpec[] = [
  { name: 'CentOS 7', os: 'centos7' },
  { name: 'Debian Jessie 8.0', os: 'debian8' },
  { name: 'Oracle Linux 7', os: 'oracle7' },
  { name: 'Other install media', os: 'other' },
  { name: 'Red Hat Enterprise Linux 7', os: 'rhel7' },
  { name: 'SUSE Linux Enterprise Server 12 SP2 (64-bit)', os: 'sles12' },
  { name: 'Ubuntu Xenial Xerus 16.04', os: 'ubuntu1604' },
  { name: 'Windows 10 (64-bit)', os: 'win10' },
  { name: 'Windows Server 2012 R2 (64-bit)', os: 'win2012r2' },
  { name: 'Windows Server 2016 (64-bit)', os: 'win2016' },
]

export const PRODUCTS: Readonly<Record<ProductId, ProductSpec>> = {
  'xenserver-7.2': {
    id: 'xenserver-7.2',
    brand: 'XenServer',
    release: 'falcon',
    jsonRpc: false,
    apiMajor: 2,
    apiMinor: 7,
    edition: 'free',
    editions: ['free', 'per-socket', 'xendesktop'],
    softwareVersion: {
      build_number: 'release/falcon/master/8',
      date: '2017-05-11',
      db_schema: '5.120',
      dbv: '2017.0517',
      hostname: 'f7d02093adae',
      linux: '4.4.0+10',
      network_backend: 'openvswitch',
      platform_name: 'XCP',
      platform_version: '2.3.0',
      product_brand: 'XenServer',
      product_version: '7.2.0',
      product_version_text: '7.2',
      product_version_text_short: '7.2',
      xapi: '1.9',
      xen: '4.7.5-2.12',
      xencenter_max: '2.7',
      xencenter_min: '2.7',
    },
    templates: TEMPLATES_72,
    toolsSrName: 'XenServer Tools',
    toolsIsoName: 'xs-tools.iso',
    pvDrivers: { build: '90977', major: '7', micro: '0', minor: '2' },
  },
  'xcp-ng-8.3': {
    id: 'xcp-ng-8.3',
    brand: 'XCP-ng',
    release: '25.34.0',
    jsonRpc: true,
    apiMajor: 2,
    apiMinor: 21,
    edition: 'xcp-ng',
    editions: ['xcp-ng'],
    softwareVersion: {
      build_number: 'release/yangtze/master/58',
      date: '2025-10-07',
      db_schema: '5.786',
      dbv: '2025.1007',
      hostname: 'localhost',
      is_preview_release: 'false',
      linux: '4.19.0+1',
      network_backend: 'openvswitch',
      platform_name: 'XCP',
      platform_version: '3.4.0',
      product_brand: 'XCP-ng',
      product_version: '8.3.0',
      product_version_text: '8.3',
      product_version_text_short: '8.3',
      xapi: '25.34',
      xapi_build: '25.34.0',
      xen: '4.17.5-13',
      xencenter_max: '2.21',
      xencenter_min: '2.21',
    },
    templates: TEMPLATES_CURRENT,
    toolsSrName: 'XCP-ng Tools',
    toolsIsoName: 'guest-tools.iso',
    pvDrivers: { build: '0', major: '9', micro: '2', minor: '4' },
  },
  'xenserver-8': {
    id: 'xenserver-8',
    brand: 'XenServer',
    release: '26.2.0',
    jsonRpc: true,
    apiMajor: 2,
    apiMinor: 21,
    edition: 'trial',
    editions: ['trial', 'standard', 'premium'],
    softwareVersion: {
      build_number: '8.4.0-2026.0203',
      date: '2026-02-03',
      db_schema: '5.791',
      dbv: '2026.0203',
      hostname: 'localhost',
      is_preview_release: 'false',
      linux: '4.19.0+1',
      network_backend: 'openvswitch',
      platform_name: 'XCP',
      platform_version: '3.4.0',
      product_brand: 'XenServer',
      product_version: '8.4.0',
      product_version_text: '8',
      product_version_text_short: '8',
      xapi: '26.2',
      xapi_build: '26.2.0',
      xen: '4.17.5-20',
      xencenter_max: '2.21',
      xencenter_min: '2.21',
    },
    templates: TEMPLATES_CURRENT,
    toolsSrName: 'XenServer Tools',
    toolsIsoName: 'guest-tools.iso',
    pvDrivers: { build: '0', major: '9', micro: '1', minor: '4' },
  },
}

/** release >= other, with the named releases (rio … nile) older than every numbered one. */
export function releaseAtLeast(release: string, other: string): boolean {
  const num = (r: string): number[] | null => (/^\d+(\.\d+)*$/.test(r) ? r.split('.').map(Number) : null)
  const a = num(release)
  const b = num(other)
  if (a && b) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = (a[i] ?? 0) - (b[i] ?? 0)
      if (d !== 0) return d > 0
    }
    return true
  }
  if (!a && b) return false
  if (a && !b) return true
  return RELEASES.indexOf(release) >= RELEASES.indexOf(other)
}
