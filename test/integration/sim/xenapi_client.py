"""Drive the simulator with the official XenAPI Python client (Debian python3-os-xenapi).

argv: url cafile username password; prints one JSON object with what the client saw.
"""
import json
import sys
import time

from os_xenapi.client import XenAPI
from xenapi_common import connect

url, cafile, user, pwd = sys.argv[1:5]
session, api = connect(url, cafile, user, pwd, "xenpilot-sim-test")
out = {"api_version": session.API_version}

records = api.VM.get_all_records()
out["vm_count"] = len(records)
guests = sorted(
    (ref for ref, r in records.items()
     if r["power_state"] == "Halted" and not r["is_a_template"] and not r["is_control_domain"]),
    key=lambda ref: records[ref]["name_label"],
)
ref = guests[0]
out["vm"] = ref
out["memory_static_max"] = records[ref]["memory_static_max"]
out["is_a_template"] = records[ref]["is_a_template"]

event_from = getattr(api.event, "from")
first = event_from(["vm"], "", 5.0)
out["initial_events"] = len(first["events"])
out["initial_ops"] = sorted({e["operation"] for e in first["events"]})

api.VM.start(ref, False, False)
out["power_after_start"] = api.VM.get_power_state(ref)

try:
    api.VM.start(ref, False, False)
    out["second_start"] = "succeeded"
except XenAPI.Failure as f:
    out["second_start"] = f.details

seen = None
token = first["token"]
deadline = time.time() + 30
while seen is None and time.time() < deadline:
    batch = event_from(["vm"], token, 10.0)
    token = batch["token"]
    for e in batch["events"]:
        if e["ref"] == ref and e["operation"] == "mod" and e["snapshot"]["power_state"] == "Running":
            seen = e
out["event_seen"] = seen is not None
out["event_class"] = seen["class"] if seen else None
out["event_id_type"] = type(seen["id"]).__name__ if seen else None

task = api.Async.VM.clean_shutdown(ref)
status = api.task.get_status(task)
while status == "pending":
    time.sleep(0.05)
    status = api.task.get_status(task)
out["task_status"] = status
out["task_result"] = api.task.get_result(task)
api.task.destroy(task)

session.xenapi.session.logout()
print(json.dumps(out))
