"""Make a VM from a template the way XenCenter's CreateVMAction does, with the official XenAPI
Python client (python3-os-xenapi), against the simulator.

argv: url cafile username password template_name; prints one JSON object with what the client saw:
results and XAPI failures (ErrorDescription lists) of the calls of the New VM wizard and VM Properties.
"""
import json
import sys

from xenapi_common import connect, failure, waiter

url, cafile, user, pwd, template_name = sys.argv[1:6]
session, api = connect(url, cafile, user, pwd, "xenpilot-sim-provision-test")
wait = waiter(api)
out = {}


template = api.VM.get_by_name_label(template_name)[0]
trec = api.VM.get_record(template)
out["recommendations"] = trec["recommendations"]
out["install_methods"] = trec["other_config"].get("install-methods")
out["provision_xml"] = trec["other_config"].get("disks")

status, result, _ = wait(api.Async.VM.clone(template, "py-new-vm"))
out["clone_status"] = status
vm = result.replace("<value>", "").replace("</value>", "")
out["clone_is_template"] = api.VM.get_is_a_template(vm)

# XenCenter: drop the provision XML, provision, then create the disks itself
oc = api.VM.get_other_config(vm)
del oc["disks"]
api.VM.set_other_config(vm, oc)
status, _, err = wait(api.Async.VM.provision(vm))
out["provision_status"] = status
out["provisioned_is_template"] = api.VM.get_is_a_template(vm)
out["provision_again"] = failure(api.VM.provision, vm)

api.VM.set_VCPUs_max(vm, "4")
api.VM.set_VCPUs_at_startup(vm, "2")
out["vcpus"] = [api.VM.get_VCPUs_max(vm), api.VM.get_VCPUs_at_startup(vm)]
out["vcpus_bad"] = failure(api.VM.set_VCPUs_at_startup, vm, "5")
gib = 1024 ** 3
api.VM.set_memory_limits(vm, str(512 * 1024 ** 2), str(4 * gib), str(2 * gib), str(4 * gib))
out["memory"] = [api.VM.get_memory_static_max(vm), api.VM.get_memory_dynamic_min(vm)]
out["memory_bad"] = failure(api.VM.set_memory_limits, vm, str(gib), str(gib), str(2 * gib), str(gib))
hvm = api.VM.get_HVM_boot_params(vm)
hvm["order"] = "dcn"
api.VM.set_HVM_boot_params(vm, hvm)
platform = api.VM.get_platform(vm)
platform["cores-per-socket"] = "2"
api.VM.set_platform(vm, platform)
out["boot_order"] = api.VM.get_HVM_boot_params(vm)["order"]

srs = api.SR.get_all_records()
sr = [r for r, s in srs.items() if s["content_type"] != "iso" and s["type"] not in ("iso", "udev") and s["PBDs"]][0]
devices = api.VM.get_allowed_VBD_devices(vm)
status, vdi, _ = wait(api.Async.VDI.create({"name_label": "py-disk", "name_description": "", "SR": sr, "virtual_size": str(2 * gib), "type": "system", "sharable": False, "read_only": False, "other_config": {}, "xenstore_data": {}, "sm_config": {}, "tags": []}))
vdi = vdi.replace("<value>", "").replace("</value>", "")
status, vbd, _ = wait(api.Async.VBD.create({"VM": vm, "VDI": vdi, "userdevice": devices[0], "bootable": True, "mode": "RW", "type": "Disk", "unpluggable": True, "empty": False, "other_config": {"owner": "true"}, "qos_algorithm_type": "", "qos_algorithm_params": {}}))
out["disk_status"] = status
net = [r for r, n in api.network.get_all_records().items() if n["PIFs"]][0]
vif_devices = api.VM.get_allowed_VIF_devices(vm)
vif = api.VIF.create({"device": vif_devices[0], "network": net, "VM": vm, "MAC": "", "MTU": "1500", "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}, "locking_mode": "network_default", "ipv4_allowed": [], "ipv6_allowed": []})
out["vif_network"] = api.VIF.get_network(vif) == net
out["vbds"] = len(api.VM.get_VBDs(vm))

status, _, _ = wait(api.Async.VM.start(vm, False, False))
out["start_status"] = status
out["power"] = api.VM.get_power_state(vm)
out["static_live"] = failure(api.VM.set_memory_static_range, vm, str(512 * 1024 ** 2), str(8 * gib))
out["vcpus_live"] = failure(api.VM.set_VCPUs_max, vm, "8")
out["to_template_live"] = failure(api.VM.set_is_a_template, vm, True)
api.VM.hard_shutdown(vm)
api.VM.set_is_a_template(vm, True)
out["now_template"] = api.VM.get_is_a_template(vm)
status, copy, _ = wait(api.Async.VM.copy(vm, "py-copy", sr))
out["copy_status"] = status
api.VM.set_is_a_template(vm, False)
out["back_to_vm"] = api.VM.get_is_a_template(vm)
print(json.dumps(out))
