import { describe, expect, it } from 'vitest'
import { bootModes, bootOrderFor, installChoices, parseRecommendations, proposedDisks, provisionDisks, templateBootMode } from '../../../shared/operations/provision'
import { explainXapiError } from '../../../shared/xapi/error-text'

// as real hosts send them (XenServer 7.2 records; a Windows 11 template of a current host)
const XS72_CENTOS =
  '<restrictions><restriction field="memory-static-max" max="549755813888" /><restriction field="vcpus-max" max="16" /><restriction property="number-of-vbds" max="16" /><restriction property="number-of-vifs" max="7" /><restriction field="allow-gpu-passthrough" value="0" /></restrictions>'
const WIN11 =
  '<restrictions><restriction field="memory-static-max" max="1649267441664"/><restriction field="vcpus-min" min="2"/><restriction field="vcpus-max" max="64"/><restriction field="has-vendor-device" value="true"/><restriction field="supports-bios" value="no"/><restriction field="supports-uefi" value="yes"/><restriction field="supports-secure-boot" value="yes"/><restriction max="255" property="number-of-vbds"/><restriction max="7" property="number-of-vifs"/></restrictions>'

describe('templates as XenCenter reads them', () => {
  it('reads VM.recommendations of a 7.2 and a current template', () => {
    expect(parseRecommendations(XS72_CENTOS)).toEqual({ memoryStaticMax: 549755813888, vcpusMax: 16, vbdsMax: 16, vifsMax: 7 })
    expect(parseRecommendations(WIN11)).toEqual({
      memoryStaticMax: 1649267441664,
      vcpusMin: 2,
      vcpusMax: 64,
      hasVendorDevice: true,
      supportsBios: false,
      supportsUefi: true,
      supportsSecureBoot: true,
      vbdsMax: 255,
      vifsMax: 7,
    })
    expect(parseRecommendations('not xml <restriction field="vcpus-max" max="oops"/>')).toEqual({})
  })

  it('boot modes: BIOS only where the server says nothing of UEFI, Secure Boot only when recommended, none for PV', () => {
    const hvm = (recommendations: string, extra: Record<string, unknown> = {}) => ({ HVM_boot_policy: 'BIOS order', recommendations, ...extra })
    expect(bootModes(hvm(XS72_CENTOS))).toEqual(['bios'])
    expect(bootModes(hvm(WIN11))).toEqual(['uefi', 'uefi-secure'])
    expect(templateBootMode(hvm(WIN11, { HVM_boot_params: { firmware: 'uefi' }, platform: { secureboot: 'true' } }))).toBe('uefi-secure')
    expect(bootModes({ HVM_boot_policy: '', PV_bootloader: 'eliloader', recommendations: XS72_CENTOS })).toEqual([])
  })

  it('install methods: a PV eliloader template installs from its URL schemes, HVM from DVD or PXE, a custom template may need nothing', () => {
    const pv = { HVM_boot_policy: '', PV_bootloader: 'eliloader', is_default_template: true, other_config: { 'install-methods': 'cdrom,nfs,http,ftp' } }
    expect(installChoices(pv)).toEqual({ cd: true, url: true, urlSchemes: ['nfs', 'http', 'ftp'], pxe: false, none: false })
    const win = { HVM_boot_policy: 'BIOS order', is_default_template: true, other_config: { 'install-methods': 'cdrom' } }
    expect(installChoices(win)).toEqual({ cd: true, url: false, urlSchemes: [], pxe: true, none: false })
    expect(installChoices({ ...win, is_default_template: false, other_config: {} }).none).toBe(true)
  })

  it('boot order: dcn for a CD install, network moved first for PXE (XenCenter GetBootOrderNetworkFirst)', () => {
    expect(bootOrderFor('cd', 'cdn')).toBe('dcn')
    expect(bootOrderFor('pxe', 'cdn')).toBe('ncd')
    expect(bootOrderFor('pxe', 'dc')).toBe('ndc')
    expect(bootOrderFor('pxe', '')).toBe('ncd')
  })

  it('the provision XML becomes the proposed disks, sr="" on the default SR', () => {
    const t = { other_config: { disks: '<provision><disk device="0" size="34359738368" sr="" bootable="true" type="system"/><disk device="1" size="1073741824" sr="u-1" bootable="false" type="user"/></provision>' } }
    expect(provisionDisks(t)).toEqual([
      { device: '0', size: 34359738368, sr: '', bootable: true, type: 'system' },
      { device: '1', size: 1073741824, sr: 'u-1', bootable: false, type: 'user' },
    ])
    expect(proposedDisks(t, 'web', (u) => (u === 'u-1' ? 'OpaqueRef:sr-1' : undefined), 'OpaqueRef:default').map((d) => [d.device, d.sr, d.name])).toEqual([
      ['0', 'OpaqueRef:default', 'web 0'],
      ['1', 'OpaqueRef:sr-1', 'web 1'],
    ])
    // no default SR and a UUID the pool does not know: the disk is still proposed, its storage left to choose
    expect(proposedDisks(t, 'web', () => undefined, undefined).map((d) => [d.device, d.sr])).toEqual([
      ['0', ''],
      ['1', ''],
    ])
  })
})

describe('XAPI refusals of VM settings in words', () => {
  it('says the vCPU and memory rules', () => {
    expect(explainXapiError('INVALID_VALUE', ['VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max', '9']).sentence).toBe(
      '9 vCPUs is not allowed: vCPUs at startup must be at least 1 and at most the maximum.',
    )
    expect(explainXapiError('MEMORY_CONSTRAINT_VIOLATION_ORDER', []).sentence).toMatch(/^These memory limits are out of order\. Memory must satisfy/)
    expect(explainXapiError('MEMORY_CONSTRAINT_VIOLATION', ['Memory limits must satisfy: static_min ≤ dynamic_min ≤ dynamic_max ≤ static_max']).sentence).toBe(
      'These memory limits are not allowed: Memory limits must satisfy: static_min ≤ dynamic_min ≤ dynamic_max ≤ static_max.',
    )
  })
})
