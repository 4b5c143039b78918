"""Cross-pool migration with the official XenAPI Python client (python3-os-xenapi), as XenCenter's
VMCrossPoolMigrateAction does it: Host.migrate_receive with a session on the destination pool,
then VM.assert_can_migrate and Async.VM.migrate_send with the source pool's session.

argv: src_url src_cafile src_user src_pwd dst_url dst_cafile dst_user dst_pwd vm_name
prints one JSON object with what the client saw.
"""
import json
import sys
import time

from xenapi_common import connect, failure

_, src = connect(*sys.argv[1:5], "xenpilot-sim-migrate-test")
_, dst = connect(*sys.argv[5:9], "xenpilot-sim-migrate-test")
vm_name = sys.argv[9]
out = {}

vm = [r for r in src.VM.get_by_name_label(vm_name) if not src.VM.get_is_a_snapshot(r)][0]
uuid = src.VM.get_uuid(vm)
host = dst.host.get_all()[-1]
mgmt = [p for p in dst.PIF.get_all_records().values() if p["management"] and p["host"] == host][0]["network"]
dest = dst.host.migrate_receive(host, mgmt, {})
out["dest_keys"] = sorted(dest.keys())
sr = [r for r, s in dst.SR.get_all_records().items() if s["type"] == "lvm" and any(dst.PBD.get_host(p) == host for p in s["PBDs"])][0]
vdi_map = {}
for vbd in src.VM.get_VBDs(vm):
    if src.VBD.get_type(vbd) == "Disk":
        vdi_map[src.VBD.get_VDI(vbd)] = sr
vif_map = {vif: mgmt for vif in src.VM.get_VIFs(vm)}
out["not_in_map"] = failure(src.VM.assert_can_migrate, vm, dest, True, {}, vif_map, {}, {})
src.VM.assert_can_migrate(vm, dest, True, vdi_map, vif_map, {}, {})
task = src.Async.VM.migrate_send(vm, dest, True, vdi_map, vif_map, {"force": "false"}, {})
progress = []
status = src.task.get_status(task)
while status == "pending":
    progress.append(float(src.task.get_progress(task)))
    time.sleep(0.02)
    status = src.task.get_status(task)
out["status"] = status
out["error"] = src.task.get_error_info(task)
out["progress_seen"] = len([p for p in progress if 0 < p < 1])
src.task.destroy(task)
new_vm = dst.VM.get_by_uuid(uuid)
out["dest_power"] = dst.VM.get_power_state(new_vm)
out["dest_host_ok"] = dst.VM.get_resident_on(new_vm) == host
out["dest_disks_on_sr"] = all(dst.VDI.get_SR(dst.VBD.get_VDI(v)) == sr for v in dst.VM.get_VBDs(new_vm) if dst.VBD.get_type(v) == "Disk")
out["source_gone"] = failure(src.VM.get_record, vm)[0]
print(json.dumps(out))
