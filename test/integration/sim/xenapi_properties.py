"""VM Properties and template calls (issue 14) with the official XenAPI Python client
(python3-os-xenapi) against the simulator: the setters XenPilot's Properties dialog uses, vCPU
hot-plug and the dynamic range on a running VM, HA restart priority, and the template conversions.

argv: url cafile username password running_vm halted_vm; prints one JSON object: results and XAPI
failures (ErrorDescription lists).
"""
import json
import sys

from xenapi_common import connect, failure, waiter

url, cafile, user, pwd, running_name, halted_name = sys.argv[1:7]
session, api = connect(url, cafile, user, pwd, "xenpilot-sim-properties-test")
wait = waiter(api)
out = {}
gib = 1024 ** 3

running = api.VM.get_by_name_label(running_name)[0]
halted = api.VM.get_by_name_label(halted_name)[0]

# running: live changes go through, static ones are refused
api.VM.set_VCPUs_number_live(running, "1")
out["hotplug"] = api.VM.get_VCPUs_at_startup(running)
out["hotplug_over_max"] = failure(api.VM.set_VCPUs_number_live, running, "64")
smax = int(api.VM.get_memory_static_max(running))
api.VM.set_memory_dynamic_range(running, str(smax // 2), str(smax))
out["dynamic"] = [api.VM.get_memory_dynamic_min(running), api.VM.get_memory_dynamic_max(running)]
out["static_live"] = failure(api.VM.set_memory_limits, running, str(512 * 1024 ** 2), str(2 * smax), str(smax), str(smax))
out["vcpus_max_live"] = failure(api.VM.set_VCPUs_max, running, "8")

# halted: boot order, start order/delay, HA priority
api.VM.set_order(halted, "3")
api.VM.set_start_delay(halted, "20")
out["order"] = [api.VM.get_order(halted), api.VM.get_start_delay(halted)]
api.VM.set_ha_restart_priority(halted, "best-effort")
out["ha"] = api.VM.get_ha_restart_priority(halted)
out["ha_bad"] = failure(api.VM.set_ha_restart_priority, halted, "always")
api.VM.set_affinity(halted, api.host.get_all()[0])
out["affinity_set"] = api.VM.get_affinity(halted) != "OpaqueRef:NULL"

# templates: VM -> template -> VM, template from a snapshot, built-in template kept
api.VM.set_is_a_template(halted, True)
out["to_template"] = api.VM.get_is_a_template(halted)
out["template_start"] = failure(api.VM.start, halted, False, False)
api.VM.set_is_a_template(halted, False)
out["to_vm"] = api.VM.get_is_a_template(halted)
status, snap, _ = wait(api.Async.VM.snapshot(halted, "py-snap"))
snap = snap.replace("<value>", "").replace("</value>", "")
status, tmpl, _ = wait(api.Async.VM.clone(snap, "py-golden"))
tmpl = tmpl.replace("<value>", "").replace("</value>", "")
out["from_snapshot"] = [status, api.VM.get_is_a_template(tmpl), api.VM.get_is_a_snapshot(tmpl)]
api.VM.destroy(tmpl)
out["custom_deleted"] = tmpl not in api.VM.get_all()
builtin = [r for r, v in api.VM.get_all_records().items() if v["is_a_template"] and v["is_default_template"]][0]
out["builtin_delete"] = failure(api.VM.destroy, builtin)
print(json.dumps(out))
