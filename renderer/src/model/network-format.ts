/** How networking figures read in the views: link speed, link state, locking, rate limit. */
import type { LinkState, LockingMode } from '../../../shared/operations/network'

/** Mbit/s → '10 Gbit/s', '100 Mbit/s'; unknown → '' */
export function speedText(mbit: number | undefined): string {
  if (mbit === undefined) return ''
  if (mbit >= 1000 && mbit % 1000 === 0) return `${mbit / 1000} Gbit/s`
  if (mbit >= 1000) return `${(mbit / 1000).toFixed(1)} Gbit/s`
  return `${mbit} Mbit/s`
}

export function linkText(link: LinkState | undefined): string {
  return link === 'connected' ? 'Connected' : link === 'disconnected' ? 'Disconnected' : 'Unknown'
}

export const LOCKING_TEXT: Record<LockingMode, string> = {
  network_default: 'Network default',
  locked: 'Locked',
  unlocked: 'Unlocked',
  disabled: 'Disabled (all traffic dropped)',
}

export function lockingText(mode: LockingMode, effective: string): string {
  return mode === 'network_default' ? `Default (${effective})` : LOCKING_TEXT[mode]
}

/** kB/s → '2048 kB/s'; none → 'None' */
export function rateText(kbps: number | undefined): string {
  return kbps === undefined ? 'None' : `${kbps} kB/s`
}

export const BOND_MODE_TEXT: Record<string, string> = {
  'balance-slb': 'Active-active (balance-slb)',
  'active-backup': 'Active-passive (active-backup)',
  lacp: 'LACP (802.3ad)',
}
