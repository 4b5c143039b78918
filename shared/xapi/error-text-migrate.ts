/**
 * Sentences for the XAPI refusals migration meets (issue 17: VM.assert_can_migrate,
 * VM.migrate_send, Host.migrate_receive, VDI.pool_migrate), each with what to do; merged into
 * error-text.ts. Parameters as xapi_errors.json names them; `name(i)` names a ref for a person.
 */
import type { Explainer } from './error-text'

export const MIGRATE_ERROR_TEXT: Record<string, Explainer> = {
  TOO_MANY_STORAGE_MIGRATES: (p) => ({
    sentence: `The pool is already running ${p[0] ?? 'its most'} storage migrations at once.`,
    action: 'XenPilot queues the VM and tries again when one of them has finished; to try now, wait for one to finish.',
  }),
  VDI_CBT_ENABLED: (_p, name) => ({
    sentence: `Changed block tracking (CBT) is on for ${name(0)}, and XAPI does not move a disk that tracks changes.`,
    action: 'Disable CBT on the disk (your backup tool will make a full backup next time), then migrate again.',
  }),
  VIF_NOT_IN_MAP: (_p, name) => ({
    sentence: `No destination network was chosen for ${name(0)}.`,
    action: 'Choose a network for every NIC, including NICs only a snapshot has.',
  }),
  VDI_NOT_IN_MAP: (_p, name) => ({
    sentence: `No destination SR was chosen for ${name(0)}.`,
    action: 'Choose an SR for every disk of the VM and of its snapshots.',
  }),
  VM_HOST_INCOMPATIBLE_VERSION_MIGRATE: (_p, name) => ({
    sentence: `${name(1)} cannot move to ${name(0)}: that server runs an older XCP-ng/XenServer than the VM's pool, and a VM never moves to an older version.`,
    action: 'Choose a destination that runs the same or a newer version, or update the destination pool first.',
  }),
  MIRROR_FAILED: (_p, name) => ({
    sentence: `Copying ${name(0)} to the destination SR failed; the VM stayed where it was and nothing was left behind.`,
    action: 'Check that the destination SR has room and is reachable from the chosen server, then try again.',
  }),
  LICENCE_RESTRICTION: (p) => ({
    sentence: `The pool's licence does not include ${p[0] === 'Storage_motion' ? 'storage live migration (Storage XenMotion)' : p[0] === 'Xen_motion' ? 'live migration (XenMotion)' : (p[0] ?? 'this feature')}.`,
    action: 'Apply a licence that includes it, or shut the VM down and export/import it instead.',
  }),
  INTERFACE_HAS_NO_IP: (_p, name) => ({
    sentence: `${name(0)} has no IP address, so it cannot carry the migration.`,
    action: 'Choose the management network (or another network with an IP on that server) as the transfer network.',
  }),
  CANNOT_CONTACT_HOST: (p) => ({
    sentence: `The source pool cannot reach the destination (${p[0] ?? 'its master'}).`,
    action: 'Check that the two pools can reach each other on the network, then try again.',
  }),
}
