"""VDI.enable_cbt / VDI.disable_cbt with the official XenAPI Python client, as a client answering
VDI_CBT_ENABLED does it: CBT on a disk makes VM.assert_can_migrate refuse, disabling it lets the
migration through; XAPI's checks on the VDI (snapshot, type, SR without CBT) as the client sees them.

argv: src_url src_cafile src_user src_pwd dst_url dst_cafile dst_user dst_pwd vm_to_leave_alone
(the first halted VM with a disk, by name, other than that one)
prints one JSON object with what the client saw.
"""
import json
import sys

from xenapi_common import connect, failure

_, src = connect(*sys.argv[1:5], "xenpilot-sim-cbt-test")
_, dst = connect(*sys.argv[5:9], "xenpilot-sim-cbt-test")
vm = [
    r for r, v in sorted(src.VM.get_all_records().items(), key=lambda x: x[1]["name_label"])
    if v["name_label"] != sys.argv[9] and not v["is_a_template"] and not v["is_control_domain"] and v["power_state"] == "Halted"
    and any(src.VBD.get_type(b) == "Disk" for b in v["VBDs"])
][0]
out = {}

disks = [src.VBD.get_VDI(b) for b in src.VM.get_VBDs(vm) if src.VBD.get_type(b) == "Disk"]
disk = disks[0]
src.VDI.enable_cbt(disk)
out["enabled"] = src.VDI.get_cbt_enabled(disk)

host = dst.host.get_all()[-1]
mgmt = [p for p in dst.PIF.get_all_records().values() if p["management"] and p["host"] == host][0]["network"]
dest = dst.host.migrate_receive(host, mgmt, {})
sr = [r for r, s in dst.SR.get_all_records().items() if s["content_type"] != "iso" and s["type"] != "udev" and any(dst.PBD.get_host(p) == host for p in s["PBDs"])][0]
vdi_map = {d: sr for d in disks}
vif_map = {v: mgmt for v in src.VM.get_VIFs(vm)}
out["refused"] = failure(src.VM.assert_can_migrate, vm, dest, False, vdi_map, vif_map, {}, {})

src.VDI.disable_cbt(disk)
out["disabled"] = src.VDI.get_cbt_enabled(disk)
out["after"] = failure(src.VM.assert_can_migrate, vm, dest, False, vdi_map, vif_map, {}, {})

snap = src.VM.snapshot(vm, "cbt-test")
snap_disk = [src.VBD.get_VDI(b) for b in src.VM.get_VBDs(snap) if src.VBD.get_type(b) == "Disk"][0]
out["snapshot_disk"] = failure(src.VDI.disable_cbt, snap_disk)
isos = [r for r, v in src.VDI.get_all_records().items() if src.SR.get_content_type(v["SR"]) == "iso"]
out["iso"] = failure(src.VDI.disable_cbt, isos[0]) if isos else "no iso"
out["iso_sr"] = src.VDI.get_SR(isos[0]) if isos else ""
out["disk"] = disk
out["snap"] = snap_disk
print(json.dumps(out))
