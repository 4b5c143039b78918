"""A disk exported as VHD and imported into a new VDI the way scripts using the official XenAPI
Python client do (python3-os-xenapi for the calls, urllib for the HTTP): task.create,
GET /export_raw_vdi?format=vhd, the VHD footer's current size for VDI.create, then
PUT /import_raw_vdi?format=vhd with Content-Length; a damaged copy fails its task.

argv: url cafile username password vdi_ref sr_ref out_file; prints one JSON object.
"""
import json
import ssl
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request

from xenapi_common import connect, waiter

url, cafile, user, pwd, vdi_ref, sr_ref, out_file = sys.argv[1:8]
ctx = ssl.create_default_context(cafile=cafile)
session, api = connect(url, cafile, user, pwd, "xenpilot-sim-vhd-test")
wait = waiter(api)
sid = session._session
out = {}


def put(vdi, body):
    task = api.task.create("import vhd", "python")
    q = urllib.parse.urlencode({"session_id": sid, "vdi": vdi, "format": "vhd", "task_id": task})
    req = urllib.request.Request(url + "/import_raw_vdi?" + q, data=body, method="PUT", headers={"Content-Length": str(len(body))})
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            status = resp.status
    except urllib.error.HTTPError as e:
        status = e.code
    except (urllib.error.URLError, ConnectionError):
        status = None
    return status, wait(task)


task = api.task.create("export vhd", "python")
q = urllib.parse.urlencode({"session_id": sid, "vdi": vdi_ref, "format": "vhd", "task_id": task})
with urllib.request.urlopen(url + "/export_raw_vdi?" + q, context=ctx) as resp:
    out["export_status"] = resp.status
    with open(out_file, "wb") as f:
        while True:
            chunk = resp.read(1 << 20)
            if not chunk:
                break
            f.write(chunk)
out["export_task"] = wait(task)[0]
with open(out_file, "rb") as f:
    body = f.read()
out["cookie_head"] = body[0:8].decode()
out["cookie_tail"] = body[-512:-504].decode()
size = struct.unpack(">Q", body[48:56])[0]
out["virtual_size"] = size
new_vdi = api.VDI.create({"name_label": "from python", "name_description": "", "SR": sr_ref, "virtual_size": str(size), "type": "user",
                          "sharable": False, "read_only": False, "other_config": {}, "xenstore_data": {}, "sm_config": {}, "tags": []})
out["new_vdi"] = new_vdi
status, (task_status, _, _) = put(new_vdi, body)
out["import_status"] = status
out["import_task"] = task_status
damaged = bytearray(body)
damaged[1536] ^= 0x40  # the first BAT entry now points elsewhere
damaged[520] ^= 0x01  # and the header checksum no longer matches
other = api.VDI.create({"name_label": "damaged", "name_description": "", "SR": sr_ref, "virtual_size": str(size), "type": "user",
                        "sharable": False, "read_only": False, "other_config": {}, "xenstore_data": {}, "sm_config": {}, "tags": []})
_, (task_status, _, error) = put(other, bytes(damaged))
out["damaged_task"] = task_status
out["damaged_error"] = error
print(json.dumps(out))
