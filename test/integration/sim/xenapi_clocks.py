"""Read every host's clock through the simulator with the official XenAPI Python client (host.get_servertime and
host.get_server_localtime, XML-RPC dateTime values), and what XAPI answers for a reference that is not a host.

argv: url cafile username password. Prints one JSON object: per host name, the server time minus this machine's
(seconds, middle of the round trip), and the failure for a bad reference.
"""
import calendar
import json
import sys
import time

from xenapi_common import connect, failure

url, cafile, user, pwd = sys.argv[1:5]
session, api = connect(url, cafile, user, pwd, "xenpilot-sim-clocks-test")
out = {"offsets": {}, "types": []}
for ref, rec in api.host.get_all_records().items():
    t0 = time.time()
    when = api.host.get_servertime(ref)
    t1 = time.time()
    out["types"].append(type(when).__name__)
    server = calendar.timegm(time.strptime(str(when), "%Y%m%dT%H:%M:%SZ"))
    out["offsets"][rec["name_label"]] = round(server + 0.5 - (t0 + t1) / 2, 1)
    out["localtime_" + rec["name_label"]] = str(api.host.get_server_localtime(ref))
out["bad_ref"] = failure(api.host.get_servertime, "OpaqueRef:nope")
print(json.dumps(out))
