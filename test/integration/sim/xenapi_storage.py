"""Drive the simulator's storage calls with the official XenAPI Python client (python3-os-xenapi).

argv: url cafile username password; prints one JSON object with what the client saw: the results
and the XAPI failures (ErrorDescription lists) of the storage calls XenPilot makes.
"""
import json
import sys

from xenapi_common import connect, failure, waiter

url, cafile, user, pwd = sys.argv[1:5]
session, api = connect(url, cafile, user, pwd, "xenpilot-sim-storage-test")
wait = waiter(api)
out = {}


vms = api.VM.get_all_records()
running = sorted(r for r, v in vms.items() if v["power_state"] == "Running" and not v["is_control_domain"] and not v["is_a_template"])
vm = running[0]
srs = api.SR.get_all_records()
shared = [r for r, s in srs.items() if s["shared"] and s["content_type"] != "iso" and s["type"] != "iso"][0]
iso_sr = [r for r, s in srs.items() if s["type"] == "iso" and not s["is_tools_sr"]][0]
host = vms[vm]["resident_on"]
local = [r for r, s in srs.items() if s["type"] == "lvm" and any(api.PBD.get_host(p) == host for p in s["PBDs"])][0]

devices = api.VM.get_allowed_VBD_devices(vm)
out["first_device"] = devices[0]
vdi = api.VDI.create({"name_label": "py-disk", "name_description": "", "SR": shared, "virtual_size": str(1024 ** 3),
                      "type": "user", "sharable": False, "read_only": False, "other_config": {}})
out["vdi_size"] = api.VDI.get_virtual_size(vdi)
vbd = api.VBD.create({"VM": vm, "VDI": vdi, "userdevice": devices[0], "bootable": False, "mode": "RW", "type": "Disk",
                      "unpluggable": True, "empty": False, "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})
status, _, _ = wait(api.Async.VBD.plug(vbd))
out["plug"] = status
out["attached"] = api.VBD.get_currently_attached(vbd)
out["resize_attached"] = failure(api.VDI.resize, vdi, str(2 * 1024 ** 3))
out["destroy_attached"] = failure(api.VDI.destroy, vdi)
moved_status, moved_result, _ = wait(api.Async.VDI.pool_migrate(vdi, local, {}))
out["pool_migrate"] = moved_status
moved = moved_result.replace("<value>", "").replace("</value>", "")
out["moved_sr_is_local"] = api.VDI.get_SR(moved) == local
api.VBD.unplug(vbd)
api.VBD.destroy(vbd)
api.VDI.resize(moved, str(3 * 1024 ** 3))
out["resized"] = api.VDI.get_virtual_size(moved)
out["shrink"] = failure(api.VDI.resize, moved, str(1024 ** 3))
copy = api.VDI.copy(moved, shared)
out["copy_on_shared"] = api.VDI.get_SR(copy) == shared
api.VDI.destroy(copy)
free = int(api.SR.get_physical_size(local)) - int(api.SR.get_physical_utilisation(local))
big = failure(api.VDI.resize, moved, str(int(api.VDI.get_virtual_size(moved)) + free + 1024 ** 3))
out["sr_full"] = big
out["sr_full_expected"] = ["SR_FULL", str(int(api.VDI.get_virtual_size(moved)) + free + 1024 ** 3),
                           str(int(api.VDI.get_virtual_size(moved)) + free)]
api.VDI.destroy(moved)
out["needs_vm"] = failure(api.VDI.pool_migrate, api.VDI.create({"name_label": "lonely", "name_description": "", "SR": shared,
                                                                  "virtual_size": str(1024 ** 3), "type": "user", "sharable": False,
                                                                  "read_only": False, "other_config": {}}), local, {})

cd = [b for b in vms[vm]["VBDs"] if api.VBD.get_type(b) == "CD"][0]
isos = api.SR.get_VDIs(iso_sr)
if not api.VBD.get_empty(cd):
    api.VBD.eject(cd)
api.VBD.insert(cd, isos[0])
out["inserted"] = api.VBD.get_VDI(cd) == isos[0]
out["insert_full"] = failure(api.VBD.insert, cd, isos[1])
api.VBD.eject(cd)
out["eject_empty"] = failure(api.VBD.eject, cd)
system = [b for b in vms[vm]["VBDs"] if api.VBD.get_bootable(b)][0]
out["unplug_boot"] = failure(api.VBD.unplug, system)

status, _, _ = wait(api.Async.SR.scan(iso_sr))
out["scan"] = status
pbd = api.SR.get_PBDs(iso_sr)[0]
api.PBD.unplug(pbd)
out["pbd_after_unplug"] = api.PBD.get_currently_attached(pbd)
out["forget_attached"] = failure(api.SR.forget, iso_sr) if any(api.PBD.get_currently_attached(p) for p in api.SR.get_PBDs(iso_sr)) else "all unplugged"
api.PBD.plug(pbd)
out["pbd_after_plug"] = api.PBD.get_currently_attached(pbd)
pool = api.pool.get_all()[0]
api.pool.set_default_SR(pool, shared)
out["default_is_shared"] = api.pool.get_default_SR(pool) == shared

session.xenapi.session.logout()
print(json.dumps(out))
