"""Export a VM from the simulator and import it back the way scripts using the official XenAPI
Python client do (python3-os-xenapi): task.create, GET /export?session_id&uuid&task_id over HTTPS,
PUT /import?session_id&task_id&sr_id with Content-Length, then the task's status and result.

argv: url cafile username password vm_name sr_ref out_file; prints one JSON object.
"""
import http.client
import json
import sys
import urllib.parse

from xenapi_common import connect, tls_context, waiter

url, cafile, user, pwd, vm_name, sr_ref, out_file = sys.argv[1:8]
session, api = connect(url, cafile, user, pwd, "xenpilot-sim-transfer-test")
ctx = tls_context(cafile)
wait = waiter(api)
sid = session._session
host = urllib.parse.urlparse(url)
out = {}

vm = api.VM.get_by_name_label(vm_name)[0]
uuid = api.VM.get_uuid(vm)
task = api.task.create("export", "python")
conn = http.client.HTTPSConnection(host.hostname, host.port, context=ctx)
conn.request("GET", "/export?" + urllib.parse.urlencode({"session_id": sid, "uuid": uuid, "task_id": task}))
resp = conn.getresponse()
out["export_status"] = resp.status
size = 0
with open(out_file, "wb") as f:
    while True:
        chunk = resp.read(1 << 20)
        if not chunk:
            break
        f.write(chunk)
        size += len(chunk)
conn.close()
out["export_bytes"] = size
out["export_task"] = wait(task)[0]

task = api.task.create("import", "python")
with open(out_file, "rb") as f:
    body = f.read()
conn = http.client.HTTPSConnection(host.hostname, host.port, context=ctx)
conn.request("PUT", "/import?" + urllib.parse.urlencode({"session_id": sid, "task_id": task, "sr_id": sr_ref}), body=body, headers={"Content-Length": str(len(body))})
resp = conn.getresponse()
resp.read()
out["import_status"] = resp.status
status, result, error = wait(task)
out["import_task"] = status
out["import_result"] = result
new_vm = result.replace("<value>", " ").replace("</value>", " ").split()
new_vm = [x for x in new_vm if x.startswith("OpaqueRef:")]
out["imported_name"] = api.VM.get_name_label(new_vm[0]) if new_vm else None
out["imported_vbds"] = len(api.VM.get_VBDs(new_vm[0])) if new_vm else 0
print(json.dumps(out))
